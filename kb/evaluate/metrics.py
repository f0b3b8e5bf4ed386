"""Scores with ranx: standard metric names in, per-run and per-query values and significance tests out.

Runs and qrels are plain mappings (query id → unit → score / grade), so the same data can be
written as TREC files and checked with any other tool. Ranks become scores 1/rank, which keeps
the order exactly and leaves no ties. Abstention rates and the threshold sweep are computed
here too, from the evidence score of each question.
"""

from __future__ import annotations

import math
import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.errors import UsageError

MAX_P = 0.05
PERMUTATIONS = 10_000  # of the randomization test: p-values within ±0.003 of the exact one at p = 0.1
STAT_TESTS = {
    "fisher": f"Fisher's randomization test ({PERMUTATIONS:,} permutations)",
    "student": "paired Student's t-test",
}
NO_RESULT = "(no result)"  # stands in for an empty ranking (ranx needs at least one entry per run)
_METRIC = re.compile(
    r"^(hit_rate|hits|precision|recall|f1|r-precision|mrr|map|ndcg|ndcg_burges|dcg|dcg_burges|bpref)(@\d+)?$"
)
_ALIASES = {"hit": "hit_rate", "p": "precision", "r": "recall", "ap": "map", "rr": "mrr"}
CHECKS = "checks"  # the pseudo-metric of `--min checks=1.0`: the pass rate of the behavioural checks
# ranx compiles its metrics with numba and by default caches the machine code beside its own
# sources, shared by every process of the virtualenv. Numba's cache is not safe when processes
# compile different signatures at once (numba issues #4807, #10128); a mixed-up cache once gave
# us wrong metric values. So kb eval keeps a cache of its own (unless NUMBA_CACHE_DIR is set).
NUMBA_CACHE = Path.home() / ".cache" / "kb-eval" / "numba"


def default_metrics(k: int) -> list[str]:
    """The metrics every report shows: Recall@1/3/5/10, Precision@k, Hit@k, MRR@10, nDCG@10, MAP@k."""
    return [
        "recall@1",
        "recall@3",
        "recall@5",
        "recall@10",
        f"precision@{k}",
        f"hit_rate@{k}",
        "mrr@10",
        "ndcg@10",
        f"map@{k}",
    ]


def canonical(name: str) -> str:
    """A metric name as ranx spells it (`hit@5` → `hit_rate@5`); UsageError for names ranx lacks."""
    name = name.strip().lower()
    base, at, cut = name.partition("@")
    name = _ALIASES.get(base, base) + at + cut
    if name != CHECKS and not _METRIC.match(name):
        raise UsageError(
            f"unknown metric {name!r}; use ranx names such as recall@5, precision@10, mrr@10, "
            f"ndcg@10, map@10, hit_rate@10, or {CHECKS}"
        )
    return name


def to_run(rankings: dict[str, list[str]]) -> dict[str, dict[str, float]]:
    """Ranked unit lists as a run mapping, scored 1/rank; an empty ranking gets a placeholder entry."""
    return {
        qid: ({u: 1.0 / r for r, u in enumerate(units, start=1)} or {NO_RESULT: 0.0})
        for qid, units in rankings.items()
    }


def score(
    qrels: dict[str, dict[str, int]], runs: dict[str, dict[str, list[str]]], metrics: list[str]
) -> dict[str, dict]:
    """For each run: {"mean": {metric: value}, "per_query": {metric: {query id: value}}}, computed by ranx.

    Queries without judgments (unanswerable ones) are left out; a judged query missing from a run scores 0.
    """
    ranx = _ranx()
    q = ranx.Qrels(qrels)
    out = {}
    for name, rankings in runs.items():
        run = ranx.Run(to_run({qid: rankings.get(qid, []) for qid in qrels}), name=name)
        with _quiet_numba():
            means = ranx.evaluate(q, run, metrics, make_comparable=True)
        means = means if isinstance(means, dict) else {metrics[0]: means}
        out[name] = {
            "mean": {m: float(v) for m, v in means.items()},
            "per_query": {m: {qid: float(v) for qid, v in run.scores[m].items()} for m in metrics},
        }
    return out


