"""Retrieval in three named stages: `gather` (candidates from dense search in Chroma and from
BM25 in bm25s), `fuse` (one ranking of their union: a convex combination of both scores, or
reciprocal rank fusion) and `rerank` (optional maximal marginal relevance).

Filters and quoted phrases are applied inside each retriever before its top-k is taken, so
a filtered query still returns k passages when k exist. Every hit carries its cosine
similarity to the question (the evidence strength the answer layer calibrates on). Each
constant below has its ablation in evals/README.md ("Every ranking constant, ablated").
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from kb.config import RankingSettings
from kb.errors import UsageError
from kb.index import lexical
from kb.index.store import Index, cite
from kb.models import embed
from kb.search import context
from kb.search.query import Filters, Mentions, Query, mentions, without_g7
from kb.search.reading import Question, read
from kb.search.terms import QuestionTerms, content_terms
from kb.text import analyzer
from kb.text.acronyms import expand as expand_acronyms
from kb.types import Document, Hit, Passage

MODES = ("dense", "bm25", "hybrid")
# A candidate as the stages pass it on: passage, document, its scores so far, its vector.
_Entry = tuple[Passage, Document, dict[str, float], np.ndarray]


@dataclass(frozen=True)
class Retrieval:
    """The ranked hits for a question, and the question as retrieval read it."""

    query: Query
    hits: list[Hit]
    terms: QuestionTerms  # the question's terms, weighted (what coverage is measured by)
    focus: str  # the question's own words as the ranking embedded them (see kb.search.query.without_g7)


def search(index: Index, question: str | Question, **options) -> list[Hit]:
    """The top-k passages for a question, best first (see `retrieve` for the options)."""
    return retrieve(index, question, **options).hits


def retrieve(
    index: Index,
    question: str | Question,
    mode: str = "hybrid",
    k: int = 5,
    filters: Filters | None = None,
    max_per_doc: int | None = None,
    mmr: float | None = None,
    candidates: int | None = None,
    scope: bool = True,
    fusion: str | None = None,
) -> Retrieval:
    """The top-k passages for a question, best first, with the parsed question.

    Three stages, each a function below: `gather` (the dense and BM25 candidates, filters and
    quoted phrases applied inside both), `fuse` (one ranking of their union: "cc", a convex
    combination of the min-max-normalised cosine and the max-normalised BM25 score, the default,
    which keeps a strong match of one retriever that the other ranks low; or "rrf", reciprocal
    rank fusion) and `rerank` (optional: maximal marginal relevance, `mmr` 0–1, higher = more
    relevance). `max_per_doc` caps passages per document; `scope=False` turns off scoping to the
    documents a question names; `candidates` is how many each retriever gives (RankingSettings.candidates).
    """
    if mode not in MODES:
        raise UsageError(f"unknown retrieval mode {mode!r}; choose one of {', '.join(MODES)}")
    fusion = fusion or index.settings.fusion
    if fusion not in FUSIONS:
        raise UsageError(f"unknown fusion {fusion!r}; choose one of {', '.join(FUSIONS)}")
    index.refresh()
    found = gather(
        index,
        question,
        mode,
        filters or Filters(),
        candidates or max(index.settings.ranking.candidates, k),
        scope,
        fusion,
    )
    entries = fuse(index, found, mode, fusion)
    if mmr is not None:
        entries = rerank(entries, found.qvec, mmr)
    asked = without_g7(found.query.asked) if found.focus != found.query.text else found.query.asked
    return Retrieval(found.query, _cut(entries, k, max_per_doc), found.terms, asked)


@dataclass(frozen=True)
class Candidates:
    """What the first stage found: each retriever's top passages for the question, and what the
    later stages rank them by."""

    query: Query
    terms: QuestionTerms
    snap: lexical.Snapshot | None
    qvec: np.ndarray  # the question's embedding: the evidence every hit's cosine is taken with
    focus: str  # the question as the ranking embeds it (without "G7" when its texts get a bonus)
    fvec: np.ndarray  # its embedding (qvec itself when focus is the question)
    dense: list[tuple[str, float]]  # (passage id, cosine), best first
    sparse: list[tuple[str, float]]  # (passage id, BM25 score), best first
    bm25: np.ndarray | None  # every passage's BM25 score, by snapshot row (None: dense only)
    said: Mentions  # the countries and years the question names (for the fusion's bonuses)
    context: dict[str, float] = field(default_factory=dict)  # document id → fvec's cosine to its context


def gather(
    index: Index, question: str | Question, mode: str, filters: Filters, n: int, scope: bool, fusion: str
) -> Candidates:
    """Stage 1: up to n candidates from each retriever the mode uses, filters and quoted phrases
    applied inside both, so a filtered question still gets n when n exist. A question given as
    text is read here (kb.search.reading); kb.answer reads it once and passes the reading."""
    documents = index.documents()
    if not isinstance(question, Question):
        question = read(question, documents)
    query = Query.of(question, filters, documents, scope)
    snap = lexical.load(index.dir)
    terms = QuestionTerms.of(question, query.asked, snap)
    if snap is not None and snap.acronyms:
        query = replace(query, text=expand_acronyms(query.text, snap.acronyms))
    qvec = embed.encode(index.settings, [query.text], query=True)[0]
    bm25_all = _bm25_scores(index, snap, query) if snap is not None and mode != "dense" else None
    said = Mentions()
    if mode == "hybrid" and fusion == "cc" and scope and not query.scoped_to:
        said = mentions(question, documents)
    # When the G7 is among the places named, its documents get their bonus from metadata and
    # the ranking embeds the rest of the question; qvec stays the evidence the answer rates.
    focus = (
        without_g7(query.text) if index.settings.ranking.g7_focus and "G7" in said.countries else query.text
    )
    fvec = qvec if focus == query.text else embed.encode(index.settings, [focus], query=True)[0]
    near: dict[str, float] = {}
    if mode in ("dense", "hybrid") and fusion == "cc" and index.settings.ranking.context_weight:
        near = context.cosines(index, documents, fvec)
    dense = _dense(index, fvec, query, query.filters, n) if mode in ("dense", "hybrid") else []
    sparse = lexical.top(snap, bm25_all, n) if bm25_all is not None else []
    return Candidates(query, terms, snap, qvec, focus, fvec, dense, sparse, bm25_all, said, near)


def fuse(index: Index, found: Candidates, mode: str, fusion: str) -> list[_Entry]:
    """Stage 2: the candidates with their text and provenance, in one ranking (a single retriever's
    own order in the dense and BM25 modes)."""
    q, snap = found.query, found.snap
    if mode == "dense":
        entries = _hydrate(index, [(pid, {}) for pid, _ in found.dense], found.qvec, q)
        if not found.context:
            return entries
        ranked = context.added(
            _cosines(entries, None), [e[1].id for e in entries], found.context, index.settings
        )
        return [entries[i] for i in sorted(range(len(entries)), key=lambda j: (-ranked[j], entries[j][0].id))]
    if mode == "bm25":
        return _hydrate(index, [(pid, {"bm25": s}) for pid, s in found.sparse], found.qvec, q)
    if fusion == "rrf":
        return _hydrate(index, rrf(found.dense, found.sparse, index.settings.ranking.rrf_k), found.qvec, q)
    pool = dict.fromkeys([p for p, _ in found.dense] + [p for p, _ in found.sparse])
    entries = _hydrate(index, [(pid, {}) for pid in pool], found.qvec, q)
    ranking = index.settings.ranking
    if _words_do_not_match(entries, found, ranking):
        ranking = replace(ranking, cc_dense_weight=1.0)
    own = found.fvec is found.qvec  # then hydrate's cosines (on the comparable scale) are the ranking's
    cos = _cosines(entries, None if own else found.fvec)
    if found.context:
        cos = context.added(cos, [e[1].id for e in entries], found.context, index.settings, scaled=own)
    return _convex(entries, cos, snap, found.bm25, found.said, found.terms.language, ranking=ranking)


def _cosines(entries: list[_Entry], fvec: np.ndarray | None) -> np.ndarray:
    """Each candidate's cosine to the question as the ranking embeds it (`fvec`), or its evidence
    cosine (hydrate's) when that is the same question."""
    if fvec is None:
        return np.array([e[2]["dense"] for e in entries], dtype=np.float64)
    return np.stack([e[3] for e in entries]) @ fvec if entries else np.zeros(0)


def _words_do_not_match(entries: list[_Entry], found: Candidates, ranking: RankingSettings) -> bool:
    """Whether the question is asked in other words than the passages use: BM25's best passage
    covers less than `dense_only_below` of the question's rarity-weighted terms, every candidate
    being in the question's language (across languages the dense part stands in for BM25 anyway).
    The ranking then follows meaning alone (RankingSettings.dense_only_below)."""
    if not ranking.dense_only_below or not found.sparse or not found.terms.total:
        return False
    if any(analyzer.other_language(e[1].language, found.terms.language) for e in entries):
        return False
    best = next((e for e in entries if e[0].id == found.sparse[0][0]), None)
    if best is None:
        return False
    passage, document = best[0], best[1]
    have = set(
        analyzer.analyze(lexical.lexical_text(passage.text, passage.heading), document.language or "en")
    )
    return found.terms.coverage(have, document.country, document.date) < ranking.dense_only_below


def rerank(entries: list[_Entry], qvec: np.ndarray, lambda_: float) -> list[_Entry]:
    """Stage 3 (optional): maximal marginal relevance over the fused candidates (Carbonell and
    Goldstein 1998): each next passage maximises `lambda_` × its cosine to the question minus
    (1 − `lambda_`) × its highest cosine to a passage already chosen; `lambda_` 0–1, higher = more
    relevance, lower = more diversity."""
    if not entries:
        return entries
    vectors = np.array([e[3] for e in entries], dtype=np.float64)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    query = np.asarray(qvec, dtype=np.float64)
    relevance = vectors @ (query / max(float(np.linalg.norm(query)), 1e-12))
    overlap = np.full(len(entries), -np.inf)  # each candidate's highest cosine to a chosen one
    left = list(range(len(entries)))
    order: list[int] = []
    while left:
        redundancy = np.where(np.isfinite(overlap[left]), overlap[left], 0.0)
        scores = lambda_ * relevance[left] - (1 - lambda_) * redundancy
        chosen = left.pop(int(np.argmax(scores)))  # the first of equal scores: the fused order
        order.append(chosen)
        overlap = np.maximum(overlap, vectors @ vectors[chosen])
    return [entries[i] for i in order]


FUSIONS = ("cc", "rrf")


def rrf(
    dense: list[tuple[str, float]], sparse: list[tuple[str, float]], k: int = RankingSettings.rrf_k
) -> list[tuple[str, dict[str, float]]]:
    """Reciprocal rank fusion: score = Σ 1 / (k + rank) over the rankings a passage appears in."""
    scores: dict[str, dict[str, float]] = {}
    for name, ranking in (("dense", dense), ("bm25", sparse)):
        for rank, (pid, s) in enumerate(ranking, start=1):
            entry = scores.setdefault(pid, {"rrf": 0.0})
            entry[name] = s
            entry["rrf"] += 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1]["rrf"], item[0]))  # ties: by passage id


