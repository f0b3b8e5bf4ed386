"""A PDF page's words, text lines and ruling lines, as the table finder sees them.

Words come from pdfplumber (its coordinates are those of the page as displayed, /Rotate applied);
the words of one printed line make a `TextLine`, and a line splits into `Segment`s where the gap
between two words is wide (a column gap) or a vertical rule runs between them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from operator import itemgetter

from ingest.glyphs import clean_glyphs

# Two words of one cell are at most 0.35 em apart in 95% of the ICDAR 2013 DEV cells, two cells
# of one row at least 0.65 em apart in 99% of cases (words of pdfplumber, x_tolerance 1.5, gap
# divided by font size; /tmp gap study over 3,114 same-cell and 6,544 next-cell pairs).
SEGMENT_GAP = 0.5
_WORD_GAP = 1.5  # pdfplumber x_tolerance: characters closer than this (pt) are one word
_RULE_MIN = 4.0  # a drawn edge shorter than this (pt) is a tick or a glyph, not a rule
_PROSE_WORDS = 6
_EVEN_GAPS = 2.0  # in a justified line the widest gap is at most this many times the median one
# ... and the median gap is below this many em (a row of headings "no. Rate (95% CI) no. Rate"
# has even gaps too, but wide ones: 1.13 em or more between cells in 95% of the DEV rows).
_JUSTIFIED_SPACE = 1.0
# Dot leaders ("0.99 ..........  800") guide the eye along a row; they are not a cell's text.
_LEADER = re.compile(r"(?:\.{3,}|…+)$")
# A rule typed as a row of dashes or underscores ("--------------") under a table's headings.
_TYPED_RULE = re.compile(r"^[-_–—=]{4,}$")


@dataclass(slots=True)
class Word:
    x0: float
    x1: float
    top: float
    bottom: float
    text: str
    size: float
    bold: bool


@dataclass(slots=True)
class Segment:
    """Words of one line that sit together: the text of one cell, or of a run of prose."""

    words: list[Word]

    @property
    def x0(self) -> float:
        return self.words[0].x0

    @property
    def x1(self) -> float:
        return max(w.x1 for w in self.words)

    @property
    def top(self) -> float:
        return min(w.top for w in self.words)

    @property
    def bottom(self) -> float:
        return max(w.bottom for w in self.words)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


@dataclass(slots=True)
class TextLine:
    """One printed line of a page: its words left to right, split into segments."""

    words: list[Word]
    segments: list[Segment] = field(default_factory=list)

    @property
    def x0(self) -> float:
        return min(w.x0 for w in self.words)

    @property
    def x1(self) -> float:
        return max(w.x1 for w in self.words)

    @property
    def top(self) -> float:
        return min(w.top for w in self.words)

    @property
    def bottom(self) -> float:
        return max(w.bottom for w in self.words)

    @property
    def size(self) -> float:
        return max(w.size for w in self.words)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


@dataclass(frozen=True, slots=True)
class Rule:
    """A drawn horizontal (y0 == y1) or vertical (x0 == x1) line, or the edge of a filled box."""

    x0: float
    top: float
    x1: float
    bottom: float

    @property
    def horizontal(self) -> bool:
        return self.bottom - self.top < self.x1 - self.x0


@dataclass(slots=True)
class PageText:
    number: int
    width: float
    height: float
    lines: list[TextLine]
    rules: list[Rule]


def read_page(page, number: int) -> PageText:
    """The page's text lines (top to bottom) and rules. Characters set sideways (rotated text in
    a heading cell) are left out: they do not sit on the page's lines."""
    # Fake bold (the same text printed twice, slightly shifted) is read once; characters set
    # sideways are left out.
    kept = {id(char) for char in _deduped(page.chars) if char.get("upright", True)}
    upright = page.filter(lambda obj: obj.get("object_type") != "char" or id(obj) in kept)
    raw = upright.extract_words(
        x_tolerance=_WORD_GAP, y_tolerance=2, keep_blank_chars=False, extra_attrs=["size", "fontname"]
    )
    words = []
    for w in raw:
        text = printed(clean_glyphs(w["text"]))
        if text:
            bold = "bold" in w["fontname"].lower() or "black" in w["fontname"].lower()
            words.append(Word(w["x0"], w["x1"], w["top"], w["bottom"], text, round(w["size"], 1), bold))
    return page_of_words(number, float(page.width), float(page.height), words, _rules(page))


def printed(text: str) -> str:
    """A word's text without dot leaders; "" for a rule typed as dashes (neither is cell text)."""
    text = _LEADER.sub("", text).strip()
    return "" if _TYPED_RULE.match(text) else text