def compare(
    qrels: dict[str, dict[str, int]],
    runs: dict[str, dict[str, list[str]]],
    metrics: list[str],
    stat_test: str = "fisher",
) -> dict:
    """Pairwise significance tests between runs and the winner of each metric: Fisher's randomization
    test by `randomization_p` on the per-query scores of `score`, or ranx.compare's t-test.

    Returns {"stat_test", "max_p", "p_values": {metric: {run: {other: p}}}, "winners": {metric: {...}}};
    the winner is the best mean, "significant" when its p-value against every other run is below MAX_P.
    """
    if len(runs) < 2:
        return {"stat_test": stat_test, "max_p": MAX_P, "p_values": {}, "winners": {}}
    names = list(runs)
    scored = score(qrels, runs, metrics)
    means = {n: scored[n]["mean"] for n in names}
    if stat_test == "fisher":
        per_query = {
            n: {m: np.array([scored[n]["per_query"][m][qid] for qid in qrels]) for m in metrics}
            for n in names
        }
        p_values = {
            m: {
                a: {b: randomization_p(per_query[a][m], per_query[b][m]) for b in names if b != a}
                for a in names
            }
            for m in metrics
        }
    else:
        ranx = _ranx()
        ranx_runs = [
            ranx.Run(to_run({qid: r.get(qid, []) for qid in qrels}), name=name) for name, r in runs.items()
        ]
        with _quiet_numba():
            report = ranx.compare(
                ranx.Qrels(qrels), ranx_runs, metrics, stat_test=stat_test, max_p=MAX_P, make_comparable=True
            ).to_dict()
        p_values = {
            m: {a: {b: float(report[a]["comparisons"][b][m]) for b in names if b != a} for a in names}
            for m in metrics
        }
    winners = {}
    for m in metrics:
        ordered = sorted(names, key=lambda n: -means[n][m])
        best, second = ordered[0], ordered[1]
        tied = means[best][m] == means[second][m]
        winners[m] = {
            "run": "tie" if tied else best,
            "value": means[best][m],
            "runner_up": second,
            "p": p_values[m][best][second],
            "significant": not tied and all(p < MAX_P for p in p_values[m][best].values()),
        }
    return {"stat_test": stat_test, "max_p": MAX_P, "p_values": p_values, "winners": winners}


def randomization_p(a: np.ndarray, b: np.ndarray, permutations: int = PERMUTATIONS, seed: int = 42) -> float:
    """Two-sided p-value of Fisher's paired randomization test on per-query scores: the share of
    random sign flips of the per-query differences whose mean is at least as far from zero.

    ranx has this test too, but compares the two means after rounding: runs that differed on one
    question got p = 0 (every flip gives the same difference, so p is 1), and its permutations
    ran in threads its seed did not reach, so p-values changed from run to run.
    """
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    observed = abs(diff.mean()) - 1e-12  # a flip that gives the same difference counts
    rng = np.random.default_rng(seed)
    extreme = 0
    for start in range(0, permutations, 1000):  # in slices: memory stays small for large suites
        signs = rng.choice((-1.0, 1.0), size=(min(1000, permutations - start), diff.size))
        extreme += int((np.abs(signs @ diff) / max(diff.size, 1) >= observed).sum())
    return extreme / permutations


@dataclass(frozen=True)
class Floor:
    """A `--min [RUN:]METRIC=VALUE` floor; `target` is a mode, a run name, or "" for every run."""

    target: str
    metric: str
    value: float

    def applies_to(self, run: str, mode: str) -> bool:
        return not self.target or self.target in (run, mode)


def parse_floor(text: str) -> Floor:
    """`recall@5=0.9`, `hybrid:ndcg@10=0.7` or `checks=1.0` as a Floor."""
    spec, sep, value = text.rpartition("=")
    target, _, metric = spec.rpartition(":") if ":" in spec else ("", "", spec)
    try:
        number = float(value)
    except ValueError:
        number = None
    if not sep or not metric or number is None:
        raise UsageError(
            f"--min {text!r}: write METRIC=VALUE or MODE:METRIC=VALUE, e.g. recall@5=0.9 or hybrid:checks=1.0"
        )
    return Floor(target.strip(), canonical(metric), number)


