"""A table's data rows as passages of their own: each row's text carries the table's caption and
each value's column heading, so that BM25 and the dense model can match "returns … Italy … 2026"
against `Table 3. Returns by nationality, 2026 — Country: Italy · Returns: 4,210`, and the citation
names the page, the table and the row (`p. 5, table 3, row "Italy"`)."""

from __future__ import annotations

import re
from dataclasses import replace

from ingest.blocks import Block
from ingest.tables.model import Cell, Table
from kb.types import TABLE_ROW_HEAD

# "Table 3", "Tableau 2", "Tabelle 4", "Tabella 1", "表3", "Table A1", "Table 2.1"
_LABEL = re.compile(
    r"^\s*(?:table|tableau|tabelle|tabella|tabla|表)\s*([0-9]{1,3}(?:\.[0-9]{1,2})?[a-z]?|[A-Z][0-9]{0,2}|[IVX]{1,5})\b",
    re.I,
)
_ROW_LABEL_CHARS = 60  # a row's name in its citation: its first cell, cut to this many characters
_SPACE = re.compile(r"\s+")
PARTS = " · "


def is_caption(text: str) -> bool:
    """Whether a line reads as a table's caption ("Table 3: Returns", "Tableau 2 –")."""
    return bool(_LABEL.match(text))


def table_label(table: Table, seq: int) -> str:
    """The table's own number when its caption gives one ("Table 3: …" → "3"), else its position
    among the document's tables (1-based)."""
    m = _LABEL.match(table.caption or "")
    return m.group(1) if m else str(seq)


def row_blocks(table: Table, seq: int, first: Table | None = None) -> list[Block]:
    """One block per data row of the table (header rows and empty rows give none), in row order.
    `first`: the first part of the table when `table` continues it on a later page; the rows
    then carry the first part's caption, number and column headings (cited with their own page),
    and only the rows `table` marks as headings (a repeated heading row) are not data."""
    if not table.cells:
        return []
    first = first or table
    label = table_label(first, seq)
    covering = _covering(table)
    header_rows = _header_rows(table, covering, guess=first is table)
    first_covering = _covering(first)
    first_rows = _header_rows(first, first_covering)
    headings = [_heading(first_covering, first_rows, c) for c in range(table.cols)]
    prefix = _flat(first.caption) or f"Table {label}"
    blocks = []
    for r in range(header_rows, table.rows):
        values: list[tuple[str, str]] = []
        seen: set[int] = set()
        for c in range(table.cols):
            cell = covering.get((r, c))
            if cell is None or id(cell) in seen or not _flat(cell.text):
                continue
            seen.add(id(cell))
            values.append((headings[c], _flat(cell.text)))
        if not values:
            continue
        name = values[0][1][:_ROW_LABEL_CHARS].rstrip()
        text = prefix + TABLE_ROW_HEAD + PARTS.join(f"{h}: {v}" if h else v for h, v in values)
        blocks.append(
            Block(text, page=table.page or None, table=label, row=name, cells=tuple(values), table_seq=seq)
        )
    return blocks


def _covering(table: Table) -> dict[tuple[int, int], Cell]:
    """Every grid slot → the cell covering it (a spanning cell covers several)."""
    out: dict[tuple[int, int], Cell] = {}
    for cell in table.cells:
        for r in range(cell.row, cell.row + cell.rowspan):
            for c in range(cell.col, cell.col + cell.colspan):
                out.setdefault((r, c), cell)
    return out


def _header_rows(table: Table, covering: dict[tuple[int, int], Cell], guess: bool = True) -> int:
    """How many rows at the top are column headings: those whose filled cells are all marked as
    headers; when the reader marked none (and `guess`), the first row if no cell of it is a
    figure and the table has a row below it."""
    rows = 0
    while rows < table.rows:
        cells = [covering.get((rows, c)) for c in range(table.cols)]
        filled = [cell for cell in cells if cell is not None and _flat(cell.text)]
        # A heading cell merged down into the row makes it part of the headings too ("Country"
        # over two rows beside "Returns" over "2022 | 2023").
        merged_down = rows > 0 and any(c is not None and c.header and c.row < rows for c in cells)
        if not filled or not (merged_down or all(cell.header for cell in filled)):
            break
        rows += 1
    if rows or table.rows < 2 or not guess:
        return rows
    first = [covering.get((0, c)) for c in range(table.cols)]
    texts = [_flat(cell.text) for cell in first if cell is not None and _flat(cell.text)]
    figures = [t for t in texts if re.fullmatch(r"[\d\s.,%()+\-–]+", t)]
    return 1 if len(texts) >= 2 and not figures else 0


def _heading(covering: dict[tuple[int, int], Cell], header_rows: int, col: int) -> str:
    """A column's heading: the texts of the heading cells above it, top down ("2026 – Returns")."""
    parts: list[str] = []
    for r in range(header_rows):
        cell = covering.get((r, col))
        text = _flat(cell.text) if cell is not None else ""
        if text and (not parts or parts[-1] != text):
            parts.append(text)
    return " – ".join(parts)


