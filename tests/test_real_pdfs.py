"""The PDF reader on eight real government PDFs (../shared/pdfs: Federal Register, EU studies, a
Census report, a Supreme Court transcript, an FAA handbook page), checked against PDFium's own text.

Each passage is looked up in PDFium's text of the pages its citation names, both normalised to
lower-case letters and digits (so line breaks, hyphens at line ends and spacing do not matter).
A passage is found when it is covered by a few long pieces of that text, in order: a paragraph
that runs over a column or page break, past a footnote or a left-out table, is several pieces.
Where its pieces lie on the page also tells whether it mixes columns: read in order, its lines
never jump back to a column further left on the same page.

`python tests/test_real_pdfs.py` prints the table of docs/real-pdfs.md.
"""

from __future__ import annotations

import os
import sys
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pypdfium2  # noqa: E402
import pypdfium2.raw as pdfium_c  # noqa: E402

from ingest.parse import Parsed, parse  # noqa: E402
from ingest.passages import make_passages  # noqa: E402
from kb.config import Settings  # noqa: E402
from kb.index.cite import citation  # noqa: E402
from kb.models import embed  # noqa: E402
from kb.types import Passage  # noqa: E402

PDFS = Path(__file__).resolve().parents[2] / "shared" / "pdfs"
needs_pdfs = pytest.mark.skipif(
    not PDFS.is_dir(), reason="../shared/pdfs (real government PDFs) is not present"
)
FILES = sorted(path.name for path in PDFS.glob("*.pdf")) if PDFS.is_dir() else []

_MAX_PIECES_PER_PAGE = 3  # a column break, a footnote, a left-out table between two parts
_MIN_PIECE = 12  # normalised characters: shorter pieces would be found anywhere


@dataclass(frozen=True)
class PageText:
    """PDFium's text of one page, normalised, with each character's box."""

    text: str  # lower-case letters and digits only
    boxes: list[tuple[float, float, float, float]]  # (left, bottom, right, top) of each character
    width: float


@dataclass(frozen=True)
class Checked:
    """One passage: whether it is on the pages its citation names, and whether it mixes columns."""

    passage: Passage
    found: bool
    mixes_columns: bool


@dataclass(frozen=True)
class FileReport:
    name: str
    pages: int
    parsed: Parsed
    checked: list[Checked]

    @property
    def found_share(self) -> float:
        return sum(c.found for c in self.checked) / len(self.checked)


def normalise(text: str) -> str:
    return "".join(char for char in unicodedata.normalize("NFKC", text).lower() if char.isalnum())


def page_texts(path: Path) -> list[PageText]:
    """PDFium's text of each page, independent of our reader (pypdf)."""
    document = pypdfium2.PdfDocument(str(path))
    pages = []
    for page in document:
        textpage = page.get_textpage()
        chars, boxes = [], []
        for index in range(textpage.count_chars()):
            box = textpage.get_charbox(index)
            for char in normalise(chr(pdfium_c.FPDFText_GetUnicode(textpage, index))):
                chars.append(char)
                boxes.append(box)
        pages.append(PageText("".join(chars), boxes, page.get_width()))
    document.close()
    return pages


def pieces(needle: str, haystack: str) -> list[tuple[int, int]] | None:
    """(start, end) in `haystack` of the longest pieces that, in order, make up `needle`; None
    when some part of it is in no piece at least _MIN_PIECE long (or the rest of `needle`)."""
    found, position = [], 0
    while position < len(needle):
        low, high = 0, len(needle) - position  # the longest prefix of the rest that occurs
        while low < high:
            middle = (low + high + 1) // 2
            if needle[position : position + middle] in haystack:
                low = middle
            else:
                high = middle - 1
        if low < min(_MIN_PIECE, len(needle) - position):
            return None
        start = haystack.find(needle[position : position + low])
        found.append((start, start + low))
        position += low
    return found