def missed_floors(
    floors: list[Floor], values: dict[str, dict[str, float]], modes: dict[str, str]
) -> list[str]:
    """One line per floor a run misses, naming the run, the metric, its value and the floor.

    `values` maps run name → metric → value; `modes` run name → mode."""
    lines = []
    for f in floors:
        matched = [run for run in values if f.applies_to(run, modes[run])]
        if not matched:
            lines.append(
                f"{f.target}:{f.metric} >= {f.value:g}: no run is called {f.target!r} "
                f"(runs: {', '.join(values)})"
            )
        for run in matched:
            got = values[run].get(f.metric)
            if got is None:
                lines.append(f"{run} {f.metric}: not computed (no judged or checked question)")
            elif got < f.value:
                lines.append(f"{run} {f.metric} = {got:.4f}, below the floor {f.value:g}")
    return lines


def abstention(evidence: dict[str, float], abstained: dict[str, bool], answerable: dict[str, bool]) -> dict:
    """False-abstain rate (answerable questions where the answer abstained) and false-answer rate
    (unanswerable ones where it did not); None when there is no question of that kind."""
    yes = [q for q, a in answerable.items() if a]
    no = [q for q, a in answerable.items() if not a]
    return {
        "false_abstain": sum(abstained[q] for q in yes) / len(yes) if yes else None,
        "false_answer": sum(not abstained[q] for q in no) / len(no) if no else None,
        "answerable": len(yes),
        "unanswerable": len(no),
    }


def threshold_grid(values: list[float], current: float) -> list[float]:
    """Thresholds for a sweep: steps of 0.02 (0.05 over ranges wider than 1) spanning the observed
    evidence scores, plus the current threshold."""
    values = [*values, current]
    step = 0.02 if max(values) - min(values) <= 1 else 0.05
    lo = max(0.0, math.floor(min(values) / step) * step - step)
    count = int(math.ceil((max(values) + step - lo) / step)) + 1
    return sorted({round(lo + step * i, 2) for i in range(count)} | {current})


def sweep(evidence: dict[str, float], answerable: dict[str, bool], thresholds: list[float]) -> list[dict]:
    """False-abstain and false-answer rates at each threshold (abstain when evidence < threshold)."""
    yes = np.array([evidence[q] for q, a in answerable.items() if a])
    no = np.array([evidence[q] for q, a in answerable.items() if not a])
    return [
        {
            "threshold": t,
            "false_abstain": float((yes < t).mean()) if yes.size else None,
            "false_answer": float((no >= t).mean()) if no.size else None,
        }
        for t in thresholds
    ]


def best_threshold(rows: list[dict]) -> float | None:
    """The threshold with the fewest errors (false-abstain + false-answer rates); the lowest among ties."""
    usable = [r for r in rows if r["false_abstain"] is not None and r["false_answer"] is not None]
    if not usable:
        return None
    return min(usable, key=lambda r: (r["false_abstain"] + r["false_answer"], r["threshold"]))["threshold"]


def _ranx():
    """The ranx module, imported with kb eval's own numba cache (see NUMBA_CACHE)."""
    if "ranx" not in sys.modules:
        import numba

        if not numba.config.CACHE_DIR:
            numba.config.CACHE_DIR = str(NUMBA_CACHE)
    import ranx

    return ranx


@contextmanager
def _quiet_numba() -> Iterator[None]:
    # ranx's compiled metrics warn about an unsigned-to-signed cast when numba first compiles them; harmless.
    from numba.core.errors import NumbaTypeSafetyWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaTypeSafetyWarning)
        yield


def warm() -> None:
    """Have ranx compile the metrics kb eval uses into the numba cache, once, in one process:
    `make test` does this before its test workers start, each of which would otherwise compile
    them at the same time (about 40 s of each worker's time on a new virtualenv)."""
    qrels = {"q1": {"a": 2, "b": 1}, "q2": {"c": 1}}
    runs = {"one": {"q1": ["a", "b"], "q2": ["c"]}, "two": {"q1": ["b"], "q2": ["d", "c"]}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy, on a t-test of two toy runs
        for k in (5, 10):
            compare(qrels, runs, default_metrics(k), "student")
            compare(qrels, runs, default_metrics(k), "fisher")


if __name__ == "__main__":
    warm()
