"""The registry of ingested documents (SQLite, one row per document): which version of each
source file an index holds, the documents unfinished by an interrupted ingest, and a generation
counter that every change increases. kb/store.py explains the order in which it is written."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from kb.types import Document


@dataclass(frozen=True)
class DocRecord:
    """A document as the registry knows it."""

    document: Document
    fingerprint: str  # hash of the file bytes and manifest entry that produced the passages
    passages: int
    ingested_at: str


def registry_path(index_dir: Path) -> Path:
    """Where an index directory keeps its registry."""
    return index_dir / "registry.sqlite"


class Registry:
    """The registry of one index directory, open."""

    def __init__(self, index_dir: Path):
        self.dir = index_dir
        self.db = self._open()
        self._records: tuple[str, dict[str, DocRecord]] | None = None
        self._documents: tuple[dict[str, DocRecord], list[Document]] | None = None

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(registry_path(self.dir), timeout=30, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS documents (id TEXT PRIMARY KEY, meta TEXT NOT NULL,"
            " fingerprint TEXT NOT NULL, passages INTEGER NOT NULL, ingested_at TEXT NOT NULL)"
        )
        db.execute("CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("CREATE TABLE IF NOT EXISTS pending (id TEXT PRIMARY KEY)")
        db.commit()
        return db

    def reopen(self) -> None:
        """Open the registry file again (`kb ingest --rebuild` swapped in a new index directory)."""
        self.db = self._open()  # the old connection closes once no thread uses it any more
        self._records = None

    def records(self) -> dict[str, DocRecord]:
        """Every document in the index, by id (read again only after an ingest changed it)."""
        generation = self.info("generation", "0")
        if self._records is None or self._records[0] != generation:
            rows = self.db.execute(
                "SELECT id, meta, fingerprint, passages, ingested_at FROM documents ORDER BY id"
            )
            records = {
                row[0]: DocRecord(_document(json.loads(row[1])), row[2], row[3], row[4])
                for row in rows.fetchall()
            }
            self._records = (generation, records)
        return self._records[1]

    def documents(self) -> list[Document]:
        """Every indexed document (the same list object until an ingest changes the registry)."""
        records = self.records()
        if self._documents is None or self._documents[0] is not records:
            self._documents = (records, [r.document for r in records.values()])
        return self._documents[1]

    def record(self, document: Document, fingerprint: str, passages: int) -> None:
        """Mark a document as fully ingested (called after its passages are stored)."""
        now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?)",
                (document.id, json.dumps(asdict(document)), fingerprint, passages, now),
            )
            self.db.execute("DELETE FROM pending WHERE id = ?", (document.id,))
            self._bump_generation()

    def remove(self, doc_id: str) -> None:
        """Remove a document's row (after its passages are gone from Chroma)."""
        with self.db:
            self.db.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
            self.db.execute("DELETE FROM pending WHERE id = ?", (doc_id,))
            self._bump_generation()

    def unfinished(self) -> list[str]:
        """Documents whose passages an interrupted ingest was changing: redo or remove them."""
        return [row[0] for row in self.db.execute("SELECT id FROM pending ORDER BY id")]

    def _mark_pending(self, doc_id: str) -> None:
        with self.db:
            self.db.execute("INSERT OR IGNORE INTO pending VALUES (?)", (doc_id,))

    @property
    def generation(self) -> int:
        """A counter that every change of the registry increases."""
        return int(self.info("generation", "0"))

    def _bump_generation(self) -> None:
        self.db.execute(
            "INSERT INTO info VALUES ('generation', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    def info(self, key: str, default: str = "") -> str:
        row = self.db.execute("SELECT value FROM info WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_info(self, key: str, value: str) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO info VALUES (?, ?)", (key, value))


def _document(data: dict) -> Document:
    return Document(**{**data, "aliases": tuple(data.get("aliases", ()))})
