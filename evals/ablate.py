"""Ablation of a ranking or answering constant: a suite's figures with the constant as it is and as
changed, with the significance of the difference (Fisher's randomization test, as `kb eval`).

    python -m evals.ablate evals/suites/multilingual.yaml kb.search.retrieve.CROSS_LANGUAGE_FAIR=False
    python -m evals.ablate evals/suites/g7-smuggling.yaml kb.search.retrieve.YEAR_BONUS=0 --mode hybrid

Each NAME=VALUE is a module constant (VALUE a Python literal), ablated alone against the code as it
stands; several joined by commas (`kb.search.retrieve.PLACE_BONUS=0,kb.search.retrieve.YEAR_BONUS=0`) are changed together; the suite's index is built or reused from the `kb eval` cache. Prints a Markdown table:
Recall@5, nDCG@10 and MRR@10, the p-values against the unchanged run, and both abstention rates.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import re
import sys
from pathlib import Path

from kb.config import Settings
from kb.evaluate import corpus, metrics, report
from kb.evaluate import suite as suite_mod
from kb.evaluate.runner import RunResult, run_suite

METRICS = ["recall@5", "ndcg@10", "mrr@10"]
BASELINE = "as is"


def _change(text: str) -> tuple[object, str, object]:
    """`module.CONSTANT=literal` as (module, constant name, value)."""
    target, sep, literal = text.partition("=")
    module_name, _, constant = target.rpartition(".")
    if not sep or not module_name:
        raise SystemExit(
            f"{text!r}: write module.CONSTANT=VALUE, e.g. kb.search.retrieve.CROSS_LANGUAGE_FAIR=False"
        )
    module = importlib.import_module(module_name)
    if not hasattr(module, constant):
        raise SystemExit(f"{text!r}: {module_name} has no constant {constant}")
    try:
        value = ast.literal_eval(literal)
    except (ValueError, SyntaxError):
        raise SystemExit(f"{text!r}: {literal!r} is not a Python literal") from None
    return module, constant, value


def _run(suite: suite_mod.Suite, mode: str, cache: Path, name: str) -> tuple[RunResult, object]:
    results = run_suite(suite, [corpus.DEFAULT_CONFIG], (mode,), Settings.from_env(), cache)
    run = results.runs[0]
    run.name = name
    return run, results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.ablate", description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", type=Path, help="a suite YAML file")
    parser.add_argument(
        "changes",
        nargs="+",
        metavar="MODULE.CONSTANT=VALUE",
        help="each ablated alone; comma-joined ones together",
    )
    parser.add_argument("--mode", default="hybrid", choices=("dense", "bm25", "hybrid"))
    parser.add_argument("--cache", type=Path, default=corpus.DEFAULT_CACHE, help="the kb eval cache")
    args = parser.parse_args(argv)
    changes = [(text, [_change(part) for part in re.split(r",(?=[\w.]+=)", text)]) for text in args.changes]
    suite = suite_mod.load(args.suite)

    baseline, results = _run(suite, args.mode, args.cache, BASELINE)
    runs = [baseline]
    for text, parts in changes:
        before = [(module, constant, getattr(module, constant)) for module, constant, _ in parts]
        for module, constant, value in parts:
            setattr(module, constant, value)
        try:
            runs.append(_run(suite, args.mode, args.cache, text)[0])
        finally:
            for module, constant, value in before:
                setattr(module, constant, value)
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
