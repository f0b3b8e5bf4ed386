"""The one service boundary: every surface (the CLI, each tab of the app, its API endpoints) asks
`Library`, and nothing else opens the index or the commitment store.

`Library` holds the open index; its methods are what the app's named endpoints (`ask`,
`documents`, `document`, `export_briefing`) return, what its pages render and what the CLI prints.
A question arrives as an `AskRequest`, validated in one place (`AskRequest.checked`).
"""

from __future__ import annotations

import tempfile
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields, replace
from functools import cached_property
from pathlib import Path

from kb.answer.ask import Answer, ask
from kb.commitments.asked import answering
from kb.config import Settings
from kb.errors import IndexEmptyError, UsageError
from kb.index.store import Index, cite
from kb.models import embed
from kb.search.query import Filters, check_filters
from kb.search.reading import as_text
from kb.search.retrieve import MODES


@dataclass(frozen=True)
class AskRequest:
    """A question and how to answer it, as the CLI, the app and the API send it."""

    question: str
    mode: str = "hybrid"
    k: int = 5
    filters: Filters = field(default_factory=Filters)
    removed: tuple[str, ...] = ()  # keys of constraints read from the question to ignore ("country:FRA")
    answer: bool = True  # False: the passages alone (`kb search`)
    per_doc: int | None = None
    mmr: float | None = None
    scope: bool = True  # False: a document named in the question does not restrict the search (BEIR)

    def checked(self, max_chars: int) -> AskRequest:
        """The request with its question stripped, or a UsageError saying what is wrong."""
        question = as_text(self.question or "")
        if not question:
            raise UsageError("Type a question first.")
        if len(question) > max_chars:
            raise UsageError(
                f"The question is {len(question)} characters long; the limit is {max_chars}. Shorten it and ask again."
            )
        if self.mode not in MODES:
            raise UsageError(f"unknown retrieval mode {self.mode!r}; choose one of {', '.join(MODES)}")
        if not (isinstance(self.k, int | float) and self.k >= 1):
            raise UsageError(f"k (the number of passages) must be at least 1, not {self.k!r}")
        if not isinstance(self.removed, list | tuple) or not all(isinstance(x, str) for x in self.removed):
            raise UsageError("removed must be a list of constraint keys such as 'country:FRA'")
        if self.mmr is not None and not 0 <= self.mmr <= 1:
            raise UsageError(f"--mmr must be between 0 and 1, not {self.mmr}")
        return AskRequest(
            question,
            self.mode,
            int(self.k),
            self.filters,
            tuple(self.removed),
            self.answer,
            self.per_doc,
            self.mmr,
            self.scope,
        )

    def to_dict(self) -> dict:
        """The request as JSON-friendly data (what `kb ask` sends to a running app, kb/cli/served.py)."""
        return {**asdict(self), "filters": asdict(self.filters)}

    @classmethod
    def read(cls, data: object) -> AskRequest:
        """A request from `to_dict`'s form; an unknown or missing field is a UsageError."""
        if not isinstance(data, dict):
            raise UsageError("the request must be a JSON object")
        names = {f.name for f in fields(cls)}
        if unknown := sorted(set(data) - names):
            raise UsageError(f"unknown request field {', '.join(unknown)}; use {', '.join(sorted(names))}")
        if not isinstance(data.get("question"), str):
            raise UsageError("the request needs a question")
        return cls(**{**data, "filters": Filters.read(data.get("filters"))})


