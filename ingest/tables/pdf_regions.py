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

from ingest.tables.pdf_grid import is_figure
from ingest.tables.pdf_marks import BLOCKER, CAPTION, NOTE
from ingest.tables.pdf_sides import drop_side_prose
from ingest.tables.pdf_text import PageText, Segment, TextLine

_ENUMERATOR = re.compile(r"^(?:\(?\d{1,2}(?:\.\d{1,2})*[.):]?|[•·▪◦\-–]|\(?[a-z][.)])$")
# A segment with this many words that is wider than this share of the page's text width is prose
# (two-column pages give two such segments a line), never a cell of a row.
_PROSE_WORDS = 6
_PROSE_WIDTH = 0.3
# A line whose segments all have three words or more, two of them this many, is a line across
# columns of prose (the rows of a table without rules are short: figures, a label).
_COLUMN_WORDS = 4
# Rows of one table are at most this many line heights apart (bottom of one to top of the next);
# 2.2 keeps the double-spaced rows of eu-003 and stops before a caption two lines down.
_ROW_GAP = 2.2
_HEAD_GAP = 1.6  # column headings sit at most this many line heights above the row under them
_BETWEEN = 3  # lines that are not rows allowed between two rows of one table
_MIN_ROWS = 2
_JOIN_GAP = 6.0  # blocks of rows of one table are at most this many line heights apart
_ALIGNED = 0.8  # ... and this share of the lower block's cells sit under cells of the upper one
# A section row between two blocks of one table is narrower than this share of the table (the
# long one of us-002 p. 3: 0.45; a row label column is rarely wider than half a table).
_SECTION_WIDTH = 0.5


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
    _drop_paragraph_ends(page, cells, width)
    regions = _text_regions(page, cells, width)
    if drop_side_prose(page, cells, regions):
        regions = _text_regions(page, cells, width)
    # A text region over several ruled tables (rows of three grids read as one run) gives way to them.
    regions = [
        r for r in regions if sum(1 for box in ruled_boxes if _overlap(r.bbox, box) > 0.1 * _area(box)) < 2
    ]
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
    segments = line.segments
    if any(CAPTION.match(s.text) or BLOCKER.match(s.text) for s in segments):
        return []
    if len(segments) == 2 and _ENUMERATOR.match(segments[0].text) and len(segments[1].words) >= 3:
        return []  # a numbered heading or list item
    if _across_columns(segments):
        return []  # a line across two or three columns of prose
    # A long first segment before two figures or more is a row's label, not a line of prose.
    labelled = sum(1 for s in segments[1:] if is_figure(s.text)) >= 2
    return [s for k, s in enumerate(segments) if not is_prose(s, width) or (k == 0 and labelled)]


def _across_columns(segments: list[Segment]) -> bool:
    return (
        len(segments) >= 2
        and all(len(s.words) >= 3 for s in segments)
        and sum(1 for s in segments if len(s.words) >= _COLUMN_WORDS) >= 2
    )


def _drop_paragraph_ends(page: PageText, cells: list[list[Segment]], width: float) -> None:
    """Leave out of the cells the short lines of prose (a paragraph's last line, a short line of
    a narrow column) that start where a line of prose just above or below them starts."""
    lines = page.lines
    kept = [{id(s) for s in c} for c in cells]  # a long row label is kept, and is not prose
    for i in range(len(lines)):
        starts = {
            round(s.x0)
            for j in (i - 1, i + 1)
            if 0 <= j < len(lines)
            for s in lines[j].segments
            if is_prose(s, width) and id(s) not in kept[j]
        }
        if starts:
            cells[i] = [
                s for s in cells[i] if not (len(s.words) >= 3 and any(abs(s.x0 - x) <= 1.5 for x in starts))
            ]


def _text_regions(page: PageText, cells: list[list[Segment]], width: float) -> list[Region]:
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
    regions = [r for r in regions if len(r.lines) >= _MIN_ROWS]
    return [part for r in _joined(page, cells, regions) for part in _parted(page, cells, r)]


