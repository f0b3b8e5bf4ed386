"""How well a passage supports an answer to a question: what abstention is measured by (kb.answer.ask
compares it with RankingSettings.abstain_below) and what the answer's passages and quoted sentences are chosen by."""

from __future__ import annotations

from kb.config import Settings
from kb.index import lexical
from kb.models import e5
from kb.text import analyzer
from kb.types import Document, Hit


class Support:
    """How well a passage supports an answer to a question: its cosine similarity to the
    question plus the share of the question's terms, weighted by rarity, that it contains.

    Cosine alone rates a passage on a neighbouring topic highly ("sanctions on Russia" against
    a passage on sanctions against smugglers); requiring the question's distinctive terms too
    separates answerable from unanswerable questions far better on the evaluation suites
    (evals/README.md, "Abstention").
    """

    def __init__(self, terms: lexical.QuestionTerms, settings: Settings):
        self.terms = terms
        self.across_languages = e5.wanted(settings.embed_model)
        self.ranking = settings.ranking

    def coverage(self, text: str, document: Document | None = None) -> float:
        """The rarity-weighted share of the question's terms that occur in a text (0–1); a
        country or year the question names counts as present when it is the document's own."""
        if not self.terms.total:
            return 0.0
        have = set(analyzer.analyze(text, document.language if document is not None else "en"))
        if document is None:
            return self.terms.coverage(have)
        return self.terms.coverage(have, document.country, document.date)

    def by_meaning_only(self, hit: Hit) -> bool:
        """Whether a passage's support rests on its meaning alone: it is in another language."""
        return self.across_languages and analyzer.other_language(hit.document.language, self.terms.language)

    def __call__(self, hit: Hit) -> float:
        if self.by_meaning_only(hit):
            return hit.scores.get("dense", 0.0) + self.ranking.cross_language_coverage
        text = lexical.lexical_text(hit.passage.text, hit.passage.heading)
        return hit.scores.get("dense", 0.0) + self.coverage(text, hit.document)
