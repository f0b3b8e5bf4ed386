"""Tables continued across pages (ingest/tables/pdf_continued.py), on a PDF generated here: a
ruled table that runs from page 1 onto page 2 with its heading row repeated, and an unruled one
that runs from page 3 onto page 4 without it. `kb tables` keeps one entry a page; the rows of the
later page carry the first part's caption and column headings, with their own page."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.pdf import read_pdf
from ingest.tables import tables_of_pdf
from kb.bench.tables import styled

TITLE = "Test fixture - not an official document: tables continued over pages"
REGIONS = [f"Region {k:02d}" for k in range(1, 61)]  # more rows than one page holds
HEAD = ["Region", "Arrests", "Prosecutions", "Convictions"]


def _values(k: int) -> list[str]:
    return [f"{100 + 7 * k:,}", f"{40 + 3 * k:,}", f"{10 + k:,}"]


@pytest.fixture(scope="module")
def pdf(tmp_path_factory) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Table

    styles = getSampleStyleSheet()
    story: list = [Paragraph(TITLE, styles["Title"])]
    for number, ruled in ((1, True), (2, False)):
        story.append(Paragraph(f"Table {number}: Smuggling cases by region, 2025", styles["Heading4"]))
        rows = [HEAD] + [[region, *_values(k)] for k, region in enumerate(REGIONS)]
        # reportlab splits a long table over pages itself; repeatRows prints the heading row again.
        table = styled(Table(rows, repeatRows=1 if ruled else 0, colWidths=[120, 80, 90, 80]), ruled)
        story += [table, PageBreak()]
    path = tmp_path_factory.mktemp("continued") / "continued.pdf"
    SimpleDocTemplate(str(path), pagesize=A4, title=TITLE).build(story)
    return path


def test_kb_tables_keeps_a_page_a_table_and_captions_the_second_part_continued(pdf, tmp_path):
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "kb.cli", "tables", str(pdf), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    tables = json.loads((out / "continued.json").read_text())["tables"]
    caption = "Table {}: Smuggling cases by region, 2025"
    assert [(t["page"], t["caption"]) for t in tables] == [
        (1, caption.format(1)),
        (2, caption.format(1) + " (continued)"),
        (3, caption.format(2)),
        (4, caption.format(2) + " (continued)"),
    ]
    # The heading row repeated on page 2 is headings; page 4, which has none, starts with data.
    for table, heading in zip(tables, (True, True, True, False)):
        first_row = sorted((c["col"], c["text"], c["header"]) for c in table["cells"] if c["row"] == 0)
        if heading:
            assert first_row == [(k, text, True) for k, text in enumerate(HEAD)]
        else:
            assert [text for _, text, _ in first_row][0].startswith("Region ")
            assert not any(header for *_, header in first_row)
    rows_per_page = [sum(1 for c in t["cells"] if c["col"] == 0 and not c["header"]) for t in tables]
    assert rows_per_page[0] + rows_per_page[1] == len(REGIONS) == rows_per_page[2] + rows_per_page[3]


def test_rows_of_the_second_page_carry_the_first_parts_caption_and_headings(pdf):
    from kb.types import TABLE_ROW_HEAD

    rows = [b for b in read_pdf(pdf).blocks if b.table]
    # Every region once a table, none of the heading rows (page 2 repeats it) read as data.
    for number in ("1", "2"):
        assert [b.row for b in rows if b.table == number] == REGIONS
    assert {b.table_seq for b in rows if b.table == "1"} == {1}
    assert {b.table_seq for b in rows if b.table == "2"} == {2}
    for number, pages in (("1", (1, 2)), ("2", (3, 4))):
        later = [b for b in rows if b.table == number and b.page == pages[1]]
        assert later, f"table {number} has no rows on page {pages[1]}"
        assert {b.page for b in rows if b.table == number} == set(pages)
        k = REGIONS.index(later[0].row)
        assert later[0].cells == tuple(zip(HEAD, [REGIONS[k], *_values(k)]))
        assert later[0].text.startswith(f"Table {number}: Smuggling cases by region, 2025" + TABLE_ROW_HEAD)
        assert "(continued)" not in later[0].text


def test_citations_of_second_page_rows_name_their_own_page(pdf):
    """Cited as the first part's table, on the page where the row is printed, and the row's
    words are on that page."""
    import pypdf

    from ingest.paragraphs import number_paragraphs
    from kb.index.cite import citation

    paragraphs = [p for p in number_paragraphs(read_pdf(pdf).blocks) if p.table]
    reader = pypdf.PdfReader(pdf)
    for number, page in (("1", 2), ("2", 4)):
        rows = [p for p in paragraphs if p.table == number and p.page == page]
        assert rows
        first = rows[0]
        assert citation("Fixture", first.label, first.page, first.page_end, first.table, first.row) == (
            f'Fixture, p. {page}, table {number}, row "{first.row}"'
        )
        words = reader.pages[page - 1].extract_text()
        assert all(value in words for p in rows for _, value in p.cells)


def test_a_table_with_its_own_caption_on_the_next_page_is_not_a_continuation(tmp_path):
    """Two tables of the same columns, the second at the top of page 2 under a caption of its
    own: two tables, numbered by their captions."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Table

    styles = getSampleStyleSheet()
    story: list = [Paragraph(TITLE, styles["Title"])]
    for number in (1, 2):
        story.append(Paragraph(f"Table {number}: Smuggling cases, part {number}", styles["Heading4"]))
        story += [Table([HEAD] + [[r, *_values(k)] for k, r in enumerate(REGIONS[:5])]), PageBreak()]
    path = tmp_path / "two.pdf"
    SimpleDocTemplate(str(path), pagesize=A4, title=TITLE).build(story)
    tables = tables_of_pdf(path)
    assert [(t.page, t.caption, t.continues) for t in tables] == [
        (1, "Table 1: Smuggling cases, part 1", False),
        (2, "Table 2: Smuggling cases, part 2", False),
    ]


