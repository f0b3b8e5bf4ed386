"""Retrieval: dense (Chroma), BM25 (bm25s) and hybrid (reciprocal rank fusion of both).

Filters and quoted phrases are applied inside each retriever before its top-k is taken, so
a filtered query still returns k passages when k exist. Every hit carries its cosine
similarity to the question (the evidence strength the answer layer calibrates on).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field, replace

import numpy as np

from kb import embed, lexical
from kb.acronyms import expand as expand_acronyms
from kb.errors import UsageError
from kb.store import Index, cite
from kb.types import Document, Hit, Passage, date_to_int

MODES = ("dense", "bm25", "hybrid")
# Candidates taken from each retriever before fusion, whatever k (up to k itself): the fused
# order of the top passages then does not depend on how many the caller asked for.
CANDIDATES = 50
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
    asked: str = ""  # the question's own words (without names of documents or added expansions)


def parse_query(question: str, filters: Filters, documents: list[Document]) -> Query:
    """Pull quoted phrases out of the question and scope it to the documents it names.

    When the question is scoped, the words that name the document are dropped from the text
    matched against passages ("the 2026 declaration" would otherwise favour any passage that
    says "declaration").
    """
    phrases = tuple(p for m in _PHRASE.finditer(question) for p in m.groups() if p and p.strip())
    scoped, spans = named_documents(question, documents)
    text = question
    if scoped and not filters.doc_ids:
        candidates = tuple(d.id for d in documents if d.id in scoped and filters.admits(d))
        if candidates:
            filters = Filters(
                filters.types, filters.countries, filters.issuers, candidates, filters.since, filters.until
            )
            for a, b in sorted(spans, reverse=True):
                text = text[:a] + " " + text[b:]
            text = " ".join(text.split()) or question
    return Query(text, phrases, filters, tuple(sorted(scoped)), asked=text)


# Words that appear in the titles of many G7 documents and name none of them.
_GENERIC = set(
    """g7 g8 g20 leaders leader statement statements declaration declarations communique communiqué
    action plan plans national report reports ministers ministerial interior security migrant migrants
    smuggling migration trafficking countering counter prevent preventing tackling against annex the and
    of on to for in a an un united nations general debate summit meeting strategy document chair chair's
    fixture test official not progress implementation federal government""".split()
)
# Words that say "a document" in a question, and the document types they point to.
_KIND_WORDS = {
    "declaration": ("declaration",),
    "statement": ("statement",),
    "communique": ("communique",),
    "communiqué": ("communique",),
    "plan": ("action-plan", "national-plan"),
    "report": ("national-report",),
    "strategy": ("national-plan",),
}
_KIND = r"(declaration|statement|communiqu[eé]|(?:action\s+)?plan|report|strategy)"


@dataclass(frozen=True)
class Catalog:
    """What questions are matched against in the indexed documents' metadata, built once per set
    of documents (not per question: at thousands of documents that work dominated a query)."""

    documents: tuple[Document, ...]
    names: tuple[tuple[str, str], ...]  # (lower-cased short title or alias, document id)
    owners: dict[str, frozenset[str]]  # distinctive title word → documents whose title has it
    countries: frozenset[str]
    years: frozenset[str]


_catalogs: list[tuple[list[Document], Catalog]] = []  # (the list it was built from, catalog)
_catalogs_lock = threading.Lock()


def catalog(documents: list[Document]) -> Catalog:
    """The catalog of a list of documents; the last few are kept, keyed by the list's identity
    (Index.documents() returns the same list until an ingest changes the registry)."""
    if not documents:
        return Catalog((), (), {}, frozenset(), frozenset())
    with _catalogs_lock:
        for built_from, c in _catalogs:
            if built_from is documents:
                return c
    names = tuple(
        (name.lower(), d.id)
        for d in documents
        for name in [d.short_title, *d.aliases]
        if name and len(name) > 3
    )
    owners: dict[str, set[str]] = {}
    for d in documents:
        for word in set(re.findall(r"[A-Za-zÀ-ÿ][\w'’-]{3,}", f"{d.title} {d.short_title}")):
            w = word.lower().strip("'’")
            if w not in _GENERIC:
                owners.setdefault(w, set()).add(d.id)
    c = Catalog(
        tuple(documents),
        names,
        {w: frozenset(ids) for w, ids in owners.items()},
        frozenset(d.country for d in documents),
        frozenset(d.date[:4] for d in documents),
    )
    with _catalogs_lock:
        _catalogs.insert(0, (documents, c))
        del _catalogs[4:]
    return c


def named_documents(question: str, documents: list[Document]) -> tuple[set[str], list[tuple[int, int]]]:
    """Ids of the documents a question names, and where it names them: by an alias or short
    title written out ("the Kananaskis statement"), by a distinctive title word followed by a
    word for a document ("the Apulia communiqué"), or by a year and a kind of document ("the
    2026 declaration")."""
    cat = catalog(documents)
    q_lower = question.lower()
    named: set[str] = set()
    spans: list[tuple[int, int]] = []
    for name, doc_id in cat.names:
        if name in q_lower and (m := re.search(rf"(?<!\w){re.escape(name)}(?!\w)", q_lower)):
            named.add(doc_id)
            spans.append(m.span())
    if named:
        return named, spans
    for m in re.finditer(rf"\b([A-ZÀ-Þ][\w'’-]{{3,}})(?:\s+\w+){{0,2}}\s+{_KIND}\b", question, re.IGNORECASE):
        if not m.group(1)[0].isupper():
            continue
        ids = cat.owners.get(m.group(1).lower().strip("'’"), frozenset())
        if 0 < len(ids) <= 2:
            named |= ids
            spans.append(m.span())
    for m in re.finditer(rf"\b((?:19|20)\d\d)\s+(?:g7\s+)?(?:leaders'?\s+)?{_KIND}\b", q_lower):
        kind = m.group(2).split()[-1]
        types = _KIND_WORDS.get(kind, ())
        ids = {d.id for d in cat.documents if d.date.startswith(m.group(1)) and d.type in types}
        if ids:
            named |= ids
            spans.append(m.span())
    return named, spans


@dataclass(frozen=True)
class Retrieval:
    """The ranked hits for a question, and the question as retrieval read it."""

    query: Query
    hits: list[Hit]


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
    if snap is not None and snap.acronyms:
        query = replace(query, text=expand_acronyms(query.text, snap.acronyms))
    n = candidates or max(CANDIDATES, k)
    qvec = embed.encode(index.settings, [query.text])[0]
    bm25_all = _bm25_scores(snap, query) if snap is not None and mode != "dense" else None
    dense = _dense(index, qvec, query, query.filters, n) if mode in ("dense", "hybrid") else []
    sparse = lexical.top(snap, bm25_all, n) if bm25_all is not None else []
    if mode == "dense":
        entries = _hydrate(index, [(pid, {"dense": s}) for pid, s in dense], qvec, query, snap)
    elif mode == "bm25":
        entries = _hydrate(index, [(pid, {"bm25": s}) for pid, s in sparse], qvec, query, snap)
    elif fusion == "rrf":
        entries = _hydrate(index, fuse(dense, sparse), qvec, query, snap)
    else:
        said = mentions(question, documents) if scope and not query.scoped_to else Mentions()
        extra = _mentioned_candidates(index, qvec, query, said, snap, bm25_all, n)
        pool = dict.fromkeys([p for p, _ in dense] + [p for p, _ in sparse] + extra)
        terms = lexical.QuestionTerms.of(query.asked, snap)
        entries = _convex(
            _hydrate(index, [(pid, {}) for pid in pool], qvec, query, snap), snap, bm25_all, said, terms
        )
    if mmr is not None:
        entries = _mmr(entries, qvec, mmr, len(entries))
    return Retrieval(query, _cut(entries, k, max_per_doc))


@dataclass(frozen=True)
class Mentions:
    """Countries, the G7 and years a question names, among those of the indexed documents."""

    countries: frozenset[str] = frozenset()
    years: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.countries or self.years)

    def matches(self, d: Document) -> tuple[bool, bool]:
        """(place matches, year matches) for a document."""
        return d.country in self.countries, bool(self.years) and d.date[:4] in self.years


