"""Cited answers: sentences taken verbatim from the top passages, each with its citation marker.

No LLM is needed: the answer is extractive. The most relevant sentences of the retrieved
passages (scored with the same embedding model) are quoted exactly, grouped by document, and
each is followed by [n], the number of its passage in the list below. When the evidence is
weak the answer abstains and the passages are shown as the closest ones.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace

from kb.answer.quote import Highlight, pick_sentences
from kb.config import Settings
from kb.index import lexical
from kb.index.store import Index
from kb.models import llm, llm_config
from kb.search import spelling
from kb.search.query import Filters
from kb.search.support import Support
from kb.search.understand import Understood, narrowed_first, understand, without
from kb.text import analyzer, language
from kb.types import Hit

# Calibrated on the evaluation suites (see evals/README.md, "Abstention threshold"). The dense part
# of the evidence is on MiniLM's scale for every model (kb.models.embed.comparable), so one threshold serves:
# on the main suite (e5 in ONNX Runtime) every threshold from 0.806 to 0.915 gives the fewest false
# abstentions and false answers (e5: 0.056 / 0.154; MiniLM to 0.85: 0.056 / 0.231); 0.81 is its low
# end, answering when in doubt ("What is the G7 position on sanctions against smugglers?": 0.817).
ABSTAIN_BELOW = 0.81
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


@dataclass(frozen=True)
class Answer:
    """Everything the CLI, the app and the evaluation harness show about one question."""

    question: str
    mode: str
    filters: dict
    text: str
    abstained: bool
    sentences: tuple[AnswerSentence, ...]
    passages: tuple[CitedPassage, ...]
    scoped_to: tuple[str, ...] = ()
    # The question with its misspelled words corrected, as it was searched ("" when none was).
    searched_for: str = ""
    corrections: tuple[tuple[str, str], ...] = ()  # (as typed, as searched)
    understood: Understood = field(default_factory=Understood)  # the constraints read from the question
    notice: str = ""
    evidence: float = 0.0  # support for an answer (see Support); below ABSTAIN_BELOW the answer abstains
    latency_ms: float = 0.0
    generated_by: str = "extractive"
    extra: dict = field(default_factory=dict)
    # For a question that asks for commitments: the tracker's rows behind the G7 passages quoted
    # (kb.commitments.asked; dicts of key, id, text, citation, strength, lineage, evidence countries).
    commitments: tuple[dict, ...] = ()

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "mode": self.mode,
            "filters": self.filters,
            "answer": self.text,
            "abstained": self.abstained,
            "generated_by": self.generated_by,
            "notice": self.notice,
            "evidence": round(self.evidence, 4),
            "scoped_to": list(self.scoped_to),
            "searched_for": self.searched_for,
            "corrections": [{"typed": a, "searched": b} for a, b in self.corrections],
            "understood": self.understood.to_dict(),
            "sentences": [asdict(s) for s in self.sentences],
            "passages": [p.to_dict() for p in self.passages],
            "commitments": list(self.commitments),
            "latency_ms": round(self.latency_ms, 1),
            **self.extra,
        }


def ask(
    index: Index,
    question: str,
    mode: str = "hybrid",
    k: int = 5,
    filters: Filters | None = None,
    answer: bool = True,
    max_per_doc: int | None = None,
    mmr: float | None = None,
    removed: tuple[str, ...] = (),
) -> Answer:
    """Retrieve passages for a question and, unless answer=False, compose a cited answer.

    The one entry point that the CLI, the app and the evaluation harness call. With
    answer=False the passages are the plain ranking (what `kb search` shows). With an answer,
    a document that addresses the question but has no passage in the top k gets its best
    passage in place of a lower-ranked repeat passage of another document, so that the
    answer cites each document that addresses the question.

    The countries, years and kinds of document the question states (kb.search.understand) restrict the
    search first; `removed` lists the keys of constraints the user took away ("country:FRA").
    """
    started = time.perf_counter()
    filters = filters or Filters()
    pool = k if not answer else max(3 * k, 15)
    spelled = spelling.correct(question, lexical.load(index.dir))
    index.refresh()
    understood = understand(spelled.question, index.documents(), removed)
    found, narrowing = narrowed_first(
        index,
        without(spelled.question, understood),
        understood,
        filters,
        ABSTAIN_BELOW,
        mode=mode,
        k=pool,
        max_per_doc=max_per_doc,
        mmr=mmr,
        scope=not any(key.startswith("document:") for key in understood.removed),
    )
    rater = Support(found.terms, index.settings)
    hits = found.hits[:k] if not answer else _diversify(found.hits, k, rater)
    support = {h.passage.id: rater(h) for h in hits[:3]}
    evidence = max(support.values(), default=0.0)
    abstained = evidence < ABSTAIN_BELOW
    common = {
        "evidence": evidence,
        "scoped_to": found.query.scoped_to,
        "searched_for": spelled.question if spelled.changes else "",
        "corrections": spelled.changes,
        "understood": understood,
    }
    if not answer:
        cited = tuple(CitedPassage(h.rank, h) for h in hits)
        elapsed = (time.perf_counter() - started) * 1000
        return Answer(
            question,
            mode,
            _filters_dict(filters),
            "",
            abstained,
            (),
            cited,
            latency_ms=elapsed,
            generated_by="none",
            notice=narrowing,
            **common,
        )
    picked = {} if abstained else pick_sentences(index, found.focus, hits, rater, ABSTAIN_BELOW)
    about_g7 = any(c.value == "G7" for c in understood.active("country"))
    cited = numbered(
        tuple(
            CitedPassage(
                h.rank, h, tuple(picked.get(h.passage.id, ())), about_g7 and h.document.country != "G7"
            )
            for h in hits
        )
    )
    sentences = tuple(
        AnswerSentence(x.text, c.marker, c.hit.document.id) for c in cited for x in c.highlights
    )
    notices = [narrowing] + ([_cross_language_notice(hits[:3], support, rater)] if sentences else [])
    llm_configured = llm_config.configured(index.settings)
    if llm_configured and sentences:
        sentences, problem = _translated(index.settings, sentences, cited, rater.terms.language)
        notices.append(problem)
    text = (
        NO_ANSWER
        if abstained or not sentences
        else compose(cited, sentences, llm_config.name(index.settings))
    )
    extra: dict = {}
    if llm_configured and sentences:
        text, extra = _with_llm(index, spelled.question, hits, text)
        if any(s.translation for s in sentences):
            extra["translated_by"] = llm_config.name(index.settings)
    elapsed = (time.perf_counter() - started) * 1000
    return Answer(
        question,
        mode,
        _filters_dict(filters),
        text,
        abstained or not sentences,
        sentences,
        cited,
        latency_ms=elapsed,
        generated_by=extra.pop("generated_by", "extractive"),
        notice=" ".join(x for x in (*notices, extra.pop("notice", "")) if x),
        extra=extra,
        **common,
    )


def _cross_language_notice(hits: list[Hit], support: dict[str, float], rater: Support) -> str:
    """CROSS_LANGUAGE_NOTICE when only passages in other languages than the question support it
    (`support`: each passage's support, by passage id)."""
    supporting = [h for h in hits if support[h.passage.id] >= ABSTAIN_BELOW]
    if not supporting or not all(rater.by_meaning_only(h) for h in supporting):
        return ""
    names = sorted({language.name(h.document.language) for h in supporting})
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return CROSS_LANGUAGE_NOTICE.format(languages=listed)


def _with_llm(index: Index, question: str, hits: list[Hit], extractive: str) -> tuple[str, dict]:
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


def _diversify(hits: list[Hit], k: int, rater: Support) -> list[Hit]:
    """The top k, with the best passage of each further document that supports an answer
    swapped in for the lowest-ranked repeat passages of other documents."""
    top = list(hits[:k])
    shown = {h.document.id for h in top}
    for h in hits[k:]:
        if h.document.id in shown or rater(h) < ABSTAIN_BELOW:
            continue
        counts: dict[str, int] = {}
        for x in top:
            counts[x.document.id] = counts.get(x.document.id, 0) + 1
        repeats = [i for i, x in enumerate(top) if counts[x.document.id] > 1]
        if not repeats:
            break
        top[repeats[-1]] = h
        shown.add(h.document.id)
    top.sort(key=lambda h: h.rank)
    return [replace(h, rank=i) for i, h in enumerate(top, start=1)]


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


def _translated(
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


def _filters_dict(filters: Filters) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(filters).items() if v}
