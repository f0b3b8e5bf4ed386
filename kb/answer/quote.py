"""Which sentences of the retrieved passages an answer quotes: the ones closest to the question in
meaning and words, and the one that gives the figure, date or name the question asks for."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kb.index.store import Index
from kb.models import embed
from kb.search import wanted
from kb.search.support import Support
from kb.text import analyzer
from kb.types import Hit

SENTENCES_PER_ANSWER = 4
SENTENCES_PER_PASSAGE = 2
# Added to a sentence's score (cosine + half its coverage) when it gives the figure, date or name the
# question asks for (kb.search.wanted). The main suite's checks c21-c34 (a figure, date or name asked for,
# the answer must quote it): 13/14 without it, and with 0.1, 0.15 and 0.25 (the figure's sentence
# of c29 is far from the question in meaning: cosine 0.29 against 0.65); 14/14 with 0.3 and 0.4.
WANTED_BONUS = 0.3


@dataclass(frozen=True)
class Highlight:
    """A sentence of a passage that the answer quotes; offsets are within the passage text."""

    start: int
    end: int
    text: str
    score: float


def pick_sentences(
    index: Index, question: str, hits: list[Hit], rater: Support, supports: float
) -> dict[str, list[Highlight]]:
    """The sentences to quote, by passage id.

    Each sentence is scored by its cosine similarity to the question plus half its coverage of
    the question's terms (and WANTED_BONUS when it gives the figure, date or name asked for). First
    the best sentence of each document that supports an answer (`supports`: the support that takes;
    so that every such document is cited), then the best remaining sentences close to the
    top score; at most SENTENCES_PER_PASSAGE per passage and SENTENCES_PER_ANSWER in all.
    """
    candidates: list[tuple[Hit, int, int]] = []
    for h in hits:
        spans = h.passage.sentences or ((0, len(h.passage.text)),)
        candidates.extend((h, a, b) for a, b in spans if h.passage.text[a:b].strip())
    if not candidates:
        return {}
    texts = [h.passage.text[a:b] for h, a, b in candidates]
    qvec = embed.encode(index.settings, [question], query=True)[0]
    scores = embed.comparable(index.settings, embed.encode(index.settings, texts) @ qvec) + 0.5 * np.array(
        [rater.coverage(t) for t in texts], dtype=np.float32
    )
    kind = wanted.asked_for(question)
    if kind:  # "how many ...?": the sentence with the figure, not the one that repeats the question
        terms = {t for t in analyzer.analyze(question, rater.terms.language) if not t.isdigit()}
        scores += WANTED_BONUS * np.array(
            [wanted.gives(kind, t, terms, c[0].document.language) for c, t in zip(candidates, texts)],
            dtype=np.float32,
        )
    order = [int(i) for i in np.argsort(-scores)]
    chosen: dict[str, list[Highlight]] = {}

    def count() -> int:
        return sum(len(x) for x in chosen.values())

    def take(i: int) -> None:
        h, a, b = candidates[i]
        chosen.setdefault(h.passage.id, []).append(Highlight(a, b, h.passage.text[a:b], float(scores[i])))

    supporting = dict.fromkeys(h.document.id for h in hits if rater(h) >= supports)
    for doc_id in supporting:
        if count() >= SENTENCES_PER_ANSWER:
            break
        take(next(i for i in order if candidates[i][0].document.id == doc_id))
    best = float(scores[order[0]])
    for i in order:
        if count() >= SENTENCES_PER_ANSWER or scores[i] < best - 0.15:
            break
        h, a, _ = candidates[i]
        mine = chosen.get(h.passage.id, [])
        if len(mine) < SENTENCES_PER_PASSAGE and all(x.start != a for x in mine):
            take(i)
    for mine in chosen.values():
        mine.sort(key=lambda x: x.start)
    return chosen
