"""Where the tables of a PDF page are: boxes around their rows, from text alignment and rules.

A table row is a line that splits into two or more segments (runs of words with a column gap
between them) that are not prose. A run of such rows, close together and with at most a few
short lines among them (a wrapped row label, a section row), is a table; the short lines just
above its first row that sit within its width are its column headings. A grid of drawn rules
(pdfplumber's finder, "lines" strategy) with text in it is a table too, and a text table that
overlaps a ruled one is the same table. A caption line ("Table 3: ...") never belongs to rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.tables.pdf_text import PageText, Segment, TextLine

CAPTION = re.compile(r"^\s*(?:table|tab\.|tableau|tabelle|tabla|tabella|exhibit)\s*[\dIVXA-Z]", re.I)
NOTE = re.compile(r"^\s*(?:sources?|notes?|nb|\*|†|‡|§|¹|\(\w\)|\w\)|abbreviations?)\b|^\s*[*†‡§]", re.I)
# A segment with this many words that is wider than this share of the page's text width is prose
# (two-column pages give two such segments a line), never a cell of a row.
_PROSE_WORDS = 6
_PROSE_WIDTH = 0.3
# Rows of one table are at most this many line heights apart (bottom of one to top of the next);
# 2.2 keeps the double-spaced rows of eu-003 and stops before a caption two lines down.
_ROW_GAP = 2.2
_HEAD_GAP = 1.6  # column headings sit at most this many line heights above the row under them
_BETWEEN = 3  # lines that are not rows allowed between two rows of one table
_MIN_ROWS = 2


@dataclass
class Region:
    """A table found on a page: its lines (indices into PageText.lines) and its box."""

    lines: list[int]
    bbox: tuple[float, float, float, float]
    ruled: bool = False


def find_regions(page: PageText, ruled_boxes: list[tuple[float, float, float, float]]) -> list[Region]:
    """The tables of a page, top to bottom."""
    width = _text_width(page)
    cells = [_cells(line, width) for line in page.lines]
    regions = _text_regions(page, cells, width)
    for box in ruled_boxes:
        inside = [i for i, line in enumerate(page.lines) if _centre_in(line, box)]
        if not inside:
            continue
        merged = [r for r in regions if _overlap(r.bbox, box) > 0.3 * _area(r.bbox)]
        regions = [r for r in regions if r not in merged]
        lines = sorted(set(inside).union(*[r.lines for r in merged]))
        regions.append(Region(lines, _union([box, *[r.bbox for r in merged]]), ruled=True))
    regions.sort(key=lambda r: r.bbox[1])
    return _without_nested(regions)


def _text_width(page: PageText) -> float:
    if not page.lines:
        return page.width
    return max(line.x1 for line in page.lines) - min(line.x0 for line in page.lines)


def is_prose(segment: Segment, width: float) -> bool:
    return len(segment.words) >= _PROSE_WORDS and segment.x1 - segment.x0 > _PROSE_WIDTH * width


def _cells(line: TextLine, width: float) -> list[Segment]:
    """The segments of a line that could be cells (not prose), none when it is a caption."""
    if CAPTION.match(line.text):
        return []
    return [s for s in line.segments if not is_prose(s, width)]


def _text_regions(page: PageText, cells: list[list[Segment]], width: float) -> list[Region]:
    lines = page.lines
    rows = [i for i, c in enumerate(cells) if len(c) >= 2]
    regions: list[Region] = []
    run: list[int] = []
    for i in rows:
        if run and not _continues(page, cells, run[-1], i):
            regions.extend(_region_of(page, cells, run, width))
            run = []
        run.append(i)
    if run:
        regions.extend(_region_of(page, cells, run, width))
    return [r for r in regions if len(r.lines) >= _MIN_ROWS and not _all_in_one(lines, r)]


def _continues(page: PageText, cells: list[list[Segment]], last: int, nxt: int) -> bool:
    """Whether row line `nxt` continues the table whose last row line is `last`."""
    lines = page.lines
    height = lines[last].size
    between = range(last + 1, nxt)
    if len(between) > _BETWEEN:
        return False
    x0 = min(s.x0 for s in cells[last])
    x1 = max(s.x1 for s in cells[last])
    for j in between:
        line = lines[j]
        if CAPTION.match(line.text) or not cells[j]:
            return False  # a caption, or a prose line
    previous = lines[last]
    for j in [*between, nxt]:
        if lines[j].top - previous.bottom > _ROW_GAP * height:
            return False
        previous = lines[j]
    row_x0 = min(s.x0 for s in cells[nxt])
    row_x1 = max(s.x1 for s in cells[nxt])
    return row_x0 < x1 and row_x1 > x0  # side by side with the rows above


def _region_of(page: PageText, cells: list[list[Segment]], run: list[int], width: float) -> list[Region]:
    lines = page.lines
    members = list(range(run[0], run[-1] + 1))
    x0 = min(s.x0 for i in run for s in cells[i])
    x1 = max(s.x1 for i in run for s in cells[i])
    # Column headings above the first row: short lines within the table's width.
    first = run[0]
    while first > 0:
        above = first - 1
        line = lines[above]
        if CAPTION.match(line.text) or not cells[above] or NOTE.match(line.text):
            break
        if lines[first].top - line.bottom > _HEAD_GAP * line.size:
            break
        seg_x0 = min(s.x0 for s in cells[above])
        seg_x1 = max(s.x1 for s in cells[above])
        if seg_x0 < x0 - 2 * line.size or seg_x1 > x1 + 2 * line.size:
            break
        if len(cells[above]) == 1 and seg_x1 - seg_x0 > 0.8 * (x1 - x0) and len(cells[above][0].words) > 8:
            break  # a title over the table's whole width
        members.insert(0, above)
        first = above
    members = [i for i in members if cells[i]]
    boxes = [
        (s.x0, s.top, s.x1, s.bottom)
        for i in members
        for s in cells[i]
        if s.x1 > x0 - 1 and s.x0 < x1 + 1
    ]
    if not boxes:
        return []
    return [Region(members, _union(boxes))]


def _all_in_one(lines: list[TextLine], region: Region) -> bool:
    return False


def _centre_in(line: TextLine, box) -> bool:
    cx, cy = (line.x0 + line.x1) / 2, (line.top + line.bottom) / 2
    return box[0] - 1 <= cx <= box[2] + 1 and box[1] - 1 <= cy <= box[3] + 1


def _area(b) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def _overlap(a, b) -> float:
    return _area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def _union(boxes) -> tuple[float, float, float, float]:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _without_nested(regions: list[Region]) -> list[Region]:
    """Regions with those inside another (a ruled box within a ruled box) merged into it."""
    out: list[Region] = []
    for region in sorted(regions, key=lambda r: -_area(r.bbox)):
        host = next((o for o in out if _overlap(o.bbox, region.bbox) > 0.5 * _area(region.bbox)), None)
        if host is None:
            out.append(region)
        else:
            host.lines = sorted(set(host.lines) | set(region.lines))
            host.bbox = _union([host.bbox, region.bbox])
    return sorted(out, key=lambda r: r.bbox[1])
