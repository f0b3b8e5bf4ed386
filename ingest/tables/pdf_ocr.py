"""Tables on scanned pages: the words Tesseract reads, with their boxes (its TSV output, through
ingest/ocr.py), laid out as a page's words and given to the same table finder as a PDF's own
text (ingest/tables/pdf.py). A scan has no drawing objects, so ruled tables are found by their
text alone, as unruled ones are.

    from ingest.tables.pdf_ocr import tables_of_scanned_pdf
    tables = tables_of_scanned_pdf(Path("scan.pdf"), languages="eng")
"""

from __future__ import annotations

from pathlib import Path

from ingest import ocr
from ingest.tables.model import Table
from ingest.tables.pdf import tables_on
from ingest.tables.pdf_text import PageText, Word, page_of_words, printed

_MIN_CONFIDENCE = 30  # as ingest/ocr.py: below it, a word without letters or digits is a speck
# Tesseract's word boxes are tight to the ink, so the gaps between words look wider than in a
# PDF's text: two words of one cell are 0.48 em apart or less in 90% of cases (0.56 em 95%), two
# cells of a row 0.83 em or more in 95%; 0.6 em splits 8.5% of cells, joins 0.4% of cell pairs
# (20 pages of 10 ICDAR 2013 DEV documents rasterised at 200 dpi: 4,887 same-cell and 943
# next-cell word pairs, cells as the born-digital reader splits them; /tmp/gaps.py, issue 37).
_SEGMENT_GAP = 0.6


def scanned_page_text(tsv: str, number: int, width: float, height: float, dpi: int = ocr.DPI) -> PageText:
    """Page `number` as the table finder sees it, from Tesseract's TSV for its image at `dpi`:
    each word with its box in points from the top left, its size the height of its OCR line
    (Tesseract gives no font size; a line's box runs from ascender to descender, about an em)."""
    scale = 72 / dpi
    line_height: dict[tuple[str, ...], float] = {}
    found: list[tuple[tuple[str, ...], list[str]]] = []
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12:
            continue
        key = tuple(cells[1:5])
        if cells[0] == "4":
            line_height[key] = int(cells[9]) * scale
        elif cells[0] == "5" and cells[11].strip():
            if float(cells[10]) < _MIN_CONFIDENCE and not any(char.isalnum() for char in cells[11]):
                continue
            found.append((key, cells))
    words = []
    for key, cells in found:
        text = printed(cells[11])
        if not text:
            continue
        left, top, w, h = (int(cell) * scale for cell in cells[6:10])
        size = round(line_height.get(key, h), 1)
        words.append(Word(left, left + w, top, top + h, text, size, False))
    return page_of_words(number, width, height, words, [], _SEGMENT_GAP)


def tables_of_scanned_page(
    pdf: Path, number: int, languages: str = "eng", before: Table | None = None
) -> list[Table]:
    """The tables Tesseract's words show on page `number` (1-based) of a PDF read as an image;
    `before` as for ingest.tables.pdf.page_tables. Raises ocr.OcrUnavailable when Tesseract is
    not installed."""
    tsv, width, height = ocr.page_tsv(pdf, number, languages)
    return tables_on(scanned_page_text(tsv, number, width, height), [], [], [], before)


def tables_of_scanned_pdf(path: Path, pages: set[int] | None = None, languages: str = "eng") -> list[Table]:
    """The tables of every page (or of `pages`, 1-based) of a PDF read as images by OCR."""
    import pypdfium2

    document = pypdfium2.PdfDocument(str(path))
    try:
        count = len(document)
    finally:
        document.close()
    tables: list[Table] = []
    for number in range(1, count + 1):
        if pages is None or number in pages:
            tables.extend(tables_of_scanned_page(path, number, languages, tables[-1] if tables else None))
    return tables
