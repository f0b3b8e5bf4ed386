"""A table's grid from the segments of its lines: columns, rows, spanning and multi-line cells.

Columns: the segments, narrowest first, gather into column bands by overlapping in x; a segment
that overlaps two bands spans them (a heading over several columns). Rows: each line is a row,
except that
- where rules are drawn between (almost) all rows, the lines between two rules are one row;
- in the heading rows (above the first row with figures), words stacked in one column over
  consecutive lines are one cell ("to air" / "kg/year"), unless the lower line has more cells
  under it (then the upper one is a heading spanning them), and a heading cell as tall as
  several heading rows spans them ("Age / group / (yrs)" beside three rows of headings);
- in the body, a line that only continues cells of the row above (it starts in lower case, or
  the row above ends in "-", ",", "and"...) joins that row, and a row label alone on its line
  whose next line starts in lower case joins that next line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.tables.model import Cell
from ingest.tables.pdf_headings import YEAR, heading_cells
from ingest.tables.pdf_text import PageText, Rule, Segment

_FIGURE = re.compile(
    r"^[\s(\[+\-–—−]*[$€£¥%]?\s*[\d.,]+\d*\s*[%‰)\]*]*[a-z]?$|^[-–—.:]+$|^n\.?a\.?$|^\(?x\)?$", re.I
)
_OPEN_END = re.compile(r"(?:[-‐/,&(]|\b(?:and|or|of|the|for|in|to|by|with|a|an|on))$", re.I)
_RULED_ROWS = 0.6  # rules between this share of neighbouring lines make a ruled table


@dataclass
class _Piece:
    """A segment placed on the grid: the line it is on, its columns, its text."""

    line: int
    c0: int
    c1: int
    segment: Segment


def build_cells(page: PageText, line_ids: list[int], bbox) -> list[Cell]:
    """The cells of the table whose lines are `line_ids`, inside `bbox`."""
    lines = _segments(page, line_ids, bbox)
    if not lines:
        return []
    bands = _columns(lines)
    pieces = [_Piece(n, *_span(s, bands), s) for n, segs in enumerate(lines) for s in segs]
    rows, head_rows, ruled = _rows(lines, pieces, page.rules, bbox, len(bands))
    if ruled or head_rows == 0:
        return _cells(rows, pieces, head_rows)
    head, levels = heading_cells([p for p in pieces if p.line < head_rows], head_rows)
    body = _cells(rows[head_rows:], [p for p in pieces if p.line >= head_rows], 0)
    return head + [Cell(c.row + levels, c.col, c.rowspan, c.colspan, c.text, c.header) for c in body]


def column_bands(page: PageText, line_ids: list[int], bbox) -> list[tuple[float, float]]:
    """The x-ranges (PDF points) of the columns of the table whose lines are `line_ids`, inside
    `bbox`, as the grid is built from them: what a continuation on the next page lines up with."""
    lines = _segments(page, line_ids, bbox)
    return _columns(lines) if lines else []


def _segments(page: PageText, line_ids: list[int], bbox) -> list[list[Segment]]:
    """The segments of each line of the table that lie inside `bbox` (lines without any left out)."""
    lines = []
    for i in line_ids:
        segs = [s for s in page.lines[i].segments if bbox[0] - 1 <= (s.x0 + s.x1) / 2 <= bbox[2] + 1]
        if segs:
            lines.append(segs)
    return lines


def _columns(lines: list[list[Segment]]) -> list[tuple[float, float]]:
    bands: list[list[float]] = []
    # The body's segments first (from the first line with two figures on): they seldom span,
    # whereas a heading over several columns that is narrower than one of them would widen its
    # band into the next column ("Stroke" over "no. Rate (95% CI)" in us-025 of ICDAR 2013 DEV).
    body = next((k for k, segs in enumerate(lines) if sum(is_figure(s.text) for s in segs) >= 2), 0)
    order = [(k < body, s.x1 - s.x0, n, s) for k, segs in enumerate(lines) for n, s in enumerate(segs)]
    for *_, s in sorted(order, key=lambda t: t[:3]):
        hit = [b for b in bands if s.x0 < b[1] and s.x1 > b[0]]
        if not hit:
            bands.append([s.x0, s.x1])
        elif len(hit) == 1:
            hit[0][0], hit[0][1] = min(hit[0][0], s.x0), max(hit[0][1], s.x1)
    bands.sort()
    merged: list[list[float]] = []
    for b in bands:  # a band that grew into its neighbour is one column with it
        if merged and b[0] < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b[1])
        else:
            merged.append(list(b))
    return [(b[0], b[1]) for b in merged]


def _span(s: Segment, bands: list[tuple[float, float]]) -> tuple[int, int]:
    hit = [k for k, b in enumerate(bands) if s.x0 < b[1] and s.x1 > b[0]]
    if not hit:  # cannot happen: every segment made or joined a band
        centre = (s.x0 + s.x1) / 2
        k = min(range(len(bands)), key=lambda k: abs((bands[k][0] + bands[k][1]) / 2 - centre))
        return k, k
    return hit[0], hit[-1]


def is_figure(text: str) -> bool:
    return bool(_FIGURE.match(text))


def _rows(lines, pieces, rules: list[Rule], bbox, ncols: int) -> tuple[list[list[int]], int, bool]:
    """Groups of line numbers, one group per grid row; how many of them are heading rows (one
    line each); whether the rows are those drawn between rules."""
    by_line: dict[int, list[_Piece]] = {}
    for p in pieces:
        by_line.setdefault(p.line, []).append(p)
    n = len(lines)
    tops = [min(s.top for s in segs) for segs in lines]
    bottoms = [max(s.bottom for s in segs) for segs in lines]
    width = bbox[2] - bbox[0]
    hrules = [r for r in rules if r.horizontal and r.x1 - r.x0 > 0.5 * width
              and r.x0 < bbox[2] and r.x1 > bbox[0] and bbox[1] - 3 <= r.top <= bbox[3] + 3]  # fmt: skip
    ruled_between = [any(bottoms[k] - 1 <= r.top <= tops[k + 1] + 1 for r in hrules) for k in range(n - 1)]
    if n > 2 and sum(ruled_between) >= _RULED_ROWS * (n - 1):
        groups, current = [], [0]
        for k in range(n - 1):
            if ruled_between[k]:
                groups.append(current)
                current = []
            current.append(k + 1)
        groups.append(current)

        def figure_line(k: int) -> bool:
            return sum(1 for p in by_line[k] if is_figure(p.segment.text)) >= 2

        # Rules around groups of rows (a table ruled every few rows) do not make each group one row.
        if not any(sum(1 for k in group if figure_line(k)) >= 2 for group in groups):
            return groups, 1, True
    head_end = _head_end(lines, by_line, ncols)
    groups = [[k] for k in range(head_end)]
    body: list[list[int]] = []
    for k in range(head_end, n):
        cols = {c for p in by_line[k] for c in range(p.c0, p.c1 + 1)}
        if body and not (ruled_between[k - 1] if k else False):
            prev = body[-1]
            prev_cols = {c for j in prev for p in by_line[j] for c in range(p.c0, p.c1 + 1)}
            first = lines[k][0].text
            prev_text = by_line[prev[-1]][-1].segment.text if len(prev) == 1 else lines[prev[-1]][-1].text
            lower = first[:1].islower() or first[:1] in "([&"
            if cols <= prev_cols and len(cols) < len(prev_cols) and (lower or _OPEN_END.search(prev_text)):
                prev.append(k)
                continue
            if (
                len(prev) == 1
                and prev_cols == {0}
                and lower
                and 0 in cols
                and not any(is_figure(p.segment.text) for p in by_line[prev[0]])
            ):
                prev.append(k)
                continue
        body.append([k])
    return groups + body, head_end, False


def _head_end(lines, by_line, ncols: int) -> int:
    """How many lines the column headings take: those above the first line with figures in
    two or more cells (or the first line, in a table without figures)."""
    for k in range(len(lines)):
        pieces = by_line[k]
        figures = [p for p in pieces if is_figure(p.segment.text) and p.c0 == p.c1]
        if len(figures) >= min(2, max(1, ncols - 1)) and not _years_over_columns(pieces, figures):
            return k
    return 1 if len(lines) > 1 else 0


def _years_over_columns(pieces: list[_Piece], figures: list[_Piece]) -> bool:
    """Whether a line of figures is a heading row of years: all its figures are years, and
    either nothing stands in the first column or the years run in order ("Country 2021 2022
    2023", or by decades: a stub heading beside the years; a data row of values that happen to
    look like years seldom runs strictly up or down in steps of ten or less)."""
    if not figures or not all(YEAR.match(p.segment.text) for p in figures):
        return False
    if all(p.c0 > 0 for p in pieces):
        return True
    years = [int(p.segment.text) for p in sorted(figures, key=lambda p: p.c0)]
    steps = {b - a for a, b in zip(years, years[1:])}
    return len(years) >= 2 and (all(0 < s <= 10 for s in steps) or all(-10 <= s < 0 for s in steps))


def _cells(rows: list[list[int]], pieces: list[_Piece], head_rows: int) -> list[Cell]:
    row_of = {k: r for r, group in enumerate(rows) for k in group}
    slots: dict[tuple[int, int, int], list[_Piece]] = {}
    for p in pieces:
        slots.setdefault((row_of[p.line], p.c0, p.c1), []).append(p)
    cells: list[Cell] = []
    for (r, c0, c1), ps in sorted(slots.items()):
        by_line: dict[int, list[str]] = {}
        for p in sorted(ps, key=lambda p: (p.line, p.segment.x0)):
            by_line.setdefault(p.line, []).append(p.segment.text)
        text = "\n".join(" ".join(parts) for parts in by_line.values())
        cells.append(Cell(r, c0, 1, c1 - c0 + 1, text, header=r < head_rows))
    return cells
