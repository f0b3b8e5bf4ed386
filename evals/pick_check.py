"""How much the quoted sentences change when an answer embeds only some of its candidate sentences
(RankingSettings.sentences_embedded) instead of all of them.

    python -m evals.pick_check evals/suites/g7-smuggling.yaml 6,8,10

Every answerable question of the suite is answered once as the settings stand, recording what
kb.answer.quote.pick_sentences was given; then the same inputs are picked from with each number of
sentences embedded, and with all of them (0). Per number: how many answers quote exactly the same
sentences, and, for the others, how the best quoted sentence's cosine to the question (on MiniLM's
scale, kb.models.embed.comparable) and the mean cosine of the quotes compare with embedding all.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from kb.answer import ask as ask_mod
from kb.answer import quote
from kb.api import AskRequest
from kb.config import Settings
from kb.evaluate import corpus as corpus_mod
from kb.evaluate import suite as suite_mod
from kb.models import embed


def _picked(index, settings, call) -> dict:
    index.settings = settings
    try:
        return quote.pick_sentences(*call)
    finally:
        index.settings = settings


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.pick_check", description=__doc__.split("\n\n")[0])
    ap.add_argument("suite", type=Path)
    ap.add_argument("numbers", help="comma-separated numbers of sentences embedded, e.g. 6,8,10")
    args = ap.parse_args(argv)
    suite = suite_mod.load(args.suite)
    library, _ = corpus_mod.index_for(suite.corpus, Settings.from_env(), corpus_mod.DEFAULT_CACHE)
    index = library.index()
    base = index.settings
    calls = []
    pick = ask_mod.pick_sentences

    def record(*call):
        calls.append(call)
        return pick(*call)

    ask_mod.pick_sentences = record  # a measurement harness: restored below
    try:
        for q in suite.queries:
            if q.answerable:
                library.answer(AskRequest(q.question, "hybrid", library.settings.top_k, q.filters))
    finally:
        ask_mod.pick_sentences = pick

    def cosines(call, picked) -> np.ndarray:
        texts = [x.text for xs in picked.values() for x in xs]
        qvec = embed.encode(base, [call[2]], query=True)[0]
        return embed.comparable(base, embed.encode(base, texts) @ qvec) if texts else np.zeros(0)

    def where(picked) -> list:
        return sorted((pid, x.start) for pid, xs in picked.items() for x in xs)

    every = replace(base, ranking=replace(base.ranking, sentences_embedded=0))
    full = [_picked(index, every, call) for call in calls]
    full_cos = [cosines(call, p) for call, p in zip(calls, full)]
    print(f"{len(calls)} answers quote sentences ({args.suite})")
    for n in (int(x) for x in args.numbers.split(",") if x.strip()):
        variant = replace(base, ranking=replace(base.ranking, sentences_embedded=n))
        same, best, mean = 0, [], []
        for call, want, want_cos in zip(calls, full, full_cos):
            got = _picked(index, variant, call)
            if where(got) == where(want):
                same += 1
                continue
            got_cos = cosines(call, got)
            if len(got_cos) and len(want_cos):
                best.append(float(got_cos.max() - want_cos.max()))
                mean.append(float(got_cos.mean() - want_cos.mean()))
        print(
            f"{n} embedded: identical quotes in {same} of {len(calls)} answers; in the others, best quote's "
            f"cosine {np.mean(best) if best else 0:+.3f} on average (worst {min(best, default=0):+.3f}), "
            f"mean cosine of the quotes {np.mean(mean) if mean else 0:+.4f}"
        )
    index.settings = base
    library.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
