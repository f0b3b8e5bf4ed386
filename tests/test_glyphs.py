"""Glyph names, ligatures and (cid:N) placeholders out of the text of both PDF readers: the
paragraph reader (pypdf, ingest/pdf_lines.py) and the table reader (pdfplumber,
ingest/tables/pdf_text.py), on a crafted PDF and on the real PDFs of ../shared."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.glyphs import clean_glyphs

SHARED = Path(__file__).resolve().parents[2] / "shared"


def glyph_named_pdf() -> bytes:
    """A one-page PDF whose font encoding names two glyphs /f_i and /uni00E9 (codes 1 and 2):
    pypdf prints their names ("Con/f_irmed"), as it did on an EFSA report."""
    content = b"BT /F1 12 Tf 72 720 Td (Con\x01rmed caf\x02) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding << /Type /Encoding "
        b"/BaseEncoding /WinAnsiEncoding /Differences [1 /f_i /uni00E9] >> >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Con/f_irmed", "Confirmed"),
        ("e/f_f_icient", "efficient"),
        ("caf/uni00E9", "café"),
        ("a(cid:12)b", "ab"),
        ("\ufb01rst \ufb02ow", "first flow"),
        ("see http://www.mol.fi/esr/fi/__yleiset and aircraft/draft_docs/fsb/", None),
        ("Colds/flu/sinus", None),
    ],
)
def test_clean_glyphs(raw, clean):
    assert clean_glyphs(raw) == (raw if clean is None else clean)


def test_glyph_names_are_read_as_letters_by_both_pdf_readers(tmp_path):
    import pdfplumber
    from pypdf import PdfReader

    from ingest import pdf_lines
    from ingest.tables.pdf_text import read_page

    path = tmp_path / "glyphs.pdf"
    path.write_bytes(glyph_named_pdf())
    assert "/f_i" in PdfReader(path).pages[0].extract_text()  # the raw reader's text
    assert [line.text for line in pdf_lines.page_lines(PdfReader(path).pages[0], 1)] == ["Confirmed café"]
    with pdfplumber.open(path) as pdf:
        assert [line.text for line in read_page(pdf.pages[0], 1).lines] == ["Confirmed café"]


DEBRIS = re.compile(r"/f_|/uni[0-9A-Fa-f]{4}|\(cid:\d+\)")


def real_pdfs() -> list[Path]:
    return sorted((SHARED / "pdfs").glob("*.pdf")) + sorted((SHARED / "icdar2013").glob("*/*.pdf"))


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_no_glyph_debris_in_the_text_of_real_pdfs():
    """Neither the paragraph reader's lines nor the table reader's words of the real PDFs hold
    a glyph name or a (cid:N) placeholder (the lines are what passages are made of)."""
    import pdfplumber
    from pypdf import PdfReader

    from ingest import pdf_lines
    from ingest.tables.pdf_text import read_page

    files = real_pdfs()
    if not files:
        pytest.skip("../shared/pdfs and ../shared/icdar2013 are not there")
    found = []
    for path in files:
        for number, page in enumerate(PdfReader(path).pages, start=1):
            found += [
                (path.name, number, line.text)
                for line in pdf_lines.page_lines(page, number)
                if DEBRIS.search(line.text)
            ]
        with pdfplumber.open(path) as pdf:
            for number, page in enumerate(pdf.pages, start=1):
                found += [
                    (path.name, number, line.text)
                    for line in read_page(page, number).lines
                    if DEBRIS.search(line.text)
                ]
    assert not found, found[:10]