_LEADER = re.compile(r"(?:\s?\.){3,}")  # dot leaders ("Under 5 years ......" / ". . . .")


def _flat(text: str) -> str:
    """A cell's text on one line, without dot leaders."""
    return _SPACE.sub(" ", _LEADER.sub(" ", text or "")).strip()


def in_tables(tables: list[Table], page_tops: dict[int, float]):
    """A test of whether a PDF line (pypdf's baseline position, PDF points from the bottom) lies
    in one of the tables' boxes (pdfplumber's, from the top of the page: `page_tops` gives each
    page's top edge in PDF points)."""
    boxes: dict[int, list[tuple[float, float, float, float]]] = {}
    for table in tables:
        if table.bbox and table.page in page_tops:
            x0, top, x1, bottom = table.bbox
            height = page_tops[table.page]
            boxes.setdefault(table.page, []).append((x0 - 2, height - bottom - 2, x1 + 2, height - top + 2))

    def inside(page: int, x: float, y: float | None) -> bool:
        return y is not None and any(
            x0 <= x <= x1 and low <= y <= high for x0, low, x1, high in boxes.get(page, ())
        )

    return inside


def with_rows(blocks: list[Block], tables: list[Table]) -> list[Block]:
    """The blocks with each table's row blocks after its caption, else after the last block of the
    table's page (or of an earlier page): rows are cited by page, table and row, so their place in
    the reading order only decides what the Documents reader shows around them. A table continued
    from the page before (`continues`) is the same table as its first part: same number and
    position among the document's tables, its caption and headings."""
    out = list(blocks)
    seq, first = 0, None
    for k, table in enumerate(tables):
        if table.continues and first is not None and tables[k - 1].page == table.page - 1:
            rows = row_blocks(table, seq, first)
        else:
            seq, first = seq + 1, table
            rows = row_blocks(table, seq)
        if not rows:
            continue
        caption = _flat(table.caption)
        at = next(
            (i + 1 for i, b in enumerate(out) if caption and b.page == table.page and b.text == caption), 0
        )
        at = at or max((i + 1 for i, b in enumerate(out) if (b.page or 0) <= table.page), default=len(out))
        out[at:at] = rows
    return out


# A table whose cells hold this many characters (median of the filled ones) or more is a layout
# table holding prose (old web pages, forms in Word): its cells are read as paragraphs.
_PROSE_CELL = 200


# Measured on ../shared/pdfs (python /tmp/tstat.py there): the tables the PDF table reader finds
# in running text (a Federal Register page's three columns, a court transcript's numbered lines)
# have a median cell of 32-48 characters and 0-18 % figures; the real ones (ICDAR 2013 reports)
# 2-8 characters, and a caption or 30-80 % figures.
_PDF_CELL = 25
_PDF_FIGURES = 0.3
_FIGURE = re.compile(r"[\s\d.,%()+\-–—$€£*/:]*\d[\s\d.,%()+\-–—$€£*/:]*")


def is_pdf_data_table(table: Table) -> bool:
    """Whether a table the PDF table reader found is one to read as rows: short cells, and a
    caption ("Table 3: …") or figures in at least 30 % of its cells. Other finds (columns of
    running text read as a table) stay in the text."""
    if not _short_cells(table, _PDF_CELL):
        return False
    filled = [_flat(c.text) for c in table.cells if _flat(c.text)]
    figures = sum(1 for t in filled if _FIGURE.fullmatch(t)) / len(filled)
    return bool(_LABEL.match(table.caption or "")) or figures >= _PDF_FIGURES


def data_tables(tables: list[Table]) -> list[Table]:
    """The PDF tables to read as rows (is_pdf_data_table), a table continued over pages judged
    as a whole: its later parts go with its first part, and a later part kept without its first
    part no longer `continues` anything."""
    out: list[Table] = []
    kept = False
    for table in tables:
        if table.continues:
            if kept:
                out.append(table)
            elif is_pdf_data_table(table):
                out.append(replace(table, continues=False))
                kept = True
            continue
        kept = is_pdf_data_table(table)
        if kept:
            out.append(table)
    return out


def is_data_table(table: Table) -> bool:
    """Whether a Word or HTML table holds data (rows of values under headings) rather than
    laying out text: two rows and two columns at least, and short cells."""
    return _short_cells(table, _PROSE_CELL)


def _short_cells(table: Table, limit: int) -> bool:
    """Two rows and two columns at least, and a median filled cell under `limit` characters."""
    lengths = sorted(len(_flat(c.text)) for c in table.cells if _flat(c.text))
    return table.rows >= 2 and table.cols >= 2 and bool(lengths) and lengths[len(lengths) // 2] < limit