def _dense(index: Index, qvec: np.ndarray, query: Query, filters: Filters, n: int) -> list[tuple[str, float]]:
    exact = _exact_dense(index, qvec, query, filters, n)
    if exact is not None:
        return exact
    options: dict = {}
    if query.phrases:
        matching = index.with_phrases(list(query.phrases), filters.sql())
        if not matching:
            return []
        else:
            options["ids"] = sorted(matching)
    got = index.query(  # Chroma returns fewer than n_results when fewer passages match
        query_embeddings=[qvec],
        n_results=index.settings.ranking.dense_overfetch * n,
        where=filters.where(),
        include=["distances"],
        **options,
    )
    found = [(pid, 1.0 - float(dist)) for pid, dist in zip(got["ids"][0], got["distances"][0])]
    # Equal scores in passage id order, not in the order Chroma stored them: an index updated
    # file by file then ranks exactly as a rebuild of the same sources.
    return sorted(found, key=lambda hit: (-hit[1], hit[0]))[:n]


def _exact_dense(
    index: Index, qvec: np.ndarray, query: Query, filters: Filters, n: int
) -> list[tuple[str, float]] | None:
    """The n passages closest to the question by exact cosine, ties by passage id, in an index of
    at most `exact_dense_max` passages (RankingSettings) (None above that, or when its vectors cannot be read whole).

    Chroma's graph search can miss a passage for good: a report filed twice under two names puts the
    same vectors in the graph twice, and the graph's pruning can leave one of the twins reachable
    from nowhere (found by evals/reliability/incremental.py: a 62-passage index whose passage was
    not returned even for its own vector). Below that every passage is compared instead."""
    snap = lexical.load(index.dir)
    if snap is None or len(snap) > index.settings.ranking.exact_dense_max:
        return None
    matrix = _vectors_of(index, snap)
    if matrix is None:
        return None
    mask = filters.mask(snap)
    if query.phrases:
        phrase = lexical.rows_of(snap, index.with_phrases(list(query.phrases), filters.sql()) or set())
        mask = phrase if mask is None else mask & phrase
    cos = matrix @ qvec if len(snap) else np.zeros(0, dtype=np.float32)
    rows = np.flatnonzero(mask) if mask is not None else np.arange(len(snap))
    best = sorted(rows, key=lambda i: (-cos[i], snap.ids[i]))[:n]
    return [(snap.ids[i], float(cos[i])) for i in best]


