"""Cited answers: sentences taken verbatim from the top passages, each with its citation marker.

No LLM is needed: the answer is extractive. The most relevant sentences of the retrieved
passages (scored with the same embedding model) are quoted exactly, grouped by document, and
each is followed by [n], the number of its passage in the list below. When the evidence is
weak the answer abstains and the passages are shown as the closest ones.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace

from kb.answer.compose import (
    NO_ANSWER,
    AnswerSentence,
    CitedPassage,
    compose,
    cross_language_notice,
    numbered,
    translated,
    with_llm,
)
from kb.answer.quote import pick_sentences
from kb.config import RankingSettings
from kb.index import lexical
from kb.index.store import Index
from kb.models import llm_config
from kb.search import spelling
from kb.search.query import Filters
from kb.search.reading import Question, read
from kb.search.retrieve import Retrieval
from kb.search.support import Support
from kb.search.understand import Understood, narrowed_first, understand, without
from kb.types import Hit


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
    asks_commitments: bool = False  # the question asks which commitments cover something
    notice: str = ""
    evidence: float = (
        0.0  # support for an answer (see Support); below RankingSettings.abstain_below the answer abstains
    )
    latency_ms: float = 0.0
    # Milliseconds of each stage: understand, retrieve, decide, pick, compose (kb bench reports them).
    stages_ms: dict = field(default_factory=dict)
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
            "stages_ms": {stage: round(ms, 1) for stage, ms in self.stages_ms.items()},
            **self.extra,
        }


@dataclass(frozen=True)
class Reading:
    """Stage 1, understand: the question as typed, with its misspelled words corrected, and the
    constraints read from it (countries, years, kinds of document, quoted phrases)."""

    asked: str
    spelled: spelling.Spelling
    question: Question  # the spelled question, read once (kb.search.reading)
    understood: Understood


@dataclass(frozen=True)
class Found:
    """Stage 2, retrieve: the passages in the order the answer lists them, the retrieval they came
    from, how well each supports an answer (`rater`), and the notice of a narrowed search."""

    retrieval: Retrieval
    hits: list[Hit]
    rater: Support
    notice: str


@dataclass(frozen=True)
class Verdict:
    """Stage 3, decide: the support of the top passages and whether the answer abstains."""

    support: dict[str, float]
    evidence: float
    abstained: bool


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

    The one entry point that the CLI, the app and the evaluation harness call, in five stages:
    understand → retrieve → decide (abstain or not) → pick the sentences to quote → compose. With
    answer=False the passages are the plain ranking (what `kb search` shows). With an answer,
    a document that addresses the question but has no passage in the top k gets its best
    passage in place of a lower-ranked repeat passage of another document, so that the
    answer cites each document that addresses the question.

    The countries, years and kinds of document the question states (kb.search.understand) restrict the
    search first; `removed` lists the keys of constraints the user took away ("country:FRA").
    """
    started = time.perf_counter()
    clock = _Clock(started)
    filters = filters or Filters()
    reading = clock.lap("understand", understand_question(index, question, removed))
    found = clock.lap(
        "retrieve", retrieve_passages(index, reading, filters, mode, k, answer, max_per_doc, mmr)
    )
    verdict = clock.lap("decide", decide(found, index.settings.ranking))
    if not answer:
        cited = tuple(CitedPassage(h.rank, h) for h in found.hits)
        done = _answer(reading, mode, filters, found, verdict, started, cited=cited, generated_by="none")
        return replace(done, stages_ms=clock.ms)
    cited, sentences = clock.lap("pick", pick(index, reading, found, verdict))
    done = clock.lap(
        "compose", compose_answer(index, reading, mode, filters, found, verdict, cited, sentences, started)
    )
    return replace(done, stages_ms=clock.ms)


class _Clock:
    """The milliseconds of each stage of one answer."""

    def __init__(self, started: float):
        self.last, self.ms = started, {}

    def lap(self, stage: str, result):
        now = time.perf_counter()
        self.ms[stage] = (now - self.last) * 1000
        self.last = now
        return result


def understand_question(index: Index, question: str, removed: tuple[str, ...] = ()) -> Reading:
    """Stage 1: the question's spelling corrected against the index's words, then its constraints."""
    ranking = index.settings.ranking
    spelled = spelling.correct(question, lexical.load(index.dir), ranking)
    index.refresh()
    documents = index.documents()
    read_ = read(spelled.question, documents)
    return Reading(question, spelled, read_, understand(read_, documents, removed, ranking))


