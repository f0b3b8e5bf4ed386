"""Tables continued across pages: the part of a table at the top of a page that goes on from the
last table of the page before.

A table continues the last table of the page before when it is the first thing on its page (a
running header aside), has no caption of its own (or one that names the same table and says it
is continued: "Table 3 (continued)"), has as many columns, and either its columns stand where
the other's do or it repeats the other's heading rows. It stays one table a page (`kb tables`
writes one entry a page); it gets the first part's caption with " (continued)" unless it prints
its own, and `continues`, so that its rows are read under the first part's caption and column
headings (ingest/table_rows.py). A repeated heading row is marked as headings, not read as data.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ingest.tables.model import Cell, Table

# Columns of two parts of one table set by the same software stand at the same place: their
# left edges (text set flush left), right edges (figures set flush right) or middles (centred)
# are this close, in PDF points. Text widths differ from page to page, so one of the three must
# match, not all.
_COLUMN_SHIFT = 3.0
_SUFFIX = " (continued)"
_LABEL = re.compile(r"^\s*(\w+)\.?\s*([A-Z]?\d+(?:\.\d+)?[a-z]?|[IVX]{1,5})\b")
_CONTINUED = re.compile(
    r"\b(?:continued|cont(?:inued|d)?\.|suite|fortsetzung|forts\.|segue|continuaci[óo]n)", re.I
)


def continues(table: Table, before: Table | None, first_on_page: bool) -> bool:
    """Whether `table`, found first on its page (`first_on_page`: nothing but a running header
    above it), continues `before`, the last table found on the pages before it."""
    if before is None or before.page != table.page - 1 or not first_on_page or table.cols != before.cols:
        return False
    if table.caption and not _says_continued(table.caption, before.caption):
        return False
    return same_columns(table.columns, before.columns) or repeated_heading_rows(table, before) > 0


def continued(table: Table, before: Table) -> Table:
    """`table` as the continuation of `before`: marked `continues`, captioned "<before's caption>
    (continued)" unless it prints a caption of its own, its heading rows only those that repeat
    `before`'s (any other row of it is data, whatever the grid builder guessed)."""
    repeated = repeated_heading_rows(table, before)
    cells = [replace(c, header=c.row < repeated) for c in table.cells]
    caption = table.caption
    if not caption and before.caption:
        caption = before.caption.removesuffix(_SUFFIX) + _SUFFIX
    return replace(table, caption=caption, cells=cells, continues=True)


def same_columns(a: tuple[tuple[float, float], ...], b: tuple[tuple[float, float], ...]) -> bool:
    """Whether two tables' columns (x-ranges, left to right) are as many and stand at the same
    place: each pair's left edges, right edges or middles within _COLUMN_SHIFT points, the whole
    table moved as one or not (left and right pages of a book have mirrored margins)."""
    if not a or len(a) != len(b):
        return False
    return any(
        all(
            min(abs(p[0] - q[0] - dx), abs(p[1] - q[1] - dx), abs(p[0] + p[1] - q[0] - q[1] - 2 * dx) / 2)
            <= _COLUMN_SHIFT
            for p, q in zip(a, b)
        )
        for dx in {0.0, a[0][0] - b[0][0], a[-1][1] - b[-1][1]}
    )


def repeated_heading_rows(table: Table, before: Table) -> int:
    """How many rows at the top of `table` repeat `before`'s heading rows, cell for cell (text
    compared without white space and case); 0 when they do not all repeat."""
    head = heading_rows(before)
    if not head or table.rows <= head:
        return 0
    same = all(_row(table.cells, r) == _row(before.cells, r) for r in range(head))
    return head if same else 0


def heading_rows(table: Table) -> int:
    """How many rows at the top of the table hold heading cells only."""
    rows = 0
    while True:
        cells = [c for c in table.cells if c.row == rows]
        if not cells or not all(c.header for c in cells):
            return rows
        rows += 1


def _row(cells: list[Cell], r: int) -> list[tuple[int, int, str]]:
    return sorted((c.col, c.colspan, "".join(c.text.split()).casefold()) for c in cells if c.row == r)


def _says_continued(caption: str, before: str) -> bool:
    """Whether a caption names the same table as `before`'s and says it is continued ("Table 3
    (continued)" under "Table 3: Returns ...")."""
    mine, theirs = _LABEL.match(caption), _LABEL.match(before)
    if mine is None or theirs is None or not _CONTINUED.search(caption):
        return False
    return (mine.group(1).casefold(), mine.group(2)) == (theirs.group(1).casefold(), theirs.group(2))
