"""Page layouts the PDF table reader must tell apart (ingest/tables), on PDFs generated here:
two tables one under the other, dot leaders and a rule typed as dashes, a table beside a column
of prose, a bar chart's value axis, and pdfplumber's duplicate-character rule that the reader
applies in linear time. Accuracy on real documents is measured by `python -m evals.tables`."""

from __future__ import annotations

from pathlib import Path

import pdfplumber
import pytest

from ingest.tables import tables_of_pdf
from ingest.tables.pdf_text import _deduped

TITLE = "Test fixture - not an official document"


def canvas(path: Path):
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen.canvas import Canvas

    c = Canvas(str(path), pagesize=letter)
    c.setTitle(TITLE)
    c.setFont("Helvetica", 10)
    c.drawString(72, 740, TITLE)
    return c


def texts(table) -> list[list[str]]:
    return [[text for text in row] for row in table.grid()]


def test_two_tables_one_under_the_other_with_leaders_and_a_typed_rule(tmp_path):
    path = tmp_path / "two-tables.pdf"
    c = canvas(path)
    y = 700
    for first in (1, 4):
        c.drawString(200, y, "Sample size")
        y -= 13
        c.drawString(72, y, "Proportion")
        for k, x in enumerate((200, 260, 320)):
            c.drawRightString(x + 30, y, f"{first + k}.0")
        y -= 13
        c.drawString(72, y, "-" * 90)
        y -= 13
        for p in ("0.99", "0.95", "0.90"):
            c.drawString(72, y, p + " " + "." * 30)
            for k, x in enumerate((200, 260, 320)):
                c.drawRightString(x + 30, y, f"{(first + k) * 80 * (1 + len(p))}")
            y -= 13
        y -= 13
    c.save()
    tables = tables_of_pdf(path)
    assert len(tables) == 2
    for table, first in zip(tables, (1, 4)):
        grid = texts(table)
        assert grid[-3][0] == "0.99"  # the leader dots are not the label's text
        assert not any(set(text) <= set("-") for row in grid for text in row if text)
        assert f"{first}.0" in grid[1] or f"{first}.0" in grid[0]


def test_a_table_beside_a_column_of_prose_leaves_the_prose_out(tmp_path):
    path = tmp_path / "beside.pdf"
    c = canvas(path)
    prose = (
        "the assessment of the routes was made in the",
        "spring by the national teams working on the",
        "coast and the land borders of the region, and",
        "its results were checked against the records",
        "of the ministries that keep the arrest figures",
        "for each year since the plan was first agreed",
        "by the members of the group at their meeting",
        "in the capital, where the figures were shown",
        "to the press and the members of parliament.",
        "The figures for the last year are provisional",
        "and will be revised when the courts have seen",
        "all the cases that were open at the year end.",
    )
    rows = {
        1: ("Route", "Arrests"),
        2: ("Sea", "1,204"),
        4: ("Land", "880"),
        5: ("Air", "95"),
        7: ("Rail", "40"),
    }
    for k, line in enumerate(prose):
        y = 700 - 13 * k
        if k in (2, 7):  # a line spread out by justification parts into short runs of words
            words = line.split()
            c.drawString(72, y, " ".join(words[:2]))
            c.drawString(140, y, " ".join(words[2:4]))
            c.drawRightString(276, y, " ".join(words[4:]))
        else:
            c.drawString(72, y, line)
        if k in rows:  # the table's rows share some of the prose's baselines
            c.drawString(330, y, rows[k][0])
            c.drawRightString(520, y, rows[k][1])
    c.save()
    tables = tables_of_pdf(path)
    assert len(tables) == 1
    assert texts(tables[0]) == [
        ["Route", "Arrests"],
        ["Sea", "1,204"],
        ["Land", "880"],
        ["Air", "95"],
        ["Rail", "40"],
    ]


def test_a_bar_charts_value_axis_is_not_a_table(tmp_path):
    path = tmp_path / "chart.pdf"
    c = canvas(path)
    for k, (year, value) in enumerate((("2001", 30.5), ("2005", 29.7), ("2010", 28.7))):
        y = 700 - 20 * k
        c.drawString(72, y, year)
        c.rect(120, y - 2, value * 8, 10, fill=1)
        c.drawString(130 + value * 8, y, f"{value}")
    for k in range(6):
        c.drawCentredString(120 + k * 80, 630, f"{k * 10}%")
    c.save()
    assert tables_of_pdf(path) == []


