"""OCR accuracy and speed on rendered pages: `python -m evals.ocr` prints the README's figures.

Known text (the invented fixture reports of evals/corpus and evals/corpus-multilingual) is typeset
onto A4 pages as images, at 200 dpi like an office scanner, wrapped into image-only PDFs, and read
back through the ingest's own OCR (ingest/ocr.py: rendered with pypdfium2, read by Tesseract).
Character accuracy is 1 - edit distance / length of the known text, whitespace collapsed (removed
for Japanese, where Tesseract puts spaces between characters); seconds per page are wall time of
rendering and reading one page on one core.

    python -m evals.ocr                 # 3 pages per language
    python -m evals.ocr --pages 6 --language en
    python -m evals.ocr --unknown       # read as documents without a manifest language are
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DPI = 200
A4 = (8.27, 11.69)  # inches
MARGIN = 1.0  # inch
BODY_PT, TITLE_PT, HEADING_PT = 11, 14, 12

# The known texts: one invented report per language (ISO 639-1 → file).
SOURCES = {
    "en": ROOT / "evals/corpus/fixture-gbr-2026-organised-immigration-crime-report.md",
    "fr": ROOT / "evals/corpus-multilingual/fixture-fra-2026-rapport-mise-en-oeuvre.md",
    "de": ROOT / "evals/corpus-multilingual/fixture-deu-2026-bericht-schleusungskriminalitaet.md",
    "it": ROOT / "evals/corpus-multilingual/fixture-ita-2026-relazione-annuale.md",
    "ja": ROOT / "evals/corpus-multilingual/fixture-jpn-2026-mikkou-taisaku-houkoku.md",
}
_JAPANESE_FONTS = [  # Debian fonts-ipafont-mincho / fonts-ipafont-gothic / fonts-noto-cjk
    "/usr/share/fonts/opentype/ipafont-mincho/ipam.ttf",
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
]


@dataclass(frozen=True)
class Page:
    """A rendered page: its image and the exact text printed on it (lines, blank line between paragraphs)."""

    image: object  # PIL.Image.Image
    text: str


def fonts(language: str) -> tuple[str, str]:
    """Paths of the (body, bold) fonts for a language: DejaVu Serif, which matplotlib ships, for
    Latin scripts; an IPA or Noto CJK font from Debian for Japanese. Raises FileNotFoundError."""
    if language == "ja":
        for path in _JAPANESE_FONTS:
            if Path(path).exists():
                return path, path
        raise FileNotFoundError("no Japanese font: apt-get install fonts-ipafont-mincho")
    import matplotlib

    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return str(ttf / "DejaVuSerif.ttf"), str(ttf / "DejaVuSerif-Bold.ttf")


def blocks_of(markdown: str) -> list[tuple[str, str]]:
    """(kind, text) for each block of a fixture's Markdown: kind is "title", "heading" or "p"."""
    out = []
    for block in re.split(r"\n\s*\n", markdown.strip()):
        text = " ".join(block.split())
        if text.startswith("# "):
            out.append(("title", text[2:]))
        elif text.startswith("#"):
            out.append(("heading", text.lstrip("#").strip()))
        elif text:
            out.append(("p", text))
    return out


def render_pages(blocks: list[tuple[str, str]], language: str = "en", dpi: int = DPI) -> list[Page]:
    """The blocks typeset onto white A4 page images (grayscale, `dpi`), as many pages as they need."""
    from PIL import Image, ImageDraw, ImageFont

    body_path, bold_path = fonts(language)
    width, height = round(A4[0] * dpi), round(A4[1] * dpi)
    margin = round(MARGIN * dpi)
    size = {
        kind: round(pt * dpi / 72)
        for kind, pt in (("p", BODY_PT), ("title", TITLE_PT), ("heading", HEADING_PT))
    }
    font = {
        kind: ImageFont.truetype(body_path if kind == "p" else bold_path, px) for kind, px in size.items()
    }
    pages: list[Page] = []
    image = draw = None
    y, lines = height, []

    def new_page() -> None:
        nonlocal image, draw, y, lines
        if image is not None:
            pages.append(Page(image, "\n".join(lines).strip()))
        image = Image.new("L", (width, height), 255)
        draw = ImageDraw.Draw(image)
        y, lines = margin, []

    for kind, text in blocks:
        wrapped = _wrap(text, font[kind], width - 2 * margin, language)
        step = round(size[kind] * 1.4)
        if y + step * len(wrapped) > height - margin:
            new_page()
        for line in wrapped:
            if y + step > height - margin:
                new_page()
            draw.text((margin, y), line, font=font[kind], fill=0)
            lines.append(line)
            y += step
        lines.append("")
        y += step  # a blank line between paragraphs
    new_page()
    return pages