def mixes_columns(boxes: list[tuple[float, float, float, float]], width: float) -> bool:
    """Whether characters read in order mix columns: a line that starts more than a quarter of the
    page left of a line read before it (back to a column already left), or two lines that each
    jump a gutter (a gap of a tenth of the page) between two columns read across. A line breaks
    where the text moves up or down by more than a glyph and a half; lines of one or two
    characters (a superscript note number) do not count."""
    lines: list[list[float]] = []  # left edge, characters, gutters jumped
    previous = None
    for box in boxes:
        left, bottom, right, top = box
        height = max(top - bottom, 1.0)
        if previous is None or abs(bottom - previous[1]) > 1.5 * max(height, previous[3] - previous[1]):
            lines.append([left, 0, 0])
        elif left - previous[2] > width / 10:
            lines[-1][2] += 1
        lines[-1][0] = min(lines[-1][0], left)
        lines[-1][1] += 1
        previous = box
    lines = [line for line in lines if line[1] >= 3]
    rightmost = float("-inf")
    for left, _, _ in lines:
        if left < rightmost - width / 4:
            return True
        rightmost = max(rightmost, left)
    return sum(1 for line in lines if line[2]) >= 2


def line_start(page: PageText, index: int) -> int:
    """The index of the first character of the printed line (in its column) that holds
    character `index`: a passage that starts mid-line is checked from where its line starts,
    or "(this would …)9. In practice, at" would seem to jump back left to the next line."""
    while index > 0:
        left, bottom, _, top = page.boxes[index]
        before_left, before_bottom, before_right, _ = page.boxes[index - 1]
        same_line = abs(bottom - before_bottom) <= 1.5 * max(top - bottom, 1.0)
        if not same_line or before_left > left or left - before_right > page.width / 10:
            break
        index -= 1
    return index


def check(passage: Passage, pages: list[PageText]) -> Checked:
    cited = pages[passage.page - 1 : (passage.page_end or passage.page)]
    text = "".join(page.text for page in cited)
    if passage.table:  # a table's row: each of its values is printed on the cited page
        values = [normalise(value) for _, value in passage.cells]
        return Checked(passage, found=all(v in text for v in values if v), mixes_columns=False)
    needle = normalise(passage.text)
    found = pieces(needle, text)
    if found is None or len(found) > _MAX_PIECES_PER_PAGE * len(cited):
        return Checked(passage, found=False, mixes_columns=False)
    mixed = False
    offset = 0
    for page in cited:  # columns are compared within a page
        end = offset + len(page.text)
        boxes = [
            page.boxes[i]
            for a, b in found
            if a < end and b > offset
            for i in range(line_start(page, a - offset) if a >= offset else 0, min(b, end) - offset)
        ]
        mixed = mixed or mixes_columns(boxes, page.width)
        offset += len(page.text)
    return Checked(passage, found=True, mixes_columns=mixed)


@cache
def report(name: str) -> FileReport:
    """Read one PDF as `kb ingest` does (parse, then passages cut for the model) and check each passage."""
    path = PDFS / name
    settings = Settings()
    parsed = parse(str(path))
    passages = make_passages(
        name, parsed.paragraphs, lambda t: embed.token_spans(settings, t), embed.max_tokens(settings)
    )
    pages = page_texts(path)
    return FileReport(name, len(pages), parsed, [check(p, pages) for p in passages])


def cite(passage: Passage) -> str:
    return citation("doc", passage.paragraph, passage.page, passage.page_end, passage.table, passage.row)


def texts(name: str) -> list[str]:
    return [c.passage.text for c in report(name).checked]


def paragraph_texts(name: str) -> list[str]:
    """The passages' texts, tables' rows left out."""
    return [c.passage.text for c in report(name).checked if not c.passage.table]


# --- the corpus as a whole ---------------------------------------------------------------------


@needs_pdfs
def test_98_percent_of_passages_are_on_the_pages_their_citations_name():
    checked = [c for name in FILES for c in report(name).checked]
    missing = [f"{cite(c.passage)}: {c.passage.text[:100]}" for c in checked if not c.found]
    assert len(FILES) == 8
    assert 1 - len(missing) / len(checked) >= 0.98, "\n".join(missing)


@needs_pdfs
@pytest.mark.parametrize("name", FILES)
def test_no_passage_mixes_two_columns(name):
    mixed = [f"{cite(c.passage)}: {c.passage.text[:100]}" for c in report(name).checked if c.mixes_columns]
    assert not mixed, "\n".join(mixed)


