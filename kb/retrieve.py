"""Retrieval: dense (Chroma), BM25 (bm25s) and hybrid (a convex combination of both, or
reciprocal rank fusion).

Filters and quoted phrases are applied inside each retriever before its top-k is taken, so
a filtered query still returns k passages when k exist. Every hit carries its cosine
similarity to the question (the evidence strength the answer layer calibrates on).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace

import numpy as np

from kb import analyzer, embed, lexical
from kb.acronyms import expand as expand_acronyms
from kb.errors import UsageError
from kb.query import Filters, Mentions, Query, mentions, parse_query, without_g7
from kb.store import Index, cite
from kb.types import Document, Hit, Passage

MODES = ("dense", "bm25", "hybrid")
# Candidates taken from each retriever before fusion, whatever k (up to k itself): the fused
# order of the top passages then does not depend on how many the caller asked for.
CANDIDATES = 50
RRF_K = 60  # the constant of Cormack et al. (2009); robust across collections


@dataclass(frozen=True)
class Retrieval:
    """The ranked hits for a question, and the question as retrieval read it."""

    query: Query
    hits: list[Hit]
    terms: lexical.QuestionTerms  # the question's terms, weighted (what coverage is measured by)
    focus: str  # the question's own words as the ranking embedded them (see kb.query.without_g7)


def search(index: Index, question: str, **options) -> list[Hit]:
    """The top-k passages for a question, best first (see `retrieve` for the options)."""
    return retrieve(index, question, **options).hits


def retrieve(
    index: Index,
    question: str,
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

    Hybrid takes the union of the dense and BM25 candidates and ranks it by `fusion`: "cc", a
    convex combination of the min-max-normalised cosine and the max-normalised BM25 score
    (the default: it keeps a strong match of one retriever that the other ranks low), or
    "rrf", reciprocal rank fusion (default: the `fusion` setting). `max_per_doc` caps passages per document; `mmr` (0–1,
    higher = more relevance) re-ranks by maximal marginal relevance; `scope=False` turns off
    scoping to the documents a question names.
    """
    if mode not in MODES:
        raise UsageError(f"unknown retrieval mode {mode!r}; choose one of {', '.join(MODES)}")
    fusion = fusion or index.settings.fusion
    if fusion not in FUSIONS:
        raise UsageError(f"unknown fusion {fusion!r}; choose one of {', '.join(FUSIONS)}")
    filters = filters or Filters()
    index.refresh()
    documents = index.documents()
    query = parse_query(question, filters, documents if scope else [])
    snap = lexical.load(index.dir)
    terms = lexical.QuestionTerms.of(query.asked, snap)
    if snap is not None and snap.acronyms:
        query = replace(query, text=expand_acronyms(query.text, snap.acronyms))
    n = candidates or max(CANDIDATES, k)
    qvec = embed.encode(index.settings, [query.text], query=True)[0]
    bm25_all = _bm25_scores(snap, query) if snap is not None and mode != "dense" else None
    said = Mentions()
    if mode == "hybrid" and fusion == "cc" and scope and not query.scoped_to:
        said = mentions(question, documents)
    # When the G7 is among the places named, its documents get their bonus from metadata and
    # the ranking embeds the rest of the question; qvec stays the evidence the answer rates.
    focus = without_g7(query.text) if "G7" in said.countries else query.text
    fvec = qvec if focus == query.text else embed.encode(index.settings, [focus], query=True)[0]
    dense = _dense(index, fvec, query, query.filters, n) if mode in ("dense", "hybrid") else []
    sparse = lexical.top(snap, bm25_all, n) if bm25_all is not None else []
    if mode == "dense":
        entries = _hydrate(index, [(pid, {"dense": s}) for pid, s in dense], qvec, query, snap)
    elif mode == "bm25":
        entries = _hydrate(index, [(pid, {"bm25": s}) for pid, s in sparse], qvec, query, snap)
    elif fusion == "rrf":
        entries = _hydrate(index, fuse(dense, sparse), qvec, query, snap)
    else:
        extra = _mentioned_candidates(index, fvec, query, said, snap, bm25_all, n)
        pool = dict.fromkeys([p for p, _ in dense] + [p for p, _ in sparse] + extra)
        entries = _convex(
            _hydrate(index, [(pid, {}) for pid in pool], qvec, query, snap),
            snap,
            bm25_all,
            said,
            terms,
            None if fvec is qvec else fvec,  # with qvec, hydrate's cosines already are the ranking's
        )
    if mmr is not None:
        entries = _mmr(entries, qvec, mmr, len(entries))
    asked = without_g7(query.asked) if focus != query.text else query.asked
    return Retrieval(query, _cut(entries, k, max_per_doc), terms, asked)


