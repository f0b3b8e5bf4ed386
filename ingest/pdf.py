"""Read PDFs with pypdf: lines with their position and font, then paragraphs and headings.

pypdf reports each run of text with its position, font and size (`extract_text(visitor_text=...)`);
the runs of one printed line make a `Line`. Then, over the whole document:

- running headers and footers (a line at the top or bottom of the page whose text, digits aside,
  recurs on at least 40% of the pages), page numbers ("3", "- 3 -", "Page 3 of 10", "3/10") and
  printer's slugs (a line there in a font half the body's size or less) go;
- the body font is the size and weight that most characters have; a line in a larger or bold
  font (bold where the body is not) is a heading, its level given by the rank of its size;
- a short body-font line without final punctuation, with space above and below, is a heading
  of the lowest level;
- a new paragraph starts where a line begins with a paragraph number or a bullet, after vertical
  space larger than the body's line spacing, or at an indented first line after a sentence end;
- a paragraph continues over a page break when the page ends mid-sentence and the next page
  does not start with an indent, or when the next page starts in lower case;
- a footnote (a line in a smaller font than the body's that starts with a number or a mark, at
  the foot of its column: the next body line on the page, if any, is higher up, in the next
  column) and the smaller lines after it are their own blocks, one per footnote, placed after
  the paragraph they interrupt, which goes on over them into the next column or page;
- line numbers in a page's margin (bare numbers counting up, each a line of its own, as in a
  court transcript) go, named in the warnings;
- a table (at least three rows, on one page, with at most two other lines between them; a row
  is made mostly of figures or holds dot leaders, or is a short line that starts with a word and
  ends in one figure or tick: "Ireland 50") is left out with its column headings (the short lines
  or lines in another font in its area, also when they are drawn after the rows) and named in
  the warnings: read line by line it is a salad of figures that no passage should quote. Its
  caption, title, notes and sources stay.

Lines come in the order of the page's content stream, which is the column order in the files we
have seen (three-column Federal Register pages, two-column reports): see docs/real-pdfs.md.

A page with (almost) no text of its own but with an image on it, a scan, is read by OCR
(ingest/ocr.py), whose lines, with their positions, go through the same rules; the blocks made
of them are marked `ocr`, and a page that OCR reads nothing on is named in `Extracted.warnings`.
"""

from __future__ import annotations

import math
import re
import struct
import subprocess
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pypdfium2
import pypdfium2.raw as pdfium_c
from pypdf import PdfReader
from pypdf.errors import DependencyError, PyPdfError

from ingest import ocr
from ingest.blocks import Block, Extracted, ReadError, reason
from ingest.lines import (
    WordList,
    collapse,
    ends_sentence,
    ends_with_punctuation,
    join_lines,
    starts_paragraph,
)

# pypdf raises its own errors on broken files, and sometimes plain Python ones from deep inside.
_CORRUPT = (PyPdfError, ValueError, KeyError, TypeError, IndexError, AttributeError, AssertionError,
            RecursionError, NotImplementedError, OSError, zlib.error, struct.error)  # fmt: skip
