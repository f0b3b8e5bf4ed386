"""Tables read from PDF, Word and HTML files (ingest/tables), `kb tables`, and glyph names.

The PDF, Word and HTML files are generated here (invented "test fixture" reports); glyph names
and ligatures are tested in tests/test_glyphs.py. Accuracy on the ICDAR 2013 benchmark is
measured by `python -m evals.tables`, not here (docs/tables.md).
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import fixtures_build as fb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.blocks import ReadError
from ingest.tables import tables_of_docx, tables_of_html, tables_of_pdf

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_TITLE = "Test fixture - not an official document"


def build_tables_pdf(path: Path) -> Path:
    """A report with a ruled table (a grid) and an unruled one whose heading spans two columns
    and whose last column has a cell of two lines."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    ruled = Table(
        [
            ["Programme", "Funding (EUR m)", "Persons returned"],
            ["Assisted voluntary return", "12.5", "1,840"],
            ["Reintegration support", "8.0", "960"],
            ["Border cooperation", "21.3", "-"],
        ]
    )
    ruled.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black)]))
    unruled = Table(
        [
            ["Country", "Arrests by year", "", "Remarks"],
            ["", "2022", "2023", ""],
            ["Italy", "1,204", "1,350", "Sea routes"],
            ["Greece", "880", "910", "Land and sea\nborders"],
            ["Spain", "640", "702", "Atlantic route"],
        ],
        colWidths=[90, 60, 60, 110],
    )
    unruled.setStyle(
        TableStyle(
            [
                ("SPAN", (1, 0), (2, 0)),
                ("ALIGN", (1, 0), (2, -1), "CENTER"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    body = styles["BodyText"]
    story = [
        Paragraph("Test fixture: national implementation report of Testland", styles["Title"]),
        Paragraph(
            "The tables below show what was done in 2022 and 2023 against migrant smuggling, as reported "
            "by the national authorities of Testland, an invented country.",
            body,
        ),
        Spacer(1, 12),
        Paragraph("Table 1: Returns by programme", body),
        Spacer(1, 6),
        ruled,
        Paragraph("Source: Ministry of the Interior of Testland.", body),
        Spacer(1, 24),
        Paragraph("Table 2: Smuggling arrests by country and year", body),
        Spacer(1, 6),
        unruled,
        Spacer(1, 12),
        Paragraph(
            "The figures are provisional and will be revised in the next report of the national "
            "coordinator, due at the end of the year.",
            body,
        ),
    ]
    SimpleDocTemplate(str(path), title=FIXTURE_TITLE, pagesize=A4).build(story)
    return path


def build_tables_docx(path: Path) -> Path:
    """A Word table: a heading cell merged across two columns, one merged down two rows."""
    import docx

    document = docx.Document()
    document.core_properties.title = FIXTURE_TITLE
    document.add_paragraph("Table 3: Returns by country")
    table = document.add_table(rows=4, cols=3)
    table.cell(0, 0).merge(table.cell(1, 0)).text = "Country"
    table.cell(0, 1).merge(table.cell(0, 2)).text = "Returns"
    for col, text in ((1, "2022"), (2, "2023")):
        table.cell(1, col).text = text
    for row, values in ((2, ("France", "5", "7")), (3, ("Japan", "2", "4"))):
        for col, text in enumerate(values):
            table.cell(row, col).text = text
    document.save(str(path))
    return path


TABLES_HTML = """<!doctype html><html><head><title>Test fixture - not an official document</title></head>
<body><h1>Test fixture</h1><table>
<caption>Table 4: Funding by programme</caption>
<thead><tr><th rowspan="2">Programme</th><th colspan="2">Funding (EUR m)</th></tr>
<tr><th>2022</th><th>2023</th></tr></thead>
<tbody><tr><td>Prevention</td><td>3.5</td><td>4.0<br>(estimate)</td></tr>
<tr><td colspan="2">Total</td><td>4.0</td></tr></tbody></table></body></html>"""


def cells_of(table) -> list[tuple]:
    return [(c.row, c.col, c.rowspan, c.colspan, c.text, c.header) for c in table.cells]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("tables")
    html = directory / "report.html"
    html.write_text(TABLES_HTML, encoding="utf-8")
    return {
        "pdf": build_tables_pdf(directory / "report.pdf"),
        "docx": build_tables_docx(directory / "returns.docx"),
        "html": html,
    }


def test_pdf_ruled_and_unruled_tables_cell_by_cell(files):
    ruled, unruled = tables_of_pdf(files["pdf"])
    assert ruled.page == 1 and ruled.caption == "Table 1: Returns by programme"
    assert ruled.notes == "Source: Ministry of the Interior of Testland."
    assert cells_of(ruled) == [
        (0, 0, 1, 1, "Programme", True),
        (0, 1, 1, 1, "Funding (EUR m)", True),
        (0, 2, 1, 1, "Persons returned", True),
        (1, 0, 1, 1, "Assisted voluntary return", False),
        (1, 1, 1, 1, "12.5", False),
        (1, 2, 1, 1, "1,840", False),
        (2, 0, 1, 1, "Reintegration support", False),
        (2, 1, 1, 1, "8.0", False),
        (2, 2, 1, 1, "960", False),
        (3, 0, 1, 1, "Border cooperation", False),
        (3, 1, 1, 1, "21.3", False),
        (3, 2, 1, 1, "-", False),
    ]
    assert unruled.caption == "Table 2: Smuggling arrests by country and year"
    assert cells_of(unruled) == [
        (0, 0, 1, 1, "Country", True),
        (0, 1, 1, 2, "Arrests by year", True),  # the heading over two columns
        (0, 3, 1, 1, "Remarks", True),
        (1, 1, 1, 1, "2022", True),
        (1, 2, 1, 1, "2023", True),
        (2, 0, 1, 1, "Italy", False),
        (2, 1, 1, 1, "1,204", False),
        (2, 2, 1, 1, "1,350", False),
        (2, 3, 1, 1, "Sea routes", False),
        (3, 0, 1, 1, "Greece", False),
        (3, 1, 1, 1, "880", False),
        (3, 2, 1, 1, "910", False),
        (3, 3, 1, 1, "Land and sea\nborders", False),  # two lines, one cell
        (4, 0, 1, 1, "Spain", False),
        (4, 1, 1, 1, "640", False),
        (4, 2, 1, 1, "702", False),
        (4, 3, 1, 1, "Atlantic route", False),
    ]
    # Boxes are around the rows only, top-left origin: the ruled table is above the other one.
    assert ruled.bbox[3] < unruled.bbox[1]
    assert all(0 < v < 842 for v in (*ruled.bbox, *unruled.bbox))


def test_docx_merged_cells(files):
    (table,) = tables_of_docx(files["docx"])
    assert table.caption == "Table 3: Returns by country"
    assert cells_of(table) == [
        (0, 0, 2, 1, "Country", True),
        (0, 1, 1, 2, "Returns", True),
        (1, 1, 1, 1, "2022", False),
        (1, 2, 1, 1, "2023", False),
        (2, 0, 1, 1, "France", False),
        (2, 1, 1, 1, "5", False),
        (2, 2, 1, 1, "7", False),
        (3, 0, 1, 1, "Japan", False),
        (3, 1, 1, 1, "2", False),
        (3, 2, 1, 1, "4", False),
    ]


def test_html_colspan_and_rowspan(files):
    (table,) = tables_of_html(files["html"])
    assert table.caption == "Table 4: Funding by programme"
    assert cells_of(table) == [
        (0, 0, 2, 1, "Programme", True),
        (0, 1, 1, 2, "Funding (EUR m)", True),
        (1, 1, 1, 1, "2022", True),  # placed after the rowspan from above, as a browser does
        (1, 2, 1, 1, "2023", True),
        (2, 0, 1, 1, "Prevention", False),
        (2, 1, 1, 1, "3.5", False),
        (2, 2, 1, 1, "4.0\n(estimate)", False),
        (3, 0, 1, 2, "Total", False),
        (3, 2, 1, 1, "4.0", False),
    ]
    assert table.grid()[3] == ["Total", "", "4.0"]


def kb_tables(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    return subprocess.run(
        [sys.executable, "-m", "kb.cli", "tables", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )


def test_kb_tables_writes_json_and_csv(files, tmp_path):
    out = tmp_path / "out"
    done = kb_tables(str(files["pdf"]), str(files["docx"]), str(files["html"]), "--out", str(out), "--csv")
    assert done.returncode == 0, done.stderr
    assert "report.pdf: 2 tables" in done.stderr and "returns.docx: 1 table" in done.stderr
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    first, second = data["tables"]
    assert (
        first["page"] == 1 and len(first["bbox"]) == 4 and first["caption"] == "Table 1: Returns by programme"
    )
    assert {"row": 1, "col": 2, "rowspan": 1, "colspan": 1, "text": "1,840", "header": False} in first[
        "cells"
    ]
    assert {
        "row": 0,
        "col": 1,
        "rowspan": 1,
        "colspan": 2,
        "text": "Arrests by year",
        "header": True,
    } in second["cells"]
    word = json.loads((out / "returns.json").read_text(encoding="utf-8"))["tables"][0]
    assert word["page"] == 0 and word["bbox"] is None
    with open(out / "report-table-2.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["Country", "Arrests by year", "", "Remarks"]
    assert rows[3] == ["Greece", "880", "910", "Land and sea\nborders"]
    with open(out / "report-table-1.csv", encoding="utf-8", newline="") as f:
        assert list(csv.reader(f))[1] == ["Assisted voluntary return", "12.5", "1,840"]


def test_kb_tables_names_bad_files_and_writes_the_good_one(files, tmp_path):
    corrupt = fb.build_truncated_pdf(tmp_path)
    encrypted = fb.build_encrypted_pdf(tmp_path)
    empty = fb.build_empty_file(tmp_path, "empty.pdf")
    not_pdf = fb.build_not_a_pdf(tmp_path)
    out = tmp_path / "out"
    done = kb_tables(
        str(corrupt), str(encrypted), str(empty), str(not_pdf), str(files["pdf"]), "--out", str(out)
    )
    assert done.returncode == 1
    err = done.stderr
    assert f"{encrypted}: encrypted PDF, no password given; skipped" in err
    assert f"{empty}: empty file (0 bytes); skipped" in err
    assert re.search(rf"{re.escape(str(corrupt))}: (corrupt PDF|not a PDF)[^\n]*; skipped", err), err
    assert re.search(rf"{re.escape(str(not_pdf))}: (corrupt PDF|not a PDF)[^\n]*; skipped", err), err
    assert "Traceback" not in err
    assert "4 of 5 files could not be read" in err
    assert len(json.loads((out / "report.json").read_text(encoding="utf-8"))["tables"]) == 2
    assert sorted(p.name for p in out.iterdir()) == ["report.json"]


def test_kb_tables_help_explains_the_output():
    done = kb_tables("--help")
    assert done.returncode == 0
    assert "rowspan" in done.stdout and "--csv" in done.stdout and "Exit codes" in done.stdout


# --- the reader on damaged PDFs -----------------------------------------------------------------


@pytest.fixture(scope="module")
def seed(tmp_path_factory) -> bytes:
    return build_tables_pdf(tmp_path_factory.mktemp("seed") / "seed.pdf").read_bytes()


EDITS = st.lists(
    st.tuples(
        st.sampled_from(["replace", "insert", "delete", "truncate"]),
        st.floats(0, 1),
        st.one_of(
            st.binary(min_size=1, max_size=8),
            st.sampled_from([b"obj", b"endobj", b"stream\n", b"<<", b">>", b" R ", b"/Length 99999"]),
        ),
    ),
    min_size=1,
    max_size=5,
)


@settings(
    max_examples=30,
    deadline=20_000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(edits=EDITS)
@pytest.mark.timeout(300)
def test_table_reader_on_mutated_pdfs_raises_only_read_errors(seed, edits):
    data = bytearray(seed)
    for kind, where, chunk in edits:
        at = int(where * len(data))
        if kind == "replace":
            data[at : at + len(chunk)] = chunk
        elif kind == "insert":
            data[at:at] = chunk
        elif kind == "delete":
            del data[at : at + len(chunk)]
        else:
            del data[at:]
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "fuzzed.pdf"
        path.write_bytes(bytes(data))
        try:
            tables = tables_of_pdf(path)
        except ReadError as error:
            assert "\n" not in str(error) and str(error)
        else:
            assert all(cell.row >= 0 and cell.col >= 0 for table in tables for cell in table.cells)
