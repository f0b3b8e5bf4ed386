"""A question read into constraints that users see and can remove: the documents it names, the
countries, years and kinds of document it states, and its quoted phrases, each with the words of
the question it came from (the answer's `understood`, "Read as:" in `kb ask`, chips in the app).

Countries, years and kinds of document restrict the search first (`Understood.narrowed`,
`narrowed_first`), which falls back to every document, and says so, when those hold nothing that answers.
A country, year or kind that no indexed document has is shown as such and restricts nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace

from kb.config import RankingSettings
from kb.index.store import Index
from kb.search.query import PHRASE, Filters, catalog, named_documents
from kb.search.retrieve import Retrieval, retrieve
from kb.search.support import Support
from kb.types import Document

NOTHING_THERE = (
    "Nothing in the documents for {where} appears to answer this; the answer comes from the other indexed "
    "documents."
)
# Plural words for a kind of document: "the communiqués", "national reports". (A singular one
# names a document: "the 2026 declaration" is scoping, kb.search.query.named_documents.)
_KIND_WORDS = (
    (r"communiqu[eé]s", "communique", "communiqués"),
    (r"declarations", "declaration", "declarations"),
    (r"(?:leaders'?\s+)?statements", "statement", "statements"),
    (r"action\s+plans", "action-plan", "action plans"),
    (r"national\s+(?:action\s+)?plans|national\s+strategies", "national-plan", "national plans"),
    (r"(?:national\s+|progress\s+|implementation\s+)?reports", "national-report", "national reports"),
)
# "G7" written in the question, in any language ("G7首脳宣言", "la dichiarazione del G7"): the G7's
# own texts are searched first, as for a country. (A same-language national report otherwise
# outranked the English declaration for questions asked in Italian or Japanese.)
_G7 = re.compile(r"(?<![A-Za-z0-9])G-?7(?![0-9])")
# A question about commitments, "the declaration", "the action plan", "the leaders" or "the summit"
# is about the G7's own texts even when it does not say "G7" (a commitment is made in a G7 text;
# national documents report on carrying it out): they are searched first, shown as the same "G7
# texts" chip, unless the question names a country or a document. In the five languages of the
# corpus. ("What did the leaders say about returns?" otherwise quoted a national report first.)
_G7_TEXTS = re.compile(
    r"\bcommit(?:s|ted|ments?)\b|\bpledge[sd]?\b|\bleaders\b|\bsummits?\b"
    r"|\bthe\s+(?:(?:19|20)\d\d\s+)?(?:declaration|communiqu[eé]|action\s+plan)\b"
    r"|\bengagements?\b|\bs['’]est\s+engag|\bla\s+d[ée]claration\b|\ble\s+plan\s+d['’]action\b"
    r"|\bdirigeants\b|\bsommets?\b"
    r"|\bVerpflichtung(?:en)?\b|\bverpflichte[nt]\b|\bZusagen?\b|\bdie\s+Erkl[äa]rung\b|\bAktionsplan"
    r"|\bStaats-\s+und\s+Regierungschefs\b|\bGipfel"
    r"|\bimpegn[oi]\b|\bimpegnat[ie]\b|\bla\s+dichiarazione\b|\bpiano\s+d['’]azione\b|\bi\s+leader\b"
    r"|\bvertic[ei]\b"
    r"|コミットメント|公約|約束|首脳|宣言|行動計画|サミット",
    re.I,
)
# "The Canadian presidency", "la présidence italienne": the country that chaired the G7, not a country
# the question is about ("Did the leaders follow up on the Canadian presidency's work…" was read as
# about Canada's documents and quoted Canada's report first).
_PRESIDENCY = re.compile(r"presiden|présiden|präsidentschaft|議長", re.I)
_YEAR = re.compile(r"\b(?:(since|after|from|before|until|till|up\s+to|by)\s+)?((?:19|20)\d\d)\b", re.I)


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
    question: str,
    documents: list[Document],
    removed: Iterable[str] = (),
    ranking: RankingSettings | None = None,
) -> Understood:
    """The constraints of a question over these documents; `removed` are keys the user took away."""
    g7_first = (ranking or RankingSettings()).g7_first
    from kb.text.places import country_names

    cat = catalog(documents)
    found: list[Constraint] = []
    quoted = list(PHRASE.finditer(question))
    for m in quoted:
        phrase = (m.group(1) or m.group(2)).strip()
        if phrase:
            found.append(Constraint("phrase", phrase, f"“{phrase}”", m.group()))
    named, spans = named_documents(question, documents)
    titles = {d.id: d.cite_title for d in documents}
    for doc_id in sorted(named):
        words = " / ".join(question[a:b].strip() for a, b in spans)
        found.append(Constraint("document", doc_id, titles.get(doc_id, doc_id), words))

    taken = spans + [m.span() for m in quoted]

    def free(span: tuple[int, int]) -> bool:  # not inside the name of a document or a quoted phrase
        return not any(a <= span[0] < b for a, b in taken)

    seen: set[str] = set()
    countries = {d.country for d in documents}
    named = [(m.start(), "G7", "G7 texts", m.span()) for m in _G7.finditer(question) if g7_first]
    named += [
        (span[0], code, name, span)
        for code, name, span in country_names(question)
        if not _PRESIDENCY.search(question[max(0, span[0] - 20) : span[1] + 20])
    ]
    if g7_first and not named and not any(c.kind == "document" for c in found) and "G7" in countries:
        cue = next((m for m in _G7_TEXTS.finditer(question) if free(m.span())), None)
        if cue:
            named.append((cue.start(), "G7", "G7 texts", cue.span()))
    for _, code, name, span in sorted(named):
        if code not in seen and free(span):
            seen.add(code)
            found.append(Constraint("country", code, name, question[span[0] : span[1]], code in countries))
    for m in _YEAR.finditer(question):
        if not free(m.span()):
            continue
        word, year = (m.group(1) or "").lower(), m.group(2)
        value = f"since {year}" if word in ("since", "after", "from") else year
        value = (
            f"until {year}" if word in ("before", "until", "till", "by") or word.startswith("up") else value
        )
        if word == "after":
            value = f"since {int(year) + 1}"
        if word == "before":
            value = f"until {int(year) - 1}"
        indexed = any(_year_admits(value, y) for y in cat.years)
        found.append(Constraint("year", value, value, m.group().strip(), indexed))
    kinds = {d.type for d in documents}
    for pattern, kind, label in _KIND_WORDS:
        m = re.search(rf"\b{pattern}\b", question, re.I)
        if m and free(m.span()):
            found.append(Constraint("type", kind, label, m.group(), kind in kinds))
    keys = {c.key for c in found}
    return Understood(tuple(found), tuple(k for k in removed if k in keys))


def without(question: str, understood: Understood) -> str:
    """The question with the quotes of removed phrases taken off (their words stay)."""
    for c in understood.constraints:
        if c.kind == "phrase" and c.key in understood.removed:
            question = question.replace(c.words, c.value)
    return question


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
    index: Index, question: str, understood: Understood, filters: Filters, threshold: float, **options
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