_PAGE_NUMBER = re.compile(
    r"(?:page\s+)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?|[-–—]\s*\d{1,4}\s*[-–—]|[ivx]{1,6}", re.IGNORECASE
)
_BOLD_FONT = re.compile(r"bold|black|heavy|semibold|demi", re.IGNORECASE)
_USELESS_TITLE = re.compile(
    r"^(?:microsoft\s+\w+\s+-|untitled|document\d*$|slide\s*\d*$)|\.(?:docx?|pdf|indd|rtf|odt|pptx?)$",
    re.IGNORECASE,
)
_EDGE_LINES = 3  # lines at the top and at the bottom of a page that may be running headers/footers
_REPEATED_ON = 0.4  # share of pages on which a running header or footer recurs
# A line at the edge of the page in a font this small next to the body's is a printer's slug
# ("EP06AU20.011</GPH>" at 4 pt under 9 pt text in the Federal Register), never text to cite.
_TINY = 0.5
_LARGER = 1.12  # a heading's size, relative to the body's
_PARAGRAPH_SPACE = 1.35  # a gap this many times the usual line spacing separates paragraphs
_SET_APART_MAX_CHARS = 80
_OCR_BELOW_CHARS = 20  # a page with fewer characters of text and an image on it is read by OCR
_NO_TEXT = "no text found: no text layer, and no scanned image to read by OCR"
_OCR_LARGER = 1.2  # an OCR line this much taller than the page's usual line is in a larger font
# A footnote's font is at most this size relative to the body's: 10 pt under 11 pt (EU reports),
# 7 pt under 9 pt (Federal Register, Census); 0.95 would take in 9.5 pt captions under 10 pt text.
_FOOTNOTE_SIZE = 0.92
# A footnote starts with its number ("1 Preliminary", "35. These", "(6) Eurostat") or a mark.
_FOOTNOTE_MARK = re.compile(r"(?:\d{1,3}\.?|\(\d{1,3}\)|[*†‡§]{1,3})\s+\S")
_NUMBERED_NOTE = re.compile(r"(?:\d{1,3}\.|\(\d{1,3}\))\s+\S")
# A number in a table cell: "93", "18.8%", "291,099", "*–0.4", "(X)", "–".
_FIGURE = re.compile(
    r"[*(]*[-–+]?(?:\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?|\.\d+)%?\)?\**|\(X\)|[-–—]|\*+|n\.a\.|[xX✓✔√]"
)
_DASHES = frozenset("-–—")
_DOT_LEADER = re.compile(r"(?:\.\s?){4,}")
# A caption or source line starts a block even where the paragraph before it stops mid-sentence
# (it continues in the next column, past the figure).
_CAPTION = re.compile(r"(?:Figure|Fig\.|Table|Chart|Graph|Box|Source|Sources|Note|Notes)\b\s*[\d:.]")
_SIZE_CHANGE = 0.1  # lines of one paragraph share their font size, within this share
_TABLE_MIN_LINES = 3  # figure lines that make a table
_TABLE_GAP_LINES = 2  # other lines (row labels, wrapped headers) allowed between two figure lines
# A row with one figure ("Ireland 50", "Curriculum development x") starts with a word and is shorter
# than this share of a full line of text; a line of prose that ends in a figure runs to the margin,
# and a table's note starts with its mark ("* 1992-4; ** base=1991; *** value in 1994").
_SHORT_LINE = 0.6
_ROW_END = re.compile(r"\s(?:[-–+]?\d(?:[\d,.]*\d)?%?|[xX✓✔√])$")
# Column headings sit up to 3.7 rows' height above a table's first row (Census Table 1, EU
# tables: 2.9); the caption's last line is 4.8 to 5.2 rows above it.
_HEADING_ROWS = 4
_TITLE_LONGER = 1.5  # a line over a table this many times as long as its widest row is its title
# The lines of a caption are set at most this many font sizes apart (1.15 to 1.25 measured); the
# first row or heading of the table under it is further down (1.7 in the Cedefop report).
_CAPTION_SPACING = 1.5
_LINE_NUMBERS_MIN = 5  # bare numbers counting up, down a page, that are its line numbers


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


@dataclass(frozen=True)
class Style:
    """The body text's font and line spacing, from the most common values in the document."""

    size: float
    bold: bool
    spacing: float  # usual distance between the baselines of two lines of a paragraph
    heading_levels: dict[tuple[float, bool], int]  # (rounded size, bold) of heading lines -> level


def read_pdf(path: Path, options: ocr.Options | None = None) -> Extracted:
    """The paragraphs and headings of a PDF, each with the page it starts (and ends) on.

    Image-only pages are read by OCR (`options`: its languages and a progress callback); a page
    it reads nothing on is named in the warnings, and the rest of the document is read. Raises
    ReadError for an encrypted PDF without an empty user password, a corrupt PDF, and a PDF
    without text, even by OCR. The title is the metadata title when it looks like one, else the
    first heading.
    """
    if path.stat().st_size == 0:
        raise ReadError("empty file (0 bytes)")
    reader = _open(path)
    try:
        pages = [_page_lines(page, number) for number, page in enumerate(reader.pages, start=1)]
    except _CORRUPT as error:
        raise ReadError(f"corrupt PDF: {reason(error)}") from error
    warnings = _read_scanned_pages(path, pages, options or ocr.Options())
    if not any(line.text for page in pages for line in page):
        raise ReadError("; ".join(["no text found", *warnings]) if warnings else _NO_TEXT)
    lines, numbers = _drop_line_numbers(_drop_furniture(pages))
    lines, tables = _drop_tables(lines)
    warnings.extend(numbers + tables)
    style = _style(lines)
    _mark_footnotes(lines, style)
    _mark_headings(lines, style)
    blocks = _blocks(lines, style)
    title = _metadata_title(reader) or next((block.text for block in blocks if block.heading), None)
    return Extracted(
        blocks=blocks, title=title, pages=len(pages), meta=_metadata(reader), warnings=tuple(warnings)
    )


