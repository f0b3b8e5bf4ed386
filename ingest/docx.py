"""Read Word documents (.docx) with python-docx: paragraphs and tables in order, headings by style.

A paragraph's text is taken from its XML (runs, hyperlinks, tracked insertions and simple
fields, which python-docx's `Paragraph.text` leaves out), with line breaks and tabs as spaces.
Word computes list numbers when it displays a document, so they are not in the text; this reader
renders them ("1.", "(a)", "iv.") from the numbering definitions for the usual formats, because
a later stage cites paragraphs by their numbers. Bullets are not rendered.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

from docx.oxml.ns import qn

from ingest.blocks import Block, Extracted, ReadError, reason
from ingest.docx_xml import CORRUPT, text_of
from ingest.lines import collapse

_NUMBER_FORMATS = {"decimal", "decimalZero", "lowerLetter", "upperLetter", "lowerRoman", "upperRoman"}


def read_docx(path: Path) -> Extracted:
    """The headings and paragraphs of a .docx file in order, table cells included; empty ones skipped.

    Headings come from the styles Title (level 1) and Heading 1-9, or a paragraph's outline
    level. The title is the document's core-properties title, else the first heading. Raises
    ReadError("corrupt DOCX: ...") when the file is not a readable Word document.
    """
    if path.stat().st_size == 0:
        raise ReadError("empty file (0 bytes)")
    from docx import Document
    from docx.opc.exceptions import OpcError
    from lxml.etree import LxmlError

    try:
        document = Document(str(path))
        body = document.element.body
        numbering = _Numbering(document)
        blocks = _blocks(body, document, numbering)
        properties = document.core_properties
        title = collapse(properties.title or "") or next((b.text for b in blocks if b.heading), None)
        meta = {"author": collapse(properties.author or "")}
    except OpcError as error:
        if not zipfile.is_zipfile(path):
            raise ReadError(
                "not a Word document: a .docx file is a zip archive and this one is not; is it another format "
                "renamed .docx?"
            ) from error
        raise ReadError("corrupt DOCX: not a Word document (no document part in its zip archive)") from error
    except AttributeError as error:
        # python-docx trips over a missing or malformed package part with an AttributeError.
        raise ReadError("corrupt DOCX: a required part is missing or malformed") from error
    except (*CORRUPT, LxmlError) as error:
        raise ReadError(f"corrupt DOCX: {reason(error)}") from error
    return Extracted(blocks=blocks, title=title, meta={key: value for key, value in meta.items() if value})


def _blocks(body, document, numbering) -> list[Block]:
    """The blocks of the body in order: a paragraph each, and a data table's rows
    (ingest/table_rows.py); the cells of a layout table are read as paragraphs."""
    from ingest import table_rows
    from ingest.tables.docx import table_of_element

    blocks: list[Block] = []
    tables = 0
    for child in _top_level(body):
        if child.tag == qn("w:tbl"):
            table = table_of_element(child)
            if table_rows.is_data_table(table):
                tables += 1
                blocks.extend(table_rows.row_blocks(table, tables))
                continue
            elements = _paragraphs_of_table(child)
        else:
            elements = [child]
        blocks.extend(block for element in elements if (block := _block(element, document, numbering)))
    return blocks


def _top_level(container) -> Iterator:
    """The w:p and w:tbl elements of the body in order, through content controls."""
    for child in container.iterchildren():
        if child.tag in (qn("w:p"), qn("w:tbl")):
            yield child
        elif child.tag == qn("w:sdt"):
            content = child.find(qn("w:sdtContent"))
            if content is not None:
                yield from _top_level(content)


def _paragraphs_of_table(tbl) -> Iterator:
    for cell in tbl.iter(qn("w:tc")):
        # The cells of a nested table are read from the cell that holds it.
        if _owning_table(cell) is tbl:
            yield from _paragraphs(cell)


def _paragraphs(container) -> Iterator:
    """The w:p elements of a body or cell in reading order, descending into tables and content controls."""
    for child in container.iterchildren():
        if child.tag == qn("w:p"):
            yield child
        elif child.tag == qn("w:tbl"):
            for cell in child.iter(qn("w:tc")):
                # The cells of a nested table are read from the cell that holds it.
                if _owning_table(cell) is child:
                    yield from _paragraphs(cell)
        elif child.tag == qn("w:sdt"):
            content = child.find(qn("w:sdtContent"))
            if content is not None:
                yield from _paragraphs(content)


def _owning_table(cell):
    parent = cell.getparent()
    while parent is not None and parent.tag != qn("w:tbl"):
        parent = parent.getparent()
    return parent


def _block(paragraph, document, numbering: _Numbering) -> Block | None:
    text = text_of(paragraph)
    number = numbering.label(paragraph, document)
    if not text:
        return None
    if number:
        text = f"{number} {text}"
    level = _heading_level(paragraph, document)
    return Block(text, heading=bool(level), level=level)


def _style(paragraph, document):
    """The paragraph's style object (the default paragraph style when it names none)."""
    from docx.enum.style import WD_STYLE_TYPE

    style_id = paragraph.find(f"{qn('w:pPr')}/{qn('w:pStyle')}")
    if style_id is not None:
        return document.styles.get_by_id(style_id.get(qn("w:val")), WD_STYLE_TYPE.PARAGRAPH)
    return document.styles.default(WD_STYLE_TYPE.PARAGRAPH)


