"""The index's own database (SQLite, WAL): the registry of ingested documents (which version of
each source file the index holds), every passage's text and provenance (the one copy of them: Chroma
keeps ids, vectors and filter keys, the BM25 snapshot term statistics), the documents unfinished by
an interrupted ingest, and a generation counter that every change increases. kb/index/store.py explains
the order in which it is written."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from kb.types import Document, Passage, date_to_int

_DOC_FIELDS = [f.name for f in fields(Document)]


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
        db.create_function("date_int", 1, lambda date: date_to_int(date or ""), deterministic=True)
        db.execute(
            "CREATE TABLE IF NOT EXISTS documents (id TEXT PRIMARY KEY, meta TEXT NOT NULL,"
            " fingerprint TEXT NOT NULL, passages INTEGER NOT NULL, ingested_at TEXT NOT NULL)"
        )
        db.execute("CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("CREATE TABLE IF NOT EXISTS pending (id TEXT PRIMARY KEY)")
        db.execute(
            "CREATE TABLE IF NOT EXISTS failed (id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, reason TEXT NOT NULL)"
        )
        db.execute(
            "CREATE TABLE IF NOT EXISTS passages (id TEXT PRIMARY KEY, doc_id TEXT NOT NULL,"
            " seq INTEGER NOT NULL, text TEXT NOT NULL, meta TEXT NOT NULL)"
        )
        db.execute("CREATE INDEX IF NOT EXISTS passages_by_document ON passages (doc_id, seq)")
        # Each document's context (country, year, title) as one vector of the model that wrote it,
        # with the text it was embedded from (kb.search.context)
        db.execute(
            "CREATE TABLE IF NOT EXISTS contexts (doc_id TEXT PRIMARY KEY, model TEXT NOT NULL,"
            " text TEXT NOT NULL, vector BLOB NOT NULL)"
        )
        db.commit()
        return db

    def reopen(self, index_dir: Path) -> None:
        """Open the registry of another generation of the index (kb/index/generations.py)."""
        self.dir = index_dir
        self.db = self._open()  # the old connection closes once no thread uses it any more
        self._records = None
        self._documents = None

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
            self.db.execute("DELETE FROM failed WHERE id = ?", (document.id,))
            self._bump_generation()

    def failures(self) -> dict[str, tuple[str, str]]:
        """The documents whose file, as its fingerprint says, could not be read by the last ingest
        (so none of their passages is in the index): (fingerprint, reason) by id."""
        return {
            row[0]: (row[1], row[2]) for row in self.db.execute("SELECT id, fingerprint, reason FROM failed")
        }

    def record_failure(self, doc_id: str, fingerprint: str, reason: str) -> None:
        """Note that this version of a document's file could not be read (after its passages, if it
        had any, were removed)."""
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO failed VALUES (?, ?, ?)", (doc_id, fingerprint, reason))

    def keep_failures(self, doc_ids: set[str]) -> None:
        """Forget the failures of every document but these (the others were read, or left the sources)."""
        stale = set(self.failures()) - doc_ids
        with self.db:
            self.db.executemany("DELETE FROM failed WHERE id = ?", ((doc_id,) for doc_id in stale))

    def remove(self, doc_id: str) -> None:
        """Remove a document's row and passages (after its vectors are gone from Chroma)."""
        with self.db:
            self.db.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
            self.db.execute("DELETE FROM passages WHERE doc_id = ?", (doc_id,))
            self.db.execute("DELETE FROM contexts WHERE doc_id = ?", (doc_id,))
            self.db.execute("DELETE FROM pending WHERE id = ?", (doc_id,))
            self._bump_generation()

    def contexts(self, model: str) -> dict[str, tuple[str, np.ndarray]]:
        """Each document's stored context by document id: (the text embedded, its float32 vector),
        for those embedded by `model`."""
        rows = self.db.execute("SELECT doc_id, text, vector FROM contexts WHERE model = ?", (model,))
        return {d: (t, np.frombuffer(v, dtype=np.float32)) for d, t, v in rows.fetchall()}

    def put_contexts(self, model: str, rows: list[tuple[str, str, np.ndarray]]) -> None:
        """Store documents' contexts: (document id, text, vector) each, embedded by `model`."""
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO contexts VALUES (?, ?, ?, ?)",
                ((d, model, t, np.asarray(v, dtype=np.float32).tobytes()) for d, t, v in rows),
            )

    def put_passages(self, doc_ids: list[str], rows: list[tuple[str, str, int, str, str]]) -> None:
        """Store passages (id, doc_id, seq, text, meta JSON) in one transaction, and drop the other
        passages of their documents (those a new version of the file no longer has)."""
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO passages VALUES (?, ?, ?, ?, ?)", rows)
            self.db.execute("CREATE TEMP TABLE IF NOT EXISTS kept (id TEXT PRIMARY KEY)")
            self.db.execute("DELETE FROM kept")
            self.db.executemany("INSERT OR IGNORE INTO kept VALUES (?)", ((r[0],) for r in rows))
            for doc_id in doc_ids:
                self.db.execute(
                    "DELETE FROM passages WHERE doc_id = ? AND id NOT IN (SELECT id FROM kept)", (doc_id,)
                )

    def passage_rows(self, ids: list[str]) -> dict[str, tuple[str, str]]:
        """(text, meta JSON) of the passages with these ids that are stored, by id."""
        found: dict[str, tuple[str, str]] = {}
        for i in range(0, len(ids), 900):  # SQLite's limit on parameters, with room to spare
            chunk = ids[i : i + 900]
            marks = ",".join("?" * len(chunk))
            for pid, text, meta in self.db.execute(
                f"SELECT id, text, meta FROM passages WHERE id IN ({marks})", chunk
            ):
                found[pid] = (text, meta)
        return found

    def passage_rows_of(self, doc_id: str | None = None) -> Iterator[tuple[str, str, str]]:
        """(id, text, meta JSON) of a document's passages in reading order, or of every passage
        (documents in id order)."""
        if doc_id is None:
            cursor = self.db.execute("SELECT id, text, meta FROM passages ORDER BY doc_id, seq")
        else:
            cursor = self.db.execute(
                "SELECT id, text, meta FROM passages WHERE doc_id = ? ORDER BY seq", (doc_id,)
            )
        while rows := cursor.fetchmany(2000):
            yield from rows

    def passages_containing(
        self, patterns: list[re.Pattern], where: tuple[str, list] = ("1", [])
    ) -> set[str]:
        """Ids of the passages whose text matches every pattern (quoted phrases), in the documents
        that `where` (an SQL condition on `documents` and its parameters, kb.search.query.Filters.sql)
        admits."""
        where, params = where
        cursor = self.db.execute(
            f"SELECT id, text FROM passages WHERE doc_id IN (SELECT id FROM documents WHERE {where})", params
        )
        found = set()
        while rows := cursor.fetchmany(5000):
            found.update(pid for pid, text in rows if all(p.search(text) for p in patterns))
        return found

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