def _open(path: Path) -> PdfReader:
    try:
        reader = PdfReader(path, strict=False)
        # Many PDFs are encrypted only to restrict printing or copying: they open with "".
        if reader.is_encrypted and not reader.decrypt(""):
            raise ReadError("encrypted PDF, no password given")
        len(reader.pages)
    except DependencyError as error:
        raise ReadError("encrypted PDF: decrypting it needs the 'cryptography' package") from error
    except _CORRUPT as error:
        raise ReadError(f"corrupt PDF: {reason(error)}") from error
    return reader


def _read_scanned_pages(path: Path, pages: list[list[Line]], options: ocr.Options) -> list[str]:
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
    """Those of the pages `numbers` that show an image (at any depth of nested forms)."""
    try:
        document = pypdfium2.PdfDocument(str(path))
    except pypdfium2.PdfiumError:
        return []  # pypdf opened it: a PDF that PDFium refuses is read without OCR
    try:
        image = (pdfium_c.FPDF_PAGEOBJ_IMAGE,)
        return [n for n in numbers if next(document[n - 1].get_objects(filter=image, max_depth=4), None)]
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


def _page_lines(page, number: int) -> list[Line]:
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
    text = collapse("".join(run[0] for run in runs))
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


def _drop_furniture(pages: list[list[Line]]) -> list[Line]:
    """All body lines of the document, without running headers, footers and page numbers."""
    edges = [_edge_lines(page) for page in pages]
    recurring: Counter[tuple[str, int]] = Counter()
    for page_edges in edges:
        recurring.update({_place(line) for line in page_edges})
    threshold = max(2, _REPEATED_ON * len(pages))
    sizes = Counter(line.size for page in pages for line in page for _ in line.text)
    tiny = _TINY * sizes.most_common(1)[0][0] if sizes else 0.0
    kept: list[Line] = []
    for page, page_edges in zip(pages, edges, strict=True):
        furniture = {
            id(line)
            for line in page_edges
            if _PAGE_NUMBER.fullmatch(line.text) or recurring[_place(line)] >= threshold or line.size <= tiny
        }
        kept.extend(line for line in page if id(line) not in furniture)
    return kept


def _edge_lines(page: list[Line]) -> list[Line]:
    placed = sorted((line for line in page if line.y is not None), key=lambda line: -line.y)
    if len(placed) <= 2 * _EDGE_LINES:
        return placed
    return placed[:_EDGE_LINES] + placed[-_EDGE_LINES:]


def _place(line: Line) -> tuple[str, int]:
    """A line's text with digits masked ("Page 3" and "Page 4" look the same) and its height on the page."""
    return re.sub(r"\d+", "#", line.text.lower()), round(line.y or 0)


def _drop_line_numbers(lines: list[Line]) -> tuple[list[Line], list[str]]:
    """The lines without the line numbers printed in a page's margin (a transcript's 1, 2, 3 … 25,
    each a line of its own), and a warning for each page that had them."""
    numbered: set[int] = set()
    run: list[int] = []  # indices of bare numbers counting up by one, down one page

    def close() -> None:
        if len(run) >= _LINE_NUMBERS_MIN:
            numbered.update(run)
        run.clear()

    for index, line in enumerate(lines):
        if not (line.text.isascii() and line.text.isdigit()):
            continue
        above = lines[run[-1]] if run else None
        if not (
            above is not None
            and above.page == line.page
            and int(line.text) == int(above.text) + 1
            and _gap(above, line) > 0
        ):
            close()
        run.append(index)
    close()
    pages = sorted({lines[index].page for index in numbered})
    warnings = [f"page {page}: line numbers in the margin left out" for page in pages]
    return [line for index, line in enumerate(lines) if index not in numbered], warnings