_vectors: dict[str, np.ndarray] = {}  # "<generation>::<BM25 snapshot>" → vectors in the snapshot's row order


def _vectors_of(index: Index, snap: lexical.Snapshot) -> np.ndarray | None:
    key = f"{index.dir}::{snap.name}"
    if key not in _vectors:
        got = index.collection.get(ids=list(snap.ids), include=["embeddings"]) if len(snap) else None
        by_id = dict(zip(got["ids"], got["embeddings"])) if got else {}
        if len(by_id) != len(snap):  # Chroma and the snapshot disagree: leave it to Chroma's search
            return None
        _vectors.clear()
        _vectors[key] = np.asarray([by_id[i] for i in snap.ids], dtype=np.float32).reshape(len(snap), -1)
    return _vectors[key]


def _bm25_scores(index: Index, snap: lexical.Snapshot, query: Query) -> np.ndarray:
    mask = query.filters.mask(snap)
    if query.phrases:
        matching = index.with_phrases(list(query.phrases), query.filters.sql())
        phrase = lexical.rows_of(snap, matching)
        mask = phrase if mask is None else mask & phrase
    return lexical.scores(snap, content_terms(query.text, snapshot=snap), mask)


def _hydrate(
    index: Index,
    ranked: list[tuple[str, dict[str, float]]],
    qvec: np.ndarray,
    query: Query,
) -> list[_Entry]:
    """Text, provenance and vectors for the candidates, in order; every entry gets its exact
    cosine similarity to the question. Vectors come from Chroma, text and provenance from SQLite
    (one indexed SELECT); a passage missing from either (an ingest in another process is changing
    its document) is left out."""
    if not ranked:
        return []
    ids = [pid for pid, _ in ranked]
    got = index.collection.get(ids=ids, include=["embeddings"])
    vectors = {pid: np.asarray(vec, dtype=np.float32) for pid, vec in zip(got["ids"], got["embeddings"])}
    found = index.get([pid for pid in ids if pid in vectors])
    entries = []
    for pid, scores in ranked:
        if pid not in found:
            continue
        passage, document = found[pid]
        if query.filters.admits(document):
            vec = vectors[pid]
            dense = float(embed.comparable(index.settings, float(vec @ qvec)))
            entries.append((passage, document, {**scores, "dense": dense}, vec))
    return entries


