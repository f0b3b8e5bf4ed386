"""A question as retrieval reads it: metadata filters, quoted phrases, the documents it names
(scoping), and the countries and years it mentions. Matching runs against a catalog of the indexed
documents built once per registry generation, not once per question.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace

import numpy as np

from kb.errors import UsageError
from kb.index import lexical
from kb.search.reading import G7_WRITTEN, Question, catalog
from kb.search.terms import content_terms
from kb.types import Document, date_to_int


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

    @classmethod
    def of(cls, question: Question, filters: Filters, documents: list[Document], scope: bool = True) -> Query:
        """The query for a question read by kb.search.reading: its quoted phrases required, and,
        when it names documents (and `scope`), restricted to them with the words that name them
        left out of the text matched."""
        scoped = set(question.documents) if scope else set()
        cut = False
        if scoped and not filters.doc_ids:
            candidates = tuple(d.id for d in documents if d.id in scoped and filters.admits(d))
            if candidates:
                filters = replace(filters, doc_ids=candidates)
                cut = True
        text = question.matched_text(cut_documents=cut)
        return cls(text, question.quoted, filters, tuple(sorted(scoped)), asked=text)


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


def mentions(question: Question, documents: list[Document]) -> Mentions:
    """What a question says about where and when: "Italy", "the UK", "the G7" (or its texts:
    commitments, the leaders, the declaration), "in 2024", among the indexed documents'."""
    cat = catalog(documents)
    countries = {p.value for p in question.places} | ({"G7"} if question.about_g7 else set())
    years = {y.label.split()[-1] for y in question.years} & cat.years
    return Mentions(frozenset(countries & cat.countries), frozenset(years))


_G7 = re.compile(rf"\b(?:the\s+)?(?:{G7_WRITTEN.pattern})(?:['’]s)?(?!\w)", re.I)


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
    return rest if content_terms(rest, fallback=False) else text


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