def _parted(page: PageText, cells: list[list[Segment]], region: Region) -> list[Region]:
    """The region cut before each line that repeats its first line of headings: a second table
    right under the first, with the same headings (us-034 of ICDAR 2013 DEV)."""
    lines = page.lines
    head = lines[region.lines[0]]
    if not any(c.isalpha() for c in head.text) or len(head.words) < 2 or is_figure(head.text):
        return [region]
    starts = [k for k, i in enumerate(region.lines) if k >= _MIN_ROWS and lines[i].text == head.text]
    parts = []
    for a, b in zip([0, *starts], [*starts, len(region.lines)]):
        ids = [i for i in region.lines[a:b] if cells[i]]
        if len(ids) < _MIN_ROWS:
            return [region]
        boxes = [(s.x0, s.top, s.x1, s.bottom) for i in ids for s in cells[i]]
        parts.append(Region(ids, _union(boxes)))
    return parts


def _joined(page: PageText, cells: list[list[Segment]], regions: list[Region]) -> list[Region]:
    """Neighbouring regions joined where only white space, rules and short lines (a section
    row: "Male", "Female") stand between them and their columns line up: a table whose blocks
    of rows are set apart."""
    out: list[Region] = []
    for region in regions:
        if out and _same_table(page, cells, out[-1], region):
            last = out[-1]
            last.lines = list(range(last.lines[0], region.lines[-1] + 1))
            between = [s for i in last.lines for s in cells[i]]
            last.bbox = _union([last.bbox, region.bbox] + [
                (s.x0, s.top, s.x1, s.bottom) for s in between if s.x0 >= last.bbox[0] - 2 and s.x1 <= last.bbox[2] + 2
            ])  # fmt: skip
        else:
            out.append(region)
    return out


def _section_row(line: TextLine, upper: Region) -> bool:
    """Whether the line is a section row of the table above: one run of words from its left
    edge over less than half its width, not a sentence ("Highest enrollment after bachelor's
    degree by 2003" in us-002 of ICDAR 2013 DEV)."""
    width = upper.bbox[2] - upper.bbox[0]
    return (
        len(line.segments) == 1
        and abs(line.x0 - upper.bbox[0]) <= line.size
        and line.x1 - line.x0 <= _SECTION_WIDTH * width
        and not line.text.rstrip().endswith(".")
        and not NOTE.match(line.text)
        and not CAPTION.match(line.text)
    )


def _same_table(page: PageText, cells, upper: Region, lower: Region) -> bool:
    lines = page.lines
    size = lines[upper.lines[-1]].size
    if lower.bbox[1] - upper.bbox[3] > _JOIN_GAP * size:
        return False
    for i in range(upper.lines[-1] + 1, lower.lines[0]):
        line = lines[i]
        if _section_row(line, upper):
            continue
        if not cells[i] or len(cells[i]) > 1 or NOTE.match(line.text) or len(line.words) > 4:
            return False
        if not (upper.bbox[0] - 1 <= line.x0 and line.x1 <= upper.bbox[2] + 1):
            return False
    bands = [(s.x0, s.x1) for i in upper.lines for s in cells[i] if len(cells[i]) >= 2]
    below = [s for i in lower.lines for s in cells[i] if len(cells[i]) >= 2]
    aligned = sum(1 for s in below if any(s.x0 < b[1] and s.x1 > b[0] for b in bands))
    overlap = min(upper.bbox[2], lower.bbox[2]) - max(upper.bbox[0], lower.bbox[0])
    widths = min(upper.bbox[2] - upper.bbox[0], lower.bbox[2] - lower.bbox[0])
    return aligned >= _ALIGNED * max(1, len(below)) and overlap >= 0.8 * widths


def _continues(page: PageText, cells: list[list[Segment]], last: int, nxt: int) -> bool:
    """Whether row line `nxt` continues the table whose last row line is `last`."""
    lines = page.lines
    height = lines[last].size
    x0 = min(s.x0 for s in cells[last])
    x1 = max(s.x1 for s in cells[last])
    # Lines beside the table (prose in the next column, set on other baselines) do not part it.
    between = [j for j in range(last + 1, nxt) if not _beside_rows(lines[j], x0, x1)]
    if len(between) > _BETWEEN:
        return False
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


def _beside_rows(line: TextLine, x0: float, x1: float) -> bool:
    """Whether all the line's words lie right of x1 or left of x0 (in another column)."""
    return all(w.x0 >= x1 or w.x1 <= x0 for w in line.words)


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
        (s.x0, s.top, s.x1, s.bottom) for i in members for s in cells[i] if s.x1 > x0 - 1 and s.x0 < x1 + 1
    ]
    if not boxes:
        return []
    return [Region(members, _union(boxes))]


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
