"""Ablation of a ranking or answering constant: a suite's figures with the constant as it is and as
changed, with the significance of the difference (Fisher's randomization test, as `kb eval`).

    python -m evals.ablate evals/suites/multilingual.yaml cross_language_fair=False
    python -m evals.ablate evals/suites/g7-smuggling.yaml year_bonus=0 --mode hybrid

Each NAME=VALUE is a field of kb.config.RankingSettings (VALUE a Python literal), ablated alone
against the settings as they stand; several joined by commas (`place_bonus=0,year_bonus=0`) are
changed together; the suite's index is built or reused from the `kb eval` cache. A BEIR dataset directory
(`../shared/beir/scifact`) stands for a suite as in `kb eval --beir`. Prints a Markdown
table: Recall@5, nDCG@10 and MRR@10, the p-values against the unchanged run, and both abstention
rates.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from dataclasses import fields, replace
from pathlib import Path

from kb.config import RankingSettings, Settings
from kb.evaluate import beir, corpus, metrics, report
from kb.evaluate import suite as suite_mod
from kb.evaluate.runner import RunResult, run_suite

METRICS = ["recall@5", "ndcg@10", "mrr@10"]
BASELINE = "as is"


def _change(text: str) -> tuple[str, object]:
    """`name=literal` as (a RankingSettings field, its value)."""
    name, sep, literal = text.partition("=")
    name = name.strip()
    known = [f.name for f in fields(RankingSettings)]
    if not sep or name not in known:
        raise SystemExit(f"{text!r}: write NAME=VALUE with NAME one of {', '.join(known)}")
    try:
        value = ast.literal_eval(literal)
    except (ValueError, SyntaxError):
        raise SystemExit(f"{text!r}: {literal!r} is not a Python literal") from None
    if type(value) is not type(getattr(RankingSettings(), name)) and not (
        isinstance(value, int) and isinstance(getattr(RankingSettings(), name), float)
    ):
        raise SystemExit(f"{text!r}: {name} takes a {type(getattr(RankingSettings(), name)).__name__}")
    return name, value


def _run(
    suite: suite_mod.Suite, mode: str, cache: Path, name: str, ranking: RankingSettings
) -> tuple[RunResult, object]:
    settings = Settings.from_env().with_(ranking=ranking)
    results = run_suite(suite, [corpus.DEFAULT_CONFIG], (mode,), settings, cache)
    run = results.runs[0]
    run.name = name
    return run, results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.ablate", description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", type=Path, help="a suite YAML file, or a BEIR dataset directory")
    parser.add_argument(
        "changes",
        nargs="+",
        metavar="NAME=VALUE",
        help="each ablated alone; comma-joined ones together",
    )
    parser.add_argument("--mode", default="hybrid", choices=("dense", "bm25", "hybrid"))
    parser.add_argument("--cache", type=Path, default=corpus.DEFAULT_CACHE, help="the kb eval cache")
    args = parser.parse_args(argv)
    changes = [(text, [_change(part) for part in re.split(r",(?=\w+=)", text)]) for text in args.changes]
    suite = beir.load(args.suite, args.cache) if args.suite.is_dir() else suite_mod.load(args.suite)

    base = Settings.from_env().ranking
    baseline, results = _run(suite, args.mode, args.cache, BASELINE, base)
    runs = [baseline]
    for text, parts in changes:
        runs.append(_run(suite, args.mode, args.cache, text, replace(base, **dict(parts)))[0])
    results.runs = runs
    data = report.summarise(results, METRICS)

    print(f"\n{suite.name}, {args.mode}: {len(results.qrels)} judged questions\n")
    print("| Run | " + " | ".join(METRICS) + " | p (R@5, nDCG@10) | False-abstain | False-answer |")
    print("|---|" + "---|" * (len(METRICS) + 3))
    p_values = data["comparison"].get("p_values", {})
    for run in runs:
        values = data["runs"][run.name]
        cells = [f"{values['metrics'][name]:.3f}" for name in METRICS]
        p = (
            "—"
            if run.name == BASELINE
            else ", ".join(f"{p_values[name][run.name][BASELINE]:.3f}" for name in ("recall@5", "ndcg@10"))
        )
        rates = values["abstention"] or {}
        print(
            f"| {run.name} | "
            + " | ".join(cells)
            + f" | {p} | {_rate(rates.get('false_abstain'))} | {_rate(rates.get('false_answer'))} |"
        )
    print(f"\nFisher's randomization test, two-sided; significant below {metrics.MAX_P}.")
    return 0


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    sys.exit(main())