def _drop_tables(lines: list[Line]) -> tuple[list[Line], list[str]]:
    """The lines without those of tables, and a warning for each page that had a table.

    A table is a run of rows: lines that read like a row (`_is_figure_line`), or short lines
    that end in a figure or a tick ("Nestle Switzerland 38.2", "Curriculum development x").
    Its column headings go with it: the lines above its first row, up to its caption or a few
    rows' height, and those drawn among its rows out of reading order (many PDFs draw the
    headings after the rows), when they are short or in another font than the body's.
    """
    captions = _caption_lines(lines)
    sizes = Counter(line.size for line in lines for _ in line.text)
    body_size = sizes.most_common(1)[0][0] if sizes else 0.0
    lengths = sorted(len(line.text) for line in lines)
    short = _SHORT_LINE * lengths[3 * len(lengths) // 4] if lengths else 0.0

    def is_row(index: int) -> bool:
        text = lines[index].text
        if index in captions:
            return False
        one_figure = text[0].isalpha() and len(text) < short and bool(_ROW_END.search(text))
        return one_figure or _is_figure_line(text)

    def is_heading_cell(line: Line, widest: int) -> bool:
        # Prose in the next column is as long as a line of the body, in the body's font; a
        # title over the table is much longer than its rows ("Correlation coefficients of the
        # I(1)* spread and yield differences …": 98 characters over rows of 44).
        other_font = abs(line.size - body_size) > _SIZE_CHANGE * body_size
        return (len(line.text) < short or other_font) and len(line.text) <= _TITLE_LONGER * widest

    dropped: set[int] = set()
    run: list[int] = []  # indices of the rows of the table being found

    def close() -> None:
        if len(run) >= _TABLE_MIN_LINES:
            dropped.update(range(run[0], run[-1] + 1))
            widest = max(len(lines[index].text) for index in run)
            dropped.update(
                index
                for index in _table_area(lines, run, captions)
                if index not in captions and is_heading_cell(lines[index], widest)
            )
        run.clear()

    for index, line in enumerate(lines):
        if not is_row(index):
            continue
        if run and (lines[run[-1]].page != line.page or index - run[-1] > _TABLE_GAP_LINES + 1):
            close()
        run.append(index)
    close()
    per_page = Counter(lines[index].page for index in dropped)
    warnings = [
        f"page {page}: a table ({count} lines) left out; tables are not read, their captions and notes are"
        for page, count in sorted(per_page.items())
    ]
    return [line for index, line in enumerate(lines) if index not in dropped], warnings


def _caption_lines(lines: list[Line]) -> set[int]:
    """Indices of the lines of captions, sources and notes: a line that starts like one ("Table 1.",
    "Source:") and the lines set close under it, in its font or not reading like a row. They are
    never rows or headings of a table, even "2005 and 2010" under "Table 2. … by Gender, Race:"."""
    captions: set[int] = set()
    for index, line in enumerate(lines):
        above = lines[index - 1] if index else None
        if _CAPTION.match(line.text) or (
            index - 1 in captions
            and above is not None
            and above.page == line.page
            and 0 < _gap(above, line) <= _CAPTION_SPACING * max(line.size, above.size)
            and ((line.size, line.bold) == (above.size, above.bold) or not _is_figure_line(line.text))
        ):
            captions.add(index)
    return captions


def _table_area(lines: list[Line], rows: list[int], captions: set[int]) -> list[int]:
    """Indices of the other lines on the page of `rows` that lie in the table's area: from its
    bottom row up to the caption above it, at most _HEADING_ROWS rows above its top row, and
    not left of it; its font no larger than the rows'."""
    page = lines[rows[0]].page
    placed = [lines[index] for index in rows if lines[index].y is not None]
    if not placed:
        return []
    ys = sorted((line.y for line in placed), reverse=True)
    pitches = sorted(a - b for a, b in zip(ys, ys[1:], strict=False) if a > b)
    pitch = pitches[len(pitches) // 2] if pitches else placed[0].size * 1.2
    size = Counter(line.size for line in placed).most_common(1)[0][0]
    left = min(line.x for line in placed) - size
    bottom, top = ys[-1] - pitch / 2, ys[0] + _HEADING_ROWS * pitch
    captions_above = [
        lines[index].y
        for index in captions
        if lines[index].page == page and lines[index].y is not None and lines[index].y > ys[0]
    ]
    top = min([top, *captions_above])  # the lowest line of a caption above the table
    return [
        index
        for index, line in enumerate(lines)
        if line.page == page
        and line.y is not None
        and bottom <= line.y < top
        and line.x >= left
        and line.size <= size + 0.5
        and not rows[0] <= index <= rows[-1]
    ]


def _is_figure_line(text: str) -> bool:
    """Whether a line reads like a row of a table or the labels of a chart: dot leaders, nothing
    but figures, more figures than words, or two figures side by side ("Count 93 77 Allergy"; a
    range "(Tables 6.10 - 6.12)" in a heading is not two figures side by side)."""
    if _DOT_LEADER.search(text):
        return True
    tokens = text.split()
    figures = [bool(_FIGURE.fullmatch(token)) and token != "." for token in tokens]
    numbers = [figure and token not in _DASHES for figure, token in zip(figures, tokens, strict=True)]
    side_by_side = any(a and b for a, b in zip(numbers, numbers[1:], strict=False))
    return all(figures) or (sum(figures) >= 2 and (2 * sum(figures) > len(figures) or side_by_side))


def _mark_footnotes(lines: list[Line], style: Style) -> None:
    """Set `footnote` on the lines of footnotes: from a small line that starts with a number or a
    mark at the foot of its column, to the last small line after it on that page."""
    limit = _FOOTNOTE_SIZE * style.size
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.size <= limit and _starts_footnote(line) and _at_foot(lines, index, limit):
            while index < len(lines) and lines[index].page == line.page and lines[index].size <= limit:
                lines[index].footnote = True
                index += 1
        else:
            index += 1


def _starts_footnote(line: Line) -> bool:
    """Whether the line begins with a footnote number or mark (a superscript digit counts)."""
    superscript = line.lead_size < line.size and line.text[0].isdigit()
    return superscript or bool(_FOOTNOTE_MARK.match(line.text))


def _at_foot(lines: list[Line], index: int, limit: float) -> bool:
    """Whether no body line follows lines[index] lower on its page (in the same column)."""
    line = lines[index]
    for after in lines[index + 1 :]:
        if after.page != line.page:
            return True
        if after.size > limit:
            return line.y is not None and after.y is not None and after.y > line.y
    return True


def _new_footnote(line: Line, above: Line) -> bool:
    """Whether a footnote line begins the next footnote rather than continuing the one above."""
    if line.page != above.page or not _starts_footnote(line):
        return line.page != above.page
    return (
        line.lead_size < line.size
        or bool(_NUMBERED_NOTE.match(line.text))
        or line.x > above.x + line.size / 2
        or ends_sentence(above.text)
    )


def _style(lines: list[Line]) -> Style:
    """The body font (the size and weight of most characters) and the usual line spacing."""
    fonts: Counter[tuple[float, bool]] = Counter()
    for line in lines:
        fonts[(line.size, line.bold)] += len(line.text)
    size, bold = fonts.most_common(1)[0][0] if fonts else (10.0, False)
    gaps: Counter[float] = Counter()
    for above, below in zip(lines, lines[1:], strict=False):
        # A body line that ends mid-sentence is followed by the next line of its paragraph.
        same_font = (above.size, above.bold) == (below.size, below.bold) == (size, bold)
        if same_font and above.page == below.page and not ends_sentence(above.text):
            gap = round(_gap(above, below), 1)
            if 0 < gap < 3 * size:
                gaps[gap] += 1
    spacing = gaps.most_common(1)[0][0] if gaps else 1.2 * size
    levels = sorted(
        {(line.size, line.bold) for line in lines if _looks_like_heading(line, size, bold)},
        key=lambda font: (-font[0], not font[1]),
    )
    return Style(size, bold, spacing, {font: min(level, 6) for level, font in enumerate(levels, start=1)})


def _looks_like_heading(line: Line, size: float, bold: bool) -> bool:
    """A line in a larger font, or bold where the body is not, that does not end like a sentence."""
    if len(line.text) > 200 or line.text.rstrip().endswith((".", ",", ";")):
        return False
    return line.size >= _LARGER * size or (line.bold and not bold and line.size >= size * 0.95)


def _mark_headings(lines: list[Line], style: Style) -> None:
    """Set `heading` on heading lines: by font first, then short body lines set apart by space."""
    lowest = max(style.heading_levels.values(), default=0) + 1
    for index, line in enumerate(lines):
        font = (line.size, line.bold)
        if line.footnote:
            continue
        if font in style.heading_levels and _looks_like_heading(line, style.size, style.bold):
            line.heading = style.heading_levels[font]
        elif _set_apart(lines, index, style):
            line.heading = min(lowest, 6)


def _set_apart(lines: list[Line], index: int, style: Style) -> bool:
    line = lines[index]
    text = line.text
    if len(text) > _SET_APART_MAX_CHARS or ends_with_punctuation(text) or starts_paragraph(text):
        return False
    if not (text[0].isupper() or text[0].isdigit()) or index + 1 >= len(lines):
        return False
    following = lines[index + 1]
    if following.page != line.page or not (following.text[0].isupper() or starts_paragraph(following.text)):
        return False
    above = lines[index - 1] if index else None
    space_above = (
        above is None or above.page != line.page or _gap(above, line) > _PARAGRAPH_SPACE * style.spacing
    )
    return space_above and _gap(line, following) > _PARAGRAPH_SPACE * style.spacing


def _gap(above: Line, below: Line) -> float:
    if above.y is None or below.y is None:
        return 0.0
    return above.y - below.y


def _blocks(lines: list[Line], style: Style) -> list[Block]:
    """Group lines into heading and paragraph blocks, joining paragraphs over page breaks."""
    words = WordList()
    for line in lines:
        words.add(line.text)
    blocks: list[Block] = []
    group: list[Line] = []  # the open paragraph or heading
    notes: list[list[Line]] = []  # the footnotes read since it opened, placed after it

    def block(group: list[Line]) -> Block:
        text = join_lines((line.text for line in group), words.joins)
        heading = group[0].heading
        end = group[-1].page if group[-1].page != group[0].page else None
        read_by_ocr = any(line.ocr for line in group)
        return Block(
            text, heading=bool(heading), level=heading, page=group[0].page, page_end=end, ocr=read_by_ocr
        )

    def flush() -> None:
        if group:
            blocks.append(block(group))
            group.clear()
        blocks.extend(block(note) for note in notes)
        notes.clear()

    margins = _left_margins([line for line in lines if not line.footnote])
    for line in lines:
        if line.footnote:
            if notes and notes[-1][-1].footnote and not _new_footnote(line, notes[-1][-1]):
                notes[-1].append(line)
            else:
                notes.append([line])
            continue
        if group and _starts_block(group, line, style, margins) or notes and not group:
            flush()
        group.append(line)
    flush()
    return blocks


def _left_margins(lines: list[Line]) -> dict[int, float]:
    """The most common x of body lines on each page: where unindented lines start."""
    by_page: dict[int, Counter[float]] = {}
    for line in lines:
        if not line.heading:
            by_page.setdefault(line.page, Counter())[round(line.x)] += 1
    return {page: counts.most_common(1)[0][0] for page, counts in by_page.items()}


def _starts_block(group: list[Line], line: Line, style: Style, margins: dict[int, float]) -> bool:
    """Whether `line` begins a new block after the open `group` of lines."""
    last = group[-1]
    if line.heading or last.heading:
        # A heading over two lines stays one block when the lines share font and sit close.
        return not (line.heading == last.heading and 0 < _gap(last, line) <= 1.6 * line.size)
    if starts_paragraph(line.text) or _CAPTION.match(line.text):
        return True
    if abs(line.size - last.size) > _SIZE_CHANGE * last.size:
        return True  # a table's headings or a chart's labels after a paragraph, not its next line
    if line.page != last.page or line.y is None or last.y is None or _gap(last, line) <= 0:
        return not _continues(last, line, margins)
    if _gap(last, line) > _PARAGRAPH_SPACE * style.spacing * max(1.0, line.size / style.size):
        return True
    shift = line.x - last.x
    if abs(shift) > line.size and ends_sentence(last.text):
        # An indented first line after a full line, or a line back at the margin after an
        # indented item ("(c) ... migrants." then a plain paragraph).
        return shift < 0 or len(group) > 1
    return False


def _continues(last: Line, line: Line, margins: dict[int, float]) -> bool:
    """Whether `line`, at the top of a new page or column, continues the paragraph ending in `last`."""
    if line.text[0].islower():
        return True
    indented = line.x > margins.get(line.page, line.x) + line.size
    return not ends_sentence(last.text) and not indented


def _metadata_title(reader: PdfReader) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None
    except _CORRUPT:
        return None
    title = collapse(str(title)) if title else ""
    if len(title) < 4 or not any(char.isalpha() for char in title) or _USELESS_TITLE.search(title):
        return None
    return title


def _metadata(reader: PdfReader) -> dict[str, str]:
    try:
        info = reader.metadata or {}
        items = {
            "author": info.get("/Author"),
            "created": info.get("/CreationDate"),
            "subject": info.get("/Subject"),
        }
    except _CORRUPT:
        return {}
    return {key: collapse(str(value)) for key, value in items.items() if value}
