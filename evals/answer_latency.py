"""Where the time of a cited answer goes, warm, on a suite's index; and the same answers with the
quoted sentences' vectors read from a store instead of embedded per question (the proposed fix).

    python -m evals.answer_latency evals/suites/un-paraphrase.yaml evals/suites/un-statements.yaml \
        [--sentences embedded|stored|both] [--repeat N]

Every answerable question of the suites (which must share one corpus) is answered, as a question
new to the process (kb.models.embed's cache of recent question vectors is cleared first), through
kb.api.Library.answer (what `kb ask` and the app call: hybrid, k = KB_TOP_K) in one warm process,
after Library.warm. Per question it records the whole answer and three parts of it, timed by
wrappers around the functions kb.answer.ask calls: `kb.search.understand.narrowed_first` (retrieval, the named
country or year first), `kb.answer.quote.pick_sentences` (choosing the quoted sentences) and, inside it, the
embedding of the candidate sentences. Prints p50, p95 and the mean of each, in milliseconds.

`--embedded 8,12` adds configurations that embed only that many candidate sentences per answer
(RankingSettings.sentences_embedded; the others ranked out by their passage's cosine and their
coverage of the question), set on the open index's settings for their turn.

`--sentences cached` keeps the vectors of the sentences answers have embedded, in the process, and
reuses them. `--sentences stored` answers with every sentence vector of the index precomputed (as ingest would
store them beside the passage vectors; computed once by evals/paraphrase_vectors.py): pick_sentences
then embeds nothing but the question, which the retrieval already embedded. The answers of both are
compared sentence by sentence.

The wrappers replace names in kb.answer.ask and kb.answer.quote for the length of the run and restore them:
a measurement harness, not a way to change the code (the change proposed is in docs/paraphrase.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np

from evals.paraphrase_vectors import Corpus
from kb.answer import ask as answer_mod
from kb.answer import quote as quote_mod
from kb.api import AskRequest
from kb.config import Settings
from kb.evaluate import corpus as corpus_mod
from kb.evaluate import suite as suite_mod
from kb.models import embed

PARTS = ("answer", "retrieval", "pick_sentences", "sentence embedding")


class _StoredEmbed:
    """Stands in for kb.models.embed inside kb.answer.quote: passage-side texts whose vectors are stored are looked
    up (the rest embedded), everything else delegated to kb.models.embed."""

    def __init__(self, by_text: dict[str, np.ndarray]):
        self.by_text = by_text
        self.missed = 0
        self.asked = 0

    def encode(self, settings, texts, batch_size=None, query=False):
        if query:
            return embed.encode(settings, texts, batch_size, query=True)
        missing = [t for t in dict.fromkeys(texts) if t not in self.by_text]
        self.missed += len(missing)
        self.asked += len(set(texts))
        if missing:
            self.by_text.update(zip(missing, embed.encode(settings, missing, batch_size)))
        return np.stack([self.by_text[t] for t in texts]) if texts else embed.encode(settings, [])

    def __getattr__(self, name):
        return getattr(embed, name)


@contextmanager
def _timed(times: dict[str, list[float]], stand_in: _StoredEmbed | None):
    """Wrap narrowed_first, pick_sentences and kb.answer.quote's encoder to record their durations."""
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


def measure(library, queries, configs: dict[str, _StoredEmbed | int | None], repeat: int) -> dict[str, tuple]:
    """Per configuration: per-part durations (seconds, one entry per answer) and each question's
    quoted sentences. The configurations take turns on each question, so that a change in the
    machine's load (its two cores are shared) falls on all of them alike."""
    out: dict[str, tuple] = {name: (defaultdict(list), {}) for name in configs}
    k = library.settings.top_k
    names = list(configs)
    index = library.index()
    as_is = index.settings
    for _ in range(repeat):
        for i, q in enumerate(queries):
            # Taking turns in a rotating order: whichever answers a question first pays for what kb
            # caches per question (its reading of the question, spelling), so each pays it as often.
            for name in names[i % len(names) :] + names[: i % len(names)]:
                stand_in = configs[name] if not isinstance(configs[name], int) else None
                embedded = (
                    configs[name] if isinstance(configs[name], int) else as_is.ranking.sentences_embedded
                )
                index.settings = replace(as_is, ranking=replace(as_is.ranking, sentences_embedded=embedded))
                times, quoted = out[name]
                # kb.models.embed keeps the last 256 questions' vectors: each question is new to the process
                embed._questions.clear()
                for part in PARTS:
                    times[part].append(0.0)
                with _timed(times, stand_in):
                    t0 = time.perf_counter()
                    got = library.answer(AskRequest(q.question, "hybrid", k, q.filters))
                    times["answer"][-1] = time.perf_counter() - t0
                times["quoted"].append(float(bool(got.sentences)))
                quoted[q.id] = tuple((s.marker, s.text) for s in got.sentences)
    index.settings = as_is
    return out


