"""Read image-only PDF pages (scans) with Tesseract OCR: printed lines with their place on the page.

A page is rendered with pypdfium2 (PDFium in the wheel, nothing to install from the system) at
300 dpi, Tesseract's preferred resolution, and read by the `tesseract` command (Debian packages
tesseract-ocr and tesseract-ocr-<lang>; `make` installs them), whose TSV output gives every line's
box. Lines come back in PDF points, so that ingest/pdf.py finds paragraphs, headings and page
furniture in them as in a PDF's own text.

Measured on rendered pages (`python -m evals.ocr`, docs/adding-documents.md, "Scanned PDFs"): Tesseract 5.3 reads
English, French, German and Italian at 99.9% character accuracy, Japanese at 95%, in about 2 s a
page on one core. RapidOCR (rapidocr-onnxruntime 1.4.4), the other engine tried, read 94%, 89%,
92%, 88% and 54% in 12-18 s a page.
"""

from __future__ import annotations

import functools
import io
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DPI = 300
# Languages read where the document's language is not known: Tesseract reads a page in each
# language given, so each one costs time (eng+fra+deu+ita: 4 s a page instead of 2).
DEFAULT_LANGUAGES = "eng+fra+deu+ita"
TESSERACT_NAMES = {"en": "eng", "fr": "fra", "de": "deu", "it": "ita", "ja": "jpn"}
PAGE_TIMEOUT = 120.0  # seconds; a page that takes longer is reported as not read
_MIN_CONFIDENCE = 30  # Tesseract's word confidence (0-100) below which a word is noise (specks, lines)
_CJK = r"\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_SPACE = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")

Progress = Callable[[int, int], None]  # (pages read, pages to read), called before the first and after each


class OcrUnavailable(Exception):
    """The `tesseract` command is not installed: image-only pages cannot be read."""


@dataclass(frozen=True)
class Options:
    """How a reader OCRs a file's image-only pages."""

    language: str = ""  # the document's (ISO 639-1) when the manifest gives it: read in that language alone
    progress: Progress | None = None


@dataclass(frozen=True)
class OcrLine:
    """A line read by OCR, placed like a PDF's text: x of its left edge and y of its bottom, in
    points from the page's bottom left corner; its height in points."""

    text: str
    x: float
    y: float
    height: float


def engine_version() -> str:
    """`tesseract 5.3.0` (the installed engine's name and version); raises OcrUnavailable."""
    done = subprocess.run([_tesseract(), "--version"], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).splitlines()[0].strip()


@functools.cache
def installed_languages() -> frozenset[str]:
    """Tesseract's installed language packs (`eng`, `fra`, ...); raises OcrUnavailable."""
    done = subprocess.run([_tesseract(), "--list-langs"], capture_output=True, text=True, check=False)
    return frozenset(line.strip() for line in done.stdout.splitlines()[1:] if line.strip())


def languages_for(language: str = "") -> str:
    """Tesseract's languages for a document in `language` (ISO 639-1, "" when not known): its own
    pack when installed, else DEFAULT_LANGUAGES, in both cases only the installed packs ("eng" at least)."""
    installed = installed_languages()
    wanted = TESSERACT_NAMES.get(language.lower(), "")
    if wanted in installed:
        return wanted
    return "+".join(name for name in DEFAULT_LANGUAGES.split("+") if name in installed) or "eng"


def read_page(pdf: Path, number: int, languages: str = DEFAULT_LANGUAGES) -> list[OcrLine]:
    """The lines Tesseract reads on page `number` (1-based) of a PDF, in reading order; [] when it reads
    nothing. Raises OcrUnavailable, and subprocess.TimeoutExpired after PAGE_TIMEOUT seconds."""
    tsv, _, height = page_tsv(pdf, number, languages)
    return _lines(tsv, height)


def page_tsv(pdf: Path, number: int, languages: str = DEFAULT_LANGUAGES) -> tuple[str, float, float]:
    """Tesseract's TSV output for page `number` (1-based) of a PDF rendered at DPI (every word
    with its box in pixels, its line and its confidence), and the page's width and height in
    points. Raises as read_page."""
    import pypdfium2

    document = pypdfium2.PdfDocument(str(pdf))
    try:
        page = document[number - 1]
        width, height = page.get_width(), page.get_height()
        image = page.render(scale=DPI / 72, grayscale=True).to_pil()
    finally:
        document.close()
    png = io.BytesIO()
    image.save(png, "PNG")
    # One thread: Tesseract's OpenMP threads slow it down when other processes share the cores.
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    with tempfile.TemporaryDirectory() as tmp:  # Tesseract may write a temporary file beside its output
        done = subprocess.run(
            [_tesseract(), "stdin", "stdout", "-l", languages, "--dpi", str(DPI), "tsv"],
            input=png.getvalue(),
            capture_output=True,
            timeout=PAGE_TIMEOUT,
            check=False,
            env=env,
            cwd=tmp,
        )
    if done.returncode != 0:
        raise OSError(f"tesseract failed: {done.stderr.decode(errors='replace').strip()[:200]}")
    return done.stdout.decode("utf-8", errors="replace"), width, height


def _lines(tsv: str, page_height: float) -> list[OcrLine]:
    """Tesseract's TSV words grouped into lines, in points."""
    words: dict[tuple[str, str, str], list[tuple[int, int, int, int, str]]] = {}
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or cells[0] != "5" or not cells[11].strip():
            continue
        if float(cells[10]) < _MIN_CONFIDENCE and not any(char.isalnum() for char in cells[11]):
            continue
        left, top, width, height = (int(cell) for cell in cells[6:10])
        words.setdefault((cells[2], cells[3], cells[4]), []).append((left, top, width, height, cells[11]))
    scale = 72 / DPI
    lines = []
    for line in words.values():
        text = _CJK_SPACE.sub("", " ".join(word[4] for word in line)).strip()
        if not text:
            continue
        left = min(word[0] for word in line)
        top = min(word[1] for word in line)
        bottom = max(word[1] + word[3] for word in line)
        lines.append(OcrLine(text, left * scale, page_height - bottom * scale, (bottom - top) * scale))
    return lines  # in Tesseract's reading order: column by column


def _tesseract() -> str:
    path = shutil.which("tesseract")
    if path is None:
        raise OcrUnavailable(
            "the tesseract command is not installed (Debian: apt-get install tesseract-ocr "
            "tesseract-ocr-fra tesseract-ocr-deu tesseract-ocr-ita tesseract-ocr-jpn; `make run` does it)"
        )
    return path
