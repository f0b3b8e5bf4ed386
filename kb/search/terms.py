"""A question's terms as the lexical side reads them: its content terms (without the words of
asking), in its own language and, over a snapshot of several languages, in the others where some
passage has them; and weighted by rarity, for measuring how much of the question a passage covers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from kb.index.lexical import Snapshot
from kb.search.reading import Question
from kb.text.analyzer import analyze, question_language, terms

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
    return frozenset(analyze(_ASKING, "en"))


def content_terms(question: str, fallback: bool = True, snapshot: Snapshot | None = None) -> list[str]:
    """A question's terms without the words of asking; all its terms if nothing else is left
    (none with fallback=False).

    Over a snapshot of several languages the question is analysed in each: in its own language
    (`question_language`) every term counts, as for one language; the other analyses add only the
    terms that some passage contains (a German stem of an English word that no passage has would
    otherwise count as a rare term the answer lacks)."""
    languages = snapshot.languages if snapshot is not None else ("en",)
    own = question_language(question)
    all_terms = analyze(question, own)
    if snapshot is not None and set(languages) - {own}:
        others = (t for lang in languages if lang != own for t in analyze(question, lang))
        all_terms = list(dict.fromkeys([*all_terms, *(t for t in others if snapshot.doc_freq.get(t, 0))]))
    return [t for t in all_terms if t not in _asking()] or (all_terms if fallback else [])


@dataclass(frozen=True)
class QuestionTerms:
    """A question's content terms weighted by rarity (idf), for measuring how much of the
    question a passage covers. A statement rarely names its own country or year: its document's
    metadata does, so a country or year the question names counts as present in that document."""

    weights: dict[str, float]
    countries: dict[str, str]  # term → country code ("italian" → "ITA")
    years: frozenset[str]
    language: str = "en"  # the language the question is written in, among the index's (question_language)

    @classmethod
    def of(cls, question: Question, text: str, snapshot: Snapshot | None) -> QuestionTerms:
        """The terms of `text`, the question's words as retrieval matches them (Query.asked)."""
        terms_ = set(content_terms(text, snapshot=snapshot))
        if snapshot is not None:
            terms_ = {snapshot.form(t) for t in terms_}
        weights = {t: snapshot.idf(t) for t in terms_} if snapshot is not None else {}
        countries = {
            t: p.value for p in question.places for t in terms(question.words(p.span)) if t in terms_
        }
        years = frozenset(t for t in terms_ if re.fullmatch(r"(19|20)\d\d", t))
        return cls(weights, countries, years, question_language(text))

    @property
    def total(self) -> float:
        return sum(self.weights.values())

    def coverage(self, have: set[str], country: str = "", date: str = "") -> float:
        """The rarity-weighted share (0–1) of the terms in `have`, or named by the document's
        country and date."""
        if not self.total:
            return 0.0
        have = have | {t for t, code in self.countries.items() if code == country}
        have |= {t for t in self.years if date.startswith(t)}
        return sum(w for t, w in self.weights.items() if t in have) / self.total
