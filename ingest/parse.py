"""Reading one file into numbered paragraphs; runs in worker processes, away from the model."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ingest.blocks import ReadError, read, reason
from ingest.paragraphs import Paragraph, number_paragraphs


@dataclass(frozen=True)
class Parsed:
    """The paragraphs of one file, or the reason it could not be read."""

    paragraphs: list[Paragraph]
    title: str | None = None
    date: str = ""
    error: str = ""


def parse(path: str) -> Parsed:
    """Read a file and number its paragraphs; a file that cannot be read gives Parsed(error=...)."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings would garble the progress bar
    try:
        extracted = read(Path(path))
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
    return Parsed(paragraphs, extracted.title, extracted.meta.get("date", ""))
