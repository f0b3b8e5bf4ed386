"""The plain data that every reader returns: the document's blocks in reading order."""

from __future__ import annotations

from dataclasses import dataclass, field


class ReadError(Exception):
    """A file could not be read; the message is one line for the user (the path is added by the caller)."""


def reason(error: Exception, limit: int = 120) -> str:
    """A library error as one short printable line for a ReadError message (its type when it says nothing).

    Parser errors can quote the broken input at length (lxml repeats a mangled namespace url).
    """
    text = " ".join("".join(char if char.isprintable() else "?" for char in str(error)).split())
    text = text or type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Block:
    """A heading or a body paragraph, as it appears in the source.

    `text` is the paragraph's text with line breaks inside it turned into single spaces,
    words hyphenated across line ends joined, and nothing else changed: it is what a user
    sees when opening the source, and what citations quote.
    """

    text: str
    heading: bool = False
    level: int = 0  # heading level, 1 = top; 0 for body paragraphs
    page: int | None = None  # 1-based page on which the block starts (paged formats only)
    page_end: int | None = None  # page on which it ends, when it runs over a page break
    ocr: bool = False  # read by OCR from a scanned page: may hold misread characters
    # A table's data row (ingest/table_rows.py): the table's label ("3"), the row's name (its first
    # cell), each value with its column heading, and the table's position among the document's.
    table: str = ""
    row: str = ""
    cells: tuple[tuple[str, str], ...] = ()
    table_seq: int = 0


@dataclass(frozen=True)
class Extracted:
    """What a reader found in one file."""

    blocks: list[Block]
    title: str | None = None  # from the file's own metadata or first heading
    pages: int | None = None  # number of pages, for paged formats
    meta: dict[str, str] = field(default_factory=dict)  # other metadata (author, date...)
    warnings: tuple[str, ...] = ()  # parts not read, one line each ("page 3: OCR read nothing ...")
