"""How well a passage supports an answer to a question: what abstention is measured by (kb.answer.ask
compares it with ABSTAIN_BELOW) and what the answer's passages and quoted sentences are chosen by."""

from __future__ import annotations

from kb.config import Settings
from kb.index import lexical
from kb.models import e5
from kb.text import analyzer
from kb.types import Document, Hit

# A passage in another language than the question shares none of its words, so the share of the
# question's terms it contains says nothing; it is counted as this share instead (e5 only: it is the
# model that matches across languages). Measured on the multilingual suite (evals/README.md,
# "Abstention across languages"): cosine alone does not separate answerable from unanswerable
# cross-language questions (on MiniLM's scale, 0.23-0.48 for English questions answered by a French,
# German, Italian or Japanese passage; 0.21-0.43 for unanswerable ones about the same reports), so
# no value serves both: at 0.40 it refused 24 of 44 answerable questions and answered 3 of 13
# unanswerable ones, at 0.55 4 of 44 and 9 of 13. It answers (0.55), and such an answer carries
# CROSS_LANGUAGE_NOTICE so that the reader checks the quotes.
CROSS_LANGUAGE_COVERAGE = 0.55


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
            return hit.scores.get("dense", 0.0) + CROSS_LANGUAGE_COVERAGE
        text = lexical.lexical_text(hit.passage.text, hit.passage.heading)
        return hit.scores.get("dense", 0.0) + self.coverage(text, hit.document)
