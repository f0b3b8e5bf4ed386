"""The BM25 side of the index: a bm25s snapshot of every stored passage, with the metadata
needed to filter it. Rebuilt from Chroma in one pass after each ingest that changed something,
written beside the old snapshot and switched to atomically."""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

STEMMER_LANGUAGE = "english"
_CURRENT = "CURRENT"


@dataclass
class Snapshot:
    """A loaded BM25 snapshot; arrays are aligned with the BM25 corpus order."""

    name: str
    generation: int
    bm25: object  # bm25s.BM25
    ids: list[str]
    doc_id: np.ndarray
    type: np.ndarray
    country: np.ndarray
    issuer: np.ndarray
    date_int: np.ndarray
    texts: list[str]

    def __len__(self) -> int:
        return len(self.ids)


@cache
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer(STEMMER_LANGUAGE)


def tokenize(texts: list[str], show_progress: bool = False):
    """bm25s tokens: lower-cased, English stopwords removed, Snowball-stemmed."""
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), show_progress=show_progress)


def lexical_text(text: str, heading: str) -> str:
    """What BM25 indexes for a passage: its text and its section heading."""
    return f"{text}\n{heading}" if heading else text


def build(index_dir: Path, rows: list[dict], generation: int, show_progress: bool = False) -> str:
    """Write a new snapshot from passage rows (id, text, heading, doc_id, type, country, issuer,
    date_int) and make it current. Returns its name."""
    import bm25s

    root = index_dir / "bm25"
    root.mkdir(parents=True, exist_ok=True)
    name = f"g{generation}-{uuid.uuid4().hex[:8]}"
    tmp = root / f".{name}.tmp"
    tmp.mkdir()
    retriever = bm25s.BM25()
    if rows:
        retriever.index(
            tokenize([lexical_text(r["text"], r["heading"]) for r in rows], show_progress),
            show_progress=show_progress,
        )
        retriever.save(str(tmp), show_progress=False)
    with open(tmp / "passages.json", "w", encoding="utf-8") as f:
        json.dump({"generation": generation, "rows": rows}, f, ensure_ascii=False)
    tmp.rename(root / name)
    _atomic_write(root / _CURRENT, name)
    for old in root.iterdir():  # older snapshots: a running app has them in memory already
        if old.is_dir() and old.name != name and not old.name.startswith("."):
            shutil.rmtree(old, ignore_errors=True)
    return name


def current_name(index_dir: Path) -> str | None:
    """The name of the current snapshot, or None before the first build."""
    try:
        return (index_dir / "bm25" / _CURRENT).read_text().strip() or None
    except FileNotFoundError:
        return None


_loaded: dict[str, Snapshot] = {}
_lock = threading.Lock()


def load(index_dir: Path) -> Snapshot | None:
    """The current snapshot, loaded once per process and reloaded when an ingest replaced it."""
    name = current_name(index_dir)
    if name is None:
        return None
    key = f"{index_dir.resolve()}::{name}"
    with _lock:
        if key not in _loaded:
            _loaded.clear()
            _loaded[key] = _read(index_dir / "bm25" / name, name)
        return _loaded[key]


def _read(path: Path, name: str) -> Snapshot:
    import bm25s

    with open(path / "passages.json", encoding="utf-8") as f:
        data = json.load(f)
    rows = data["rows"]
    bm25 = bm25s.BM25.load(str(path), show_progress=False) if rows else None

    def column(key: str, dtype=object) -> np.ndarray:
        return np.array([r[key] for r in rows], dtype=dtype)

    return Snapshot(
        name=name,
        generation=data["generation"],
        bm25=bm25,
        ids=[r["id"] for r in rows],
        doc_id=column("doc_id"),
        type=column("type"),
        country=column("country"),
        issuer=column("issuer"),
        date_int=column("date_int", np.int64),
        texts=[r["text"] for r in rows],
    )


def search(snapshot: Snapshot, query: str, k: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
    """The top-k (id, score) pairs with a positive BM25 score, among the passages where mask is True."""
    if snapshot.bm25 is None or not len(snapshot) or k <= 0:
        return []
    tokens = tokenize([query])
    if not tokens.ids or not tokens.ids[0]:
        return []
    weight = None if mask is None else mask.astype(np.float32)
    if weight is not None and not weight.any():
        return []
    k = min(k, len(snapshot))
    docs, scores = snapshot.bm25.retrieve(tokens, k=k, show_progress=False, weight_mask=weight, n_threads=1)
    return [(snapshot.ids[i], float(s)) for i, s in zip(docs[0], scores[0]) if s > 0]


def phrase_mask(snapshot: Snapshot, phrases: list[str]) -> np.ndarray:
    """True for passages containing every phrase (case-insensitive, any run of white space)."""
    patterns = [phrase_regex(p) for p in phrases]
    return np.fromiter(
        (all(p.search(t) for p in patterns) for t in snapshot.texts), dtype=bool, count=len(snapshot)
    )


def phrase_regex(phrase: str) -> re.Pattern:
    """A case-insensitive pattern for a quoted phrase, tolerant of line breaks and spacing."""
    words = [re.escape(w) for w in phrase.split()]
    return re.compile(r"\s+".join(words), re.IGNORECASE)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
