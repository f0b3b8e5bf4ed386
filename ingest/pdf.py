"""Read PDFs with pypdf: lines with their position and font, then paragraphs and headings.

pypdf reports each run of text with its position, font and size (`extract_text(visitor_text=...)`);
the runs of one printed line make a `Line`. Then, over the whole document:

- running headers and footers (a line at the top or bottom of the page whose text, digits aside,
  recurs on at least 40% of the pages), page numbers ("3", "- 3 -", "Page 3 of 10", "3/10") and
  printer's slugs (a line there in a font half the body's size or less) go;
- the body font is the size and weight that most characters have; a line in a larger or bold
  font (bold where the body is not) is a heading, its level given by the rank of its size;
- a short body-font line without final punctuation, with space above and below, is a heading
  of the lowest level;
- a new paragraph starts where a line begins with a paragraph number or a bullet, after vertical
  space larger than the body's line spacing, or at an indented first line after a sentence end;
- a paragraph continues over a page break when the page ends mid-sentence and the next page
  does not start with an indent, or when the next page starts in lower case;
- a footnote (a line in a smaller font than the body's that starts with a number or a mark, at
  the foot of its column: the next body line on the page, if any, is higher up, in the next
  column) and the smaller lines after it are their own blocks, one per footnote, placed after
  the paragraph they interrupt, which goes on over them into the next column or page;
- line numbers in a page's margin (bare numbers counting up, each a line of its own, as in a
  court transcript) go, named in the warnings;
- a table found by the table reader (ingest/tables: ruled and unruled tables, from the PDF's own
  text and rules through pdfplumber) becomes one block per data row, carrying its caption and its
  column headings (ingest/table_rows.py), cited by page, table and row; its lines leave the
  running text. A table the reader misses (at least three rows, on one page, with at most two
  other lines between them; a row is made mostly of figures or holds dot leaders, or is a short
  line that starts with a word and ends in one figure or tick: "Ireland 50") is left out with its
  column headings and named in the warnings: read line by line it is a salad of figures that no
  passage should quote.

Lines come in the order of the page's content stream, which is the column order in the files we
have seen (three-column Federal Register pages, two-column reports): see docs/real-pdfs.md.

A page with (almost) no text of its own but with an image on it, a scan, is read by OCR
(ingest/ocr.py), whose lines, with their positions, go through the same rules; the blocks made
of them are marked `ocr`, and a page that OCR reads nothing on is named in `Extracted.warnings`.

This module opens the file and runs the steps; ingest/pdf_lines.py reads the lines (by OCR on a
scan), ingest/pdf_furniture.py leaves out headers, footers, page and line numbers and tables, and
ingest/pdf_layout.py finds the body font, footnotes and headings and makes the blocks.
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import DependencyError, PyPdfError

from ingest import ocr, pdf_furniture, pdf_layout, pdf_lines, table_rows
from ingest.blocks import Extracted, ReadError, reason
from ingest.lines import collapse
from ingest.tables.model import Table

# pypdf raises its own errors on broken files, and sometimes plain Python ones from deep inside.
_CORRUPT = (PyPdfError, ValueError, KeyError, TypeError, IndexError, AttributeError, AssertionError,
            RecursionError, NotImplementedError, OSError, zlib.error, struct.error)  # fmt: skip
_USELESS_TITLE = re.compile(
    r"^(?:microsoft\s+\w+\s+-|untitled|document\d*$|slide\s*\d*$)|\.(?:docx?|pdf|indd|rtf|odt|pptx?)$",
    re.IGNORECASE,
)
_NO_TEXT = "no text found: no text layer, and no scanned image to read by OCR"


def read_pdf(path: Path, options: ocr.Options | None = None) -> Extracted:
    """The paragraphs and headings of a PDF, each with the page it starts (and ends) on.

    Image-only pages are read by OCR (`options`: its languages and a progress callback); a page
    it reads nothing on is named in the warnings, and the rest of the document is read. Raises
    ReadError for an encrypted PDF without an empty user password, a corrupt PDF, and a PDF
    without text, even by OCR. The title is the metadata title when it looks like one, else the
    first heading.
    """
    if path.stat().st_size == 0:
        raise ReadError("empty file (0 bytes)")
    reader = _open(path)
    try:
        pages = [pdf_lines.page_lines(page, number) for number, page in enumerate(reader.pages, start=1)]
    except _CORRUPT as error:
        raise ReadError(f"corrupt PDF: {reason(error)}") from error
    warnings = pdf_lines.read_scanned_pages(path, pages, options or ocr.Options())
    if not any(line.text for page in pages for line in page):
        raise ReadError("; ".join(["no text found", *warnings]) if warnings else _NO_TEXT)
    lines, numbers = pdf_furniture.drop_line_numbers(pdf_furniture.drop_furniture(pages))
    kept, dropped = pdf_furniture.drop_tables(lines)
    # The table reader (0.2-0.5 s a page) reads the pages where a table shows: lines that read as
    # a table's rows, or a caption ("Table 3: ...").
    left = {id(line) for line in kept}
    candidates = {line.page for line in lines if id(line) not in left or table_rows.is_caption(line.text)}
    tables = _tables(path, candidates, warnings) if candidates else []
    if tables:
        inside = table_rows.in_tables(
            tables, {n: float(p.mediabox.top) for n, p in enumerate(reader.pages, 1)}
        )
        lines = [line for line in lines if not inside(line.page, line.x, line.y)]
        kept, dropped = pdf_furniture.drop_tables(lines)  # what the table reader did not find
    lines = kept
    warnings.extend(numbers + dropped)
    style = pdf_layout.body_style(lines)
    pdf_layout.mark_footnotes(lines, style)
    pdf_layout.mark_headings(lines, style)
    blocks = table_rows.with_rows(pdf_layout.blocks_of(lines, style), tables)
    title = _metadata_title(reader) or next((block.text for block in blocks if block.heading), None)
    return Extracted(
        blocks=blocks, title=title, pages=len(pages), meta=_metadata(reader), warnings=tuple(warnings)
    )


def _tables(path: Path, pages: set[int], warnings: list[str]) -> list[Table]:
    """The PDF's tables (ingest/tables), or none with a warning when their reader fails: the text
    is read all the same, and the lines of tables the table reader did not find are left out."""
    from ingest.tables import tables_of_pdf

    try:
        found = tables_of_pdf(path, pages)
    except Exception as error:  # noqa: BLE001  (a table reader's failure must not lose the text)
        warnings.append(f"tables not read: {reason(error)}")
        return []
    return table_rows.data_tables(found)


def _open(path: Path) -> PdfReader:
    try:
        reader = PdfReader(path, strict=False)
        # Many PDFs are encrypted only to restrict printing or copying: they open with "".
        if reader.is_encrypted and not reader.decrypt(""):
            raise ReadError("encrypted PDF, no password given")
        len(reader.pages)
    except DependencyError as error:
        raise ReadError("encrypted PDF: decrypting it needs the 'cryptography' package") from error
    except _CORRUPT as error:
        raise ReadError(f"corrupt PDF: {reason(error)}") from error
    return reader


def _metadata_title(reader: PdfReader) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None
    except _CORRUPT:
        return None
    title = collapse(str(title)) if title else ""
    if len(title) < 4 or not any(char.isalpha() for char in title) or _USELESS_TITLE.search(title):
        return None
    return title


def _metadata(reader: PdfReader) -> dict[str, str]:
    try:
        info = reader.metadata or {}
        items = {
            "author": info.get("/Author"),
            "created": info.get("/CreationDate"),
            "subject": info.get("/Subject"),
        }
    except _CORRUPT:
        return {}
    return {key: collapse(str(value)) for key, value in items.items() if value}