def page_of_words(
    number: int, width: float, height: float, words: list[Word], rules: list[Rule], gap: float = SEGMENT_GAP
) -> PageText:
    """A page as the table finder sees it, from its words (with their boxes, in points from the
    top left) and rules: words grouped into lines, lines split into segments where words are
    `gap` em apart or more. Used for a PDF's own text and for the words OCR reads on a scanned
    page (ingest/tables/pdf_ocr.py)."""
    lines = _lines(words)
    verticals = [r for r in rules if not r.horizontal]
    for line in lines:
        top, bottom = line.top, line.bottom
        line.segments = _segments(line, [r for r in verticals if r.top < bottom and r.bottom > top], gap)
    return PageText(number, width, height, lines, rules)


def _deduped(chars: list[dict], tolerance: float = 1.0) -> list[dict]:
    """The characters without the duplicates of fake bold: what pdfplumber's `dedupe_chars()`
    keeps (same text, upright, font and size, within `tolerance` pt), found in linear time where
    pdfplumber 0.11 restores the order with `list.index` (quadratic: 0.2 s of a page's 0.6 s)."""
    from pdfplumber.utils import cluster_objects

    groups: dict[tuple, list[dict]] = {}
    for char in chars:
        key = (char["upright"], char["text"], char["fontname"], char["size"])
        groups.setdefault(key, []).append(char)
    kept = []
    for group in groups.values():
        for y_cluster in cluster_objects(group, itemgetter("doctop"), tolerance):
            for x_cluster in cluster_objects(y_cluster, itemgetter("x0"), tolerance):
                kept.append(min(x_cluster, key=itemgetter("doctop", "x0")))
    return kept


def _rules(page) -> list[Rule]:
    out = []
    for edge in page.edges:
        x0, x1, top, bottom = edge["x0"], edge["x1"], edge["top"], edge["bottom"]
        if edge["orientation"] == "h" and x1 - x0 >= _RULE_MIN:
            y = (top + bottom) / 2
            out.append(Rule(x0, y, x1, y))
        elif edge["orientation"] == "v" and bottom - top >= _RULE_MIN:
            x = (x0 + x1) / 2
            out.append(Rule(x, top, x, bottom))
    return out


def _lines(words: list[Word]) -> list[TextLine]:
    """Words grouped into lines: a word joins the line whose vertical extent covers its middle
    (a superscript, set higher, still joins the line it belongs to)."""
    lines: list[TextLine] = []
    for word in sorted(words, key=lambda w: (w.top + w.bottom) / 2):
        middle = (word.top + word.bottom) / 2
        for line in reversed(lines[-4:]):
            top, bottom = _core(line)
            if top <= middle <= bottom:
                line.words.append(word)
                break
        else:
            lines.append(TextLine([word]))
    for line in lines:
        line.words.sort(key=lambda w: w.x0)
    lines.sort(key=lambda line: line.top)
    return lines


def _core(line: TextLine) -> tuple[float, float]:
    """The vertical extent of a line's largest word: what other words must sit beside."""
    big = max(line.words, key=lambda w: (w.size, w.bottom - w.top))
    return big.top, big.bottom


def _justified(line: TextLine) -> bool:
    """Whether the line is a line of justified prose: many words, mostly words of letters, the
    gaps between them about equal (wide, but alike; a table row's column gaps stand out)."""
    words = line.words
    if len(words) < _PROSE_WORDS or sum(any(c.isalpha() for c in w.text) for w in words) < 0.7 * len(words):
        return False
    gaps = sorted(b.x0 - a.x1 for a, b in zip(words, words[1:]))
    median = gaps[len(gaps) // 2]
    return median < _JUSTIFIED_SPACE * line.size and gaps[-1] <= _EVEN_GAPS * max(median, 0.1)


def _segments(line: TextLine, verticals: list[Rule], gap_em: float) -> list[Segment]:
    if _justified(line) and not any(
        line.x0 < r.x0 < line.x1 and r.top < line.bottom and r.bottom > line.top for r in verticals
    ):
        return [Segment(list(line.words))]
    out: list[Segment] = []
    for word in line.words:
        if out:
            last = out[-1].words[-1]
            gap = word.x0 - last.x1
            ruled = any(
                last.x1 - 1 <= r.x0 <= word.x0 + 1 and r.top < word.bottom and r.bottom > word.top
                for r in verticals
            )
            if gap < gap_em * min(word.size, last.size) and not ruled:
                out[-1].words.append(word)
                continue
        out.append(Segment([word]))
    return out