def _convex(
    entries: list[_Entry],
    cos: np.ndarray,
    snap: lexical.Snapshot | None,
    bm25_all: np.ndarray | None,
    said: Mentions,
    language: str | None = None,
    *,
    ranking: RankingSettings,
) -> list[_Entry]:
    """Rank candidates by w · minmax(cos) + (1 − w) · bm25 / max bm25 (w: cc_dense_weight), plus a
    bonus for documents of the country and year the question names. `cos` is each candidate's
    dense score (its cosine to the question as the ranking embeds it, and its document's context);
    `language` is the question's."""
    if not entries:
        return entries
    rows = np.array([snap.position.get(e[0].id, -1) if snap is not None else -1 for e in entries])
    bm = np.array([float(bm25_all[r]) if bm25_all is not None and r >= 0 else 0.0 for r in rows])
    span = cos.max() - cos.min()
    dense_part = (cos - cos.min()) / span if span > 1e-9 else np.ones_like(cos)
    sparse_part = bm / bm.max() if bm.max() > 0 else np.zeros_like(bm)
    if language is not None and ranking.cross_language_fair:
        # BM25 cannot match words across languages: for a passage in another language than the
        # question it would only pull it down, so its dense part stands in for it (evals/README.md,
        # "Fusion across languages").
        other = np.array([analyzer.other_language(e[1].language, language) for e in entries])
        sparse_part = np.where(other, dense_part, sparse_part)
    fused = ranking.cc_dense_weight * dense_part + (1 - ranking.cc_dense_weight) * sparse_part
    if said:
        fused = fused + np.array(
            [
                ranking.place_bonus * place + ranking.year_bonus * year
                for place, year in (said.matches(e[1]) for e in entries)
            ]
        )
    out = []
    for i in sorted(range(len(entries)), key=lambda j: (-fused[j], entries[j][0].id)):  # ties: by id
        p, d, scores, vec = entries[i]
        out.append((p, d, {**scores, "bm25": float(bm[i]), "fused": float(fused[i])}, vec))
    return out


def _cut(entries: list[_Entry], k: int, max_per_doc: int | None) -> list[Hit]:
    hits: list[Hit] = []
    per_doc: dict[str, int] = {}
    for passage, document, scores, _ in entries:
        if max_per_doc and per_doc.get(document.id, 0) >= max_per_doc:
            continue
        per_doc[document.id] = per_doc.get(document.id, 0) + 1
        score = scores.get("fused", scores.get("rrf", scores.get("bm25", scores["dense"])))
        hits.append(Hit(passage, document, len(hits) + 1, score, cite(passage, document), scores))
        if len(hits) == k:
            break
    return hits


def passage_and_document(index: Index, pid: str) -> tuple[Passage, Document] | None:
    """One stored passage with its document, or None if the id is not in the index."""
    return index.get([pid]).get(pid)
