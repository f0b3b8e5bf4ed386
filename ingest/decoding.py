"""From a file's bytes to text, shared by the text, HTML and Markdown readers: byte-order marks,
UTF-8, legacy encodings and binary content; an HTML page's declared charset; and HTML parsing."""

from __future__ import annotations

import codecs
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.blocks import ReadError

if TYPE_CHECKING:
    from bs4 import BeautifulSoup

_SAMPLE_BYTES = 1 << 16
_CHUNK_BYTES = 1 << 20
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_TEXT_CONTROLS = frozenset("\t\n\r\f\v\x1b")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([-\w.:]+)""", re.IGNORECASE)


def sniff_encoding(path: Path) -> str:
    """The Python codec name for a text file; raises ReadError when it is empty or binary.

    A byte-order mark decides; else UTF-8 when the whole file is valid UTF-8; else cp1252 when the
    bytes look like Western European text; else charset-normalizer's guess.
    """
    with path.open("rb") as file:
        sample = file.read(_SAMPLE_BYTES)
    if not sample:
        raise ReadError("empty file (0 bytes)")
    encoding = _bom_encoding(sample)
    if encoding is None:
        if b"\x00" in sample:
            raise ReadError("not a text file (binary content)")
        encoding = "utf-8" if _is_utf8(path) else legacy_encoding(sample)
    head = codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample)
    if looks_binary(head):
        raise ReadError("not a text file (binary content)")
    return encoding


def decode(data: bytes) -> str:
    """`data` decoded as `sniff_encoding` would (BOM dropped); raises ReadError for empty or binary data."""
    if not data:
        raise ReadError("empty file (0 bytes)")
    encoding = _bom_encoding(data)
    if encoding is None:
        if b"\x00" in data[:_SAMPLE_BYTES]:
            raise ReadError("not a text file (binary content)")
        try:
            return _checked(data.decode("utf-8"))
        except UnicodeDecodeError:
            encoding = legacy_encoding(data[:_SAMPLE_BYTES])
    return _checked(data.decode(encoding, errors="replace").lstrip("\ufeff"))


def _checked(text: str) -> str:
    if looks_binary(text[:_SAMPLE_BYTES]):
        raise ReadError("not a text file (binary content)")
    return text


def _bom_encoding(sample: bytes) -> str | None:
    for bom, encoding in _BOMS:
        if sample.startswith(bom):
            return encoding
    return None


def _is_utf8(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as file:
            for chunk in iter(lambda: file.read(_CHUNK_BYTES), b""):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def legacy_encoding(sample: bytes) -> str:
    """The encoding of non-UTF-8 bytes: cp1252 for Western European text, else charset-normalizer's guess.

    charset-normalizer alone is unreliable on short Western texts (it calls cp1252 smart quotes
    and "€" cp1250 or cp1257), so cp1252 is tried first; text in another script decoded as cp1252
    turns into mostly accented capitals and small letters (À-ÿ), which the letter count catches.
    """
    try:
        text = sample.decode("cp1252")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        letters = [char for char in text if char.isalpha()]
        accented = sum(1 for char in letters if char >= "\u00c0")
        if accented <= 0.3 * len(letters):
            return "cp1252"
    import charset_normalizer

    best = charset_normalizer.from_bytes(sample).best()
    return best.encoding if best is not None else "cp1252"


def looks_binary(text: str) -> bool:
    """Whether decoded text is mostly not text: more than 5% control or undecodable characters."""
    bad = sum(
        1
        for char in text
        if (char < " " and char not in _TEXT_CONTROLS) or char == "\ufffd" or "\x7f" <= char < "\xa0"
    )
    return bad > 0.05 * len(text)


def parse_html(markup: str) -> BeautifulSoup:
    """The parsed document (lxml); a short page that looks like a file name is parsed without a warning."""
    from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning  # not imported for plain text

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        return BeautifulSoup(markup, "lxml")


def decode_html(data: bytes) -> str:
    """The page's text: decoded by its byte-order mark, else its declared charset, else as plain text."""
    if not data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        declared = _META_CHARSET.search(data[:8192])
        if declared:
            name = declared.group(1).decode("ascii", "replace").lower()
            # Browsers read a page declared ISO-8859-1 as windows-1252, and so do we.
            name = "cp1252" if name in ("iso-8859-1", "latin1", "latin-1", "us-ascii", "ascii") else name
            try:
                codec = codecs.lookup(name).name
            except LookupError:
                codec = None
            if codec is not None and not codec.startswith("utf-16"):
                try:
                    return data.decode(codec)
                except UnicodeDecodeError:
                    pass  # the declaration is wrong: detect as for plain text
    return decode(data)
