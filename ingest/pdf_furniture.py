"""What a PDF prints besides its running text, found among its lines and left out: running headers
and footers, page numbers, printer's slugs, line numbers in the margin, and tables."""

from __future__ import annotations

import re
from collections import Counter

from ingest.pdf_lines import SIZE_CHANGE, Line, gap_between

_PAGE_NUMBER = re.compile(
    r"(?:page\s+)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?|[-–—]\s*\d{1,4}\s*[-–—]|[ivx]{1,6}", re.IGNORECASE
)
_EDGE_LINES = 3  # lines at the top and at the bottom of a page that may be running headers/footers
_REPEATED_ON = 0.4  # share of pages on which a running header or footer recurs
# A line at the edge of the page in a font this small next to the body's is a printer's slug
# ("EP06AU20.011</GPH>" at 4 pt under 9 pt text in the Federal Register), never text to cite.
_TINY = 0.5
# A number in a table cell: "93", "18.8%", "291,099", "*–0.4", "(X)", "–".
_FIGURE = re.compile(
    r"[*(]*[-–+]?(?:\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?|\.\d+)%?\)?\**|\(X\)|[-–—]|\*+|n\.a\.|[xX✓✔√]"
)
_DASHES = frozenset("-–—")
_DOT_LEADER = re.compile(r"(?:\.\s?){4,}")
# A caption or source line starts a block even where the paragraph before it stops mid-sentence
# (it continues in the next column, past the figure).
CAPTION = re.compile(r"(?:Figure|Fig\.|Table|Chart|Graph|Box|Source|Sources|Note|Notes)\b\s*[\d:.]")
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


def drop_furniture(pages: list[list[Line]]) -> list[Line]:
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


def drop_line_numbers(lines: list[Line]) -> tuple[list[Line], list[str]]:
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
            and gap_between(above, line) > 0
        ):
            close()
        run.append(index)
    close()
    pages = sorted({lines[index].page for index in numbered})
    warnings = [f"page {page}: line numbers in the margin left out" for page in pages]
    return [line for index, line in enumerate(lines) if index not in numbered], warnings


def drop_tables(lines: list[Line]) -> tuple[list[Line], list[str]]:
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
        other_font = abs(line.size - body_size) > SIZE_CHANGE * body_size
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
        if CAPTION.match(line.text) or (
            index - 1 in captions
            and above is not None
            and above.page == line.page
            and 0 < gap_between(above, line) <= _CAPTION_SPACING * max(line.size, above.size)
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
