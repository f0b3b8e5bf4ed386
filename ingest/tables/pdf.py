"""The tables of a PDF: found on each page (ingest/tables/pdf_regions.py), laid on a grid
(ingest/tables/pdf_grid.py), with the caption above or below each and the notes under it.

A table at the top of a page may continue the last table of the page before
(ingest/tables/pdf_continued.py): it gets its caption, marked "(continued)", and its headings.
"""

from __future__ import annotations

import logging
import re
import struct
import zlib
from pathlib import Path

from ingest.blocks import ReadError, reason
from ingest.tables.model import Table
from ingest.tables.pdf_continued import continued, continues
from ingest.tables.pdf_grid import build_cells, column_bands
from ingest.tables.pdf_lattice import lattice_cells
from ingest.tables.pdf_regions import CAPTION, NOTE, Region, find_regions
from ingest.tables.pdf_text import PageText, read_page

_CAPTION_LINES = 3  # a caption is at most this many lines above (or below) its table
_CAPTION_GAP = 2.5  # ... and at most this many line heights away from it
_NOTE_LINES = 6
# A curve of this many points near a run of "rows" makes it a chart (its legend and axis labels).
_CHART_POINTS = 6
_SCALE = re.compile(r"^([\d,]*\.?\d+)\s*%?$")
_AXIS_TICKS = 4  # a chart's value axis has at least this many labelled ticks
# A grid of rules with text in fewer of its cells than this is a chart's grid or a frame, not a table.
_FILLED_CELLS = 0.4


def tables_of_pdf(path: Path | str, pages: set[int] | None = None) -> list[Table]:
    """Every table of the PDF at `path` (or of the `pages` given, 1-based), page by page, top to
    bottom. Raises ReadError (one line, without the path) for an empty, encrypted, corrupt or
    non-PDF file."""
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfminer.psexceptions import PSException
    from pdfplumber.utils.exceptions import PdfminerException

    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    path = Path(path)
    if path.stat().st_size == 0:
        raise ReadError("empty file (0 bytes)")
    with open(path, "rb") as f:
        if b"%PDF" not in f.read(1024):
            raise ReadError("not a PDF (no %PDF header)")
    broken = (PSException, PDFSyntaxError, PdfminerException, ValueError, KeyError, TypeError,
              IndexError, AttributeError, AssertionError, RecursionError, NotImplementedError,
              OSError, zlib.error, struct.error, ZeroDivisionError, OverflowError)  # fmt: skip
    tables: list[Table] = []
    try:
        with pdfplumber.open(path) as pdf:
            for number, page in enumerate(pdf.pages, start=1):
                if pages is None or number in pages:
                    tables.extend(page_tables(page, number, tables[-1] if tables else None))
    except (PDFPasswordIncorrect, PDFEncryptionError) as error:
        raise ReadError("encrypted PDF, no password given") from error
    except PdfminerException as error:
        if isinstance(error.args[0] if error.args else None, PDFPasswordIncorrect):
            raise ReadError("encrypted PDF, no password given") from error
        raise ReadError(f"corrupt PDF: {reason(error)}") from error
    except broken as error:
        raise ReadError(f"corrupt PDF: {reason(error)}") from error
    return tables


def page_tables(page, number: int, before: Table | None = None) -> list[Table]:
    """The tables of one pdfplumber page (`number` 1-based); `before` is the last table of the
    pages before it, which a table at the top of this page may continue."""
    text = read_page(page, number)
    charts = [_box(c) for c in page.curves if len(c.get("pts", ())) >= _CHART_POINTS]
    finder = page.debug_tablefinder({"vertical_strategy": "lines", "horizontal_strategy": "lines"})
    grid = [tuple(float(v) for v in cell) for table in finder.tables for cell in table.cells]
    return tables_on(text, _ruled_boxes(finder), grid, charts, before)


def tables_on(text: PageText, ruled: list, grid: list, charts: list, before: Table | None) -> list[Table]:
    """The tables of a page read into `text` (its words, lines and rules), given the boxes of the
    grids drawn with rules on it, the cells of those grids and the boxes of its charts' curves
    (all [] for a scanned page, whose words OCR gives)."""
    number = text.number
    regions = [
        r
        for r in find_regions(text, ruled)
        if r.ruled or not (any(_meets(r.bbox, c) for c in charts) or _axis(text.lines[r.lines[-1]]))
    ]
    out = []
    for k, region in enumerate(regions):
        cells = lattice_cells(text, region.lines, region.bbox, grid) or build_cells(
            text, region.lines, region.bbox
        )
        if not cells:
            continue
        caption = _caption(text, region, regions[k - 1] if k else None)
        columns = tuple(column_bands(text, region.lines, region.bbox))
        table = Table(number, region.bbox, caption, cells, _notes(text, region), columns=columns)
        if not out and continues(table, before, _first_on_page(text, region, caption)):
            table = continued(table, before)
        out.append(table)
    return out


