"""Reading one file into numbered paragraphs; runs in worker processes, away from the model."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ingest import ocr
from ingest.blocks import ReadError, reason
from ingest.formats import read
from ingest.paragraphs import Paragraph, number_paragraphs


@dataclass(frozen=True)
class Parsed:
    """The paragraphs of one file, or the reason it could not be read."""

    paragraphs: list[Paragraph]
    title: str | None = None
    date: str = ""
    error: str = ""
    warnings: tuple[str, ...] = ()  # parts of the file not read ("page 3: OCR read nothing ...")


def parse(path: str, language: str = "", progress: ocr.Progress | None = None) -> Parsed:
    """Read a file and number its paragraphs; a file that cannot be read gives Parsed(error=...).

    Scanned pages are read by OCR in the document's `language` (ISO 639-1, "" when not known),
    calling `progress(pages read, pages to read)` as it goes.
    """
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings would garble the progress bar
    try:
        extracted = read(Path(path), ocr.Options(language, progress))
    except ReadError as exc:
        return Parsed([], error=reason(exc, limit=300))
    except RecursionError:
        return Parsed(
            [], error="nested too deeply to read (about a thousand levels of tags, lists or quotes)"
        )
    except (OSError, UnicodeError, ValueError, MemoryError) as exc:
        return Parsed([], error=f"could not be read ({exc.__class__.__name__}: {reason(exc, limit=200)})")
    paragraphs = number_paragraphs(extracted.blocks)
    if not paragraphs:
        return Parsed([], error="no body text found (only headings or empty paragraphs)")
    return Parsed(paragraphs, extracted.title, extracted.meta.get("date", ""), warnings=extracted.warnings)
