"""The BM25 side of the index: a bm25s snapshot of every stored passage's term statistics, with
the ids and document keys needed to filter it (the passages' text is in the index's SQLite database,
kb/index/registry.py). Rebuilt from SQLite in one pass after each ingest that changed something (a first
ingest gives it the rows it wrote instead) into the generation being written (kb/index/generations.py)."""

from __future__ import annotations

import json
import re
import shutil
import sys
import threading
import uuid
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kb.compat import bm25_postings
from kb.text import analyzer
from kb.text.analyzer import analyze, analyzer_language, written_words

ANALYZER = "7"  # 7: no passage text (SQLite holds it); 6: per-language analysis
BM25_K1 = (
    1.2  # lower b than Lucene's 0.75: short salutation-like paragraphs were over-rewarded (evals/README.md)
)
BM25_B = 0.5
_STAMP = "name"  # in the snapshot directory: its name


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
    language: np.ndarray  # each passage's document language (ISO 639-1; "" in snapshots made before it)
    date_int: np.ndarray
    position: dict[str, int] = field(default_factory=dict)  # passage id → row
    acronyms: dict[str, str] = field(default_factory=dict)  # acronyms the documents define → expansion
    doc_freq: dict[str, int] = field(default_factory=dict)  # stemmed term → passages containing it
    languages: tuple[str, ...] = ("en",)  # the analyses its passages were indexed with
    # analysis language → lower-cased word → passages containing it, as written (for spelling)
    words: dict[str, dict[str, int]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    def form(self, term: str) -> str:
        """The form of a question's term that the index holds: the term itself, or, for a term
        that no passage contains, the same word as verb or agent noun when passages contain that
        ("smugglers" ↔ "smuggling", "traffickers" ↔ "trafficking", "organisers" ↔ "organising"):
        Snowball stems these apart, so "sanctions against smugglers" matched nothing in a
        declaration that only says "smuggling"."""
        if term in self.doc_freq or len(term) < 5:
            return term
        stem = analyzer.stemmer("en").stemWord
        other = stem(term[:-2] + "ing") if term.endswith("er") else stem(term + "er")
        return other if other != term and self.doc_freq.get(other, 0) > 0 else term

    def idf(self, term: str) -> float:
        """Inverse document frequency of a stemmed term (high for rare terms, also for unseen ones)."""
        n = len(self)
        return float(np.log(1 + (n - self.doc_freq.get(term, 0) + 0.5) / (self.doc_freq.get(term, 0) + 0.5)))


def lexical_text(text: str, heading: str) -> str:
    """What BM25 indexes for a passage: its text and its section heading."""
    return f"{text}\n{heading}" if heading else text


# What a snapshot stores per passage (rows given to `build` also have "text" and "heading", which
# are analysed, not stored).
COLUMNS = ("id", "doc_id", "type", "country", "issuer", "language", "date_int", "seq")
# Few distinct values: stored once each.
_SHARED = ("doc_id", "type", "country", "issuer", "language")


def build(
    index_dir: Path, rows: Iterable[dict], generation: int, total: int = 0, show_progress: bool = False
) -> str:
    """Write a new snapshot from passage rows (the keys of COLUMNS) and make it current. Returns
    its name.

    Rows are read as a stream and tokenized in chunks into one growing vocabulary, each passage's
    tokens kept as a compact int array: a whole-corpus list of Python token lists took several
    hundred MB at 100k passages. `total` (the number of rows, if known) sizes the progress bar.
    """
    bm25s = analyzer.import_bm25s()
    from tqdm import tqdm

    from kb.text.acronyms import definitions

    for stale in index_dir.glob(".bm25-*.tmp"):  # a build killed before its rename (under the ingest lock)
        shutil.rmtree(stale)
    name = f"{snapshot_prefix(generation)}{uuid.uuid4().hex[:8]}"
    tmp = index_dir / f".bm25-{name}.tmp"
    tmp.mkdir()
    vocab: dict[str, int] = {}
    languages: dict[str, None] = {}
    words: dict[str, Counter] = {}
    columns: dict[str, list] = {c: [] for c in COLUMNS}
    tokens: list[array] = []
    texts: list[str] = []  # for the acronyms the documents define
    bar = tqdm(total=total or None, unit="passage", desc="BM25 index", disable=not show_progress)
    for chunk in _chunks(rows, 5000):
        for r in chunk:
            language = analyzer_language(r.get("language", ""))
            languages[language] = None
            text = lexical_text(r["text"], r["heading"])
            terms_ = analyze(text, language) or [""]  # as bm25s: never empty
            tokens.append(array("i", (vocab.setdefault(t, len(vocab)) for t in terms_)))
            words.setdefault(language, Counter()).update(written_words(text))
            texts.append(r["text"])
        for r in chunk:
            for c in COLUMNS:
                columns[c].append(sys.intern(r[c]) if c in _SHARED else r[c])
        bar.update(len(chunk))
    bar.close()
    order = sorted(range(len(tokens)), key=lambda i: (columns["doc_id"][i], columns["seq"][i]))
    tokens = [tokens[i] for i in order]
    columns = {c: [values[i] for i in order] for c, values in columns.items()}
    texts = [texts[i] for i in order]
    retriever = bm25s.BM25(k1=BM25_K1, b=BM25_B)
    if tokens:
        retriever.index((tokens, vocab), show_progress=False)
        retriever.save(str(tmp), show_progress=False)
    del tokens
    acronyms = definitions(texts)
    del texts
    with open(tmp / "passages.json", "w", encoding="utf-8") as f:
        json.dump(
            {
                "generation": generation,
                "acronyms": acronyms,
                "languages": list(languages),
                "words": words,
                "columns": columns,
            },
            f,
            ensure_ascii=False,
        )
    (tmp / _STAMP).write_text(name, encoding="utf-8")
    # A generation is written before it is in service (kb/index/generations.py), but for the first build
    # of an index, which is in service from its start: it has no snapshot yet.
    shutil.rmtree(index_dir / "bm25", ignore_errors=True)
    tmp.rename(index_dir / "bm25")
    return name


def _chunks(rows: Iterable[dict], size: int) -> Iterator[list[dict]]:
    chunk: list[dict] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def snapshot_prefix(generation: int) -> str:
    """Snapshot names start with the registry generation and analyzer version they were built from."""
    return f"g{generation}-a{ANALYZER}-"


def current_name(index_dir: Path) -> str | None:
    """The name of the generation's snapshot, or None before it is built."""
    return _located(index_dir)[1]


def _located(index_dir: Path) -> tuple[Path, str | None]:
    """Where the snapshot is, and its name."""
    root = index_dir / "bm25"
    try:
        name = (root / _STAMP).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return root, None
    return root, name or None


_loaded: dict[str, Snapshot] = {}
_lock = threading.Lock()


def load(index_dir: Path) -> Snapshot | None:
    """The current snapshot, loaded once per process and reloaded when an ingest replaced it."""
    path, name = _located(index_dir)
    if name is None:
        return None
    key = f"{index_dir.resolve()}::{name}"
    with _lock:
        if key not in _loaded:
            _loaded.clear()
            _loaded[key] = _read(path, name)
        return _loaded[key]


def _read(path: Path, name: str) -> Snapshot:
    bm25s = analyzer.import_bm25s()

    with open(path / "passages.json", encoding="utf-8") as f:
        data = json.load(f)
    columns = data["columns"]
    ids = columns["id"]
    # Memory-mapped: a query reads the postings of its terms only, and processes share the pages.
    bm25 = bm25s.BM25.load(str(path), mmap=True, show_progress=False) if ids else None
    doc_freq: dict[str, int] = {}
    if bm25 is not None:
        indptr, _, vocabulary = bm25_postings(bm25)
        counts = np.diff(indptr)
        doc_freq = {term: int(counts[i]) for term, i in vocabulary.items() if i < len(counts)}
    return Snapshot(
        name=name,
        generation=data["generation"],
        bm25=bm25,
        ids=ids,
        doc_id=np.array(columns["doc_id"], dtype=object),
        type=np.array(columns["type"], dtype=object),
        country=np.array(columns["country"], dtype=object),
        issuer=np.array(columns["issuer"], dtype=object),
        language=np.array(columns.get("language") or [""] * len(ids), dtype=object),
        date_int=np.array(columns["date_int"], dtype=np.int64),
        position={pid: i for i, pid in enumerate(ids)},
        acronyms=data.get("acronyms", {}),
        doc_freq=doc_freq,
        languages=tuple(data.get("languages") or ("en",)),
        words=data["words"],  # {} for an empty index
    )


def scores(snapshot: Snapshot, terms: list[str], mask: np.ndarray | None = None) -> np.ndarray:
    """The BM25 score of every passage for a question's terms (kb.search.terms.content_terms; 0
    where mask is False or nothing matches)."""
    known = (
        [f for t in terms if (f := snapshot.form(t)) in snapshot.bm25.vocab_dict]
        if snapshot.bm25 is not None
        else []
    )
    if not known:
        return np.zeros(len(snapshot), dtype=np.float32)
    weight = None if mask is None else mask.astype(np.float32)
    return np.asarray(snapshot.bm25.get_scores(known, weight_mask=weight), dtype=np.float32)


def top(snapshot: Snapshot, all_scores: np.ndarray, k: int) -> list[tuple[str, float]]:
    """The k best (id, score) pairs with a positive score, best first; equal scores in passage id
    order, so that the ranking and the cut do not depend on the order of the snapshot's rows."""
    if k <= 0 or not len(all_scores):
        return []
    best = np.flatnonzero(all_scores > 0)
    if len(best) > k:  # every passage scoring at least the k-th score, ties at the cut included
        threshold = np.partition(all_scores[best], len(best) - k)[len(best) - k]
        best = best[all_scores[best] >= threshold]
    ids = [snapshot.ids[i] for i in best]
    order = sorted(range(len(best)), key=lambda j: (-all_scores[best[j]], ids[j]))[:k]
    return [(ids[j], float(all_scores[best[j]])) for j in order]


def rows_of(snapshot: Snapshot, ids: set[str]) -> np.ndarray:
    """True for the snapshot's rows whose passage id is in `ids`."""
    mask = np.zeros(len(snapshot), dtype=bool)
    mask[[row for pid in ids if (row := snapshot.position.get(pid)) is not None]] = True
    return mask


def phrase_regex(phrase: str) -> re.Pattern:
    """A case-insensitive pattern for a quoted phrase, tolerant of line breaks and spacing."""
    return re.compile(phrase_pattern(phrase), re.IGNORECASE)


def phrase_pattern(phrase: str) -> str:
    """The regular expression of a quoted phrase, its words separated by any run of white space
    (one definition for BM25's mask and Chroma's `$regex`)."""
    return r"\s+".join(re.escape(w) for w in phrase.split())
