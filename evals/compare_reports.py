"""Two `kb eval` reports of the same suite side by side: each run's means before and after, and
the p-value of the difference (Fisher's randomization test on the per-question scores, as `kb eval`).

    python -m evals.compare_reports evals/reports/un-paraphrase .kb-eval/reports/un-paraphrase

Reads the reports' TREC files (qrels.trec, runs/*.trec). Use it after a change that alters the
index or the ranking: the committed reference report is "before", a fresh `kb eval` run "after".
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from kb.evaluate import metrics
from kb.evaluate.trec import QRELS_FILE, run_file_name

METRICS = ("recall@5", "mrr@10", "ndcg@10")


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    for line in path.read_text().splitlines():
        qid, _, doc, grade = line.split()
        qrels[qid][doc] = int(grade)
    return dict(qrels)


def read_run(path: Path) -> dict[str, list[str]]:
    ranked: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for line in path.read_text().splitlines():
        qid, _, doc, rank, *_ = line.split()
        ranked[qid].append((int(rank), doc))
    return {qid: [d for _, d in sorted(pairs)] for qid, pairs in ranked.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before", type=Path, help="a report directory (report.md, qrels.trec, runs/)")
    ap.add_argument("after", type=Path, help="the same suite's report after the change")
    ap.add_argument(
        "--runs",
        default="dense,bm25,hybrid",
        help='run names to compare, as in the reports ("hybrid", "CONFIG/hybrid"; default %(default)s)',
    )
    args = ap.parse_args(argv)
    qrels = read_qrels(args.before / QRELS_FILE)
    if read_qrels(args.after / QRELS_FILE) != qrels:
        ap.error("the two reports judge different questions or passages: not the same suite version")
    print(f"{args.before.name}: before {args.before} → after {args.after}")
    print(f"  {'run':8} " + "  ".join(f"{m:>24}" for m in METRICS))
    for name in args.runs.split(","):
        paths = [d / "runs" / f"{run_file_name(name)}.trec" for d in (args.before, args.after)]
        if not all(p.is_file() for p in paths):
            continue
        runs = {"before": read_run(paths[0]), "after": read_run(paths[1])}
        scored = metrics.score(qrels, runs, list(METRICS))
        cells = []
        for m in METRICS:
            a, b = (np.array([scored[r]["per_query"][m][q] for q in qrels]) for r in runs)
            p = metrics.randomization_p(a, b)
            cells.append(f"{a.mean():.3f} → {b.mean():.3f} (p {p:.3f})")
        print(f"  {name:8} " + "  ".join(f"{c:>24}" for c in cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