def test_a_continuation_is_told_by_columns_moved_as_one_or_by_its_printed_continued_caption():
    """Columns at the same place on a page with mirrored margins (all moved 9 pt) continue; a
    caption "Table 3. Continued." names the same table; other captions or columns do not."""
    from ingest.tables.model import Cell, Table
    from ingest.tables.pdf_continued import continued, continues

    def table(page, caption, x0, widths=(90, 40, 40), head=True):
        top = HEAD[:3] if head else ["Region 00", "100", "40"]  # the heading row repeated, or data
        cells = [Cell(0, c, text=h, header=head) for c, h in enumerate(top)]
        cells += [Cell(1, c, text=v) for c, v in enumerate(["Region 01", "107", "43"])]
        columns, x = [], x0
        for w in widths:
            columns.append((x, x + w))
            x += w + 12
        return Table(page, (x0, 100, x, 300), caption, cells, columns=tuple(columns))

    first = table(5, "Table 3. Cases by region", 45)
    assert continues(table(6, "", 36, head=False), first, True)
    assert continues(table(6, "Table 3. Continued. Cases by region", 36), first, True)
    assert not continues(table(6, "Table 4. Cases by year", 36), first, True)
    assert not continues(table(6, "", 36), first, False)  # prose above it on its page
    assert not continues(table(7, "", 36), first, True)  # not the next page
    assert not continues(table(6, "", 36, widths=(60, 50, 40), head=False), first, True)
    # Columns moved, but the heading row repeated: a continuation too.
    assert continues(table(6, "", 36, widths=(60, 50, 40)), first, True)
    later = continued(table(6, "Table 3. Continued. Cases by region", 36), first)
    assert later.continues and later.caption == "Table 3. Continued. Cases by region"
    assert continued(table(6, "", 36, head=False), first).caption == "Table 3. Cases by region (continued)"