def mentions(question: str, documents: list[Document]) -> Mentions:
    """What a question says about where and when: "Italy", "the UK", "the G7", "in 2024"."""
    from kb.places import countries_named

    cat = catalog(documents)
    countries = countries_named(question)
    if re.search(
        r"\bG-?7\b|\bGroup of Seven\b|\bleaders\b|\bcommit(?:s|ted|ments?)?\b|\bpledged?\b|\bagreed?\b",
        question,
        re.I,
    ):
        countries.add("G7")  # commitments are made in G7 texts; national documents report on them
    years = set(re.findall(r"\b((?:19|20)\d\d)\b", question)) & cat.years
    return Mentions(frozenset(countries & cat.countries), frozenset(years))


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
    prior = Filters(
        f.types,
        countries,
        f.issuers,
        f.doc_ids,
        max(f.since, years[0]) if years else f.since,
        min(f.until or "9999", years[-1]) if years else f.until,
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
            entries.append((passage, document, {**scores, "dense": float(vec @ qvec)}, vec))
    return entries


def _convex(
    entries: list[_Entry],
    snap: lexical.Snapshot | None,
    bm25_all: np.ndarray | None,
    said: Mentions,
    terms: lexical.QuestionTerms | None = None,
) -> list[_Entry]:
    """Rank candidates by CC_DENSE_WEIGHT · minmax(cosine) + (1 − CC_DENSE_WEIGHT) · bm25 / max bm25,
    plus COVERAGE_WEIGHT · the rarity-weighted share of the question's terms the passage
    contains, plus a bonus for documents of the country and year the question names."""
    if not entries:
        return entries
    cos = np.array([e[2]["dense"] for e in entries])
    rows = np.array([snap.position.get(e[0].id, -1) if snap is not None else -1 for e in entries])
    bm = np.array([float(bm25_all[r]) if bm25_all is not None and r >= 0 else 0.0 for r in rows])
    span = cos.max() - cos.min()
    dense_part = (cos - cos.min()) / span if span > 1e-9 else np.ones_like(cos)
    sparse_part = bm / bm.max() if bm.max() > 0 else np.zeros_like(bm)
    fused = CC_DENSE_WEIGHT * dense_part + (1 - CC_DENSE_WEIGHT) * sparse_part
    if terms is not None and snap is not None:
        fused = fused + COVERAGE_WEIGHT * terms.coverage_of_rows(
            snap, rows, [e[1].country for e in entries], [e[1].date for e in entries]
        )
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
