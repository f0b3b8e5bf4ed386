"""Retrieval: dense (Chroma), BM25 (bm25s) and hybrid (reciprocal rank fusion of both).

Filters and quoted phrases are applied inside each retriever before its top-k is taken, so
a filtered query still returns k passages when k exist. Every hit carries its cosine
similarity to the question (the evidence strength the answer layer calibrates on).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from kb import embed, lexical
from kb.errors import UsageError
from kb.store import Index, cite
from kb.types import Document, Hit, Passage, date_to_int

MODES = ("dense", "bm25", "hybrid")
RRF_K = 60  # the constant of Cormack et al. (2009); robust across collections
_PHRASE = re.compile(r'"([^"]+)"|“([^”]+)”')


@dataclass(frozen=True)
class Filters:
    """Metadata restrictions; empty fields do not restrict."""

    types: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    issuers: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()
    since: str = ""  # ISO date, inclusive
    until: str = ""  # ISO date, inclusive

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value and not date_to_int(value):
                raise UsageError(f"--{name} {value!r} is not a date (use YYYY-MM-DD, YYYY-MM or YYYY)")

    def __bool__(self) -> bool:
        return any((self.types, self.countries, self.issuers, self.doc_ids, self.since, self.until))

    def where(self) -> dict | None:
        """The same restriction as a Chroma `where` clause."""
        clauses: list[dict] = []
        for key, values in (
            ("doc_type", self.types),
            ("doc_country", self.countries),
            ("doc_issuer", self.issuers),
            ("doc_id", self.doc_ids),
        ):
            if values:
                clauses.append({key: {"$in": list(values)}})
        if self.since:
            clauses.append({"date_int": {"$gte": date_to_int(self.since)}})
        if self.until:
            clauses.append({"date_int": {"$lte": _end_of(self.until)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def mask(self, snap: lexical.Snapshot) -> np.ndarray | None:
        """The same restriction as a boolean mask over a BM25 snapshot."""
        if not self:
            return None
        mask = np.ones(len(snap), dtype=bool)
        for column, values in (
            (snap.type, self.types),
            (snap.country, self.countries),
            (snap.issuer, self.issuers),
            (snap.doc_id, self.doc_ids),
        ):
            if values:
                mask &= np.isin(column, list(values))
        if self.since:
            mask &= snap.date_int >= date_to_int(self.since)
        if self.until:
            mask &= snap.date_int <= _end_of(self.until)
        return mask

    def admits(self, d: Document) -> bool:
        """Whether a document passes the filters."""
        return (
            (not self.types or d.type in self.types)
            and (not self.countries or d.country in self.countries)
            and (not self.issuers or d.issuer in self.issuers)
            and (not self.doc_ids or d.id in self.doc_ids)
            and (not self.since or d.date_int >= date_to_int(self.since))
            and (not self.until or d.date_int <= _end_of(self.until))
        )


@dataclass(frozen=True)
class Query:
    """A question as retrieval sees it: free text, required phrases, and the effective filters."""

    text: str
    phrases: tuple[str, ...] = ()
    filters: Filters = field(default_factory=Filters)
    scoped_to: tuple[str, ...] = ()  # documents the question names, if any


def parse_query(question: str, filters: Filters, documents: list[Document]) -> Query:
    """Pull quoted phrases out of the question and scope it to the documents it names."""
    phrases = tuple(p for m in _PHRASE.finditer(question) for p in m.groups() if p and p.strip())
    scoped = named_documents(question, documents)
    if scoped and not filters.doc_ids:
        candidates = tuple(d.id for d in documents if d.id in scoped and filters.admits(d))
        if candidates:
            filters = Filters(
                filters.types, filters.countries, filters.issuers, candidates, filters.since, filters.until
            )
    return Query(question, phrases, filters, tuple(sorted(scoped)))


# Words that appear in the titles of many G7 documents and name none of them.
_GENERIC = set(
    [
        "g7",
        "g8",
        "g20",
        "leaders",
        "leader",
        "statement",
        "statements",
        "declaration",
        "declarations",
        "communique",
        "communiqué",
        "action",
        "plan",
        "plans",
        "national",
        "report",
        "reports",
        "ministers",
        "ministerial",
        "interior",
        "security",
        "migrant",
        "migrants",
        "smuggling",
        "migration",
        "trafficking",
        "countering",
        "counter",
        "prevent",
        "preventing",
        "tackling",
        "against",
        "annex",
        "the",
        "and",
        "of",
        "on",
        "to",
        "for",
        "in",
        "a",
        "an",
        "un",
        "united",
        "nations",
        "general",
        "debate",
        "summit",
        "meeting",
        "strategy",
        "document",
        "chair",
        "chair's",
        "fixture",
        "test",
        "official",
        "not",
    ]
)


def named_documents(question: str, documents: list[Document]) -> set[str]:
    """Ids of the documents a question names: by an alias or short title written out, or by a
    capitalised title word that belongs to at most two documents ("the Kananaskis statement")."""
    q_lower = question.lower()
    named = {
        d.id
        for d in documents
        for name in [d.short_title, *d.aliases]
        if name and len(name) > 3 and re.search(rf"(?<!\w){re.escape(name.lower())}(?!\w)", q_lower)
    }
    if named:
        return named
    owners: dict[str, set[str]] = {}
    for d in documents:
        for word in set(re.findall(r"[A-Za-zÀ-ÿ][\w'’-]{3,}", f"{d.title} {d.short_title}")):
            w = word.lower().strip("'’")
            if w not in _GENERIC:
                owners.setdefault(w, set()).add(d.id)
    for word in re.findall(r"\b[A-ZÀ-Þ][\w'’-]{3,}", question):
        ids = owners.get(word.lower().strip("'’"), set())
        if 0 < len(ids) <= 2:
            named |= ids
    return named


def search(
    index: Index,
    question: str,
    mode: str = "hybrid",
    k: int = 5,
    filters: Filters | None = None,
    max_per_doc: int | None = None,
    mmr: float | None = None,
    candidates: int | None = None,
    scope: bool = True,
) -> list[Hit]:
    """The top-k passages for a question, best first.

    `max_per_doc` caps passages per document (diversity); `mmr` (0–1, higher = more relevance)
    re-ranks candidates by maximal marginal relevance; `scope=False` turns off scoping to the
    documents a question names.
    """
    if mode not in MODES:
        raise UsageError(f"unknown retrieval mode {mode!r}; choose one of {', '.join(MODES)}")
    filters = filters or Filters()
    index.refresh()
    documents = [r.document for r in index.records().values()] if scope else []
    query = parse_query(question, filters, documents)
    n = candidates or max(50, 4 * k)
    qvec = embed.encode(index.settings, [query.text])[0]
    dense = _dense(index, qvec, query, n) if mode in ("dense", "hybrid") else []
    sparse = _bm25(index, query, n) if mode in ("bm25", "hybrid") else []
    if mode == "dense":
        ranked = [(pid, {"dense": s}) for pid, s in dense]
    elif mode == "bm25":
        ranked = [(pid, {"bm25": s}) for pid, s in sparse]
    else:
        ranked = fuse(dense, sparse)
    return _hydrate(index, ranked, qvec, query, k, max_per_doc, mmr)


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


def _dense(index: Index, qvec: np.ndarray, query: Query, n: int) -> list[tuple[str, float]]:
    where_document = None
    if query.phrases:
        regexes = [{"$regex": "(?i)" + r"\s+".join(re.escape(w) for w in p.split())} for p in query.phrases]
        where_document = regexes[0] if len(regexes) == 1 else {"$and": regexes}
    n = max(1, min(n, index.count()))
    got = index.collection.query(
        query_embeddings=[qvec],
        n_results=n,
        where=query.filters.where(),
        where_document=where_document,
        include=["distances"],
    )
    return [(pid, 1.0 - float(dist)) for pid, dist in zip(got["ids"][0], got["distances"][0])]


def _bm25(index: Index, query: Query, n: int) -> list[tuple[str, float]]:
    snap = lexical.load(index.dir)
    if snap is None:
        return []
    mask = query.filters.mask(snap)
    if query.phrases:
        phrase = lexical.phrase_mask(snap, list(query.phrases))
        mask = phrase if mask is None else mask & phrase
    return lexical.search(snap, query.text, n, mask)


def _hydrate(
    index: Index,
    ranked: list[tuple[str, dict[str, float]]],
    qvec: np.ndarray,
    query: Query,
    k: int,
    max_per_doc: int | None,
    mmr: float | None,
) -> list[Hit]:
    """Fetch text, metadata and vectors from Chroma (the source of truth), then cut to k."""
    if not ranked:
        return []
    pool = ranked if (mmr is not None or max_per_doc) else ranked[: k * 2]
    ids = [pid for pid, _ in pool]
    got = index.collection.get(ids=ids, include=["documents", "metadatas", "embeddings"])
    from kb.store import from_metadata

    found = {
        pid: (from_metadata(pid, text, meta), np.asarray(vec, dtype=np.float32))
        for pid, text, meta, vec in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"])
    }
    entries = []
    for pid, scores in pool:
        if pid not in found:  # removed by an ingest since the BM25 snapshot was built
            continue
        (passage, document), vec = found[pid]
        if not query.filters.admits(document):
            continue
        entries.append((passage, document, {**scores, "dense": float(vec @ qvec)}, vec))
    if mmr is not None:
        entries = _mmr(entries, qvec, mmr, len(entries))
    hits: list[Hit] = []
    per_doc: dict[str, int] = {}
    for passage, document, scores, _ in entries:
        if max_per_doc and per_doc.get(document.id, 0) >= max_per_doc:
            continue
        per_doc[document.id] = per_doc.get(document.id, 0) + 1
        score = scores.get("rrf", scores.get("bm25", scores["dense"]))
        hits.append(Hit(passage, document, len(hits) + 1, score, cite(passage, document), scores))
        if len(hits) == k:
            break
    return hits


def _mmr(entries: list, qvec: np.ndarray, lambda_: float, k: int) -> list:
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


def _end_of(date: str) -> int:
    """The last day a partial date covers: 2024 → 20241231, 2024-06 → 20240631."""
    parts = date.split("-")
    value = date_to_int(date)
    if len(parts) == 1:
        return value + 1130  # 0101 → 1231
    if len(parts) == 2:
        return value + 30  # 01 → 31 (day numbers only compare, so 31 is safe for every month)
    return value


def passage_and_document(index: Index, pid: str) -> tuple[Passage, Document] | None:
    """One stored passage with its document, or None if the id is not in the index."""
    return index.get([pid]).get(pid)


def check_filters(filters: Filters, documents: list[Document]) -> None:
    """Refuse filter values that no indexed document has (a typo would silently return nothing)."""
    from kb.types import DOC_TYPES

    bad = [t for t in filters.types if t not in DOC_TYPES]
    if bad:
        raise UsageError(f"unknown document type {', '.join(bad)}; choose from {', '.join(DOC_TYPES)}")
    for label, values, known in (
        ("country", filters.countries, {d.country for d in documents}),
        ("issuer", filters.issuers, {d.issuer for d in documents}),
        ("document id", filters.doc_ids, {d.id for d in documents}),
    ):
        bad = [v for v in values if v not in known]
        if bad:
            shown = ", ".join(sorted(k for k in known if k)[:20])
            raise UsageError(f"no indexed document has {label} {', '.join(map(repr, bad))}; known: {shown}")
