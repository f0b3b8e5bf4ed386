"""A column of prose beside a table: found and taken out of the table's candidate cells.

A table set in one column of a page has prose beside it in the other column, on baselines of its
own, and the short lines of that prose (a paragraph's last line, a reference's first words, lines
broken by justification) look like cells. They are prose when a white gutter runs down between
them and the table, and the text on their side of the gutter goes on above and below the table
in lines of several words, while the other side holds the table's short cells.
"""

from __future__ import annotations

from ingest.tables.pdf_marks import CAPTION, NOTE
from ingest.tables.pdf_text import PageText, Segment

# Mean words per segment of a column of prose beside a table: at least this many (ICDAR 2013 DEV:
# 5.0 and 7.6 in the prose columns of us-038 and us-025; the table sides there 1.4 and 1.1).
_PROSE_MEAN = 3.0
# A gutter is at least this many em of white between the two sides (27 pt and 63 pt in us-025
# and us-038, i.e. 3 and 7 em; the gaps between the columns of one table are 0.65 em or more).
_GUTTER = 1.5
_AROUND = 3  # lines looked at above and below the table for the prose that goes on
_PROSE_LINE = 4  # words of a line of that prose
# Lines of prose alone (nothing on the table's side) within the table's height: at least
# this many (us-038: 1 in the first rows found, us-025: 3; a table whose labels are long, eu-013 p. 8: none).
_BETWEEN_ROWS = 1


def drop_side_prose(page: PageText, cells: list[list[Segment]], regions) -> bool:
    """Remove from `cells` (the candidate cells of each line) the segments of a column of prose
    beside one of the `regions`; whether any was removed."""
    changed = False
    lines = page.lines
    for region in regions:
        first, last = region.lines[0], region.lines[-1]
        x0, x1 = region.bbox[0], region.bbox[2]
        span = [s for i in range(first, last + 1) for s in lines[i].segments if s.x1 > x0 and s.x0 < x1]
        size = lines[first].size
        for gap0, gap1 in _gutters(span, _GUTTER * size):
            for bounds in ((float("-inf"), gap0), (gap1, float("inf"))):
                if _prose_beside(page, first, last, span, bounds):
                    for i in range(first, last + 1):
                        kept = [s for s in cells[i] if not _inside(s, bounds)]
                        if len(kept) != len(cells[i]):
                            cells[i] = kept
                            changed = True
    return changed


def _inside(segment: Segment, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= segment.x0 and segment.x1 <= bounds[1]


def _gutters(segments: list[Segment], width: float) -> list[tuple[float, float]]:
    """The white stripes at least `width` wide between the segments' x-ranges."""
    out = []
    reach = None
    for s in sorted(segments, key=lambda s: s.x0):
        if reach is not None and s.x0 - reach >= width:
            out.append((reach, s.x0))
        reach = s.x1 if reach is None else max(reach, s.x1)
    return out


def _mean_words(segments: list[Segment]) -> float:
    return sum(len(s.words) for s in segments) / max(1, len(segments))


def _prose_beside(page: PageText, first: int, last: int, span: list[Segment], bounds) -> bool:
    """Whether the segments of lines `first`..`last` within `bounds` (x from, x to) are a column
    of prose beside a table (`span`: the segments of those lines)."""

    def inside(s: Segment) -> bool:
        return _inside(s, bounds)

    side = [s for s in span if inside(s)]
    table = [s for s in span if not inside(s)]
    if not side or not table or _mean_words(side) < _PROSE_MEAN or _mean_words(table) >= _mean_words(side):
        return False
    if _gutters(side, _GUTTER * side[0].words[0].size):
        return False  # a column of prose is one block of text; this side holds a table's column too
    lines = page.lines
    # Its lines run on between the table's rows, on baselines of their own ...
    alone = [
        i
        for i in range(first, last + 1)
        if all(inside(s) for s in lines[i].segments) and len(lines[i].words) >= _PROSE_LINE
    ]
    if len(alone) < _BETWEEN_ROWS:
        return False
    # ... and above and below the table, where they are not its caption or notes.
    above = range(max(0, first - _AROUND), first)
    below = range(last + 1, min(len(lines), last + 1 + _AROUND))
    return all(
        any(
            inside(s) and len(s.words) >= _PROSE_LINE and not CAPTION.match(s.text) and not NOTE.match(s.text)
            for j in around
            for s in lines[j].segments
        )
        for around in (above, below)
    )
