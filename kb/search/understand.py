"""A question read into constraints that users see and can remove: the documents it names, the
countries, years and kinds of document it states, and its quoted phrases, each with the words of
the question it came from (the answer's `understood`, "Read as:" in `kb ask`, chips in the app).

Countries, years and kinds of document restrict the search first (`Understood.narrowed`,
`narrowed_first`), which falls back to every document, and says so, when those hold nothing that answers.
A country, year or kind that no indexed document has is shown as such and restricts nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace

from kb.config import RankingSettings
from kb.index.store import Index
from kb.search.query import Filters
from kb.search.reading import Question, catalog
from kb.search.retrieve import Retrieval, retrieve
from kb.search.support import Support
from kb.types import Document

NOTHING_THERE = (
    "Nothing in the documents for {where} appears to answer this; the answer comes from the other indexed "
    "documents."
)


@dataclass(frozen=True)
class Constraint:
    """One thing the question asks for besides its words."""

    kind: str  # document | country | year | type | phrase
    value: str  # document id, ISO 3166 alpha-3 code, "2015" / "since 2015" / "until 2015", type, phrase
    label: str  # what a chip shows: "France", "2015", "communiqués", the document's short title
    words: str  # the words of the question it came from
    indexed: bool = True  # False: no indexed document has it, so it restricts nothing

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.value}"


@dataclass(frozen=True)
class Understood:
    """The constraints read from a question, and those the user removed (their keys)."""

    constraints: tuple[Constraint, ...] = ()
    removed: tuple[str, ...] = ()

    def active(self, kind: str) -> list[Constraint]:
        """The constraints of a kind that apply: indexed and not removed."""
        return [c for c in self.constraints if c.kind == kind and c.indexed and c.key not in self.removed]

    @property
    def read_as(self) -> str:
        """'France · 2015 · statements' (a constraint no document has: '2019 (no document)')."""
        shown = [c for c in self.constraints if c.key not in self.removed]
        return " · ".join(c.label if c.indexed else f"{c.label} (no indexed document)" for c in shown)

    def narrowed(self, filters: Filters) -> Filters | None:
        """`filters` with the stated countries, years and kinds of document, each where the user's own
        filters leave it open; None when the question states none of them."""
        countries = tuple(c.value for c in self.active("country"))
        types = tuple(c.value for c in self.active("type"))
        since, until = _years([c.value for c in self.active("year")])
        changes: dict = {}
        if countries and not filters.countries:
            changes["countries"] = countries
        if types and not filters.types:
            changes["types"] = types
        if since and not filters.since:
            changes["since"] = since
        if until and not filters.until:
            changes["until"] = until
        return replace(filters, **changes) if changes else None

    def to_dict(self) -> dict:
        return {
            "read_as": self.read_as,
            "constraints": [{**asdict(c), "key": c.key} for c in self.constraints],
            "removed": list(self.removed),
        }


def understand(
    question: Question,
    documents: list[Document],
    removed: Iterable[str] = (),
    ranking: RankingSettings | None = None,
) -> Understood:
    """The constraints of a question (read by kb.search.reading) over these documents; `removed`
    are keys the user took away."""
    g7_first = (ranking or RankingSettings()).g7_first
    found: list[Constraint] = []
    for p in question.phrases:
        phrase = p.value.strip()
        found.append(Constraint("phrase", phrase, f"“{phrase}”", p.label))
    titles = {d.id: d.cite_title for d in documents}
    words = " / ".join(question.words(span) for span in question.document_spans)
    for doc_id in question.documents:
        found.append(Constraint("document", doc_id, titles.get(doc_id, doc_id), words))
    countries = {d.country for d in documents}
    # The G7 written out or a country named, in the order written; else words that point to the
    # G7's texts, when the question names no document.
    named = sorted([*(question.g7 if g7_first else ()), *question.places], key=lambda s: s.span)
    if g7_first and not named and not question.documents and "G7" in countries:
        named = [cue for cue in question.g7_cues if question.free(cue.span)][:1]
    seen: set[str] = set()
    for said in named:
        if said.value not in seen and question.free(said.span):
            seen.add(said.value)
            found.append(
                Constraint(
                    "country", said.value, said.label, question.words(said.span), said.value in countries
                )
            )
    years = catalog(documents).years
    for said in question.years:
        if question.free(said.span):
            indexed = any(_year_admits(said.value, y) for y in years)
            found.append(Constraint("year", said.value, said.value, said.label, indexed))
    kinds = {d.type for d in documents}
    for said in question.kinds:
        if question.free(said.span):
            found.append(
                Constraint("type", said.value, said.label, question.words(said.span), said.value in kinds)
            )
    keys = {c.key for c in found}
    return Understood(tuple(found), tuple(k for k in removed if k in keys))


def without(question: Question, understood: Understood) -> Question:
    """The question without the quoted phrases the user removed (their words stay, unquoted)."""
    dropped = tuple(
        p.value
        for p in question.phrases
        for c in understood.constraints
        if c.kind == "phrase" and c.key in understood.removed and c.value == p.value.strip()
    )
    return question.without_quotes(dropped) if dropped else question


def _year_admits(value: str, year: str) -> bool:
    since, until = _years([value])
    return (not since or year >= since) and (not until or year <= until[:4])


def _years(values: list[str]) -> tuple[str, str]:
    """(since, until) as ISO dates for year constraints: "2015" → the whole year; several → the span."""
    lows, highs = [], []
    for v in values:
        year = v.split()[-1]
        if not v.startswith("until"):
            lows.append(year)
        if not v.startswith("since"):
            highs.append(year)
    return (min(lows) if lows else ""), (f"{max(highs)}-12-31" if highs else "")


def narrowed_first(
    index: Index, question: Question, understood: Understood, filters: Filters, threshold: float, **options
) -> tuple[Retrieval, str]:
    """The retrieval for a question, the passages of the countries, years and kinds of document it
    states first when some of them support an answer on their own; else every document's, with a
    notice saying that those documents hold nothing that answers. `threshold`: the support a passage
    needs to answer on its own (RankingSettings.abstain_below)."""
    everything = retrieve(index, question, filters=filters, **options)
    narrowed = understood.narrowed(filters) if index.settings.ranking.narrow_first else None
    if narrowed is None:
        return everything, ""
    # Every candidate of the narrowed search is rated, whatever k: the top passages then do not
    # depend on how many were asked for.
    first = retrieve(
        index,
        question,
        filters=narrowed,
        **{**options, "k": max(options.get("k", 5), index.settings.ranking.candidates)},
    )
    rater = Support(first.terms, index.settings)
    own = [h for h in first.hits if rater(h) >= threshold]
    if not own:  # said only when other documents do answer: else the abstention says it all
        elsewhere = any(rater(h) >= threshold for h in everything.hits[:3])
        notice = NOTHING_THERE.format(where=understood.read_as) if elsewhere else ""
        if index.settings.ranking.g7_texts_first and "G7" in (narrowed.countries or ()) and first.hits:
            # A question about the G7's texts is answered from them even when they say little: the
            # national passages that follow are evidence of carrying a commitment out, not the answer.
            ids = {h.passage.id for h in first.hits}
            hits = [*first.hits, *(h for h in everything.hits if h.passage.id not in ids)]
            return replace(
                first, hits=[replace(h, rank=i) for i, h in enumerate(hits[: len(everything.hits)], 1)]
            ), notice
        return everything, notice
    ids = {h.passage.id for h in own}
    hits = own + [h for h in everything.hits if h.passage.id not in ids]
    return replace(
        first, hits=[replace(h, rank=i) for i, h in enumerate(hits[: len(everything.hits)], 1)]
    ), ""
