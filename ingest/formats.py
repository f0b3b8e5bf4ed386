"""Which reader reads a file: by its suffix, and a .txt file that is really Markdown as Markdown."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.blocks import Extracted, ReadError
from ingest.decoding import sniff_encoding

if TYPE_CHECKING:
    from ingest.ocr import Options as OcrOptions

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
    if suffix in (".txt", ".text") and _looks_like_markdown(path, sniff_encoding(path)):
        spec = READERS_BY_SUFFIX[".md"]
    module, func = spec.split(":")
    reader = getattr(importlib.import_module(module), func)
    extracted = reader(path, ocr) if suffix == ".pdf" else reader(path)  # only PDFs have scanned pages
    if not any(not b.heading and b.text.strip() for b in extracted.blocks):
        raise ReadError("no text found in the file")
    return extracted


_MARKDOWN_SIGNS = re.compile(r"^\s{0,3}#{1,6}\s+\S|\*\*[^*\n]+\*\*|^\s{0,3}(?:---+|\*\*\*+)\s*$", re.M)


def _looks_like_markdown(path: Path, encoding: str) -> bool:
    """Whether a .txt file is really Markdown (some transcripts are saved so): ATX headings,
    **bold** or horizontal rules in its first 64 KB, at least twice."""
    with open(path, encoding=encoding, errors="replace") as f:
        head = f.read(65536)
    return len(_MARKDOWN_SIGNS.findall(head)) >= 2
