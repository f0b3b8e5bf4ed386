"""Where the time of a cited answer goes, warm, on a suite's index; and the same answers with the
quoted sentences' vectors read from a store instead of embedded per question (the proposed fix).

    python -m evals.answer_latency evals/suites/un-paraphrase.yaml evals/suites/un-statements.yaml \
        [--sentences embedded|stored|both] [--repeat N]

Every answerable question of the suites (which must share one corpus) is answered through
kb.api.Library.answer (what `kb ask` and the app call: hybrid, k = KB_TOP_K) in one warm process,
after Library.warm. Per question it records the whole answer and three parts of it, timed by
wrappers around the functions kb.answer calls: `kb.understand.narrowed_first` (retrieval, the named
country or year first), `kb.quote.pick_sentences` (choosing the quoted sentences) and, inside it, the
embedding of the candidate sentences. Prints p50, p95 and the mean of each, in milliseconds.

`--sentences stored` answers with every sentence vector of the index precomputed (as ingest would
store them beside the passage vectors; computed once by evals/paraphrase_vectors.py): pick_sentences
then embeds nothing but the question, which the retrieval already embedded. The answers of both are
compared sentence by sentence.

The wrappers replace names in kb.answer and kb.quote for the length of the run and restore them:
a measurement harness, not a way to change the code (the change proposed is in docs/paraphrase.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from evals.paraphrase_vectors import Corpus
from kb import answer as answer_mod
from kb import embed
from kb import quote as quote_mod
from kb.api import AskRequest
from kb.config import Settings
from kb.evaluate import corpus as corpus_mod
from kb.evaluate import suite as suite_mod

PARTS = ("answer", "retrieval", "pick_sentences", "sentence embedding")


class _StoredEmbed:
    """Stands in for kb.embed inside kb.quote: passage-side texts whose vectors are stored are looked
    up (the rest embedded), everything else delegated to kb.embed."""

    def __init__(self, by_text: dict[str, np.ndarray]):
        self.by_text = by_text
        self.missed = 0

    def encode(self, settings, texts, batch_size=None, query=False):
        if query:
            return embed.encode(settings, texts, batch_size, query=True)
        missing = [t for t in dict.fromkeys(texts) if t not in self.by_text]
        self.missed += len(missing)
        if missing:
            self.by_text.update(zip(missing, embed.encode(settings, missing, batch_size)))
        return np.stack([self.by_text[t] for t in texts]) if texts else embed.encode(settings, [])

    def __getattr__(self, name):
        return getattr(embed, name)


@contextmanager
def _timed(times: dict[str, list[float]], stand_in: _StoredEmbed | None):
    """Wrap narrowed_first, pick_sentences and kb.quote's encoder to record their durations."""
    narrowed, pick, quote_embed = answer_mod.narrowed_first, answer_mod.pick_sentences, quote_mod.embed
    encoder = stand_in or embed

    class _Embed:
        def encode(self, settings, texts, batch_size=None, query=False):
            t0 = time.perf_counter()
            try:
                return encoder.encode(settings, texts, batch_size, query=query)
            finally:
                if not query:
                    times["sentence embedding"][-1] += time.perf_counter() - t0

        def __getattr__(self, name):
            return getattr(encoder, name)

    def timed(name, fn):
        def call(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                times[name][-1] += time.perf_counter() - t0

        return call

    answer_mod.narrowed_first = timed("retrieval", narrowed)
    answer_mod.pick_sentences = timed("pick_sentences", pick)
    quote_mod.embed = _Embed()
    try:
        yield
    finally:
        answer_mod.narrowed_first, answer_mod.pick_sentences, quote_mod.embed = narrowed, pick, quote_embed


def measure(library, queries, stand_in: _StoredEmbed | None, repeat: int) -> tuple[dict, dict]:
    """Per-part durations (seconds, one entry per answer) and each question's quoted sentences."""
    times: dict[str, list[float]] = defaultdict(list)
    quoted: dict[str, tuple] = {}
    k = library.settings.top_k
    with _timed(times, stand_in):
        for _ in range(repeat):
            for q in queries:
                for part in PARTS:
                    times[part].append(0.0)
                t0 = time.perf_counter()
                got = library.answer(AskRequest(q.question, "hybrid", k, q.filters))
                times["answer"][-1] = time.perf_counter() - t0
                quoted[q.id] = tuple((s.marker, s.text) for s in got.sentences)
    return times, quoted


def table(name: str, times: dict[str, list[float]]) -> str:
    lines = [f"| {name} | p50 | p95 | mean |", "|---|---|---|---|"]
    for part in PARTS:
        ms = 1000 * np.array(times[part])
        lines.append(
            f"| {part} | {np.percentile(ms, 50):.1f} | {np.percentile(ms, 95):.1f} | {ms.mean():.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.answer_latency", description=__doc__.split("\n\n")[0])
    ap.add_argument("suites", nargs="+", type=Path)
    ap.add_argument("--sentences", choices=("embedded", "stored", "both"), default="both")
    ap.add_argument("--repeat", type=int, default=1, help="times each question is asked (default 1)")
    ap.add_argument("--cache", type=Path, default=corpus_mod.DEFAULT_CACHE)
    args = ap.parse_args(argv)
    suites = [suite_mod.load(p) for p in args.suites]
    if len({s.corpus for s in suites}) != 1:
        print("the suites must search the same corpus", file=sys.stderr)
        return 2
    library, _ = corpus_mod.index_for(suites[0].corpus, Settings.from_env(), args.cache)
    queries = [q for s in suites for q in s.queries if q.answerable]
    stand_in = None
    if args.sentences in ("stored", "both"):
        corpus = Corpus.open(library, args.cache)
        vectors, _, spans = corpus.sentences()
        texts = [corpus.passages[r][0].text[a:b] for r, a, b in spans]
        stand_in = _StoredEmbed(dict(zip(texts, vectors)))
    library.warm(lasting=True)
    n = library.count()
    print(
        f"{len(queries)} questions x {args.repeat}, warm, index of {n} passages, top_k {library.settings.top_k}"
    )
    results = {}
    if args.sentences in ("embedded", "both"):
        times, quoted = measure(library, queries, None, args.repeat)
        results["embedded"] = quoted
        print(table("sentences embedded per question (as is), ms", times) + "\n")
    if stand_in is not None:
        times, quoted = measure(library, queries, stand_in, args.repeat)
        results["stored"] = quoted
        print(table("sentence vectors stored (prototype), ms", times))
        print(f"\n{stand_in.missed} sentence texts were not in the store and were embedded")
    if len(results) == 2:
        same = sum(results["embedded"][q] == results["stored"][q] for q in results["embedded"])
        print(f"identical quoted sentences: {same} of {len(results['embedded'])} answers")
    library.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
