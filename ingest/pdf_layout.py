"""From a PDF's running lines to blocks: the body font, then footnotes and headings, then the
paragraphs the lines make, joined over columns and pages."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from ingest.blocks import Block
from ingest.lines import (
    WordList,
    ends_sentence,
    ends_with_punctuation,
    join_lines,
    starts_paragraph,
)
from ingest.pdf_furniture import CAPTION
from ingest.pdf_lines import SIZE_CHANGE, Line, gap_between

_LARGER = 1.12  # a heading's size, relative to the body's
_PARAGRAPH_SPACE = 1.35  # a gap this many times the usual line spacing separates paragraphs
_SET_APART_MAX_CHARS = 80
# A footnote's font is at most this size relative to the body's: 10 pt under 11 pt (EU reports),
# 7 pt under 9 pt (Federal Register, Census); 0.95 would take in 9.5 pt captions under 10 pt text.
_FOOTNOTE_SIZE = 0.92
# A footnote starts with its number ("1 Preliminary", "35. These", "(6) Eurostat") or a mark.
_FOOTNOTE_MARK = re.compile(r"(?:\d{1,3}\.?|\(\d{1,3}\)|[*†‡§]{1,3})\s+\S")
_NUMBERED_NOTE = re.compile(r"(?:\d{1,3}\.|\(\d{1,3}\))\s+\S")


@dataclass(frozen=True)
class Style:
    """The body text's font and line spacing, from the most common values in the document."""

    size: float
    bold: bool
    spacing: float  # usual distance between the baselines of two lines of a paragraph
    heading_levels: dict[tuple[float, bool], int]  # (rounded size, bold) of heading lines -> level


def mark_footnotes(lines: list[Line], style: Style) -> None:
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


def body_style(lines: list[Line]) -> Style:
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
            gap = round(gap_between(above, below), 1)
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


def mark_headings(lines: list[Line], style: Style) -> None:
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
        above is None
        or above.page != line.page
        or gap_between(above, line) > _PARAGRAPH_SPACE * style.spacing
    )
    return space_above and gap_between(line, following) > _PARAGRAPH_SPACE * style.spacing


def blocks_of(lines: list[Line], style: Style) -> list[Block]:
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
        return not (line.heading == last.heading and 0 < gap_between(last, line) <= 1.6 * line.size)
    if starts_paragraph(line.text) or CAPTION.match(line.text):
        return True
    if abs(line.size - last.size) > SIZE_CHANGE * last.size:
        return True  # a table's headings or a chart's labels after a paragraph, not its next line
    if line.page != last.page or line.y is None or last.y is None or gap_between(last, line) <= 0:
        return not _continues(last, line, margins)
    if gap_between(last, line) > _PARAGRAPH_SPACE * style.spacing * max(1.0, line.size / style.size):
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
