"""Fuzz the readers with atheris for a fixed time: `python -m evals.fuzz --reader pdf --seconds 60`.

Each reader runs in its own process (`evals.fuzz.target`) over a corpus seeded with real files;
the corpus grows across runs in `--out` (test-output/fuzz by default). Prints, per reader, the
executions, time, corpus size and the crash found (its input is saved next to the corpus), and
writes the same as JSON to <out>/summary.json. Exit code 1 when a crash was found.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

from evals.fuzz import ROOT, SUFFIXES, seed_inputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--reader", choices=[*SUFFIXES, "all"], default="all")
    parser.add_argument("--seconds", type=int, default=60, help="fuzzing time per reader (default 60)")
    parser.add_argument("--timeout", type=int, default=30, help="seconds one input may take (default 30)")
    parser.add_argument("--rss-limit-mb", type=int, default=4096, help="memory limit of the fuzzing process")
    parser.add_argument("--max-len", type=int, default=65536, help="largest input in bytes (default 64 KB)")
    parser.add_argument("--out", type=Path, default=ROOT / "test-output" / "fuzz")
    args = parser.parse_args(argv)
    readers = list(SUFFIXES) if args.reader == "all" else [args.reader]
    results = [fuzz(reader, args) for reader in readers]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\n{'reader':<9} {'seconds':>7} {'executions':>10} {'exec/s':>7} {'corpus':>6}  crash")
    for r in results:
        print(f"{r['reader']:<9} {r['seconds']:>7.0f} {r['executions']:>10} {r['exec_per_s']:>7.0f} "
              f"{r['corpus']:>6}  {r['crash'] or 'none'}")  # fmt: skip
    return 1 if any(r["crash"] for r in results) else 0


def fuzz(reader: str, args: argparse.Namespace) -> dict:
    """Run the fuzz target for one reader; its statistics and the crash it found, if any."""
    base = args.out / reader
    seeds, corpus, crashes = base / "seeds", base / "corpus", base / "crashes"
    for directory in (seeds, corpus, crashes):
        directory.mkdir(parents=True, exist_ok=True)
    for n, data in enumerate(seed_inputs(reader)):
        (seeds / f"seed-{n:02d}").write_bytes(data)
    command = [sys.executable, "-m", "evals.fuzz.target", reader, f"-max_total_time={args.seconds}",
               f"-timeout={args.timeout}", f"-rss_limit_mb={args.rss_limit_mb}", f"-max_len={args.max_len}",
               f"-artifact_prefix={crashes}/", "-print_final_stats=1", str(corpus), str(seeds)]  # fmt: skip
    print(f"Fuzzing the {reader} reader for {args.seconds} s: {' '.join(command[1:])}", flush=True)
    started = time.monotonic()
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, errors="replace")
    elapsed = time.monotonic() - started
    log = run.stdout + run.stderr
    (base / "last-run.log").write_text(log, encoding="utf-8")
    executions = _stat(log, "number_of_executed_units") or _done_runs(log)
    saved = re.findall(r"Test unit written to (\S+)", log)
    crash = ""
    if run.returncode != 0:
        kind = re.search(r"==\d+== ERROR: libFuzzer: ([\w-]+)|=== Uncaught Python exception: ===\n(.+)", log)
        detail = (kind.group(1) or kind.group(2)) if kind else f"exit code {run.returncode}"
        crash = f"{detail.strip()[:160]} (input: {saved[-1] if saved else 'not saved'})"
    return {
        "reader": reader,
        "seconds": round(elapsed, 1),
        "executions": executions,
        "exec_per_s": round(executions / max(elapsed, 1e-9), 1),
        "corpus": len(list(corpus.iterdir())),
        "seeds": len(list(seeds.iterdir())),
        "peak_rss_mb": _stat(log, "peak_rss_mb"),
        "crash": crash,
        "command": " ".join(["python", "-m", "evals.fuzz.target", *command[4:]]),
    }


def _stat(log: str, name: str) -> int:
    match = re.search(rf"stat::{name}:\s*(\d+)", log)
    return int(match.group(1)) if match else 0


def _done_runs(log: str) -> int:
    runs = re.findall(r"^#(\d+)\s", log, re.MULTILINE)
    return int(runs[-1]) if runs else 0


if __name__ == "__main__":
    sys.exit(main())
