"""Huge and deeply nested files, read as the ingest reads them: `python -m evals.fuzz.stress`.

Builds a 2,000-page PDF, a 100 MB text file, HTML nested 100,000 levels deep, a 50 MB file on a
single line (as .txt and .md) and Markdown quotes nested 100,000 deep, then reads each in a fresh
spawned worker process with the ingest's per-file time limit (`KB_PARSE_TIMEOUT`, 120 s by
default), exactly as `kb ingest` does. Reports per file: the outcome (paragraphs, or the error the
ingest would record), seconds, and the peak RSS of the worker that read it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

from evals.fuzz import ROOT, fixtures_build
from kb.config import Settings

SENTENCE = "Smuggling networks exploit people who flee conflict and poverty, and charge them high fees. "


def build_all(directory: Path) -> list[Path]:
    """The stress files, written into `directory` (reused when already there)."""
    directory.mkdir(parents=True, exist_ok=True)
    fb = fixtures_build()
    builders = {
        "long-2000-pages.pdf": lambda path: fb.build_long_pdf(directory, pages=2000).rename(path),
        "large-100mb.txt": lambda path: _repeat(path, fb.WRAPPED_TEXT, 100_000_000),
        "nested-100k.html": lambda path: path.write_text(
            "<html><body><p>Test fixture, before the nesting.</p>" + "<div>" * 100_000 + "Deep text."
            + "</div>" * 100_000 + "<p>After the nesting.</p></body></html>", encoding="utf-8"),
        "single-line-50mb.txt": lambda path: _repeat(path, SENTENCE, 50_000_000),
        "single-line-50mb.md": lambda path: _repeat(path, SENTENCE, 50_000_000),
        "quotes-100k.md": lambda path: path.write_text(
            "# Test fixture\n\nBefore the nesting.\n\n" + "> " * 100_000 + "Deep text.\n", encoding="utf-8"),
    }  # fmt: skip
    paths = []
    for name, build in builders.items():
        path = directory / name
        if not path.exists():
            build(path)
        paths.append(path)
    return paths


def _repeat(path: Path, unit: str, size: int) -> None:
    data = unit.encode("utf-8")
    with path.open("wb") as file:
        for _ in range(size // len(data)):
            file.write(data)


def measured_parse(path: str) -> dict:
    """Runs in the worker: parse() the file, then the outcome, seconds and this process's peak RSS."""
    from ingest.parse import parse

    started = time.perf_counter()
    parsed = parse(path)
    seconds = time.perf_counter() - started
    return {
        "paragraphs": len(parsed.paragraphs),
        "error": parsed.error,
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def read_like_ingest(path: Path, timeout: float) -> dict:
    """The file read in a fresh spawned worker with the ingest's time limit."""
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=1, mp_context=ctx)
    started = time.perf_counter()
    try:
        result = pool.submit(measured_parse, str(path)).result(timeout=timeout)
    except FutureTimeout:
        result = {"paragraphs": 0, "error": f"reading took longer than {timeout:.0f} s; skipped",
                  "seconds": round(time.perf_counter() - started, 1), "peak_rss_mb": None}  # fmt: skip
    finally:
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)
    size = path.stat().st_size
    return {"file": path.name, "size_mb": round(size / 1e6, 1), **result}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.fuzz.stress", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "test-output" / "stress")
    parser.add_argument("--only", action="append", help="only files whose name contains this (repeatable)")
    args = parser.parse_args(argv)
    timeout = Settings.from_env().parse_timeout
    started = time.perf_counter()
    paths = build_all(args.out / "files")
    print(
        f"Built the stress files in {time.perf_counter() - started:.0f} s; per-file time limit {timeout:.0f} s"
    )
    results = []
    for path in paths:
        if args.only and not any(part in path.name for part in args.only):
            continue
        result = read_like_ingest(path, timeout)
        results.append(result)
        outcome = f"{result['paragraphs']} paragraphs" if not result["error"] else f"error: {result['error']}"
        rss = f"{result['peak_rss_mb']} MB" if result["peak_rss_mb"] is not None else "(killed)"
        print(f"{result['file']:<22} {result['size_mb']:>6} MB  {result['seconds']:>6} s  peak RSS {rss:>8}  "
              f"{outcome}", flush=True)  # fmt: skip
    (args.out / "summary.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
