"""`kb eval`: score retrieval on evaluation suites or BEIR datasets, write reports, enforce floors."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from kb.search.retrieve import MODES

EPILOG = """\
Examples:
  kb eval evals/suites/g7-smuggling.yaml
  kb eval evals/suites/g7-smuggling.yaml --mode hybrid --min recall@5=0.8 --min checks=1.0
  kb eval evals/suites/g7-smuggling.yaml --config plain=embed_context=false
  kb eval --beir ../shared/beir/scifact --mode bm25,dense

Each run is named after its mode ("hybrid"), or "CONFIG/MODE" for configurations other than the
default; --min hybrid:ndcg@10=0.7 applies to the hybrid runs only. See evals/README.md.
Exit codes: 0 ok, 1 a floor was missed, 2 usage error (including a suite that does not match the index)."""


# Where `kb eval` writes by default (beside its cache of indexes, ignored by git), and the committed
# reference reports it refreshes only when asked (--update-reference).
WORKING = ".kb-eval/reports"
REFERENCE = "evals/reports"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="score retrieval on evaluation suites or BEIR datasets and write a report",
        description="Ask every question of a suite in each retrieval mode (and configuration), score the "
        "rankings with standard IR metrics (ranx), run the behavioural checks, compare the runs with a "
        "significance test, and write report.md, report.json, TREC files and a chart.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("suites", nargs="*", metavar="SUITE", help="suite files (YAML; format in evals/README.md)")
    p.add_argument(
        "--beir",
        action="append",
        default=[],
        metavar="DIR",
        help="a BEIR dataset directory (corpus.jsonl, queries.jsonl, qrels/test.tsv); repeatable",
    )
    p.add_argument("--split", default="test", help="BEIR qrels split to score (default test)")
    p.add_argument(
        "--mode",
        default=",".join(MODES),
        metavar="MODES",
        help=f"comma-separated retrieval modes (default {','.join(MODES)})",
    )
    p.add_argument(
        "-k",
        "--k",
        type=int,
        default=None,
        help="passages per question (default: the suite's k; 10 for BEIR)",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        help=f"output directory (default {WORKING}/<suite name>/, not tracked by git; with several suites, "
        "DIR/<suite name>/)",
    )
    p.add_argument(
        "--update-reference",
        action="store_true",
        help=f"write the reports to {REFERENCE}/<suite name>/, the committed reference reports that the "
        "README's and docs/evaluation.md's figures come from (python -m evals.readme_figures then updates them)",
    )
    p.add_argument(
        "--min",
        action="append",
        default=[],
        metavar="[RUN:]METRIC=VALUE",
        help="exit 1 if METRIC is below VALUE in any run (or in RUN: a mode or CONFIG/MODE); "
        "e.g. recall@5=0.9, hybrid:ndcg@10=0.7, checks=1.0; repeatable",
    )
    p.add_argument(
        "--embed-model",
        action="append",
        default=[],
        dest="embed_models",
        metavar="PATH",
        help="also evaluate with this embedding model (own cached index); repeatable",
    )
    p.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="NAME=KEY=VALUE[,KEY=VALUE]",
        help="also evaluate a configuration with settings changed, e.g. plain=embed_context=false; repeatable",
    )
    p.add_argument(
        "--stat-test",
        choices=["fisher", "student"],
        default="fisher",
        help="paired significance test: Fisher's randomization test (default) or Student's t-test",
    )
    p.add_argument(
        "--cache", metavar="DIR", help="where merged corpora and indexes are kept (default .kb-eval)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run_eval)


def run_eval(args: argparse.Namespace) -> int:
    from kb.config import Settings
    from kb.errors import UsageError
    from kb.evaluate import beir, corpus, metrics, report, suite
    from kb.evaluate.runner import run_suite

    if not args.suites and not args.beir:
        raise UsageError("give one or more suite files, or --beir DIR (see `kb eval --help`)")
    modes = tuple(dict.fromkeys(x.strip() for x in args.mode.split(",") if x.strip()))
    bad = [x for x in modes if x not in MODES]
    if bad or not modes:
        raise UsageError(f"--mode {args.mode!r}: choose from {', '.join(MODES)} (comma-separated)")
    if args.k is not None and args.k < 1:
        raise UsageError("--k must be at least 1")
    floors = [metrics.parse_floor(x) for x in args.min]
    configs = [corpus.DEFAULT_CONFIG] + [corpus.model_config(p) for p in args.embed_models]
    configs += [corpus.parse_config(c) for c in args.config]
    names = [c.name for c in configs]
    if len(set(names)) != len(names):
        raise UsageError(f"configuration names must differ: {', '.join(names)}")
    cache = Path(args.cache) if args.cache else corpus.DEFAULT_CACHE
    progress = not args.quiet and sys.stderr.isatty()
    # Every suite file is checked before any indexing starts.
    suites = [suite.load(Path(s)) for s in args.suites]
    suites += [beir.load(Path(d), cache, split=args.split) for d in args.beir]
    seen = [s.name for s in suites]
    if len(set(seen)) != len(seen):
        raise UsageError(
            f"two suites are both called {next(n for n in seen if seen.count(n) > 1)!r}; rename one"
        )
    base = Settings.from_env()
    command = "kb " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    status = 0
    for s in suites:
        k = args.k or s.k
        names = metrics.default_metrics(k)
        names += [f.metric for f in floors if f.metric not in names and f.metric != metrics.CHECKS]
        results = run_suite(s, configs, modes, base, cache, k=k, progress=progress)
        results.environment["command"] = command
        data = report.summarise(results, names, args.stat_test)
        if args.out and args.update_reference:
            raise UsageError("--out and --update-reference name two places for the report; give one")
        out = Path(args.out) if args.out else Path(REFERENCE if args.update_reference else WORKING)
        out = out / s.name if (len(suites) > 1 or not args.out) else out
        report.write(data, results, out)
        print_summary(data, out)
        missed = metrics.missed_floors(
            floors,
            {n: r["metrics"] for n, r in data["runs"].items()},
            {n: r["mode"] for n, r in data["runs"].items()},
        )
        for line in missed:
            print(f"kb eval: {s.name}: floor missed: {line}", file=sys.stderr)
        status = max(status, 1 if missed else 0)
    return status


def print_summary(data: dict, out: Path) -> None:
    """The headline numbers for the terminal; the full report is in `out`."""
    runs = data["runs"]
    names = list(runs)
    shown = [
        m
        for m in data["configuration"]["metrics"]
        if m in ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")
    ]
    width = max([len(n) for n in names] + [8])
    suite = data["suite"]
    print(
        f"{suite['name']}: {suite['judged']} judged questions, {suite['unanswerable']} unanswerable, "
        f"{suite['checks']} checks, k = {data['configuration']['k']}"
    )
    print(
        f"  {'run':<{width}}  "
        + "  ".join(f"{m:>9}" for m in shown)
        + "     checks  false-abstain  false-answer"
    )
    for n in names:
        r = runs[n]
        values = "  ".join(f"{r['metrics'].get(m, 0.0):>9.3f}" for m in shown)
        checks = f"{r['checks_passed']}/{r['checks_total']}" if r["checks_total"] else "—"
        ab = r["abstention"] or {}
        fa = "—" if ab.get("false_abstain") is None else f"{ab['false_abstain']:.2f}"
        fn = "—" if ab.get("false_answer") is None else f"{ab['false_answer']:.2f}"
        print(f"  {n:<{width}}  {values}  {checks:>9}  {fa:>13}  {fn:>12}")
    for metric, w in data.get("comparison", {}).get("winners", {}).items():
        if metric in ("ndcg@10", "recall@5") and w["run"] != "tie":
            sig = "significant" if w["significant"] else "not significant"
            print(f"  best {metric}: {w['run']} (p = {w['p']:.3f} vs {w['runner_up']}, {sig})")
    languages = data.get("languages") or {"rows": [], "metrics": []}
    if languages["rows"]:
        print("  by language (question → passages, questions): " + ", ".join(languages["metrics"]))
    for row in languages["rows"]:
        label = f"{row['question']} → {row['passages']} ({row['queries']})"
        cells = "   ".join(
            f"{n}: " + " ".join(f"{row['runs'][n][x]:.3f}" for x in languages["metrics"]) for n in names
        )
        print(f"    {label:<22} {cells}")
    print(f"Report: {out}/report.md")
