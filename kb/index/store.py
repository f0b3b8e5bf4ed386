"""One generation of the index on disk (kb/index/generations.py): its SQLite database (kb/index/registry.py)
holds every passage's text and provenance and the registry of ingested documents; Chroma each
passage's vector under its id, with the filter keys that filtered search needs; the BM25 snapshot
(kb/index/lexical.py) term statistics by passage.

Within the generation an ingest writes, a document's registry row is written only after its vectors
and passages are stored, so an interrupted ingest is resumed by the next run; before its passages
change it is marked unfinished (table `pending`) until its row is written or removed. A query uses
a passage only when Chroma and SQLite both have it. An index built before passages moved to SQLite (no `passages` info mark) keeps
them in Chroma's metadata and is read from there until `kb ingest` adopts them (`adopt_passages`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from kb.compat import is_missing_id, persist_vectors
from kb.config import INT8_TAG, Settings
from kb.errors import IndexMissingError, ModelMismatchError, StoreUnavailableError
from kb.index import generations
from kb.index.cite import citation
from kb.index.registry import (  # filter_metadata: re-exported
    Registry,
    filter_metadata,
    passage_from_metadata,
    passage_row,
    registry_path,
)
from kb.types import Document, Passage


def chroma_client(settings: Settings, generation: Path | None = None):
    """A Chroma client: a server when KB_CHROMA_URL is set, else the embedded store of a generation
    of the index (default: the one in service)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        try:
            return chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        except Exception as exc:  # chromadb raises ValueError/ConnectionError variants on connect
            raise StoreUnavailableError(
                f"cannot reach the Chroma server at {settings.chroma_url}: {exc}"
            ) from None
    path = generation or generations.current(settings.index_dir)
    return chromadb.PersistentClient(path=str(path / "chroma"), settings=chroma_settings)


