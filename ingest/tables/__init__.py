"""Tables read from PDF, Word and HTML files into one plain model (ingest/tables/model.py).

    from ingest.tables import tables_of_pdf, tables_of_docx, tables_of_html, tables_of
    for table in tables_of(Path("report.pdf")):
        print(table.page, table.caption, table.grid())

Every reader raises ingest.blocks.ReadError (one line for the user) on a file it cannot read.
"""

from __future__ import annotations

from pathlib import Path

from ingest.tables.model import Cell, Table, table_dict

__all__ = ["Cell", "Table", "table_dict", "tables_of", "tables_of_docx", "tables_of_html", "tables_of_pdf"]

SUFFIXES = (".pdf", ".docx", ".html", ".htm")


def tables_of_pdf(path: Path | str, pages: set[int] | None = None) -> list[Table]:
    """The tables of a PDF, or of some of its pages (1-based; see ingest/tables/pdf.py)."""
    from ingest.tables.pdf import tables_of_pdf as read

    return read(path, pages)


def tables_of_docx(path: Path | str) -> list[Table]:
    """The tables of a Word file (see ingest/tables/docx.py)."""
    from ingest.tables.docx import tables_of_docx as read

    return read(path)


def tables_of_html(path: Path | str) -> list[Table]:
    """The tables of an HTML file (see ingest/tables/html.py)."""
    from ingest.tables.html import tables_of_html as read

    return read(path)


def tables_of(path: Path) -> list[Table]:
    """The tables of a PDF, Word or HTML file, by its suffix; ReadError for any other."""
    from ingest.blocks import ReadError

    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return tables_of_pdf(path)
    if suffix == ".docx":
        return tables_of_docx(path)
    if suffix in (".html", ".htm"):
        return tables_of_html(path)
    raise ReadError(
        f"unsupported file type {path.suffix or '(none)'}: tables are read from {', '.join(SUFFIXES)}"
    )
