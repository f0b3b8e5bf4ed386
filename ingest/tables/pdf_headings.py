"""The column headings of a table without rules between its rows, as cells.

Words of a heading set over several lines ("to air" / "kg/year") are one cell: a segment joins
the cell just above it when it lies in that cell's columns, close under it, and no other
segment of its line lies in those columns (else the upper cell is a heading over several
columns: "Women" over "Hispanic" and "Non-Hispanic"). The heading rows are the distinct heights
at which cells start; a cell as tall as several of them spans them ("Age / group / (yrs)" beside
three rows of headings), which is how the ICDAR 2013 ground truth and HTML would draw it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.tables.model import Cell

_STACK_GAP = 0.9  # lines of one heading cell are at most this many font sizes apart (bottom to top)
_SAME_ROW = 0.5  # cells starting within this many font sizes of each other start the same row
_OVER_ALL = 3  # a heading alone on its line over this many years or more is over them all
YEAR = re.compile(r"^(?:19|20)\d\d$")


@dataclass
class _Block:
    c0: int
    c1: int
    pieces: list = field(default_factory=list)

    @property
    def top(self) -> float:
        return self.pieces[0].segment.top

    @property
    def bottom(self) -> float:
        return self.pieces[-1].segment.bottom

    @property
    def size(self) -> float:
        return max(w.size for p in self.pieces for w in p.segment.words)


def heading_cells(pieces: list, lines: int) -> tuple[list[Cell], int]:
    """The heading cells made of `pieces` (placed segments of the first `lines` lines of a table,
    with .line, .c0, .c1 and .segment) and the number of heading rows they take."""
    blocks: list[_Block] = []
    rows = [sorted((p for p in pieces if p.line == k), key=lambda p: p.c0) for k in range(lines)]
    for k, row in enumerate(rows):
        years = [p for p in rows[k + 1] if YEAR.match(p.segment.text)] if k + 1 < lines else []
        if len(row) == 1 and row[0].c0 > 0 and len(years) >= _OVER_ALL:
            # A heading alone on its line over a row of years is over them all ("Year" over
            # 1997 ... 2007 in us-023 of ICDAR 2013 DEV), however narrow: it spans their columns.
            blocks.append(_Block(min(p.c0 for p in years), max(p.c1 for p in years), [row[0]]))
            continue
        for p in row:
            host = next((b for b in blocks if _stacks(b, p, row)), None)
            if host is None:
                blocks.append(_Block(p.c0, p.c1, [p]))
            else:
                host.pieces.append(p)
    if not blocks:
        return [], 0
    tops: list[float] = []
    for b in sorted(blocks, key=lambda b: b.top):
        if not tops or b.top - tops[-1] > _SAME_ROW * b.size:
            tops.append(b.top)
    cells = []
    for b in blocks:
        r0 = max(i for i, t in enumerate(tops) if t <= b.top + _SAME_ROW * b.size)
        r1 = max(i for i, t in enumerate(tops) if t < b.bottom)
        r1 = min(max(r0, r1), _free_down(b, r0, max(r0, r1), blocks, tops))
        text = "\n".join(p.segment.text for p in b.pieces)
        cells.append(Cell(r0, b.c0, r1 - r0 + 1, b.c1 - b.c0 + 1, text, header=True))
    return sorted(cells, key=lambda c: (c.row, c.col)), len(tops)


def _stacks(block: _Block, piece, row: list) -> bool:
    last = block.pieces[-1]
    if last.line != piece.line - 1 or not (block.c0 <= piece.c0 and piece.c1 <= block.c1):
        return False
    if piece.segment.top - last.segment.bottom > _STACK_GAP * block.size:
        return False
    if piece.segment.x1 < last.segment.x0 or piece.segment.x0 > last.segment.x1:
        return False  # not under it
    return not any(q is not piece and q.c1 >= block.c0 and q.c0 <= block.c1 for q in row)


def _free_down(block: _Block, r0: int, r1: int, blocks: list[_Block], tops: list[float]) -> int:
    """The last row down to `r1` that no other block starts in within `block`'s columns."""
    for r in range(r0 + 1, r1 + 1):
        for other in blocks:
            if other is block or other.c1 < block.c0 or other.c0 > block.c1:
                continue
            if abs(other.top - tops[r]) <= _SAME_ROW * other.size:
                return r - 1
    return r1
