"""`kb bench`: every measure at every size, each in a child process of its own (measures.py); the
results as a dict that report.py turns into the table and the JSON.

Per size: the corpus (corpus.py); a fresh ingest and the raw encode of the same passages
(cached with the index in CACHE/index/n<size>/ while the corpus, the ingest code and the model
are unchanged); a re-ingest of the unchanged corpus with the real `kb ingest` command; query
latency; app start-up with `kb serve`; the llama-index baseline (cached likewise). Then, once,
the ingest of a scanned (image-only) PDF through OCR, and quality on the shipped suite.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from kb.bench import corpus, machine, measures, report
from kb.bench.corpus import ROOT
from kb.config import Settings
from kb.errors import KBError

# Code whose change makes a cached ingest measurement stale (the ingest path, not the query path).
INGEST_CODE = [
    "ingest/**/*.py",
    "kb/models/embed.py",
    "kb/index/store.py",
    "kb/index/registry.py",
    "kb/index/lexical.py",
    "kb/text/analyzer.py",
    "kb/text/sentences.py",
    "kb/types.py",
    "kb/config.py",
    "kb/index/cite.py",
    "kb/commitments/**/*",
]
BASELINE_CODE = ["kb/bench/baseline.py"]


@dataclass(frozen=True)
class Options:
    """What `kb bench` was asked to do."""

    sizes: tuple[int, ...] = (1000, 10000, 100000)
    queries: int = 200
    out: Path = Path("evals/bench")
    cache: Path = Path(".kb-bench")
    corpus: Path = Path("../shared/ungdc")
    skip_baseline: bool = False
    baseline_max: int = 10_000  # sizes above this skip the baseline (its build alone takes hours at 100k)
    skip_app: bool = False
    fresh: bool = False
    profile: int | None = None
    seed: int = 7
    ocr_pages: int = 4  # pages of the scanned PDF whose ingest through OCR is measured; 0: not measured
    table_pages: int = 6  # pages of the table-heavy PDF whose ingest is measured; 0: not measured


def run(options: Options, settings: Settings, command: str) -> dict:
    """Measure everything; returns the results (see report.py for their shape)."""
    started = time.time()
    results: dict = {
        "command": command,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": machine.machine(),
        "git": machine.git_commit(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "settings": {
            "model": settings.model_id,
            "embed_batch_size": settings.embed_batch_size,
            "embed_backend": settings.embed_backend,
            "embed_context": settings.embed_context,
            "ingest_workers": settings.ingest_workers,
        },
        "options": {
            "sizes": list(options.sizes),
            "queries": options.queries,
            "seed": options.seed,
            "corpus": str(options.corpus),
            "baseline": not options.skip_baseline,
            "app": not options.skip_app,
            "ocr_pages": options.ocr_pages,
            "table_pages": options.table_pages,
        },
        "sizes": [],
    }
    options.cache.mkdir(parents=True, exist_ok=True)
    for i, size in enumerate(options.sizes, 1):
        _say(f"[{i}/{len(options.sizes)}] {size:,} passages")
        results["sizes"].append(measure_size(size, options, settings))
    if options.ocr_pages:
        _say(f"OCR: ingest of an image-only PDF of {options.ocr_pages} pages…")
        results["ocr"] = measures.ocr_ingest(options.ocr_pages, options.cache)
    if options.table_pages:
        _say(f"Tables: ingest of a table-heavy PDF of {options.table_pages} pages…")
        results["tables"] = measures.table_ingest(options.table_pages, options.cache)
    _say(
        "Quality on the shipped suite (kb hybrid"
        + ("" if options.skip_baseline else " and the baseline")
        + ")"
    )
    results["quality"] = measures.worker(
        "quality", {"cache": str(options.cache.resolve()), "with_baseline": not options.skip_baseline}
    )[0]
    results["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    results["seconds"] = round(time.time() - started, 1)
    results["targets"] = report.targets(results)
    return results


def measure_size(size: int, options: Options, settings: Settings) -> dict:
    """Every measure at one size."""
    c = corpus.build(size, options.corpus, options.cache, settings, options.seed, options.queries)
    _say(
        f"  corpus: {c.real_documents} UN statements + {c.synthetic_documents} synthetic, "
        f"~{c.expected_passages:,} passages, in {c.dir}/"
    )
    index = options.cache / "index" / f"n{size}"
    paths = {"index": str(index.resolve()), "sources": str(c.dir.resolve())}
    out: dict = {
        "size": size,
        "corpus": {
            "real_documents": c.real_documents,
            "synthetic_documents": c.synthetic_documents,
            "sha256": c.digest,
        },
    }

    key = _key(c.digest, settings, INGEST_CODE, ["torch", "sentence-transformers", "chromadb"])
    record = options.cache / "builds" / f"n{size}.json"
    build = None if options.fresh else _cached(record, key, index)
    if build is None:
        shutil.rmtree(index, ignore_errors=True)
        _say("  ingest into a new index, then the raw encode of the same passages…")
        done, _ = measures.worker(
            "ingest", {**paths, "manifest": str(c.manifest.resolve()), "launched": time.time()}
        )
        ingest, encode = done["ingest"], done["encode"]
        if ingest["failed"]:
            raise KBError(f"the benchmark corpus did not ingest cleanly: {ingest['failed'][:3]}")
        build = {
            "key": key,
            "measured_at": time.strftime("%Y-%m-%d %H:%M:%S %z"),
            "git": machine.git_commit(),
            "ingest": ingest,
            "encode": encode,
        }
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps(build, indent=1))
        build["cached"] = False
    else:
        _say(
            f"  ingest and raw encode: reused from {build['measured_at']} (corpus and ingest code unchanged)"
        )
        build["cached"] = True
    out.update(
        ingest=build["ingest"],
        encode=build["encode"],
        build_cached=build["cached"],
        build_measured_at=build["measured_at"],
        build_git=build["git"],
    )

    _say("  re-ingest of the unchanged corpus (`kb ingest`)…")
    out["reingest"] = measures.reingest(paths, c.manifest)
    _say("  copy of the generation in service, as a change begins…")
    out["copy"] = measures.generation_copy(paths, options.cache / "copy-scratch")

    if options.profile == size:
        _say("  profiling one ingest (into a scratch index)…")
        scratch = options.cache / "profile" / f"n{size}"
        shutil.rmtree(scratch, ignore_errors=True)
        measures.worker(
            "ingest",
            {
                "index": str(scratch.resolve()),
                "sources": paths["sources"],
                "manifest": str(c.manifest.resolve()),
                "profile": str((options.out / f"profile-ingest-n{size}.txt").resolve()),
                "raw_encode": False,
            },
        )
        shutil.rmtree(scratch, ignore_errors=True)
    _say(f"  queries: {options.queries} per mode…")
    profile = (
        str((options.out / f"profile-{{mode}}-n{size}.txt").resolve()) if options.profile == size else ""
    )
    out["queries"], _ = measures.worker(
        "queries", {**paths, "queries": str(c.queries.resolve()), "profile": profile}
    )

    if not options.skip_app:
        _say("  app start-up to first answer (`kb serve`)…")
        out["app"] = measures.app_startup(paths, options.cache)
    _say(f"  `kb ask` in a new process ({measures.CLI_RUNS} times)…")
    out["cli"] = measures.cli_ask(paths)
    if not options.skip_baseline and size <= options.baseline_max:
        bkey = _key(
            c.digest,
            settings,
            BASELINE_CODE,
            [
                "llama-index-core",
                "llama-index-vector-stores-chroma",
                "chromadb",
                "torch",
                "sentence-transformers",
            ],
        )
        bdir = options.cache / "baseline" / f"n{size}"
        brecord = options.cache / "builds" / f"baseline-n{size}.json"
        cached = None if options.fresh else _cached(brecord, bkey, bdir)
        _say("  llama-index baseline" + (" (reused build)" if cached else " (building)") + "…")
        base, child = measures.worker(
            "baseline",
            {
                "sources": paths["sources"],
                "manifest": str(c.manifest.resolve()),
                "directory": str(bdir.resolve()),
                "queries": str(c.queries.resolve()),
                "build": cached is None,
            },
        )
        if cached is None:
            base["build"]["wall_s"] = child.seconds
            cached = {
                "key": bkey,
                "measured_at": time.strftime("%Y-%m-%d %H:%M:%S %z"),
                "build": base["build"],
                "peak_rss_mb": base["peak_rss_mb"],
            }
            brecord.parent.mkdir(parents=True, exist_ok=True)
            brecord.write_text(json.dumps(cached, indent=1))
            base["build_cached"] = False
        else:
            base["build"], base["build_cached"] = cached["build"], True
            base["build_peak_rss_mb"] = cached["peak_rss_mb"]
        base["build_measured_at"] = cached["measured_at"]
        out["baseline"] = base
    return out


def _key(digest: str, settings: Settings, code: list[str], packages: list[str]) -> str:
    """What a cached measurement depends on: corpus, code, model settings, library versions."""
    h = hashlib.sha256(digest.encode())
    for pattern in code:
        for path in sorted(ROOT.glob(pattern)):
            if path.is_file() and "__pycache__" not in path.parts:
                h.update(path.relative_to(ROOT).as_posix().encode() + path.read_bytes())
    h.update(
        f"{settings.model_id}|{settings.embed_batch_size}|{settings.embed_context}|{settings.ingest_workers}".encode()
    )
    for name in packages:
        h.update(f"{name}={metadata.version(name)}".encode())
    return h.hexdigest()


def _cached(record: Path, key: str, directory: Path) -> dict | None:
    try:
        build = json.loads(record.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return build if build.get("key") == key and directory.is_dir() else None


_T0 = time.perf_counter()


def _say(text: str) -> None:
    elapsed = int(time.perf_counter() - _T0)
    print(f"[{elapsed // 60:02d}:{elapsed % 60:02d}] {text}", file=sys.stderr, flush=True)
