"""Cited answers: sentences taken verbatim from the top passages, each with its citation marker.

No LLM is needed: the answer is extractive. The most relevant sentences of the retrieved
passages (scored with the same embedding model) are quoted exactly, grouped by document, and
each is followed by [n], the number of its passage in the list below. When the evidence is
weak the answer abstains and the passages are shown as the closest ones.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np

from kb import embed
from kb.retrieve import Filters, search
from kb.store import Index
from kb.types import Hit

# Calibrated on the evaluation suites (see evals/README.md, "Abstention threshold").
ABSTAIN_BELOW = 0.42
SENTENCES_PER_ANSWER = 4
SENTENCES_PER_PASSAGE = 2
NO_ANSWER = "The indexed documents do not appear to address this question."


@dataclass(frozen=True)
class Highlight:
    """A sentence of a passage that the answer quotes; offsets are within the passage text."""

    start: int
    end: int
    text: str
    score: float


@dataclass(frozen=True)
class CitedPassage:
    """A passage in the answer's list: its marker number, citation and highlighted sentences."""

    marker: int
    hit: Hit
    highlights: tuple[Highlight, ...] = ()

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
            "paragraph": p.paragraph,
            "heading": p.heading,
            "start": p.start,
            "end": p.end,
            "highlights": [asdict(x) for x in self.highlights],
        }


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of the composed answer: a verbatim quote and the marker of its passage."""

    text: str
    marker: int
    doc_id: str


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
    notice: str = ""
    evidence: float = 0.0  # best cosine similarity between the question and a passage
    latency_ms: float = 0.0
    generated_by: str = "extractive"
    extra: dict = field(default_factory=dict)

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
            "sentences": [asdict(s) for s in self.sentences],
            "passages": [p.to_dict() for p in self.passages],
            "latency_ms": round(self.latency_ms, 1),
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
) -> Answer:
    """Retrieve passages for a question and, unless answer=False, compose a cited answer.

    The one entry point that the CLI, the app and the evaluation harness call.
    """
    started = time.perf_counter()
    filters = filters or Filters()
    hits = search(index, question, mode=mode, k=k, filters=filters, max_per_doc=max_per_doc, mmr=mmr)
    evidence = max((h.scores.get("dense", 0.0) for h in hits), default=0.0)
    abstained = evidence < ABSTAIN_BELOW
    if not answer:
        cited = tuple(CitedPassage(h.rank, h) for h in hits)
        return Answer(
            question,
            mode,
            _filters_dict(filters),
            "",
            abstained,
            (),
            cited,
            evidence=evidence,
            latency_ms=(time.perf_counter() - started) * 1000,
            generated_by="none",
        )
    picked = {} if abstained else pick_sentences(index, question, hits)
    cited = tuple(CitedPassage(h.rank, h, tuple(picked.get(h.passage.id, ()))) for h in hits)
    sentences = tuple(
        AnswerSentence(x.text, c.marker, c.hit.document.id) for c in cited for x in c.highlights
    )
    text = NO_ANSWER if abstained or not sentences else compose(cited)
    return Answer(
        question,
        mode,
        _filters_dict(filters),
        text,
        abstained or not sentences,
        sentences,
        cited,
        evidence=evidence,
        latency_ms=(time.perf_counter() - started) * 1000,
    )


def pick_sentences(index: Index, question: str, hits: list[Hit]) -> dict[str, list[Highlight]]:
    """The sentences to quote, by passage id: the best one or two per passage, at most
    SENTENCES_PER_ANSWER overall, and only those close in relevance to the best sentence."""
    candidates: list[tuple[Hit, int, int]] = []
    for h in hits:
        spans = h.passage.sentences or ((0, len(h.passage.text)),)
        candidates.extend((h, a, b) for a, b in spans if h.passage.text[a:b].strip())
    if not candidates:
        return {}
    settings = index.settings
    vectors = embed.encode(settings, [question] + [h.passage.text[a:b] for h, a, b in candidates])
    sims = vectors[1:] @ vectors[0]
    # A sentence's relevance also depends on its passage's: a strong sentence in a weak passage
    # is often a generic line ("We will continue our efforts.").
    passage_sim = np.array([h.scores.get("dense", 0.0) for h, _, _ in candidates], dtype=np.float32)
    scores = 0.7 * sims + 0.3 * passage_sim
    best = float(scores.max())
    chosen: dict[str, list[Highlight]] = {}
    total = 0
    for i in np.argsort(-scores):
        h, a, b = candidates[i]
        if total >= SENTENCES_PER_ANSWER or scores[i] < best - 0.12:
            break
        mine = chosen.setdefault(h.passage.id, [])
        if len(mine) >= SENTENCES_PER_PASSAGE:
            continue
        mine.append(Highlight(a, b, h.passage.text[a:b], float(scores[i])))
        total += 1
    for mine in chosen.values():
        mine.sort(key=lambda x: x.start)
    return chosen


def compose(cited: tuple[CitedPassage, ...]) -> str:
    """The answer text: quoted sentences grouped by document, each ending with its marker."""
    by_doc: dict[str, list[str]] = {}
    titles: dict[str, str] = {}
    for c in cited:
        for x in c.highlights:
            titles[c.hit.document.id] = c.hit.document.cite_title
            by_doc.setdefault(c.hit.document.id, []).append(f"{x.text} [{c.marker}]")
    return "\n\n".join(f"{titles[d]}:\n" + "\n".join(lines) for d, lines in by_doc.items())


def _filters_dict(filters: Filters) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(filters).items() if v}
