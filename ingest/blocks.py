"""The plain data that every reader returns: the document's blocks in reading order."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ingest.ocr import Options as OcrOptions


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


@dataclass(frozen=True)
class Extracted:
    """What a reader found in one file."""

    blocks: list[Block]
    title: str | None = None  # from the file's own metadata or first heading
    pages: int | None = None  # number of pages, for paged formats
    meta: dict[str, str] = field(default_factory=dict)  # other metadata (author, date...)
    warnings: tuple[str, ...] = ()  # parts not read, one line each ("page 3: OCR read nothing ...")


READERS_BY_SUFFIX: dict[str, str] = {
    ".pdf": "ingest.pdf:read_pdf",
    ".html": "ingest.html:read_html",
    ".htm": "ingest.html:read_html",
    ".docx": "ingest.docx:read_docx",
    ".md": "ingest.markdown:read_markdown",
    ".markdown": "ingest.markdown:read_markdown",
    ".txt": "ingest.text:read_text",
    ".text": "ingest.text:read_text",
}


def supported(path: Path) -> bool:
    """Whether some reader handles this file name."""
    return path.suffix.lower() in READERS_BY_SUFFIX


def read(path: Path, ocr: OcrOptions | None = None) -> Extracted:
    """Read any supported file; raises ReadError with a one-line reason when it cannot. `ocr` says
    how to read the image-only pages of a PDF (ingest/ocr.py)."""
    import importlib

    suffix = path.suffix.lower()
    spec = READERS_BY_SUFFIX.get(suffix)
    if spec is None:
        raise ReadError(f"unsupported file type {path.suffix or '(none)'}")
    if path.stat().st_size == 0:
        raise ReadError("empty file (0 bytes)")
    module, func = spec.split(":")
    reader = getattr(importlib.import_module(module), func)
    extracted = reader(path, ocr) if suffix == ".pdf" else reader(path)  # only PDFs have scanned pages
    if not any(not b.heading and b.text.strip() for b in extracted.blocks):
        raise ReadError("no text found in the file")
    return extracted