def _heading_level(paragraph, document) -> int:
    """1-9 for a heading paragraph (by style name along the style's base chain, or outline level), else 0."""
    outline = paragraph.find(f"{qn('w:pPr')}/{qn('w:outlineLvl')}")
    style = _style(paragraph, document)
    while style is not None:
        name = (style.name or "").lower()
        if name == "title":
            return 1
        if name.startswith("heading ") and name[8:].isdigit():
            return min(int(name[8:]), 9)
        if outline is None:
            outline = style.element.find(f"{qn('w:pPr')}/{qn('w:outlineLvl')}")
        style = style.base_style
    if outline is not None:
        value = outline.get(qn("w:val"), "9")
        if value.isdigit() and int(value) < 9:
            return int(value) + 1
    return 0


class _Numbering:
    """Renders Word list numbers ("1.", "(a)", "2.1") as Word shows them, for the common formats.

    Counters belong to the abstract numbering definition and advance level by level; a deeper
    level restarts when a shallower one advances; a list instance with a start override restarts.
    Anything unusual (pictures, ordinal words) gives no label rather than a wrong one.
    """

    def __init__(self, document) -> None:
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError):
            root = None
        children = list(root) if root is not None else []
        self.nums = {num.get(qn("w:numId")): num for num in children if num.tag == qn("w:num")}
        self.abstracts = {a.get(qn("w:abstractNumId")): a for a in children if a.tag == qn("w:abstractNum")}
        self.counters: dict[str, list[int]] = {}
        self.started: set[str] = set()

    def label(self, paragraph, document) -> str:
        """The number Word shows before this paragraph ("3.", "(b)"), or "" for none or a bullet."""
        num_id, ilvl = self._num_pr(paragraph, document)
        num = self.nums.get(num_id or "0")
        abstract_id = num.find(qn("w:abstractNumId")) if num is not None else None
        abstract = self.abstracts.get(abstract_id.get(qn("w:val"))) if abstract_id is not None else None
        if abstract is None:
            return ""
        levels = {int(lvl.get(qn("w:ilvl"), "0")): lvl for lvl in abstract.findall(qn("w:lvl"))}
        if ilvl not in levels:
            return ""
        key = abstract.get(qn("w:abstractNumId"))
        counters = self.counters.setdefault(key, [0] * 9)
        if num_id not in self.started:
            self.started.add(num_id)
            for override in num.findall(qn("w:lvlOverride")):
                start = override.find(qn("w:startOverride"))
                if start is not None:
                    level = int(override.get(qn("w:ilvl"), "0"))
                    counters[level] = int(start.get(qn("w:val"), "1")) - 1
                    counters[level + 1 :] = [0] * (8 - level)
        start_of = {level: int(_val(lvl, "w:start") or 1) for level, lvl in levels.items()}
        counters[ilvl] = (
            counters[ilvl] + 1 if counters[ilvl] >= start_of.get(ilvl, 1) else start_of.get(ilvl, 1)
        )
        for deeper in range(ilvl + 1, 9):
            counters[deeper] = 0
        return self._render(levels, ilvl, counters, start_of)

    def _render(self, levels: dict, ilvl: int, counters: list[int], start_of: dict[int, int]) -> str:
        template = _val(levels[ilvl], "w:lvlText") or ""
        if _val(levels[ilvl], "w:numFmt") not in _NUMBER_FORMATS or "%" not in template:
            return ""
        label = template
        for level in range(ilvl, -1, -1):
            placeholder = f"%{level + 1}"
            if placeholder in label:
                fmt = _val(levels[level], "w:numFmt") if level in levels else "decimal"
                value = counters[level] or start_of.get(level, 1)
                label = label.replace(placeholder, _format(value, fmt or "decimal"))
        return label.strip()

    def _num_pr(self, paragraph, document) -> tuple[str | None, int]:
        num_pr = paragraph.find(f"{qn('w:pPr')}/{qn('w:numPr')}")
        style = _style(paragraph, document)
        while num_pr is None and style is not None:
            num_pr = style.element.find(f"{qn('w:pPr')}/{qn('w:numPr')}")
            style = style.base_style
        if num_pr is None:
            return None, 0
        num_id = num_pr.find(qn("w:numId"))
        ilvl = num_pr.find(qn("w:ilvl"))
        level = ilvl.get(qn("w:val"), "0") if ilvl is not None else "0"
        return (num_id.get(qn("w:val")) if num_id is not None else None), int(level) if level.isdigit() else 0


def _val(element, tag: str) -> str | None:
    child = element.find(qn(tag))
    return child.get(qn("w:val")) if child is not None else None


def _format(value: int, fmt: str) -> str:
    if fmt == "decimalZero":
        return f"{value:02d}"
    if fmt in ("lowerLetter", "upperLetter"):
        # Word repeats the letter after z: aa, bb, ...
        letter = chr(ord("a") + (value - 1) % 26) * ((value - 1) // 26 + 1)
        return letter if fmt == "lowerLetter" else letter.upper()
    if fmt in ("lowerRoman", "upperRoman"):
        roman = _roman(value)
        return roman if fmt == "upperRoman" else roman.lower()
    return str(value)


def _roman(value: int) -> str:
    numerals = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
                (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]  # fmt: skip
    out = []
    for number, numeral in numerals:
        count, value = divmod(value, number)
        out.append(numeral * count)
    return "".join(out)