@needs_pdfs
@pytest.mark.parametrize("name", FILES)
def test_every_file_is_read_with_most_passages_on_their_page(name):
    file = report(name)
    assert not file.parsed.error
    assert file.found_share >= 0.85, [c.passage.text[:80] for c in file.checked if not c.found]


# --- page furniture, footnotes, tables, numbers ------------------------------------------------


@needs_pdfs
def test_running_headers_footers_page_numbers_and_slugs_are_dropped():
    register = texts("us-federal-register-2020-17221.pdf")
    assert not any("Federal Register / Vol. 85" in t or "VerDate" in t or "</GPH>" in t for t in register)
    for name in FILES:
        assert not any(t.strip().isdigit() for t in texts(name)), name
    assert not any(t.startswith("Presentation of Findings") for t in texts("icdar2013-eu-021.pdf"))


@needs_pdfs
def test_footnotes_are_passages_of_their_own_and_do_not_cut_paragraphs():
    register = texts("us-federal-register-2020-17221.pdf")
    assert any(
        t.startswith("1 Preliminary KNKT.18.10.35.04 Aircraft Accident Investigation Report")
        for t in register
    )
    lion_air = next(t for t in register if t.startswith("On October 29, 2018, a Boeing Model 737–8"))
    assert "Soekarno-Hatta International Airport in Jakarta" in lion_air
    assert "Preliminary KNKT" not in lion_air
    # A bullet running over a page break, past the footnote at the foot of the page.
    retail = texts("icdar2013-eu-004.pdf")
    assert any(t.startswith("35. These include the fact that some estimates do not correct") for t in retail)
    assert any("significant differences between member states still remain." in t for t in retail)
    census = texts("icdar2013-us-001.pdf")
    assert any(
        "(18.7 percent) of the 303.9 million in the civilian noninstitutionalized" in t for t in census
    )
    assert any(t.startswith("8 S2601A. Characteristics of the Group Quarters Population") for t in census)


@needs_pdfs
def test_tables_are_read_as_rows_and_dot_leaders_left_out():
    survey = report("icdar2013-eu-021.pdf")
    assert survey.parsed.warnings == ()  # its two tables (pages 3 and 7) are read, not left out
    rows = [c.passage for c in survey.checked if c.passage.table]
    assert {(p.table, p.page) for p in rows} == {("3.1", 3), ("3.2", 7)}
    assert all(c.found for c in survey.checked if c.passage.table)  # every value on the cited page
    # No paragraph holds a table's figures read line by line.
    assert not any(
        "Percentage 18.8%" in t or "Count 93" in t for t in paragraph_texts("icdar2013-eu-021.pdf")
    )
    for name in FILES:
        assert not any("....." in t or ". . . ." in t for t in texts(name)), name
    # The captions stay, and the prose around the tables.
    assert any(t.startswith("Table 3.2: Factors influencing") for t in texts("icdar2013-eu-021.pdf"))


@needs_pdfs
def test_tables_with_one_figure_a_row_and_headings_drawn_after_the_rows_are_not_paragraphs():
    retail = paragraph_texts("icdar2013-eu-004.pdf")
    for row in (
        "Nestle Switzerland 38.2",
        "Ireland 50",
        "Auchan 19",
        "Asahi Breweries 9.1",
        "% points period",
    ):
        assert not any(row in t for t in retail), row
    assert not any("Curriculum development x" in t for t in paragraph_texts("icdar2013-eu-013.pdf"))
    # Census Table 1 and 2: the column headings come after the rows in the content stream.
    census = paragraph_texts("icdar2013-us-001.pdf")
    assert not any("Margin of error (±)" in t for t in census)
    note = next(t for t in census if t.startswith("2 A margin of error is a measure"))
    assert note.endswith("June–September 2005 and May–August 2010.")
    # A section heading after a table is not one of its rows ("(Tables 6.10 - 6.12)" is a range).
    headings = {c.passage.heading for c in report("icdar2013-eu-004.pdf").checked}
    assert "6.5 Increased upstream control by the retailers (Tables 6.10 - 6.12)" in headings
    # The captions, titles and notes stay.
    assert any(
        t.startswith("Source: Bloomberg (CESR computat ions); data from")
        for t in texts("icdar2013-eu-011.pdf")
    )
    assert (
        "Correlation coefficients of the I(1)* spread and yield differences for selected European countries"
        in texts("icdar2013-eu-011.pdf")
    )
    assert "* 1992-4; ** base=1991; *** value in 1994" in retail