# Ranking bonus (on the 0–1 fused scale) for passages whose document is of the country or year
# the question names; chosen on the evaluation suites (evals/README.md, "Fusion").
PLACE_BONUS = 0.15
YEAR_BONUS = 0.1
# Very short passages ("Mr President,", "Mexico has:") match a question's names and little else;
# passages under SHORT_WORDS words lose up to SHORT_PENALTY of their fused score.
SHORT_WORDS = 12
SHORT_PENALTY = 0.1


def _mentioned_candidates(
    index: Index,
    qvec: np.ndarray,
    query: Query,
    said: Mentions,
    snap: lexical.Snapshot | None,
    bm25_all: np.ndarray | None,
    n: int,
) -> list[str]:
    """Extra candidates from the documents of the countries/years the question names, so that a
    named country's passage can compete even when the whole collection crowds it out."""
    if not said:
        return []
    f = query.filters
    countries = tuple(said.countries) if said.countries else f.countries
    if said.countries and f.countries:
        countries = tuple(set(said.countries) & set(f.countries)) or f.countries
    years = sorted(said.years)
    prior = replace(
        f,
        countries=countries,
        since=max(f.since, years[0]) if years else f.since,
        until=min(f.until or "9999", years[-1]) if years else f.until,
    )
    ids = [pid for pid, _ in _dense(index, qvec, query, prior, n // 2)]
    if snap is not None and bm25_all is not None:
        mask = prior.mask(snap)
        ids += [
            pid
            for pid, _ in lexical.top(snap, bm25_all if mask is None else np.where(mask, bm25_all, 0), n // 2)
        ]
    return ids


FUSIONS = ("cc", "rrf")
CC_DENSE_WEIGHT = 0.6  # chosen on the evaluation suites (evals/README.md, "Fusion")
CROSS_LANGUAGE_FAIR = True  # see _convex; off only for the ablation in evals/README.md
COVERAGE_WEIGHT = 0.2  # likewise: query-term coverage lifted both suites (evals/README.md, "Fusion")


def fuse(
    dense: list[tuple[str, float]], sparse: list[tuple[str, float]]
) -> list[tuple[str, dict[str, float]]]:
    """Reciprocal rank fusion: score = Σ 1 / (60 + rank) over the rankings a passage appears in."""
    scores: dict[str, dict[str, float]] = {}
    for name, ranking in (("dense", dense), ("bm25", sparse)):
        for rank, (pid, s) in enumerate(ranking, start=1):
            entry = scores.setdefault(pid, {"rrf": 0.0})
            entry[name] = s
            entry["rrf"] += 1.0 / (RRF_K + rank)
    return sorted(scores.items(), key=lambda item: -item[1]["rrf"])


def _dense(index: Index, qvec: np.ndarray, query: Query, filters: Filters, n: int) -> list[tuple[str, float]]:
    where_document = None
    if query.phrases:
        regexes = [{"$regex": "(?i)" + r"\s+".join(re.escape(w) for w in p.split())} for p in query.phrases]
        where_document = regexes[0] if len(regexes) == 1 else {"$and": regexes}
    got = index.query(  # Chroma returns fewer than n_results when fewer passages match
        query_embeddings=[qvec],
        n_results=n,
        where=filters.where(),
        where_document=where_document,
        include=["distances"],
    )
    return [(pid, 1.0 - float(dist)) for pid, dist in zip(got["ids"][0], got["distances"][0])]


def _bm25_scores(snap: lexical.Snapshot, query: Query) -> np.ndarray:
    mask = query.filters.mask(snap)
    if query.phrases:
        phrase = lexical.phrase_mask(snap, list(query.phrases))
        mask = phrase if mask is None else mask & phrase
    return lexical.scores(snap, query.text, mask)


_Entry = tuple[Passage, Document, dict[str, float], np.ndarray]


def _hydrate(
    index: Index,
    ranked: list[tuple[str, dict[str, float]]],
    qvec: np.ndarray,
    query: Query,
    snap: lexical.Snapshot | None,
) -> list[_Entry]:
    """Text, metadata and vectors for the candidates, in order; every entry gets its exact
    cosine similarity to the question. Vectors come from Chroma (which also drops passages an
    ingest removed since the BM25 snapshot was built); text and provenance from the snapshot in
    memory, or from Chroma for passages newer than the snapshot."""
    if not ranked:
        return []
    from kb.store import passage_from_metadata

    ids = [pid for pid, _ in ranked]
    got = index.collection.get(ids=ids, include=["embeddings"])
    vectors = {pid: np.asarray(vec, dtype=np.float32) for pid, vec in zip(got["ids"], got["embeddings"])}
    records = index.records()
    found: dict[str, tuple[Passage, Document]] = {}
    gone: set[str] = set()  # passages of documents removed since the snapshot was built
    for pid in ids:
        row = snap.position.get(pid) if snap is not None else None
        if row is None or not snap.metas[row] or pid not in vectors:
            continue
        meta = json.loads(snap.metas[row])
        if (record := records.get(meta["doc_id"])) is None:
            gone.add(pid)
        else:
            found[pid] = (passage_from_metadata(pid, snap.texts[row], meta), record.document)
    if newer := [pid for pid in ids if pid in vectors and pid not in found and pid not in gone]:
        for pid, (passage, document) in index.get(newer).items():  # not in the snapshot (yet)
            record = records.get(document.id)
            found[pid] = (passage, record.document if record else document)
    entries = []
    for pid, scores in ranked:
        if pid not in found:  # removed by an ingest since the BM25 snapshot was built
            continue
        passage, document = found[pid]
        if query.filters.admits(document):
            vec = vectors[pid]
            dense = float(embed.comparable(index.settings, float(vec @ qvec)))
            entries.append((passage, document, {**scores, "dense": dense}, vec))
    return entries


def _convex(
    entries: list[_Entry],
    snap: lexical.Snapshot | None,
    bm25_all: np.ndarray | None,
    said: Mentions,
    terms: lexical.QuestionTerms | None = None,
    fvec: np.ndarray | None = None,
) -> list[_Entry]:
    """Rank candidates by CC_DENSE_WEIGHT · minmax(cosine) + (1 − CC_DENSE_WEIGHT) · bm25 / max bm25,
    plus COVERAGE_WEIGHT · the rarity-weighted share of the question's terms the passage
    contains, plus a bonus for documents of the country and year the question names. The cosine
    is taken with `fvec` (the question as the ranking embeds it) when given."""
    if not entries:
        return entries
    if fvec is None:
        cos = np.array([e[2]["dense"] for e in entries])
    else:
        cos = np.stack([e[3] for e in entries]) @ fvec
    rows = np.array([snap.position.get(e[0].id, -1) if snap is not None else -1 for e in entries])
    bm = np.array([float(bm25_all[r]) if bm25_all is not None and r >= 0 else 0.0 for r in rows])
    span = cos.max() - cos.min()
    dense_part = (cos - cos.min()) / span if span > 1e-9 else np.ones_like(cos)
    sparse_part = bm / bm.max() if bm.max() > 0 else np.zeros_like(bm)
    coverage = (
        terms.coverage_of_rows(snap, rows, [e[1].country for e in entries], [e[1].date for e in entries])
        if terms is not None and snap is not None
        else np.zeros_like(bm)
    )
    if terms is not None and CROSS_LANGUAGE_FAIR:
        # BM25 and term coverage cannot match words across languages: for a passage in another
        # language than the question they would only pull it down, so its dense part stands in for
        # both (evals/README.md, "Fusion across languages").
        other = np.array([analyzer.other_language(e[1].language, terms.language) for e in entries])
        sparse_part = np.where(other, dense_part, sparse_part)
        coverage = np.where(other, dense_part, coverage)
    fused = CC_DENSE_WEIGHT * dense_part + (1 - CC_DENSE_WEIGHT) * sparse_part
    if terms is not None and snap is not None:
        fused = fused + COVERAGE_WEIGHT * coverage
    words = np.array([len(e[0].text.split()) for e in entries])
    fused = fused - SHORT_PENALTY * np.clip(1 - words / SHORT_WORDS, 0, 1)
    if said:
        fused = fused + np.array(
            [PLACE_BONUS * place + YEAR_BONUS * year for place, year in (said.matches(e[1]) for e in entries)]
        )
    out = []
    for i in np.argsort(-fused, kind="stable"):
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


def _mmr(entries: list[_Entry], qvec: np.ndarray, lambda_: float, k: int) -> list[_Entry]:
    """Maximal marginal relevance over the candidates (llama-index's implementation)."""
    from llama_index.core.indices.query.embedding_utils import get_top_k_mmr_embeddings

    _, order = get_top_k_mmr_embeddings(
        qvec.tolist(),
        [e[3].tolist() for e in entries],
        similarity_top_k=k,
        embedding_ids=list(range(len(entries))),
        mmr_threshold=lambda_,
    )
    return [entries[i] for i in order]


def passage_and_document(index: Index, pid: str) -> tuple[Passage, Document] | None:
    """One stored passage with its document, or None if the id is not in the index."""
    return index.get([pid]).get(pid)