def filter_metadata(d: Document) -> dict:
    """What Chroma keeps beside each passage's vector: the keys that filters restrict by
    (kb.search.query.Filters.where), the same for every passage of a document."""
    return {
        "doc_id": d.id,
        "doc_type": d.type,
        "doc_country": d.country,
        "doc_issuer": d.issuer,
        "doc_language": d.language,
        "date_int": d.date_int,
    }


def passage_row(p: Passage, d: Document) -> tuple[str, str, int, str, str]:
    """A passage as SQLite keeps it: id, document, reading order, exact text, provenance (JSON)."""
    return (p.id, p.doc_id, p.seq, p.text, passage_metadata(p, d))


def passage_metadata(p: Passage, d: Document) -> str:
    """A passage's own metadata (provenance, without its document's fields) as JSON."""
    return json.dumps(_passage_fields(p, d))


def _passage_fields(p: Passage, d: Document) -> dict:
    return {
        "doc_id": p.doc_id,
        "paragraph": p.paragraph,
        "part": p.part,
        "heading": p.heading,
        "page": p.page or 0,
        "page_end": p.page_end or 0,
        "start": p.start,
        "end": p.end,
        "seq": p.seq,
        "sentences": json.dumps(p.sentences),
        "date_int": d.date_int,
        "ocr": p.ocr,
        **({"table": p.table, "row": p.row, "cells": [list(c) for c in p.cells]} if p.table else {}),
    }


def passage_from_metadata(pid: str, text: str, meta: dict) -> Passage:
    """The passage part of to_metadata's inverse (also reads passage_metadata's JSON, parsed)."""
    return Passage(
        id=pid,
        doc_id=meta["doc_id"],
        text=text,
        paragraph=meta["paragraph"],
        part=meta["part"],
        heading=meta["heading"],
        page=meta["page"] or None,
        page_end=meta["page_end"] or None,
        start=meta["start"],
        end=meta["end"],
        seq=meta["seq"],
        sentences=tuple(tuple(s) for s in json.loads(meta["sentences"])),
        ocr=bool(meta.get("ocr", False)),  # absent in indexes built before OCR
        table=meta.get("table", ""),
        row=meta.get("row", ""),
        cells=tuple(tuple(c) for c in meta.get("cells", ())),
    )
