"""The text of Word's XML shared by the document reader (ingest/docx.py) and the table reader
(ingest/tables/docx.py): a paragraph's visible text, and the errors a broken file raises."""

from __future__ import annotations

import zipfile
import zlib

from docx.oxml.ns import qn

from ingest.lines import collapse

# A damaged zip archive or XML part surfaces as any of these, from zipfile, zlib, lxml or python-docx.
CORRUPT = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    NotImplementedError,
    KeyError,
    ValueError,
    TypeError,
    OSError,
)
TEXT_TAGS = {qn("w:t"): None, qn("w:tab"): " ", qn("w:br"): " ", qn("w:cr"): " ", qn("w:noBreakHyphen"): "-"}
SKIPPED = {qn("w:txbxContent"), qn("w:del"), qn("w:moveFrom"), qn("w:instrText"), qn("w:delText")}


def text_of(paragraph) -> str:
    """The visible text of a w:p element, line breaks and tabs as spaces."""
    parts: list[str] = []

    def walk(element) -> None:
        for child in element:
            if child.tag in SKIPPED:
                continue
            if child.tag in TEXT_TAGS:
                parts.append(child.text or "" if TEXT_TAGS[child.tag] is None else TEXT_TAGS[child.tag])
            elif child.tag != qn("w:pPr"):
                walk(child)

    walk(paragraph)
    return collapse("".join(parts))
