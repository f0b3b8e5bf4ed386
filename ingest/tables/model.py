"""The plain data every table reader returns: a table, its caption and notes, and its cells."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Cell:
    """One cell of a table's grid: its top-left slot (0-based), how many rows and columns it
    covers, its text (lines joined by "\\n"), and whether it is a heading cell."""

    row: int
    col: int
    rowspan: int = 1
    colspan: int = 1
    text: str = ""
    header: bool = False


@dataclass(frozen=True)
class Table:
    """A table as printed: the page it is on (1-based; 0 for formats without pages), its box
    (x0, top, x1, bottom in PDF points from the top-left of the page as displayed, as pdfplumber
    gives them; None for Word and HTML) around its rows only, its caption ("Table 3: Arrests by
    year") and notes ("Source: ...", "* provisional") when it has them, and its cells.

    A PDF table continued on the next page is one Table a page: the part on the later page has
    `continues` set (it continues the table before it in the document's list, whose caption and
    column headings its rows carry). `columns` holds the x-ranges of a PDF table's columns
    (PDF points; empty for Word and HTML), which tell a continuation by its layout."""

    page: int
    bbox: tuple[float, float, float, float] | None
    caption: str
    cells: list[Cell] = field(default_factory=list)
    notes: str = ""
    continues: bool = False
    columns: tuple[tuple[float, float], ...] = field(default=(), compare=False, repr=False)

    @property
    def rows(self) -> int:
        """The number of grid rows."""
        return max((cell.row + cell.rowspan for cell in self.cells), default=0)

    @property
    def cols(self) -> int:
        """The number of grid columns."""
        return max((cell.col + cell.colspan for cell in self.cells), default=0)

    def grid(self) -> list[list[str]]:
        """The table as rows of strings, a spanning cell's text in its top-left slot and "" in
        the other slots it covers (what a CSV file holds)."""
        out = [["" for _ in range(self.cols)] for _ in range(self.rows)]
        for cell in self.cells:
            out[cell.row][cell.col] = cell.text
        return out


def table_dict(table: Table) -> dict:
    """The table in the JSON form `kb tables` writes (and the ICDAR 2013 evaluator reads)."""
    out = {
        "page": table.page,
        "bbox": [round(v, 2) for v in table.bbox] if table.bbox else None,
        "caption": table.caption,
        "cells": [
            {
                "row": c.row,
                "col": c.col,
                "rowspan": c.rowspan,
                "colspan": c.colspan,
                "text": c.text,
                "header": c.header,
            }
            for c in table.cells
        ],
    }
    if table.notes:
        out["notes"] = table.notes
    return out
