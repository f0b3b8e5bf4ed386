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
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

STEMMER_LANGUAGE = "english"
# NLTK's 179 English stopwords: questions are full of "what", "does", "how", which a rare
# occurrence in the documents would otherwise reward. Bump ANALYZER when tokenizing changes:
# every index then rebuilds its BM25 snapshot on the next ingest.
STOPWORDS = "en_plus"
ANALYZER = "4"
BM25_K1 = (
    1.2  # lower b than Lucene's 0.75: short salutation-like paragraphs were over-rewarded (evals/README.md)
)
BM25_B = 0.5
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
    position: dict[str, int] = field(default_factory=dict)  # passage id → row
    acronyms: dict[str, str] = field(default_factory=dict)  # acronyms the documents define → expansion
    doc_freq: dict[str, int] = field(default_factory=dict)  # stemmed term → passages containing it

    def __len__(self) -> int:
        return len(self.ids)

    def idf(self, term: str) -> float:
        """Inverse document frequency of a stemmed term (high for rare terms, also for unseen ones)."""
        n = len(self)
        return float(np.log(1 + (n - self.doc_freq.get(term, 0) + 0.5) / (self.doc_freq.get(term, 0) + 0.5)))


@cache
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer(STEMMER_LANGUAGE)


def tokenize(texts: list[str], show_progress: bool = False):
    """bm25s tokens: lower-cased, English stopwords removed, Snowball-stemmed."""
    import bm25s

    return bm25s.tokenize(texts, stopwords=STOPWORDS, stemmer=_stemmer(), show_progress=show_progress)


def terms(text: str) -> list[str]:
    """The stemmed, stopword-free terms of a text, as BM25 sees them."""
    import bm25s

    return bm25s.tokenize(
        [text], stopwords=STOPWORDS, stemmer=_stemmer(), return_ids=False, show_progress=False
    )[0]


# Words of asking, not of content: a passage need not contain "say" to answer "what does it
# say", and a passage that happens to contain "agreed" is not thereby about what was agreed.
_ASKING = (
    "say says said tell tells told mention mentions mentioned describe describes described "
    "agree agrees agreed commit commits committed commitment commitments pledge pledged "
    "document documents text texts happen happened doing done according regarding please "
    "list show find give explain anything something cover covers covered address addresses "
    "concern concerns relate relates related regard refer refers deal deals"
)


@cache
def _asking() -> frozenset[str]:
    return frozenset(terms(_ASKING))


def content_terms(question: str) -> list[str]:
    """A question's terms without the words of asking; all its terms if nothing else is left."""
    all_terms = terms(question)
    return [t for t in all_terms if t not in _asking()] or all_terms


def lexical_text(text: str, heading: str) -> str:
    """What BM25 indexes for a passage: its text and its section heading."""
    return f"{text}\n{heading}" if heading else text


def build(index_dir: Path, rows: list[dict], generation: int, show_progress: bool = False) -> str:
    """Write a new snapshot from passage rows (id, text, heading, doc_id, type, country, issuer,
    date_int) and make it current. Returns its name."""
    import bm25s

    root = index_dir / "bm25"
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(".*.tmp"):  # a build killed before its rename (builds run under the ingest lock)
        shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
    name = f"{snapshot_prefix(generation)}{uuid.uuid4().hex[:8]}"
    tmp = root / f".{name}.tmp"
    tmp.mkdir()
    retriever = bm25s.BM25(k1=BM25_K1, b=BM25_B)
    if rows:
        retriever.index(
            tokenize([lexical_text(r["text"], r["heading"]) for r in rows], show_progress),
            show_progress=show_progress,
        )
        retriever.save(str(tmp), show_progress=False)
    from kb.acronyms import definitions

    acronyms = definitions([r["text"] for r in rows])
    with open(tmp / "passages.json", "w", encoding="utf-8") as f:
        json.dump({"generation": generation, "acronyms": acronyms, "rows": rows}, f, ensure_ascii=False)
    tmp.rename(root / name)
    _atomic_write(root / _CURRENT, name)
    for old in root.iterdir():  # older snapshots: a running app has them in memory already
        if old.is_dir() and old.name != name and not old.name.startswith("."):
            shutil.rmtree(old, ignore_errors=True)
    return name


def snapshot_prefix(generation: int) -> str:
    """Snapshot names start with the registry generation and analyzer version they were built from."""
    return f"g{generation}-a{ANALYZER}-"


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

    ids = [r["id"] for r in rows]
    doc_freq: dict[str, int] = {}
    if bm25 is not None:
        indptr = np.asarray(bm25.scores["indptr"])
        counts = np.diff(indptr)
        doc_freq = {term: int(counts[i]) for term, i in bm25.vocab_dict.items() if i < len(counts)}
    return Snapshot(
        name=name,
        generation=data["generation"],
        bm25=bm25,
        ids=ids,
        doc_id=column("doc_id"),
        type=column("type"),
        country=column("country"),
        issuer=column("issuer"),
        date_int=column("date_int", np.int64),
        texts=[r["text"] for r in rows],
        position={pid: i for i, pid in enumerate(ids)},
        acronyms=data.get("acronyms", {}),
        doc_freq=doc_freq,
    )


def scores(snapshot: Snapshot, query: str, mask: np.ndarray | None = None) -> np.ndarray:
    """The BM25 score of every passage for the query (0 where mask is False or nothing matches)."""
    known = (
        [t for t in content_terms(query) if t in snapshot.bm25.vocab_dict]
        if snapshot.bm25 is not None
        else []
    )
    if not known:
        return np.zeros(len(snapshot), dtype=np.float32)
    weight = None if mask is None else mask.astype(np.float32)
    return np.asarray(snapshot.bm25.get_scores(known, weight_mask=weight), dtype=np.float32)


def top(snapshot: Snapshot, all_scores: np.ndarray, k: int) -> list[tuple[str, float]]:
    """The k best (id, score) pairs with a positive score, best first."""
    if k <= 0 or not len(all_scores):
        return []
    k = min(k, len(all_scores))
    best = np.argpartition(-all_scores, k - 1)[:k]
    best = best[np.argsort(-all_scores[best], kind="stable")]
    return [(snapshot.ids[i], float(all_scores[i])) for i in best if all_scores[i] > 0]


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
