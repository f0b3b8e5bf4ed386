"""The operations the app offers, as plain JSON-friendly data: the web app's API, usable without it.

`Library` holds the open index; its methods are what the app's named endpoints (`ask`,
`documents`, `document`, `export_briefing`) return, and what its pages render.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

from kb import export
from kb.answer import ask
from kb.config import Settings
from kb.errors import UsageError
from kb.query import Filters, check_filters
from kb.retrieve import MODES
from kb.store import Index, cite


class Library:
    """The open index and what the app does with it; each method returns plain JSON-friendly data."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.exports = Path(tempfile.mkdtemp(prefix="kb-briefings-"))
        self._index: Index | None = None
        self._lock = threading.Lock()

    def index(self) -> Index:
        """The index, opened on first use (and again after a failure, e.g. once `kb ingest` has run),
        showing what another process's ingest or rebuild changed since."""
        with self._lock:
            if self._index is None:
                self._index = Index(self.settings)
            index = self._index
        index.refresh()  # after `kb ingest --rebuild` the registry is another file: reopen it
        return index

    def reset(self) -> None:
        """Forget the open index, so that the next call opens it again (after its store failed)."""
        with self._lock:
            self._index = None

    def ask(
        self,
        question: str,
        mode: str = "hybrid",
        k: int = 5,
        filters: dict | None = None,
        removed: list[str] | None = None,
    ) -> dict:
        """The answer dict for a question (see Answer.to_dict); refuses empty or over-long questions.
        `removed`: keys of constraints read from the question to ignore (`understood.constraints[].key`)."""
        question = (question or "").strip()
        if not question:
            raise UsageError("Type a question first.")
        limit = self.settings.max_question_chars
        if len(question) > limit:
            raise UsageError(
                f"The question is {len(question)} characters long; the limit is {limit}. Shorten it and ask again."
            )
        if mode not in MODES:
            raise UsageError(f"unknown retrieval mode {mode!r}; choose one of {', '.join(MODES)}")
        if not (isinstance(k, int | float) and 1 <= k <= 50):
            raise UsageError(f"k (the number of passages) must be between 1 and 50, not {k!r}")
        index = self.index()
        parsed = Filters.read(filters)
        check_filters(parsed, index.documents())
        if not isinstance(removed, list | tuple | type(None)) or not all(
            isinstance(x, str) for x in removed or ()
        ):
            raise UsageError("removed must be a list of constraint keys such as 'country:FRA'")
        return ask(
            index, question, mode=mode, k=int(k), filters=parsed, removed=tuple(removed or ())
        ).to_dict()

    def documents(self) -> list[dict]:
        """Every indexed document: its manifest fields, passage count and ingest time."""
        return [
            {
                **r.document.to_dict(),
                "aliases": list(r.document.aliases),
                "passages": r.passages,
                "ingested_at": r.ingested_at,
            }
            for r in sorted(
                self.index().records().values(),
                key=lambda r: (r.document.date, r.document.title),
                reverse=True,
            )
        ]

    def document(self, doc_id: str) -> dict:
        """A document and its passages in reading order, each with label, heading, page, text and citation."""
        index = self.index()
        record = index.records().get(doc_id or "")
        if record is None:
            shown = (doc_id or "")[:80]
            raise UsageError(
                f"No document with id {shown!r} in the index. The Documents tab (or the `documents` API) lists the ids."
            )
        d = record.document
        paragraphs = [
            {
                "id": p.id,
                "paragraph": p.paragraph,
                "part": p.part,
                "heading": p.heading,
                "page": p.page,
                "page_end": p.page_end,
                "text": p.text,
                "citation": cite(p, d),
            }
            for p in index.document_passages(doc_id)
        ]
        return {"document": {**d.to_dict(), "aliases": list(d.aliases)}, "paragraphs": paragraphs}

    def passage_document(self, passage_id: str) -> str:
        """The id of the document a passage belongs to."""
        found = self.index().get([passage_id])
        if passage_id not in found:
            raise UsageError(
                "That passage is no longer in the index (the document was re-ingested); ask again."
            )
        return found[passage_id][1].id

    def export(self, passage_ids: list[str], notes: dict | None, fmt: str, title: str = "Briefing") -> Path:
        """A briefing file (docx or md) of these passages, written into a temporary directory of this process."""
        return export.export(self.index(), list(passage_ids), fmt, self.exports, notes, title)

    def pdf(self, doc_id: str) -> Path | None:
        """The original PDF of an indexed document, found by id only (never by a path from the client)."""
        record = self.index().records().get(doc_id)
        root = self.settings.sources_dir.resolve()
        path = (root / record.document.file).resolve() if record and record.document.file else None
        if (
            path is None
            or path.suffix.lower() != ".pdf"
            or not path.is_relative_to(root)
            or not path.is_file()
        ):
            return None
        return path