@needs_pdfs
def test_margin_line_numbers_are_left_out_and_named_as_such():
    transcript = report("us-scotus-transcript-p1.pdf")
    assert transcript.parsed.warnings == ("page 1: line numbers in the margin left out",)
    assert "IN THE SUPREME COURT OF THE UNITED STATES" in texts("us-scotus-transcript-p1.pdf")
    assert not any(t.split()[0].isdigit() for t in texts("us-scotus-transcript-p1.pdf"))


@needs_pdfs
def test_numbered_section_headings_keep_their_numbers():
    # The number stays in the passage's heading, and the citation carries it too (next test).
    headings = {c.passage.heading for c in report("icdar2013-eu-013.pdf").checked}
    assert {"5.1.3. The Noste programme", "5.2.3. Participants", "6.2.1. Core subject teachers"} <= headings


@needs_pdfs
def test_numbered_sections_are_cited_by_their_number():
    # The Cedefop report numbers its sections, not its paragraphs: a paragraph is cited by the
    # number printed over it ("p. 1, para. 5.1.3"), and the heading stays with the passage.
    vet = report("icdar2013-eu-013.pdf").checked
    noste = [c.passage for c in vet if c.passage.text.startswith("The Noste programme is a five-year")]
    assert [cite(p) for p in noste] == ["doc, p. 1, para. 5.1.3"]
    assert noste[0].heading == "5.1.3. The Noste programme"
    cited = {cite(c.passage) for c in vet}
    assert {"doc, p. 3, para. 5.2.3", "doc, p. 9, para. 6.2.1"} <= cited
    # Every passage under a numbered heading cites that heading's number (a table's row: its table).
    for c in vet:
        number = c.passage.heading.split(" ", 1)[0].rstrip(".")
        if c.passage.heading[:1].isdigit() and "." in number and not c.passage.table:
            assert c.passage.paragraph == number, (c.passage.heading, cite(c.passage))
    # An unnumbered sub-heading ("Universities", under 5.2.2.) stays in its section.
    universities = next(c.passage for c in vet if c.passage.heading == "Universities")
    assert universities.paragraph == "5.2.2"
    # Paragraphs before the first numbered heading keep their running count.
    assert cite(vet[0].passage) == "doc, p. 1, para. 1"
    # Documents that number their paragraphs or sections not at all are cited as before.
    register = report("us-federal-register-2020-17221.pdf").checked
    assert [c.passage.paragraph for c in register[:3]] == ["1", "2", "3"]


def print_table() -> None:
    """The table of docs/real-pdfs.md: per file, pages, passages, passages on their cited page,
    passages mixing columns, tables left out."""
    print("| file | pages | passages | on cited page | mixing columns | tables left out |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in FILES:
        file = report(name)
        mixed = sum(c.mixes_columns for c in file.checked)
        tables = sum("table" in w for w in file.parsed.warnings)
        print(
            f"| {name} | {file.pages} | {len(file.checked)} | {file.found_share:.1%} | {mixed} | {tables} pages |"
        )
    checked = [c for name in FILES for c in report(name).checked]
    print(f"| all | | {len(checked)} | {sum(c.found for c in checked) / len(checked):.1%} | "
          f"{sum(c.mixes_columns for c in checked)} | |")  # fmt: skip


if __name__ == "__main__":
    if "-v" in sys.argv:
        for name in FILES:
            for c in report(name).checked:
                flag = "X" if not c.found else ("M" if c.mixes_columns else " ")
                print(f"{flag} {name[:14]} {cite(c.passage)}: {c.passage.text[:160]}")
    print_table()
