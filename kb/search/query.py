"""A question as retrieval reads it: metadata filters, quoted phrases, the documents it names
(scoping), and the countries and years it mentions. Matching runs against a catalog of the indexed
documents built once per registry generation, not once per question.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace

import numpy as np

from kb.errors import UsageError
from kb.index import lexical
from kb.types import Document, date_to_int

PHRASE = re.compile(r'"([^"]+)"|“([^”]+)”')


@dataclass(frozen=True)
class Filters:
    """Metadata restrictions; empty fields do not restrict."""

    types: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    issuers: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()
    since: str = ""  # ISO date, inclusive
    until: str = ""  # ISO date, inclusive
    languages: tuple[str, ...] = ()  # ISO 639-1 codes of the documents' languages

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value and not date_to_int(value):
                raise UsageError(f"--{name} {value!r} is not a date (use YYYY-MM-DD, YYYY-MM or YYYY)")

    @classmethod
    def read(cls, data: Mapping | None, split: str = "") -> Filters:
        """Filters from field names to values, the one reading for the API and the CLI: a list
        field takes a list or one string, each also cut at `split` when given (the CLI's
        `--country FRA,DEU`); empty values are dropped; an unknown name is an error."""
        data = data or {}
        names = [f.name for f in fields(cls)]
        if unknown := sorted(set(data) - set(names)):
            raise UsageError(f"unknown filter {', '.join(unknown)}; use {', '.join(sorted(names))}")
        values = {}
        for name, value in data.items():
            if name in ("since", "until"):
                values[name] = (value or "").strip()
                continue
            items = [value] if isinstance(value, str) else list(value or [])
            parts = [p for item in items for p in (item.split(split) if split else [item])]
            values[name] = tuple(p.strip() if split else p for p in parts if p.strip())
        return cls(**values)

    def __bool__(self) -> bool:
        return any(
            (self.types, self.countries, self.issuers, self.doc_ids, self.since, self.until, self.languages)
        )

    def _lists(self) -> list[tuple[tuple[str, ...], str, str]]:
        """Each list restriction that is set: (values, Chroma metadata key, Document attribute,
        which is also the BM25 snapshot's column). The one definition the four compilers below share."""
        fields_ = (
            (self.types, "doc_type", "type"),
            (self.countries, "doc_country", "country"),
            (self.issuers, "doc_issuer", "issuer"),
            (self.doc_ids, "doc_id", "doc_id"),
            (self.languages, "doc_language", "language"),
        )
        return [f for f in fields_ if f[0]]

    def _dates(self) -> tuple[int | None, int | None]:
        """(first, last) date as integers, None where open."""
        return (date_to_int(self.since) if self.since else None, _end_of(self.until) if self.until else None)

    def where(self) -> dict | None:
        """The restriction as a Chroma `where` clause."""
        clauses: list[dict] = [{key: {"$in": list(values)}} for values, key, _ in self._lists()]
        first, last = self._dates()
        if first is not None:
            clauses.append({"date_int": {"$gte": first}})
        if last is not None:
            clauses.append({"date_int": {"$lte": last}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def sql(self) -> tuple[str, list]:
        """The restriction as an SQL condition on the registry's `documents` table, with its parameters."""
        clauses, params = [], []
        for values, _, attr in self._lists():
            column = "id" if attr == "doc_id" else f"json_extract(meta, '$.{attr}')"
            clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
            params += values
        for bound, op in zip(self._dates(), (">=", "<="), strict=True):
            if bound is not None:
                clauses.append(f"date_int(json_extract(meta, '$.date')) {op} ?")
                params.append(bound)
        return " AND ".join(clauses) or "1", params

    def mask(self, snap: lexical.Snapshot) -> np.ndarray | None:
        """The restriction as a boolean mask over a BM25 snapshot's rows."""
        if not self:
            return None
        mask = np.ones(len(snap), dtype=bool)
        for values, _, column in self._lists():
            mask &= np.isin(getattr(snap, column), list(values))
        first, last = self._dates()
        if first is not None:
            mask &= snap.date_int >= first
        if last is not None:
            mask &= snap.date_int <= last
        return mask

    def admits(self, d: Document) -> bool:
        """Whether a document passes the restriction."""
        first, last = self._dates()
        return (
            all(getattr(d, "id" if attr == "doc_id" else attr) in values for values, _, attr in self._lists())
            and (first is None or d.date_int >= first)
            and (last is None or d.date_int <= last)
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
    phrases = tuple(p for m in PHRASE.finditer(question) for p in m.groups() if p and p.strip())
    scoped, spans = named_documents(question, documents)
    text = question
    if scoped and not filters.doc_ids:
        candidates = tuple(d.id for d in documents if d.id in scoped and filters.admits(d))
        if candidates:
            filters = replace(filters, doc_ids=candidates)
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
    from kb.text.places import countries_named

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


_G7 = re.compile(r"\b(?:the\s+)?(?:G-?7|Group\s+of\s+Seven)(?:['’]s)?(?!\w)", re.I)


def without_g7(text: str) -> str:
    """The question without its words for the G7 ("What did the G7 agree on returns?" → "What did
    agree on returns?"), or the question itself when little else is left.

    In a collection of G7 texts every passage of a G7 document is embedded with a title that says
    "G7", and the small embedding model lets that one word outweigh the topic: the question above
    was closest to "…the discussion between G7 members…", not to the paragraph on returns. The
    ranking favours the G7's own documents through their metadata instead (Mentions), so the
    embedding can be left to the topic (evals/README.md, "Fusion").
    """
    rest = " ".join(_G7.sub(" ", text).split())
    return rest if lexical.content_terms(rest, fallback=False) else text


def _end_of(date: str) -> int:
    """The last day a partial date covers: 2024 → 20241231, 2024-06 → 20240631."""
    parts = date.split("-")
    value = date_to_int(date)
    if len(parts) == 1:
        return value + 1130  # 0101 → 1231
    if len(parts) == 2:
        return value + 30  # 01 → 31 (day numbers only compare, so 31 is safe for every month)
    return value


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
        ("language", filters.languages, {d.language for d in documents}),
    ):
        bad = [v for v in values if v not in known]
        if bad:
            shown = ", ".join(sorted(k for k in known if k)[:20])
            raise UsageError(f"no indexed document has {label} {', '.join(map(repr, bad))}; known: {shown}")
