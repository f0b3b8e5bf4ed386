"""Which sentences of the retrieved passages an answer quotes: the ones closest to the question in
meaning and words, and the one that gives the figure, date or name the question asks for."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kb.index.store import Index
from kb.models import embed
from kb.search import wanted
from kb.search.reading import Question
from kb.search.support import Support
from kb.types import Hit


@dataclass(frozen=True)
class Highlight:
    """A sentence of a passage that the answer quotes; offsets are within the passage text."""

    start: int
    end: int
    text: str
    score: float


def pick_sentences(
    index: Index, question: Question, focus: str, hits: list[Hit], rater: Support, supports: float
) -> dict[str, list[Highlight]]:
    """The sentences to quote, by passage id. `focus`: the question's words as the ranking embedded
    them (kb.search.retrieve.Retrieval.focus).

    Each sentence is scored by its cosine similarity to the question plus half its coverage of
    the question's terms (and `wanted_bonus` when it gives the figure, date or name asked for). First
    the best sentence of each document that supports an answer (`supports`: the support that takes;
    so that every such document is cited), then the best remaining sentences close to the
    top score; at most `sentences_per_passage` per passage and `sentences_per_answer` in all (RankingSettings).
    """
    candidates: list[tuple[Hit, int, int]] = []
    for h in hits:
        spans = h.passage.sentences or ((0, len(h.passage.text)),)
        candidates.extend((h, a, b) for a, b in spans if h.passage.text[a:b].strip())
    if not candidates:
        return {}
    texts = [h.passage.text[a:b] for h, a, b in candidates]
    ranking = index.settings.ranking
    known = ranking.sentence_coverage_weight * np.array([rater.coverage(t) for t in texts], dtype=np.float32)
    kind = question.wanted
    if kind:  # "how many ...?": the sentence with the figure, not the one that repeats the question
        terms = question.terms_in(rater.terms.language)
        known += ranking.wanted_bonus * np.array(
            [wanted.gives(kind, t, terms, c[0].document.language) for c, t in zip(candidates, texts)],
            dtype=np.float32,
        )
    supporting = dict.fromkeys(h.document.id for h in hits if rater(h) >= supports)
    embedded = _worth_embedding(candidates, known, supporting, ranking.sentences_embedded, index)
    qvec = embed.encode(index.settings, [focus], query=True)[0]
    scores = np.full(len(candidates), -np.inf, dtype=np.float32)
    scores[embedded] = (
        embed.comparable(index.settings, embed.encode(index.settings, [texts[i] for i in embedded]) @ qvec)
        + known[embedded]
    )
    order = [int(i) for i in np.argsort(-scores)]
    chosen: dict[str, list[Highlight]] = {}

    def count() -> int:
        return sum(len(x) for x in chosen.values())

    def take(i: int) -> None:
        h, a, b = candidates[i]
        chosen.setdefault(h.passage.id, []).append(Highlight(a, b, h.passage.text[a:b], float(scores[i])))

    for doc_id in supporting:
        if count() >= ranking.sentences_per_answer:
            break
        take(next(i for i in order if candidates[i][0].document.id == doc_id))
    best = float(scores[order[0]])
    for i in order:
        if count() >= ranking.sentences_per_answer or scores[i] < best - ranking.sentence_margin:
            break
        h, a, _ = candidates[i]
        mine = chosen.get(h.passage.id, [])
        if len(mine) < ranking.sentences_per_passage and all(x.start != a for x in mine):
            take(i)
    for mine in chosen.values():
        mine.sort(key=lambda x: x.start)
    return chosen


def _worth_embedding(
    candidates: list[tuple[Hit, int, int]], known: np.ndarray, supporting: dict, n: int, index: Index
) -> list[int]:
    """The candidates the model scores: all when n is 0; else the n best by what is known without it
    (the passage's cosine to the question, on the sentences' scale, plus `known`), and the best of
    each supporting document that has none among them, so that every such document is still quoted."""
    if not n or n >= len(candidates):
        return list(range(len(candidates)))
    passage = embed.comparable(
        index.settings, np.array([h.scores.get("dense", 0.0) for h, _, _ in candidates], dtype=np.float32)
    )
    order = [int(i) for i in np.argsort(-(passage + known), kind="stable")]
    keep = dict.fromkeys(order[:n])
    have = {candidates[i][0].document.id for i in keep}
    for doc_id in supporting:
        if doc_id not in have:
            keep[next(i for i in order if candidates[i][0].document.id == doc_id)] = None
    return sorted(keep)
