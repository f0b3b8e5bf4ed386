"""Paragraph numbers, section headings and offsets: the provenance every passage carries."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.blocks import Block

# "12. Text", "3.1 Text", "3.1. Text" — a number the document itself gives its paragraph.
_NUMBER = re.compile(r"(\d{1,3}(?:\.\d{1,3})+\.?|\d{1,3}\.)\s+(?=\S)")
# "(a) Text", "(iv) Text", "(2) Text", "a) Text" — a sub-paragraph of the last numbered one.
_SUB = re.compile(r"(?:\(([a-z]{1,2}|[ivxl]{1,6}|\d{1,2})\)|([a-z])\))\s+(?=\S)")

# "5.1.3. Vocational education", "6.1 Market structure": a heading with a section number of two or
# more levels. A one-level number ("6. Training") is not taken: a running paragraph count reads the same.
_SECTION = re.compile(r"(\d{1,2}(?:\.\d{1,3})+)\.?\s+(?=[^\W\d_])")

BLOCK_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class Paragraph:
    """A body paragraph with its label, heading, page(s) and offsets in the document text."""

    label: str
    text: str  # the paragraph text with the document's own number marker removed
    heading: str
    page: int | None
    page_end: int | None
    start: int  # offset of `text` in the document text
    end: int
    ocr: bool = False  # read by OCR from a scanned page
    table: str = ""  # a table row's table label, row name and (heading, value) pairs (ingest/table_rows.py)
    row: str = ""
    cells: tuple[tuple[str, str], ...] = ()


def document_text(blocks: list[Block]) -> str:
    """The extracted text of a document, the frame of reference for passage offsets."""
    return BLOCK_SEPARATOR.join(b.text for b in blocks)


def number_paragraphs(blocks: list[Block]) -> list[Paragraph]:
    """Label each body paragraph with the document's own numbering, or 1, 2, 3… when it has none.

    A document counts as numbered when at least a third of its body paragraphs (and at least
    two) start with "N." markers: a statement with one numbered list inside is not numbered.
    In a numbered document, "(a)"-style items become "12(a)", unnumbered paragraphs after a
    numbered one continue it (same label), and those before the first number are labelled
    "preamble 1", "preamble 2"… Headings are never counted.

    A document that does not number its paragraphs but numbers its sections ("5.1.3. The Noste
    programme") labels the paragraphs of a section with the section's number, as a numbered
    document labels the unnumbered paragraphs after a number: the reader finds the number
    printed over them. A section ends at the next numbered heading or at an unnumbered heading
    of a higher rank; paragraphs outside numbered sections keep their running count.
    """
    body = [b for b in blocks if not b.heading and not b.table]
    count = sum(1 for b in body if _NUMBER.match(b.text))
    numbered = count >= 2 and count * 3 >= len(body)
    paragraphs: list[Paragraph] = []
    heading = ""
    offset = 0
    current = ""  # the last top-level number seen
    preamble = 0
    section, section_level = "", 0  # the numbered section the paragraphs are in, and its heading's level
    rows: dict[int, int] = {}  # table position → rows labelled so far
    counted = 0  # body paragraphs so far (table rows are not counted)
    for block in blocks:
        start = offset
        offset += len(block.text) + len(BLOCK_SEPARATOR)
        if block.table:  # cited by its table and row, not by a paragraph number
            rows[block.table_seq] = rows.get(block.table_seq, 0) + 1
            label = f"table {block.table_seq}.{rows[block.table_seq]}"
            paragraphs.append(
                Paragraph(label, block.text, heading, block.page, block.page_end, start, start + len(block.text),
                          block.ocr, block.table, block.row, block.cells)
            )  # fmt: skip
            continue
        if block.heading:
            heading = block.text
            if m := _SECTION.match(block.text):
                section, section_level = m.group(1), block.level
            elif block.level < section_level:
                section, section_level = "", 0
            continue
        text, label = block.text, ""
        if numbered:
            if m := _NUMBER.match(text):
                current = m.group(1).rstrip(".")
                label, cut = current, m.end()
            elif current and (m := _SUB.match(text)):
                label, cut = f"{current}({m.group(1) or m.group(2)})", m.end()
            elif current:
                label, cut = current, 0
            else:
                preamble += 1
                label, cut = f"preamble {preamble}", 0
            text, start = text[cut:], start + cut
        else:
            label = section or str(counted + 1)
        if not text.strip():
            continue
        counted += 1
        paragraphs.append(
            Paragraph(label, text, heading, block.page, block.page_end, start, start + len(text), block.ocr)
        )
    return paragraphs