def _wrap(text: str, font, width: int, language: str) -> list[str]:
    """Lines of at most `width` pixels: broken between words, or between any characters in Japanese."""
    units = list(text) if language == "ja" else text.split(" ")
    glue = "" if language == "ja" else " "
    lines, line = [], ""
    for unit in units:
        candidate = f"{line}{glue}{unit}" if line else unit
        if line and font.getlength(candidate) > width:
            lines.append(line)
            line = unit
        else:
            line = candidate
    return [*lines, line] if line else lines


def image_pdf(images: list, path: Path, dpi: int = DPI) -> Path:
    """Write the images as an image-only PDF (no text layer, like a scan), one page each."""
    first, *rest = [image.convert("RGB") for image in images]
    first.save(path, "PDF", save_all=True, append_images=rest, resolution=dpi)
    return path


def accuracy(expected: str, got: str, language: str = "en") -> float:
    """Character accuracy: 1 - edit distance / length of `expected` (whitespace collapsed, or
    removed for Japanese), at least 0."""
    expected, got = _normalized(expected, language), _normalized(got, language)
    return max(0.0, 1 - edit_distance(expected, got) / max(1, len(expected)))


def _normalized(text: str, language: str) -> str:
    return "".join(text.split()) if language == "ja" else " ".join(text.split())


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions and substitutions of one character cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, start=1):
        current = [i]
        for j, other in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other)))
        previous = current
    return previous[-1]


def measure(language: str, pages: int, workdir: Path, known: bool = True) -> tuple[list[float], list[float]]:
    """(accuracy, seconds) of each of the first `pages` pages of the language's rendered report,
    read back from an image-only PDF through ingest/ocr.py: in the language's own pack, or (not
    `known`) in the languages read when a document's language is not known."""
    from ingest import ocr

    rendered = render_pages(blocks_of(SOURCES[language].read_text(encoding="utf-8")), language)
    rendered = (rendered * pages)[:pages]  # a short report is repeated to give `pages` pages
    pdf = image_pdf([page.image for page in rendered], workdir / f"ocr-{language}.pdf")
    tesseract_languages = ocr.languages_for(language if known else "")
    accuracies, seconds = [], []
    for number, page in enumerate(rendered, start=1):
        started = time.perf_counter()
        lines = ocr.read_page(pdf, number, tesseract_languages)
        seconds.append(time.perf_counter() - started)
        accuracies.append(accuracy(page.text, "\n".join(line.text for line in lines), language))
    return accuracies, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.ocr", description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=3, help="pages per language (default 3)")
    parser.add_argument(
        "--language", action="append", choices=sorted(SOURCES), help="repeatable; default all"
    )
    parser.add_argument(
        "--unknown", action="store_true", help="read as documents without a manifest language are read"
    )
    args = parser.parse_args(argv)
    from ingest import ocr

    read_as = ocr.languages_for("") if args.unknown else "each language's own pack"
    print(f"{ocr.engine_version()}, pages rendered at {DPI} dpi, read at {ocr.DPI} dpi in {read_as}\n")
    print(f"{'language':<10}{'pages':>6}{'accuracy':>10}{'worst page':>12}{'s/page':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for language in args.language or list(SOURCES):
            try:
                accuracies, seconds = measure(language, args.pages, Path(tmp), known=not args.unknown)
            except (FileNotFoundError, ocr.OcrUnavailable) as error:
                print(f"{language:<10} skipped: {error}")
                continue
            print(
                f"{language:<10}{len(accuracies):>6}{sum(accuracies) / len(accuracies):>10.1%}"
                f"{min(accuracies):>12.1%}{sum(seconds) / len(seconds):>8.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
