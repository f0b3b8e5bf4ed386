"""The tables of an HTML page, read from their markup: rows of <tr> (in <thead>, <tbody>,
<tfoot> or directly in <table>), cells of <th>/<td> with colspan and rowspan laid on a grid the
way a browser lays them (a cell takes the first slot not covered by a rowspan from above), heading
cells from <th> or <thead>, the caption from <caption>."""

from __future__ import annotations

from pathlib import Path

from ingest.blocks import ReadError
from ingest.decoding import decode_html, parse_html
from ingest.lines import collapse
from ingest.tables.model import Cell, Table
from ingest.tables.pdf_regions import CAPTION

_MAX_SPAN = 1000  # browsers cap rowspan at 65534 and colspan at 1000; a bigger one is a typo


def tables_of_html(path: Path | str) -> list[Table]:
    """Every <table> of the page in document order (a nested table after the one holding it).
    Raises ReadError for an empty file."""
    path = Path(path)
    if path.stat().st_size == 0:
        raise ReadError("empty file (0 bytes)")
    soup = parse_html(decode_html(path.read_bytes()))
    tables = []
    for element in soup.find_all("table"):
        table = _table(element)
        if table.cells:
            tables.append(table)
    return tables


def _rows(table) -> list:
    """The table's own <tr> elements (not those of a table nested in one of its cells)."""
    out = []
    for child in table.find_all(recursive=False):
        if child.name == "tr":
            out.append(child)
        elif child.name in ("thead", "tbody", "tfoot"):
            out.extend(tr for tr in child.find_all("tr", recursive=False))
    return out


def _table(element) -> Table:
    covered: set[tuple[int, int]] = set()
    cells: list[Cell] = []
    for r, tr in enumerate(_rows(element)):
        in_head = tr.parent is not None and tr.parent.name == "thead"
        col = 0
        for td in tr.find_all(("td", "th"), recursive=False):
            while (r, col) in covered:
                col += 1
            rowspan = _span(td.get("rowspan"), 1)
            colspan = _span(td.get("colspan"), 1)
            for dr in range(rowspan):
                for dc in range(colspan):
                    covered.add((r + dr, col + dc))
            text = _cell_text(td)
            cells.append(Cell(r, col, rowspan, colspan, text, header=td.name == "th" or in_head))
            col += colspan
    rows = max((c.row + 1 for c in cells), default=0)
    # A rowspan reaching past the last row ends there, as a browser draws it.
    cells = [Cell(c.row, c.col, min(c.rowspan, rows - c.row), c.colspan, c.text, c.header) for c in cells]
    return Table(0, None, _caption(element), cells)


def _cell_text(td) -> str:
    """The cell's text, its lines (<br>, paragraphs, list items) joined by "\\n"."""
    for br in td.find_all("br"):
        br.replace_with("\n")
    parts = []
    for piece in td.get_text("\n").split("\n"):
        if text := collapse(piece):
            parts.append(text)
    return "\n".join(parts)


def _caption(element) -> str:
    caption = element.find("caption")
    if caption is not None and (text := collapse(caption.get_text(" "))):
        return text
    previous = element.find_previous_sibling()
    if previous is not None and (text := collapse(previous.get_text(" "))) and CAPTION.match(text):
        return text
    return ""


def _span(value, default: int) -> int:
    try:
        return min(_MAX_SPAN, max(1, int(str(value).strip())))
    except (TypeError, ValueError):
        return default


def table_of_element(element) -> Table:
    """One <table> element (BeautifulSoup) as a Table: for the page reader (ingest/html.py)."""
    return _table(element)
