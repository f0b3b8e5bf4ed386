"""The tables of a Word document (.docx), read from their XML: merged cells from w:gridSpan
(across columns) and w:vMerge (down rows), skipped grid columns from w:gridBefore, a heading row
from w:tblHeader, and the caption from the paragraph just before or after the table when it reads
"Table 3: ..." (or has Word's Caption style)."""

from __future__ import annotations

from pathlib import Path

from docx.oxml.ns import qn

from ingest.blocks import ReadError, reason
from ingest.docx_xml import CORRUPT, text_of
from ingest.lines import collapse
from ingest.tables.model import Cell, Table
from ingest.tables.pdf_regions import CAPTION


def tables_of_docx(path: Path | str) -> list[Table]:
    """Every table of the document in reading order (a table nested in a cell comes after the
    table holding it). Raises ReadError for an empty, corrupt or non-Word file."""
    from docx import Document
    from docx.opc.exceptions import OpcError
    from lxml.etree import LxmlError

    path = Path(path)
    if path.stat().st_size == 0:
        raise ReadError("empty file (0 bytes)")
    try:
        body = Document(str(path)).element.body
        return [_table(tbl) for tbl in body.iter(qn("w:tbl"))]
    except OpcError as error:
        raise ReadError("corrupt DOCX: not a Word document (no document part in its zip archive)") from error
    except AttributeError as error:
        raise ReadError("corrupt DOCX: a required part is missing or malformed") from error
    except (*CORRUPT, LxmlError) as error:
        raise ReadError(f"corrupt DOCX: {reason(error)}") from error


def _table(tbl) -> Table:
    cells: list[Cell] = []
    open_cells: dict[int, int] = {}  # grid column -> index in `cells` of the cell a vMerge continues
    for r, tr in enumerate(tbl.iterchildren(qn("w:tr"))):
        header = tr.find(f"{qn('w:trPr')}/{qn('w:tblHeader')}") is not None
        col = _int(tr.find(f"{qn('w:trPr')}/{qn('w:gridBefore')}"), 0, least=0)
        for tc in tr.iterchildren(qn("w:tc")):
            props = tc.find(qn("w:tcPr"))
            span = _int(props.find(qn("w:gridSpan")) if props is not None else None, 1)
            merge = props.find(qn("w:vMerge")) if props is not None else None
            if merge is not None and merge.get(qn("w:val")) != "restart" and col in open_cells:
                k = open_cells[col]
                above = cells[k]
                cells[k] = Cell(
                    above.row, above.col, r - above.row + 1, above.colspan, above.text, above.header
                )
            else:
                text = "\n".join(t for p in tc.iterchildren(qn("w:p")) if (t := collapse(text_of(p))))
                cells.append(Cell(r, col, 1, span, text, header))
                if merge is not None:
                    open_cells[col] = len(cells) - 1
                else:
                    open_cells.pop(col, None)
            col += span
    if cells and not any(c.header for c in cells):
        cells = [Cell(c.row, c.col, c.rowspan, c.colspan, c.text, c.row == 0) for c in cells]
    return Table(0, None, _caption(tbl), cells)


def _caption(tbl) -> str:
    for sibling in (tbl.getprevious(), tbl.getnext()):
        if sibling is not None and sibling.tag == qn("w:p"):
            text = collapse(text_of(sibling))
            style = sibling.find(f"{qn('w:pPr')}/{qn('w:pStyle')}")
            if text and (CAPTION.match(text) or (style is not None and style.get(qn("w:val")) == "Caption")):
                return text
    return ""


def _int(element, default: int, least: int = 1) -> int:
    if element is None:
        return default
    try:
        return max(least, int(element.get(qn("w:val"))))
    except (TypeError, ValueError):
        return default


def table_of_element(tbl) -> Table:
    """One w:tbl element as a Table: for the document reader (ingest/docx.py)."""
    return _table(tbl)
