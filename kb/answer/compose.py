"""How an answer is written from its quotes: the passages numbered in the order the answer quotes
them, the quotes grouped by document with their markers, the notice for answers supported only
across languages, and the optional LLM's translations and checked fluent answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from kb.answer.quote import Highlight
from kb.config import Settings
from kb.index.store import Index
from kb.models import llm, llm_config
from kb.search.support import Support
from kb.text import analyzer, language
from kb.types import Hit

NO_ANSWER = "The indexed documents do not appear to address this question."
CROSS_LANGUAGE_NOTICE = (
    "The passages behind this answer are in {languages} and match the question by meaning only "
    "(their words cannot be compared with the question's): check that the quotes answer it."
)


@dataclass(frozen=True)
class CitedPassage:
    """A passage in the answer's list: its marker number, citation and highlighted sentences."""

    marker: int
    hit: Hit
    highlights: tuple[Highlight, ...] = ()
    # A national document's passage in the answer to a question about the G7's texts (its commitments,
    # the declaration, the leaders): evidence of carrying a commitment out, not a commitment.
    national_evidence: bool = False

    def to_dict(self) -> dict:
        h, p, d = self.hit, self.hit.passage, self.hit.document
        return {
            "marker": self.marker,
            "rank": h.rank,
            "id": p.id,
            "score": round(h.score, 6),
            "scores": {k: round(v, 6) for k, v in h.scores.items()},
            "citation": h.citation,
            "text": p.text,
            "document": {k: v for k, v in asdict(d).items() if k not in ("sha256", "listed")},
            "page": p.page,
            "page_end": p.page_end,
            "ocr": p.ocr,
            "paragraph": p.paragraph,
            "heading": p.heading,
            "start": p.start,
            "end": p.end,
            "highlights": [asdict(x) for x in self.highlights],
            "table": p.table,
            "caption": p.caption,
            "row": p.row,
            "cells": [list(c) for c in p.cells],
            "national_evidence": self.national_evidence,
        }


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of the composed answer: a verbatim quote and the marker of its passage."""

    text: str
    marker: int
    doc_id: str
    # A machine translation into the question's language (optional LLM), shown under text, never in its place.
    translation: str = ""


def cross_language_notice(hits: list[Hit], support: dict[str, float], rater: Support) -> str:
    """CROSS_LANGUAGE_NOTICE when only passages in other languages than the question support it
    (`support`: each passage's support, by passage id)."""
    supporting = [h for h in hits if support[h.passage.id] >= rater.ranking.abstain_below]
    if not supporting or not all(rater.by_meaning_only(h) for h in supporting):
        return ""
    names = sorted({language.name(h.document.language) for h in supporting})
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return CROSS_LANGUAGE_NOTICE.format(languages=listed)


def with_llm(index: Index, question: str, hits: list[Hit], extractive: str) -> tuple[str, dict]:
    """The LLM's checked answer, or the extractive one with a notice when the endpoint fails."""
    settings = index.settings
    try:
        checked = llm.check(llm.generate(settings, question, hits), hits)
    except llm.LLMError as exc:
        return extractive, {"notice": f"{exc}; showing the extractive answer instead."}
    unsupported = sum(1 for s in checked if not s.supported)
    notice = (
        f"{unsupported} sentence(s) of the generated answer are not supported by the cited passages "
        f"and are marked {llm.UNSUPPORTED}."
        if unsupported
        else ""
    )
    return llm.render(checked), {
        "generated_by": f"llm:{llm_config.name(settings)}",
        "notice": notice,
        "llm_sentences": [asdict(s) for s in checked],
    }


def numbered(cited: tuple[CitedPassage, ...]) -> tuple[CitedPassage, ...]:
    """The passages renumbered [1]…[n] in the order the answer quotes them (grouped by document, as
    `compose` writes them), then the passages it does not quote, in rank order."""
    quoting = [c for c in cited if c.highlights]
    first: dict[str, int] = {}
    for c in quoting:
        first.setdefault(c.hit.document.id, len(first))
    ordered = sorted(quoting, key=lambda c: first[c.hit.document.id]) + [c for c in cited if not c.highlights]
    return tuple(replace(c, marker=i) for i, c in enumerate(ordered, 1))


def compose(
    cited: tuple[CitedPassage, ...], sentences: tuple[AnswerSentence, ...] = (), model: str = ""
) -> str:
    """The answer text: quoted sentences grouped by document, each ending with its marker, and a
    sentence's machine translation (from `sentences`) on the line under it, marked as such."""
    translations = {(s.marker, s.text): s.translation for s in sentences if s.translation}
    by_doc: dict[str, list[str]] = {}
    titles: dict[str, str] = {}
    for c in cited:
        for x in c.highlights:
            titles[c.hit.document.id] = c.hit.document.cite_title
            lines = by_doc.setdefault(c.hit.document.id, [])
            lines.append(f"{x.text} [{c.marker}]")
            if translated := translations.get((c.marker, x.text)):
                lines.append(f"    {llm.translation_label(model)}: {translated}")
    return "\n\n".join(f"{titles[d]}:\n" + "\n".join(lines) for d, lines in by_doc.items())


def translated(
    settings: Settings,
    sentences: tuple[AnswerSentence, ...],
    cited: tuple[CitedPassage, ...],
    question_language: str,
) -> tuple[tuple[AnswerSentence, ...], str]:
    """The sentences, those in another language than the question with the LLM's translation into
    it; and a notice when the endpoint failed (the sentences are then returned untranslated)."""
    languages = {c.marker: c.hit.document.language for c in cited}
    foreign = [
        i for i, s in enumerate(sentences) if analyzer.other_language(languages[s.marker], question_language)
    ]
    if not foreign:
        return sentences, ""
    try:
        translated = llm.translate(
            settings, [sentences[i].text for i in foreign], language.name(question_language)
        )
    except llm.LLMError as exc:
        return sentences, f"No machine translation of the quotes: {exc}."
    out = list(sentences)
    for i, t in zip(foreign, translated, strict=True):
        out[i] = replace(sentences[i], translation=t)
    return tuple(out), ""