def test_duplicate_characters_are_dropped_as_pdfplumber_drops_them(tmp_path):
    """Contract with pdfplumber's `dedupe_chars()` (and `pdfplumber.utils.cluster_objects`,
    which ours calls): the same characters are kept."""
    path = tmp_path / "fake-bold.pdf"
    c = canvas(path)
    for dx in (0, 0.4):  # fake bold: the text printed twice, slightly shifted
        c.drawString(72 + dx, 700, "Arrests by year 2023")
    c.drawString(72, 680, "Printed once")
    c.save()
    with pdfplumber.open(path) as pdf:
        page = pdf.pages[0]
        theirs = [(ch["text"], ch["x0"], ch["top"]) for ch in page.dedupe_chars().chars]
        ours = {id(ch) for ch in _deduped(page.chars)}
        mine = [(ch["text"], ch["x0"], ch["top"]) for ch in page.chars if id(ch) in ours]
    assert mine == theirs
    assert len(mine) < len(page.chars)


@pytest.mark.parametrize("axis", ["0 10 20 30", "0% 25% 50% 75% 100%"])
def test_axis_rule_reads_scales(axis):
    from ingest.tables.pdf import _axis
    from ingest.tables.pdf_text import TextLine, Word

    words = [Word(100 + 50 * k, 120 + 50 * k, 0, 10, t, 10, False) for k, t in enumerate(axis.split())]
    assert _axis(TextLine(words))
    years = [
        Word(100 + 50 * k, 120 + 50 * k, 0, 10, t, 10, False)
        for k, t in enumerate("2000 2002 2004 2006".split())
    ]
    assert not _axis(TextLine(years))


def test_the_bench_table_pdf_holds_two_tables_a_page_with_captions_and_notes(tmp_path):
    from kb.bench.tables import table_pdf

    tables = tables_of_pdf(table_pdf(tmp_path / "bench.pdf", 2))
    assert [t.caption for t in tables] == [
        f"Table {k}: Returns by country and year (persons)" for k in range(1, 5)
    ]
    assert all(t.notes == "Source: Ministry of the Interior." and t.cols == 6 for t in tables)
    assert texts(tables[0])[1][:2] == ["Italy", "137"]


def test_a_heading_row_of_years_is_headings_and_only_data_rows_become_passages(tmp_path):
    """The bench fixture's unruled table: "Country 2021 ... 2025" over 12 countries. The heading
    row (a stub heading beside years in order) is marked as headings, and its 12 data rows, not
    13, become row passages, each value under its year."""
    from ingest.pdf import read_pdf
    from kb.bench.tables import _COUNTRIES, table_pdf

    pdf = table_pdf(tmp_path / "bench.pdf", 1)
    ruled, unruled = tables_of_pdf(pdf)
    for table, countries in ((ruled, 8), (unruled, 12)):
        assert table.rows == countries + 1
        assert [c.text for c in table.cells if c.header] == ["Country", *(str(y) for y in range(2021, 2026))]
        assert all(c.row == 0 for c in table.cells if c.header)
    rows = [b for b in read_pdf(pdf).blocks if b.table == "2"]
    assert [b.row for b in rows] == list(_COUNTRIES[:12])
    assert rows[0].cells[:3] == (("Country", "Italy"), ("2021", "174"), ("2022", "233"))
    assert rows[0].text == (
        "Table 2: Returns by country and year (persons) — Country: Italy · 2021: 174 · 2022: 233"
        " · 2023: 292 · 2024: 351 · 2025: 410"
    )


def test_a_data_row_of_year_like_values_is_not_a_heading(tmp_path):
    """Values that look like years but do not run in order ("Total 2015 1987 2040") are data."""
    path = tmp_path / "years.pdf"
    c = canvas(path)
    rows = [
        ["Region", "North", "South", "East"],
        ["Total", "2015", "1987", "2040"],
        ["Coast", "1203", "954", "17"],
    ]
    for k, row in enumerate(rows):
        for j, text in enumerate(row):
            c.drawString(100 + 90 * j, 650 - 14 * k, text)
    c.save()
    (table,) = tables_of_pdf(path)
    assert [c.text for c in table.cells if c.header] == ["Region", "North", "South", "East"]
    assert texts(table)[1] == ["Total", "2015", "1987", "2040"]
