"""`kb bench`: measure ingest and query performance and write the table behind docs/performance.md's figures."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kb.cli.options import settings_from
from kb.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="measure ingest throughput, query latency, memory and app start-up at several corpus sizes",
        description="Build corpora of increasing size from the UN General Debate statements (synthetic "
        "statements beyond them), and measure at each size: raw embedding throughput, `kb ingest` throughput, "
        "re-ingest time, query latency (dense, BM25, hybrid, full answer), peak RSS, index size and app start-up; "
        "the same for a naive llama-index baseline, and the quality of both on the shipped suite; then, once, the "
        "ingest of a scanned (image-only) PDF read by OCR (--ocr-pages). Prints a table and writes results.json "
        "and results.md. Indexes are kept under --cache and reused while their corpus "
        "and the ingest code are unchanged.",
    )
    p.add_argument(
        "--sizes",
        default="1000,10000,100000",
        help="corpus sizes in passages, comma-separated (default 1000,10000,100000)",
    )
    p.add_argument("--queries", type=int, default=200, help="questions per size and mode (default 200)")
    p.add_argument(
        "--out", default="evals/bench", metavar="DIR", help="where to write results (default evals/bench)"
    )
    p.add_argument(
        "--cache", default=".kb-bench", metavar="DIR", help="corpora and indexes (default .kb-bench)"
    )
    p.add_argument(
        "--corpus",
        default="../shared/ungdc",
        metavar="DIR",
        help="the UN General Debate corpus (default ../shared/ungdc)",
    )
    p.add_argument("--skip-baseline", action="store_true", help="do not measure the llama-index baseline")
    p.add_argument(
        "--baseline-max",
        type=int,
        default=10_000,
        metavar="N",
        help="measure the baseline only at sizes up to N passages (default 10000)",
    )
    p.add_argument("--skip-app", action="store_true", help="do not measure the app's start-up")
    p.add_argument("--fresh", action="store_true", help="ingest again even where a cached index is current")
    p.add_argument(
        "--profile",
        type=int,
        metavar="SIZE",
        help="also profile one ingest and the hybrid and answer queries at this size (one of --sizes)",
    )
    p.add_argument(
        "--ocr-pages",
        type=int,
        default=4,
        metavar="N",
        help="also measure, once, the ingest of a scanned (image-only) PDF of N English pages, every page "
        "read by Tesseract OCR: seconds per page and passages/s (default 4; 0 to skip)",
    )
    p.add_argument(
        "--table-pages",
        type=int,
        default=6,
        metavar="N",
        help="also measure, once, the ingest of a table-heavy PDF of N pages (two tables a page, generated): "
        "seconds per page and passages/s, and the PDF read alone (default 6; 0 to skip)",
    )
    p.add_argument("--seed", type=int, default=7, help="seed for corpus order, synthetic text and questions")
    p.set_defaults(func=run_bench)


def parse_sizes(text: str) -> tuple[int, ...]:
    """`1000,10k,100000` as (1000, 10000, 100000); UsageError for anything else."""
    sizes = []
    for part in text.split(","):
        raw = part.strip().lower().replace("_", "")
        factor = 1000 if raw.endswith("k") else 1
        try:
            value = int(raw.removesuffix("k")) * factor
        except ValueError:
            raise UsageError(f"--sizes {text!r}: {part.strip()!r} is not a number of passages") from None
        if value < 50:
            raise UsageError(f"--sizes {text!r}: sizes start at 50 passages")
        sizes.append(value)
    return tuple(sorted(set(sizes)))


def run_bench(args: argparse.Namespace) -> int:
    from kb.bench import report
    from kb.bench.runner import Options, run

    sizes = parse_sizes(args.sizes)
    if args.queries < 10:
        raise UsageError(f"--queries {args.queries}: ask at least 10 questions per mode")
    if args.profile is not None and args.profile not in sizes:
        raise UsageError(f"--profile {args.profile}: profile one of the sizes measured ({args.sizes})")
    if args.ocr_pages < 0:
        raise UsageError(
            f"--ocr-pages {args.ocr_pages}: give a number of pages, or 0 to skip the OCR measure"
        )
    if args.table_pages < 0:
        raise UsageError(
            f"--table-pages {args.table_pages}: give a number of pages, or 0 to skip the table measure"
        )
    options = Options(
        sizes=sizes,
        queries=args.queries,
        out=Path(args.out),
        cache=Path(args.cache),
        corpus=Path(args.corpus),
        skip_baseline=args.skip_baseline,
        baseline_max=args.baseline_max,
        skip_app=args.skip_app,
        fresh=args.fresh,
        profile=args.profile,
        seed=args.seed,
        ocr_pages=args.ocr_pages,
        table_pages=args.table_pages,
    )
    command = "kb bench " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["bench"] else "kb bench"
    results = run(options, settings_from(args), command.strip())
    paths = report.write(results, options.out)
    print(report.markdown(results))
    print("Written: " + ", ".join(str(p) for p in paths), file=sys.stderr)
    return 0