def retrieve_passages(
    index: Index,
    reading: Reading,
    filters: Filters,
    mode: str,
    k: int,
    answer: bool,
    max_per_doc: int | None,
    mmr: float | None,
) -> Found:
    """Stage 2: the retrieval (the stated constraints first, kb.search.understand.narrowed_first),
    cut to k passages; for an answer, with each further supporting document swapped in."""
    understood = reading.understood
    retrieval, notice = narrowed_first(
        index,
        without(reading.question, understood),
        understood,
        filters,
        index.settings.ranking.abstain_below,
        mode=mode,
        k=k if not answer else max(3 * k, 15),
        max_per_doc=max_per_doc,
        mmr=mmr,
        scope=not any(key.startswith("document:") for key in understood.removed),
    )
    rater = Support(retrieval.terms, index.settings)
    hits = retrieval.hits[:k] if not answer else _diversify(retrieval.hits, k, rater)
    return Found(retrieval, hits, rater, notice)


def decide(found: Found, ranking: RankingSettings) -> Verdict:
    """Stage 3: the evidence is the best support among the top three passages; below
    `abstain_below` the answer abstains."""
    support = {h.passage.id: found.rater(h) for h in found.hits[:3]}
    evidence = max(support.values(), default=0.0)
    return Verdict(support, evidence, evidence < ranking.abstain_below)


def pick(
    index: Index, reading: Reading, found: Found, verdict: Verdict
) -> tuple[tuple[CitedPassage, ...], tuple[AnswerSentence, ...]]:
    """Stage 4: the sentences to quote (none when the answer abstains), the passages numbered in the
    order the answer quotes them."""
    hits, rater = found.hits, found.rater
    threshold = index.settings.ranking.abstain_below
    picked = (
        {}
        if verdict.abstained
        else pick_sentences(index, reading.question, found.retrieval.focus, hits, rater, threshold)
    )
    about_g7 = any(c.value == "G7" for c in reading.understood.active("country"))
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
    return cited, sentences


def compose_answer(
    index: Index,
    reading: Reading,
    mode: str,
    filters: Filters,
    found: Found,
    verdict: Verdict,
    cited: tuple[CitedPassage, ...],
    sentences: tuple[AnswerSentence, ...],
    started: float,
) -> Answer:
    """Stage 5: the answer text (the quotes grouped by document, or NO_ANSWER), with the optional
    LLM's translations and checked fluent answer, and the notices the reader needs."""
    settings = index.settings
    notices = [found.notice]
    if sentences:
        notices.append(cross_language_notice(found.hits[:3], verdict.support, found.rater))
    llm_configured = llm_config.configured(settings)
    if llm_configured and sentences:
        sentences, problem = translated(settings, sentences, cited, found.rater.terms.language)
        notices.append(problem)
    text = (
        NO_ANSWER
        if verdict.abstained or not sentences
        else compose(cited, sentences, llm_config.name(settings))
    )
    extra: dict = {}
    if llm_configured and sentences:
        text, extra = with_llm(index, reading.spelled.question, found.hits, text)
        if any(s.translation for s in sentences):
            extra["translated_by"] = llm_config.name(settings)
    notices.append(extra.pop("notice", ""))
    return _answer(
        reading,
        mode,
        filters,
        found,
        verdict,
        started,
        cited=cited,
        text=text,
        abstained=verdict.abstained or not sentences,
        sentences=sentences,
        generated_by=extra.pop("generated_by", "extractive"),
        notices=notices,
        extra=extra,
    )


def _answer(
    reading: Reading,
    mode: str,
    filters: Filters,
    found: Found,
    verdict: Verdict,
    started: float,
    *,
    cited: tuple[CitedPassage, ...],
    generated_by: str,
    text: str = "",
    abstained: bool | None = None,
    sentences: tuple[AnswerSentence, ...] = (),
    notices: list[str] | None = None,
    extra: dict | None = None,
) -> Answer:
    """The one place an Answer is built from the stages' results."""
    spelled = reading.spelled
    return Answer(
        question=reading.asked,
        mode=mode,
        filters=_filters_dict(filters),
        text=text,
        abstained=verdict.abstained if abstained is None else abstained,
        sentences=sentences,
        passages=cited,
        scoped_to=found.retrieval.query.scoped_to,
        searched_for=spelled.question if spelled.changes else "",
        corrections=spelled.changes,
        understood=reading.understood,
        asks_commitments=reading.question.asks_commitments,
        notice=" ".join(x for x in (notices if notices is not None else [found.notice]) if x),
        evidence=verdict.evidence,
        latency_ms=(time.perf_counter() - started) * 1000,
        generated_by=generated_by,
        extra=extra or {},
    )


def _diversify(hits: list[Hit], k: int, rater: Support) -> list[Hit]:
    """The top k, with the best passage of each further document that supports an answer
    swapped in for the lowest-ranked repeat passages of other documents."""
    top = list(hits[:k])
    shown = {h.document.id for h in top}
    for h in hits[k:]:
        if h.document.id in shown or rater(h) < rater.ranking.abstain_below:
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


def _filters_dict(filters: Filters) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(filters).items() if v}