class Library:
    """The open index and what the app does with it; each method returns plain JSON-friendly data."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._index: Index | None = None
        self._lock = threading.Lock()

    @cached_property
    def exports(self) -> Path:
        """The folder this process writes its exports in (briefings, commitment matrices), made
        on first use."""
        return Path(tempfile.mkdtemp(prefix="kb-briefings-"))

    def index(self, connected: bool = True) -> Index:
        """The index, opened on first use (and again after a failure, e.g. once `kb ingest` has run),
        showing what another process's ingest or rebuild changed since. connected=False: its
        registry only, Chroma left to open later (see `warm`)."""
        with self._lock:
            if self._index is None:
                self._index = Index(self.settings, connect=False)
            index = self._index
        if connected:
            index.connect()
        index.refresh()  # the generation an ingest put in service since (kb/index/generations.py)
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
        answer: bool = True,
    ) -> dict:
        """The answer dict for a question (see Answer.to_dict); refuses empty or over-long questions.
        `removed`: keys of constraints read from the question to ignore (`understood.constraints[].key`).
        answer=False: the ranked passages alone, as `kb search --json` prints them."""
        if not isinstance(removed, list | tuple | type(None)):
            raise UsageError("removed must be a list of constraint keys such as 'country:FRA'")
        if not (isinstance(k, int | float) and 1 <= k <= 50):
            raise UsageError(f"k (the number of passages) must be between 1 and 50, not {k!r}")
        request = AskRequest(question, mode, k, Filters.read(filters), tuple(removed or ()), answer)
        return self.answer(request).to_dict()

    def answer(self, request: AskRequest) -> Answer:
        """The answer (or, with request.answer False, the ranked passages) for a request."""
        request, index, options = self._prepared(request)
        answer = ask(index, request.question, answer=request.answer, removed=request.removed, **options)
        if request.answer and not answer.abstained and answer.asks_commitments:
            tracker, _ = self.commitments()
            rows = answering(tracker, [p.to_dict() for p in answer.passages])
            answer = replace(answer, commitments=tuple(rows))
        return answer

    def search(self, request: AskRequest) -> list:
        """The ranked passages (kb.types.Hit) for a request, without an answer."""
        from kb.search.retrieve import search

        request, index, options = self._prepared(request)
        return search(index, request.question, scope=request.scope, **options)

    def _prepared(self, request: AskRequest) -> tuple[AskRequest, Index, dict]:
        """The checked request, the index (its filters checked against it) and the retrieval options."""
        request = request.checked(self.settings.max_question_chars)
        index = self.index()
        if not index.documents():
            raise IndexEmptyError(
                f"no documents indexed in {self.settings.index_dir}/: put reports in "
                f"{self.settings.sources_dir}/ and run `kb ingest` (files it could not read are listed "
                "by `kb sources`)"
            )
        check_filters(request.filters, index.documents())
        options = {"mode": request.mode, "k": request.k, "filters": request.filters}
        return request, index, options | {"max_per_doc": request.per_doc, "mmr": request.mmr}

    def all_passages(self):
        """Every passage with its document (documents in id order, each in reading order)."""
        return self.index().all_passages()

    def count(self) -> int:
        """The number of passages indexed."""
        return self.index().count()

    def warm(self, lasting: bool = True) -> None:
        """Load what answering loads, so that the next answer's latency is its own; a `lasting`
        process (`kb serve`, not `kb ask`) then answers one question, to load the rest too.

        Chroma loads in a thread: its import (which holds the GIL) while this thread loads the
        model's session (ONNX Runtime builds it without the GIL) and runs it once, then its graph of
        the vectors (read without the GIL on the first query) while this thread loads the keyword
        index. Done one after the other, the four take half as long again."""
        index = self.index(connected=False)
        with ThreadPoolExecutor(1, thread_name_prefix="kb-warm") as pool:
            connected = pool.submit(index.connect)
            embed.warm(self.settings, lasting)
            embed.encode(self.settings, ["warm up"], query=True)
            connected.result()
            vectors = pool.submit(index.warm_vectors)
            try:
                index.warm_keywords()
            finally:
                vectors.result()
        if lasting:
            self.answer(AskRequest("warm up"))

    def records(self) -> dict:
        """The registry's records of the indexed documents, by id."""
        return self.index().records()

    def failures(self) -> dict[str, str]:
        """Why the last ingest could not read a document's file (none of it is indexed), by id."""
        return {doc_id: reason for doc_id, (_, reason) in self.index(connected=False).failures().items()}

    def stats(self) -> dict:
        """What `kb stats` shows: documents, passages, languages, model, size on disk."""
        index = self.index()
        records = index.records()
        return {
            "index": str(self.settings.index_dir),
            "store": self.settings.chroma_url or "embedded Chroma",
            "documents": len(records),
            "passages": index.count(),
            "model": self.settings.model_id,
            "size_on_disk_bytes": index.size_on_disk(),
            "languages": dict(Counter(r.document.language or "?" for r in records.values()).most_common()),
        }

    def cited(self, passage_ids: list[str]) -> dict[str, dict]:
        """Passages by id as a briefing shows them: citation and text (ids no longer indexed are left out)."""
        return {
            pid: {"citation": cite(passage, document), "text": passage.text}
            for pid, (passage, document) in self.index().get(list(passage_ids)).items()
        }

    def commitments(self):
        """The commitment tracker (commitments, lineage, evidence) and each document's citation title.
        Read-only: ingest computes and stores the commitments (kb.commitments.store)."""
        from kb.commitments import store

        index = self.index()
        titles = {d: r.document.cite_title for d, r in index.records().items()}
        return store.tracker(index), titles

    def document_passages(self, doc_id: str) -> list:
        """A document's passages (kb.types.Passage) in reading order; none for an id not indexed."""
        return self.index().document_passages(doc_id)

    def close(self) -> None:
        with self._lock:
            if self._index is not None:
                self._index.close()
            self._index = None

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
                "table": p.table,
                "caption": p.caption,
                "row": p.row,
                "cells": [list(c) for c in p.cells],
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
        from kb.answer import (
            export,  # python-docx: imported when a briefing is exported, not by every command
        )

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
