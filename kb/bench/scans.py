"""Scanned pages of known text: fixture reports typeset onto A4 page images and saved as image-only PDFs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kb.bench.corpus import ROOT

DPI = 200  # like an office scanner
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


def report_pages(language: str, count: int) -> list[Page]:
    """The first `count` pages of the language's known report (SOURCES), typeset; a report shorter
    than that is repeated to fill them."""
    rendered = render_pages(blocks_of(SOURCES[language].read_text(encoding="utf-8")), language)
    return (rendered * count)[:count]


def image_pdf(images: list, path: Path, dpi: int = DPI) -> Path:
    """Write the images as an image-only PDF (no text layer, like a scan), one page each."""
    first, *rest = [image.convert("RGB") for image in images]
    first.save(path, "PDF", save_all=True, append_images=rest, resolution=dpi)
    return path


SCAN_ID = "fixture-scanned-report"
_SCAN_MANIFEST = """# kb bench: one scanned report, read by OCR (kb/bench/scans.py writes this file).
[[document]]
id = "{id}"
title = "Test fixture — not an official document: UK Organised Immigration Crime Report, scanned (kb bench)"
short_title = "Scanned fixture report"
issuer = "kb bench (test fixture)"
country = "GBR"
date = "2026-01-29"
type = "national-report"
file = "{id}.pdf"
language = "en"
"""


def scanned_sources(directory: Path, pages: int) -> Path:
    """A new sources directory holding one image-only PDF of `pages` pages of the English report
    (report_pages) and a sources.toml that says it is in English; returns the directory."""
    directory.mkdir(parents=True)
    image_pdf([page.image for page in report_pages("en", pages)], directory / f"{SCAN_ID}.pdf")
    (directory / "sources.toml").write_text(_SCAN_MANIFEST.format(id=SCAN_ID), encoding="utf-8")
    return directory


def ingest_worker(directory: str, pages: int) -> dict:
    """One ingest (ingest.pipeline.run) of an image-only PDF of `pages` pages of English text
    (kb/bench/scans.py) into a new index under `directory`, every page read by Tesseract: its
    seconds from start to end (model load, OCR, passages, embedding, storing) per page, and the
    passages it made per second. Not measured, and says why, where Tesseract is not installed."""
    import shutil

    from ingest import ocr, pipeline
    from kb.bench.workers import settings_for

    try:
        engine = ocr.engine_version()
    except ocr.OcrUnavailable:
        return {"pages": pages, "not_measured": "Tesseract is not installed"}
    root = Path(directory)
    shutil.rmtree(root, ignore_errors=True)
    sources = scanned_sources(root / "sources", pages)
    summary = pipeline.run(settings_for(str(root / "index"), str(sources)), progress=False)
    shutil.rmtree(root, ignore_errors=True)
    return {
        "pages": pages,
        "engine": engine,
        "languages": ocr.languages_for("en"),
        "dpi": DPI,
        "passages": summary.passages_embedded,
        "seconds": summary.seconds,
        "s_per_page": summary.seconds / pages,
        "passages_per_s": summary.passages_embedded / summary.seconds,
        "failed": [f"{o.file}: {o.reason}" for o in summary.failed],
    }