def _axis(line) -> bool:
    """Whether the line is a chart's value axis: numbers from 0 up in equal steps, evenly spaced
    ("0% 10% 20% ... 100%" under the bars of eu-012 p. 3; a table's last row is not a scale)."""
    values = []
    for word in line.words:
        match = _SCALE.match(word.text)
        if match is None:
            return False
        values.append((float(match.group(1).replace(",", "")), (word.x0 + word.x1) / 2))
    if len(values) < _AXIS_TICKS or values[0][0] != 0:
        return False
    steps = {round(b[0] - a[0], 6) for a, b in zip(values, values[1:])}
    gaps = [b[1] - a[1] for a, b in zip(values, values[1:])]
    return len(steps) == 1 and min(steps) > 0 and max(gaps) - min(gaps) <= 0.1 * max(gaps)


def _box(obj) -> tuple[float, float, float, float]:
    return (float(obj["x0"]), float(obj["top"]), float(obj["x1"]), float(obj["bottom"]))


def _meets(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _ruled_boxes(finder) -> list[tuple[float, float, float, float]]:
    """Boxes of the grids drawn with rules (two rows and two columns at least)."""
    boxes = []
    for table in finder.tables:
        rows = table.rows
        if len(rows) < 2 or max(len(r.cells) for r in rows) < 2:
            continue
        texts = [t for row in table.extract() for t in row if t is not None]
        if sum(1 for t in texts if t.strip()) < _FILLED_CELLS * len(texts):
            continue
        # A row of one cell across the grid (a heading between two tables drawn in one frame)
        # parts the grid.
        run: list = []
        for row in [*rows, None]:
            if row is None or (
                sum(1 for c in row.cells if c is not None) <= 1
                and row.bbox[2] - row.bbox[0] >= 0.9 * (table.bbox[2] - table.bbox[0])
            ):
                if len(run) >= 2:
                    boxes.append((run[0].bbox[0], run[0].bbox[1], run[-1].bbox[2], run[-1].bbox[3]))
                run = []
            else:
                run.append(row)
    return boxes


def _caption(text: PageText, region: Region, above: Region | None) -> str:
    """The caption over the table (or under it), its lines joined; "" when it has none."""
    first, last = region.lines[0], region.lines[-1]
    floor = above.lines[-1] if above else -1
    lines = text.lines
    for start in range(first - 1, max(floor, first - 1 - _CAPTION_LINES), -1):
        if CAPTION.match(lines[start].text):
            if region.bbox[1] - lines[start].bottom > _CAPTION_GAP * _CAPTION_LINES * lines[start].size:
                break
            return " ".join(lines[j].text for j in range(start, first) if _beside(lines[j], region))
    for j in range(last + 1, min(len(lines), last + 1 + _CAPTION_LINES)):
        if CAPTION.match(lines[j].text) and lines[j].top - region.bbox[3] < _CAPTION_GAP * lines[j].size:
            return lines[j].text
    return ""


def _notes(text: PageText, region: Region) -> str:
    """The notes under the table ("Source: ...", "* ..."), with the lines that continue them."""
    lines = text.lines
    out: list[str] = []
    previous_bottom = region.bbox[3]
    for j in range(region.lines[-1] + 1, min(len(lines), region.lines[-1] + 1 + _NOTE_LINES)):
        line = lines[j]
        if line.top - previous_bottom > _CAPTION_GAP * line.size or not _beside(line, region):
            break
        if NOTE.match(line.text) or (out and line.size <= lines[region.lines[-1]].size):
            out.append(line.text)
            previous_bottom = line.bottom
        else:
            break
    return "\n".join(out)


def _beside(line, region: Region) -> bool:
    return line.x0 < region.bbox[2] and line.x1 > region.bbox[0]


def _first_on_page(text: PageText, region: Region, caption: str) -> bool:
    """Whether nothing but a running header (and the table's own caption) stands above the table."""
    return sum(1 for line in text.lines if line.bottom < region.bbox[1] and line.text not in caption) <= 2


def table_in_box(page, number: int, bbox: tuple[float, float, float, float]) -> Table | None:
    """The table whose rows lie in `bbox` on a pdfplumber page (the "regions given" task of the
    ICDAR 2013 competition): its grid only, no search for tables or captions."""
    text = read_page(page, number)
    ids = [
        i
        for i, line in enumerate(text.lines)
        if bbox[1] - 1 <= (line.top + line.bottom) / 2 <= bbox[3] + 1
        and line.x0 < bbox[2]
        and line.x1 > bbox[0]
    ]
    finder = page.debug_tablefinder({"vertical_strategy": "lines", "horizontal_strategy": "lines"})
    grid = [tuple(float(v) for v in cell) for table in finder.tables for cell in table.cells]
    cells = (lattice_cells(text, ids, bbox, grid) or build_cells(text, ids, bbox)) if ids else []
    return Table(number, tuple(bbox), "", cells) if cells else None