def table(name: str, times: dict[str, list[float]]) -> str:
    """p50, p95 and mean of each part, over all answers and over those that quote sentences (an
    answer that abstains picks none)."""
    quoting = np.array(times["quoted"], dtype=bool)
    head = f"| {name} | p50 | p95 | mean | p50 quoting | p95 quoting | mean quoting |"
    lines = [head, "|---|---|---|---|---|---|---|"]
    for part in PARTS:
        ms = 1000 * np.array(times[part])
        cells = [f"{f(x):.1f}" for x in (ms, ms[quoting]) for f in (_p50, _p95, np.mean)]
        lines.append(f"| {part} | " + " | ".join(cells) + " |")
    return (
        "\n".join(lines)
        + f"\n\n{int(quoting.sum())} of {len(quoting)} answers quote sentences (the others abstain)"
    )


def _p50(ms: np.ndarray) -> float:
    return float(np.percentile(ms, 50)) if len(ms) else float("nan")


def _p95(ms: np.ndarray) -> float:
    return float(np.percentile(ms, 95)) if len(ms) else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.answer_latency", description=__doc__.split("\n\n")[0])
    ap.add_argument("suites", nargs="+", type=Path)
    ap.add_argument(
        "--sentences",
        choices=("embedded", "stored", "cached", "all"),
        default="all",
        help="embedded per question (as is), stored for the whole index, cached in the process as "
        "answers embed them, or all three taking turns (default)",
    )
    ap.add_argument(
        "--embedded",
        default="",
        help="comma-separated numbers of candidate sentences to embed, each a configuration "
        "(RankingSettings.sentences_embedded; 0: all)",
    )
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
    if args.sentences in ("stored", "all"):
        corpus = Corpus.open(library, args.cache)
        vectors, _, spans = corpus.sentences()
        texts = [corpus.passages[r][0].text[a:b] for r, a, b in spans]
        stand_in = _StoredEmbed(dict(zip(texts, vectors)))
    library.warm(lasting=True)
    n = library.count()
    print(
        f"{len(queries)} questions x {args.repeat}, warm, index of {n} passages, top_k {library.settings.top_k}"
    )
    configs: dict[str, _StoredEmbed | int | None] = {}
    if args.sentences in ("embedded", "all"):
        configs["sentences embedded per question (as is), ms"] = None
    if stand_in is not None:
        configs["sentence vectors stored (prototype), ms"] = stand_in
    cache = _StoredEmbed({}) if args.sentences in ("cached", "all") else None
    if cache is not None:
        configs["sentence vectors cached in the process, ms"] = cache
    for n in (int(x) for x in args.embedded.split(",") if x.strip()):
        configs[f"{n} candidate sentences embedded, ms"] = n
    results = measure(library, queries, configs, args.repeat)
    for name, (times, _) in results.items():
        print(table(name, times) + "\n")
    if stand_in is not None:
        print(f"{stand_in.missed} sentence texts were not in the store and were embedded")
    if cache is not None:
        print(f"process cache: {cache.asked - cache.missed} of {cache.asked} sentence texts found in it")
    quoted = [q for _, q in results.values()]
    for name, (_, other) in list(results.items())[1:]:
        same = sum(quoted[0][q] == other[q] for q in quoted[0])
        print(
            f"identical quoted sentences, as is and {name.split(',')[0]}: {same} of {len(quoted[0])} answers"
        )
    library.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
