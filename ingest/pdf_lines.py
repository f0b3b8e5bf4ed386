"""The printed lines of a PDF's pages, each with its position and font: from pypdf's runs of
text, or read by OCR on a page that is a scanned image."""

from __future__ import annotations

import math
import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pypdfium2
import pypdfium2.raw as pdfium_c

from ingest import ocr
from ingest.blocks import reason
from ingest.glyphs import clean_glyphs
from ingest.lines import collapse

_BOLD_FONT = re.compile(r"bold|black|heavy|semibold|demi", re.IGNORECASE)
_OCR_BELOW_CHARS = 20  # a page with fewer characters of text and an image on it is read by OCR
_OCR_LARGER = 1.2  # an OCR line this much taller than the page's usual line is in a larger font
SIZE_CHANGE = 0.1  # lines of one paragraph share their font size, within this share


@dataclass(slots=True)
class Line:
    """One printed line: its text, page, baseline position and main font."""

    text: str
    page: int
    x: float
    y: float | None  # None when pypdf gave no position for it
    size: float
    bold: bool
    heading: int = 0  # heading level once known, 0 for body text
    ocr: bool = False  # read by OCR from an image of the page
    lead_size: float = 0.0  # size of its first characters: smaller when a superscript number leads
    footnote: bool = False


def gap_between(above: Line, below: Line) -> float:
    """How far below `above` the baseline of `below` is (0 when either has no position)."""
    if above.y is None or below.y is None:
        return 0.0
    return above.y - below.y


def read_scanned_pages(path: Path, pages: list[list[Line]], options: ocr.Options) -> list[str]:
    """Replace the lines of each image-only page with those OCR reads on it; returns a warning for
    each page it could not read ("page 3: OCR read nothing ...")."""
    few = [
        n for n, page in enumerate(pages, start=1) if sum(len(line.text) for line in page) < _OCR_BELOW_CHARS
    ]
    scanned = _pages_with_images(path, few) if few else []
    if not scanned:
        return []
    try:
        languages = ocr.languages_for(options.language)
    except ocr.OcrUnavailable as error:
        return [f"{_pages_named(scanned)} image only, not read: {error}"]
    warnings = []
    if options.progress:
        options.progress(0, len(scanned))
    for done, number in enumerate(scanned, start=1):
        read, problem = _ocr_page(path, number, languages)
        if read:
            pages[number - 1] = _ocr_lines(read, number)
        else:
            warnings.append(f"page {number}: {problem}")
        if options.progress:
            options.progress(done, len(scanned))
    return warnings


def _ocr_page(path: Path, number: int, languages: str) -> tuple[list[ocr.OcrLine], str]:
    """The lines OCR reads on a page, or [] and why not."""
    try:
        read = ocr.read_page(path, number, languages)
    except subprocess.TimeoutExpired:
        return [], f"OCR took longer than {ocr.PAGE_TIMEOUT:.0f} s; not read"
    except (OSError, pypdfium2.PdfiumError) as error:
        return [], f"OCR failed ({reason(error)}); not read"
    return read, "" if read else "OCR read nothing (a blank or unreadable scan?)"


def _pages_with_images(path: Path, numbers: list[int]) -> list[int]:
    """Those of the pages `numbers` that show an image (at any depth of nested forms). pypdf has
    read the file: a file or page that PDFium refuses is read without OCR."""
    try:
        document = pypdfium2.PdfDocument(str(path))
    except pypdfium2.PdfiumError:
        return []
    image = (pdfium_c.FPDF_PAGEOBJ_IMAGE,)

    def shows_image(number: int) -> bool:
        try:
            return next(document[number - 1].get_objects(filter=image, max_depth=4), None) is not None
        except pypdfium2.PdfiumError:
            return False

    try:
        return [n for n in numbers if shows_image(n)]
    finally:
        document.close()


def _ocr_lines(read: list[ocr.OcrLine], number: int) -> list[Line]:
    """OCR's lines as Lines. Their box heights vary with ascenders, descenders and accents: a line
    of about the usual height gets that height as its size, a taller one the usual height times a
    multiple of 1/4, so that only a larger font makes a heading, and the lines of one heading
    share their size."""
    usual = sorted(line.height for line in read)[len(read) // 2]

    def size(height: float) -> float:
        ratio = height / usual
        return round(usual * (1 if ratio < _OCR_LARGER else round(ratio * 4) / 4) * 2) / 2

    return [Line(line.text, number, line.x, line.y, size(line.height), bold=False, ocr=True) for line in read]


def _pages_named(numbers: list[int]) -> str:
    return f"page {numbers[0]}:" if len(numbers) == 1 else f"pages {', '.join(map(str, numbers))}:"


def page_lines(page, number: int) -> list[Line]:
    """The page's printed lines in content order, with position and font of each."""
    lines: list[Line] = []
    runs: list[tuple[str, list[float], bool, float, bool]] = []  # text, matrix, placed, size, bold

    def visit(text: str, cm: list[float], tm: list[float], font, font_size: float) -> None:
        matrix, bold = _matrix(tm, cm), _is_bold(font)
        pieces = text.split("\n")
        for index, piece in enumerate(pieces):
            if piece:
                # A piece after a line break inside one run has no position of its own.
                runs.append((piece, matrix, index == 0, font_size, bold))
            if index < len(pieces) - 1:
                _close_line(runs, lines, number)

    page.extract_text(visitor_text=visit)
    _close_line(runs, lines, number)
    return lines


def _matrix(tm: list[float], cm: list[float]) -> list[float]:
    """The text matrix in page space (tm × cm)."""
    return [
        tm[0] * cm[0] + tm[1] * cm[2],
        tm[0] * cm[1] + tm[1] * cm[3],
        tm[2] * cm[0] + tm[3] * cm[2],
        tm[2] * cm[1] + tm[3] * cm[3],
        tm[4] * cm[0] + tm[5] * cm[2] + cm[4],
        tm[4] * cm[1] + tm[5] * cm[3] + cm[5],
    ]


def _is_bold(font) -> bool:
    try:
        name = str(font.get("/BaseFont", "")) if font is not None else ""
    except AttributeError:
        return False
    return bool(_BOLD_FONT.search(name))


def _close_line(runs: list, lines: list[Line], number: int) -> None:
    """Turn the collected runs into one Line (if they hold any text) and clear them."""
    text = collapse(clean_glyphs("".join(run[0] for run in runs)))  # "Con/f_irmed" → "Confirmed"
    if text:
        placed = next((run for run in runs if run[0].strip() and run[2]), None)
        sizes: Counter[float] = Counter()
        lead = 0.0
        bold = plain = 0
        for piece, matrix, _, font_size, is_bold in runs:
            # The size on the page: the font size scaled by the text and transformation matrices.
            chars = len(piece.strip())
            size = round(font_size * math.hypot(matrix[2], matrix[3]) * 2) / 2
            sizes[size] += chars
            lead = lead or (size if chars else 0.0)
            bold, plain = (bold + chars, plain) if is_bold else (bold, plain + chars)
        if placed is not None:
            x, y = placed[1][4], placed[1][5]
        elif lines:
            x, y = lines[-1].x, None
        else:
            x, y = 0.0, None
        size = sizes.most_common(1)[0][0]
        lines.append(Line(text, number, x, y, size, bold >= 4 * plain, lead_size=lead or size))
    runs.clear()