class Index(Registry):
    """One generation of the index, open (kb/index/generations.py): its Chroma collection plus its
    registry (whose methods it has)."""

    def __init__(
        self,
        settings: Settings,
        *,
        create: bool = False,
        collection: str | None = None,
        connect: bool = True,
        generation: Path | None = None,
    ):
        """Open the generation of the index in settings.index_dir that the pointer names (or
        `generation`, which create=True makes if missing). `collection` names a new Chroma
        collection for it (`kb ingest --rebuild` on a Chroma server); the registry remembers it.
        connect=False opens the registry alone, and Chroma on first use (a second of imports,
        which `kb ingest` spends while its worker processes start)."""
        self.settings = settings
        self.root = settings.index_dir
        self._lock = generations.ReadLock(generation or generations.current(self.root))
        self._previous: generations.ReadLock | None = None
        self._previous_client = None  # the Chroma client of the generation left, closed with its lock
        self.dir = self._lock.generation
        if not create and not registry_path(self.dir).exists():
            self._lock.release()
            raise IndexMissingError(
                f"no index in {self.root}/ yet: run `kb ingest` to build it from {settings.sources_dir}/"
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        super().__init__(self.dir)
        if create and collection:
            self.set_info("collection", collection)
        if create and not self.info("passages") and not self.records():  # a new index
            self.set_info("passages", PASSAGES_IN_SQLITE)
        if self.info("passages") != PASSAGES_IN_SQLITE and self.records():
            raise IndexMissingError(
                f"the index in {self.root}/ was built by an earlier version of this tool, which kept "
                "the passages' text in Chroma; run `kb ingest --rebuild` to build it anew"
            )
        self._create = create
        self._chroma: tuple[Any, Any] | None = None  # the client and the collection
        self._connecting = threading.Lock()
        # The registry remembers the model too, so that an ingest refuses another one before it
        # starts work; an index that an earlier version built is checked by opening Chroma.
        if not connect:
            model = self.info("embed_model")
            connect = not model and bool(self.records())
            self._check_model(model)
        if connect:
            self.connect()
        self._seen = self._state()
        self._refreshing = threading.Lock()
        self._phrased: dict[tuple, frozenset[str]] = {}  # quoted phrases → ids, per registry generation

    def connect(self) -> None:
        """Open the Chroma client and collection, if not done yet (once, whichever thread asks)."""
        with self._connecting:
            if self._chroma is None:
                client = chroma_client(self.settings, self.dir)
                self._chroma = (client, self._collection(client, self._create))
                if self._create and self.info("embed_model") != self.settings.model_id:
                    self.set_info("embed_model", self.settings.model_id)

    @property
    def client(self):
        self.connect()
        assert self._chroma is not None
        return self._chroma[0]

    @property
    def collection(self):
        self.connect()
        assert self._chroma is not None
        return self._chroma[1]

    @property
    def collection_name(self) -> str:
        """The Chroma collection holding this index's passages (a rebuild on a server makes a new one)."""
        return self.info("collection", self.settings.collection)

    def _snapshot_name(self) -> str | None:
        from kb.index import lexical

        return lexical.current_name(self.dir)

    def _state(self) -> tuple[Path, str | None]:
        """The generation in service and its BM25 snapshot (which a first build in progress adds)."""
        generation = generations.current(self.root) if not self._create else self.dir
        return generation, self._snapshot_name() if generation == self.dir else None

    def refresh(self) -> None:
        """Move to the generation in service, if an ingest in another process put a new one in
        service since this one was opened (or finished the first build of this one). The
        generation left is kept locked until the next call, for questions still being answered
        from it in other threads."""
        self._release_previous()
        if self._state() == self._seen:
            return
        with self._refreshing:  # one thread reopens; the others then see the new generation
            state = self._state()
            if state == self._seen:
                return
            generation = state[0]
            moved = generation != self.dir
            if moved:
                self._previous, self._lock = self._lock, generations.ReadLock(generation)
                self.dir = generation
                self.reopen(generation)
            if self._chroma is not None:
                client = self._chroma[0]
                if not self.settings.chroma_url:
                    # Chroma shares one open store per path in a process until its last client is
                    # closed (Client.close). The generation left is closed with its lock, at the
                    # next call, when no question still reads it; the same generation, which a
                    # first build has grown, is closed now so that the new client reads its files.
                    if moved:
                        self._previous_client = client
                    else:
                        client.close()
                    client = chroma_client(self.settings, self.dir)
                self._chroma = (client, self._collection(client, create=False))
            self._seen = self._state()
            self._phrased.clear()

    def query(self, **kwargs) -> dict:
        """`collection.query`, asked once more when an ingest in another process deleted passages
        in the middle of it (the embedded store then fails with "Error finding id")."""
        try:
            return self.collection.query(**kwargs)
        except Exception as exc:  # chromadb.errors.InternalError
            if not is_missing_id(exc):
                raise
        return self.collection.query(**kwargs)

    def _collection(self, client, create: bool):
        from chromadb.errors import NotFoundError

        try:
            col = self._open_collection(client, create)
        except NotFoundError:
            raise IndexMissingError(
                f"the index in {self.dir}/ has no passages yet: run `kb ingest`"
            ) from None
        except Exception as exc:
            raise StoreUnavailableError(f"the passage store is unavailable: {exc}") from None
        self._check_model((col.metadata or {}).get("embed_model") or "")
        return col

    def _open_collection(self, client, create: bool):
        if not create:
            return client.get_collection(self.collection_name, embedding_function=None)
        ef_search = self.settings.ranking.ef_search
        hnsw, meta = {"space": "cosine", "ef_search": ef_search}, {"embed_model": self.settings.model_id}
        col = client.get_or_create_collection(
            self.collection_name, embedding_function=None, configuration={"hnsw": hnsw}, metadata=meta
        )
        if (col.configuration or {}).get("hnsw", {}).get("ef_search", ef_search) != ef_search:
            col.modify(configuration={"hnsw": {"ef_search": ef_search}})  # an index built before
        return col

    def _check_model(self, stored: str) -> None:
        """Refuse an index built with another model than the configured one (its vectors would
        not compare with the questions')."""
        if stored and stored != self.settings.model_id:
            stored_model, plus, stored_variant = stored.partition("+")
            if stored_model != self.settings.model_id.partition("+")[0]:
                back = "set KB_EMBED_MODEL back"
            elif not plus or plus + stored_variant == INT8_TAG:
                backend = "onnx-int8" if plus else "onnx"
                back = f"set KB_EMBED_BACKEND={backend} (the int8 model gives other vectors)"
            else:  # an int8 quantization that this version no longer makes
                back = "use the version of this tool that built it"
            raise ModelMismatchError(
                f"the index in {self.dir}/ was built with the embedding model {stored!r}, but "
                f"{self.settings.model_id!r} is configured; run `kb ingest --rebuild` to re-embed with it, "
                f"or {back}"
            )

    # --- passages ---------------------------------------------------------------------------

    def forget(self, doc_id: str) -> None:
        """Remove a document's vectors, then its passages and registry row."""
        self._mark_pending(doc_id)
        self.collection.delete(where={"doc_id": doc_id})
        self.remove(doc_id)

    def write(self, documents: Sequence[tuple[Document, list[Passage], np.ndarray]]) -> None:
        """Store documents' passages: their vectors in Chroma (upserts by stable id, in batches as
        large as Chroma accepts), their text and provenance in SQLite; then drop their passages that
        no longer exist. Call `record` for each document afterwards; until then a killed run leaves
        it `unfinished`."""
        if not documents:
            return
        for document, _, _ in documents:
            self._mark_pending(document.id)
        rows = [(p, d) for d, passages, _ in documents for p in passages]
        keys = {d.id: filter_metadata(d) for d, _, _ in documents}  # once per document, not passage
        vectors = np.concatenate([v for _, _, v in documents])
        batch = self.client.get_max_batch_size()
        for i in range(0, len(rows), batch):
            chunk = rows[i : i + batch]
            self.collection.upsert(
                ids=[p.id for p, _ in chunk],
                embeddings=vectors[i : i + batch],
                metadatas=[keys[d.id] for _, d in chunk],
            )
        self.put_passages([d.id for d, _, _ in documents], [passage_row(p, d) for p, d in rows])
        keep = {p.id for p, _ in rows}
        stored = self.collection.get(where={"doc_id": {"$in": [d.id for d, _, _ in documents]}}, include=[])
        if stale := [i for i in stored["ids"] if i not in keep]:
            self.collection.delete(ids=stale)

    def persist_vectors(self) -> None:
        """Have Chroma write its graph of the vectors to disk, if this ingest opened it or no ingest
        has had it written yet (kb.compat): a new process then reads the graph instead of replaying
        the last changes."""
        if self._chroma is not None or self.info(VECTORS_PERSISTED) != "1":
            persist_vectors(self.collection)
            self.set_info(VECTORS_PERSISTED, "1")

    def get(self, ids: list[str]) -> dict[str, tuple[Passage, Document]]:
        """Passages and their documents by id; ids not in the index are left out."""
        if not ids:
            return {}
        records = self.records()
        found = {}
        for pid, (text, meta) in self.passage_rows(ids).items():
            passage = passage_from_metadata(pid, text, json.loads(meta))
            if (record := records.get(passage.doc_id)) is not None:
                found[pid] = (passage, record.document)
        return found

    def all_passages(self) -> Iterator[tuple[Passage, Document]]:
        """Every stored passage with its document (documents in id order, each in reading order)."""
        records = self.records()
        for pid, text, meta in self.passage_rows_of():
            passage = passage_from_metadata(pid, text, json.loads(meta))
            if (record := records.get(passage.doc_id)) is not None:
                yield passage, record.document

    def document_passages(self, doc_id: str) -> list[Passage]:
        """A document's passages in reading order."""
        return [
            passage_from_metadata(pid, text, json.loads(meta))
            for pid, text, meta in self.passage_rows_of(doc_id)
        ]

    def with_phrases(self, phrases: list[str], where: tuple[str, list] = ("1", [])) -> set[str]:
        """Ids of the passages containing every quoted phrase, in the documents that `where` (an
        SQL condition on `documents` and its parameters: kb.search.query.Filters.sql) admits."""
        from kb.index.lexical import phrase_regex

        key = (tuple(phrases), where[0], tuple(where[1]), self.dir, self.generation)  # one scan per question
        if key not in self._phrased:
            if len(self._phrased) > 16:
                self._phrased.clear()
            patterns = [phrase_regex(p) for p in phrases]
            self._phrased[key] = frozenset(self.passages_containing(patterns, where))
        return set(self._phrased[key])

    def count(self) -> int:
        return self.collection.count()

    def warm_vectors(self) -> None:
        """Open Chroma and have it read its graph of the vectors, which it does on the first query
        (0.25 s at 100,000 passages once ingest has had it write the graph: persist_vectors)."""
        got = self.collection.get(limit=1, include=["embeddings"])
        if len(got["ids"]):
            self.query(query_embeddings=got["embeddings"][:1], n_results=1, include=["distances"])

    def warm_keywords(self) -> None:
        """Load what a first question reads besides Chroma and the model: the keyword index
        (kb.index.lexical), the documents, the question-language detector's models."""
        from kb.index import lexical
        from kb.text import analyzer

        lexical.load(self.dir)
        self.documents()
        analyzer.question_language("Which language is this question written in?")

    def size_on_disk(self) -> int:
        """Bytes used by the index directory (the Chroma server's own storage is not counted)."""
        return sum(p.stat().st_size for p in self.dir.rglob("*") if p.is_file())

    def _release_previous(self) -> None:
        """Release the generation left at the last refresh: its lock and its Chroma client."""
        if self._previous is not None:
            self._previous.release()
            self._previous = None
        if self._previous_client is not None:
            self._previous_client.close()
            self._previous_client = None

    def close(self) -> None:
        """Close the registry and the Chroma client, and release the generations' locks."""
        self.db.close()
        if self._chroma is not None and not self.settings.chroma_url:
            self._chroma[0].close()
            self._chroma = None
        self._lock.release()
        self._release_previous()


VECTORS_PERSISTED = "vectors_persisted"  # info key: ingest has had Chroma write its graph (persist_vectors)
PASSAGES_IN_SQLITE = "sqlite"  # the registry's `passages` info once SQLite holds every passage


def cite(passage: Passage, document: Document) -> str:
    """The citation string of a stored passage."""
    return citation(
        document.cite_title, passage.paragraph, passage.page, passage.page_end, passage.table, passage.row
    )
