"""Tables on scanned pages (ingest/tables/pdf_ocr.py): the bench's table fixture PDF rasterised
like an office scan (200 dpi, grayscale, no text layer), its tables found from the words and
boxes the real Tesseract reads. Accuracy on real documents: `python -m evals.tables --scanned`."""

from __future__ import annotations

import shutil

import pytest

pytestmark = pytest.mark.skipif(
    shutil.which("tesseract") is None, reason="tesseract is missing: `make test` installs it (tesseract-ocr)"
)


def test_tables_of_a_scanned_page_are_read_from_tesseracts_words(tmp_path):
    import pypdfium2

    from ingest.table_rows import row_blocks
    from ingest.tables.pdf_ocr import tables_of_scanned_pdf
    from kb.bench.scans import image_pdf
    from kb.bench.tables import _COUNTRIES, table_pdf

    born = table_pdf(tmp_path / "tables.pdf", 1)
    document = pypdfium2.PdfDocument(str(born))
    images = [page.render(scale=200 / 72, grayscale=True).to_pil() for page in document]
    document.close()
    scan = image_pdf(images, tmp_path / "scan.pdf", 200)

    tables = tables_of_scanned_pdf(scan)
    assert [t.caption for t in tables] == ["Table 1: Returns by country and year (persons)",
                                           "Table 2: Returns by country and year (persons)"]  # fmt: skip
    assert [t.notes for t in tables] == ["Source: Ministry of the Interior."] * 2
    unruled = tables[1]
    assert unruled.grid()[0] == ["Country", "2021", "2022", "2023", "2024", "2025"]
    rows = row_blocks(unruled, 2)
    assert [b.row for b in rows] == list(_COUNTRIES[:12])
    assert rows[0].cells == (("Country", "Italy"), ("2021", "174"), ("2022", "233"), ("2023", "292"),
                             ("2024", "351"), ("2025", "410"))  # fmt: skip
    assert all(t.page == 1 and t.bbox[0] > 100 and t.bbox[2] < 500 for t in tables)
