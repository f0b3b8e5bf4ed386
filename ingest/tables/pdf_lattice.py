"""A table drawn as a full grid of rules read from its rules: each cell of the grid (pdfplumber's
"lines" finder, which also finds cells merged across rows or columns) holds the words whose
middle lies in it. Used when the grid's cells hold (nearly) all the words of the table: the
rules then say exactly where a cell's text wraps and which cells span, which white space
cannot (justified text in a cell, a label beside three rows)."""

from __future__ import annotations

from ingest.tables.model import Cell
from ingest.tables.pdf_grid import is_figure
from ingest.tables.pdf_text import PageText, Word

_COVERED = 0.95  # share of the table's words that must lie in grid cells
_SNAP = 1.5  # pt: rule positions closer than this are one
# Words of one line of a cell are at most this many em apart (justified text in a narrow cell:
# 3.6 em in eu-003); farther apart, they are cells of a row drawn without the rules between them.
_WIDE_GAP = 4.0


def lattice_cells(page: PageText, line_ids: list[int], bbox, grid: list[tuple]) -> list[Cell] | None:
    """The table's cells from the grid cells `grid` (x0, top, x1, bottom) inside `bbox`, or None
    when the grid does not cover the table's words."""
    boxes = [g for g in grid if _inside(((g[0] + g[2]) / 2, (g[1] + g[3]) / 2), bbox, 2)]
    words = [w for i in line_ids for w in page.lines[i].words if _inside(_middle(w), bbox, 1)]
    if len(boxes) < 4 or not words:
        return None
    holder: dict[int, list[Word]] = {}
    for w in words:
        k = next((k for k, b in enumerate(boxes) if _inside(_middle(w), b, 0)), None)
        if k is not None:
            holder.setdefault(k, []).append(w)
    if sum(len(v) for v in holder.values()) < _COVERED * len(words):
        return None
    xs = _snapped([v for b in boxes for v in (b[0], b[2])])
    ys = _snapped([v for b in boxes for v in (b[1], b[3])])
    placed = []
    for k, ws in holder.items():
        b = boxes[k]
        c0, c1 = _index(xs, b[0]), _index(xs, b[2]) - 1
        if c1 > c0 and _gapped(ws):
            return None  # a shaded band across a row, not a cell: its figures stand apart
        r0, r1 = _index(ys, b[1]), _index(ys, b[3]) - 1
        placed.append((r0, c0, max(r0, r1), max(c0, c1), _text(ws)))
    if len({p[0] for p in placed}) < 2 or len({p[1] for p in placed}) < 2 or _rows_unruled(placed):
        return None
    # Grid rows and columns where no cell's text starts (a rule drawn twice, an empty margin
    # column) are dropped, so that neighbours are not counted as far apart.
    rows = sorted({p[0] for p in placed})
    cols = sorted({p[1] for p in placed})
    cells = []
    for r0, c0, r1, c1, text in placed:
        nr0, nc0 = rows.index(r0), cols.index(c0)
        nr1 = max(nr0, sum(1 for r in rows if r <= r1) - 1)
        nc1 = max(nc0, sum(1 for c in cols if c <= c1) - 1)
        cells.append(Cell(nr0, nc0, nr1 - nr0 + 1, nc1 - nc0 + 1, text, header=nr0 == 0))
    return sorted(cells, key=lambda c: (c.row, c.col))


def _rows_unruled(placed) -> bool:
    """Whether some grid row holds several rows of text: two of its cells have several lines,
    those of one of them all figures (a grid with rules between the columns only)."""
    by_row: dict[tuple[int, int], list[list[str]]] = {}
    for r0, _, r1, _, text in placed:
        by_row.setdefault((r0, r1), []).append(text.split("\n"))
    for texts in by_row.values():
        tall = [t for t in texts if len(t) >= 2]
        if len(tall) >= 2 and any(all(is_figure(line) for line in t) for t in tall):
            return True
    return False


def _gapped(words: list[Word]) -> bool:
    """Whether two words on one line of the cell are further apart than a cell's words ever are."""
    ordered = sorted(words, key=lambda w: ((w.top + w.bottom) // 4, w.x0))
    return any(
        abs(a.top - b.top) < 1 and b.x0 - a.x1 > _WIDE_GAP * max(a.size, b.size)
        for a, b in zip(ordered, ordered[1:])
    )


def _middle(w: Word) -> tuple[float, float]:
    return (w.x0 + w.x1) / 2, (w.top + w.bottom) / 2


def _inside(point, box, pad: float) -> bool:
    return box[0] - pad <= point[0] <= box[2] + pad and box[1] - pad <= point[1] <= box[3] + pad


def _snapped(values: list[float]) -> list[float]:
    out: list[float] = []
    for v in sorted(values):
        if not out or v - out[-1] > _SNAP:
            out.append(v)
    return out


def _index(edges: list[float], v: float) -> int:
    return min(range(len(edges)), key=lambda k: abs(edges[k] - v))


def _text(words: list[Word]) -> str:
    """The words of a cell, line by line (a word joins the line whose middle it is level with)."""
    lines: list[list[Word]] = []
    for w in sorted(words, key=lambda w: (w.top + w.bottom) / 2):
        middle = (w.top + w.bottom) / 2
        if lines and lines[-1][0].top <= middle <= lines[-1][0].bottom:
            lines[-1].append(w)
        else:
            lines.append([w])
    return "\n".join(" ".join(w.text for w in sorted(line, key=lambda w: w.x0)) for line in lines)
