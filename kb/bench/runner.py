"""`kb bench`: every measure at every size, each in a child process of its own; the results as
a dict that report.py turns into the table and the JSON.

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
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from kb.bench import corpus, report
from kb.bench.corpus import ROOT
from kb.config import Settings
from kb.errors import KBError

# Code whose change makes a cached ingest measurement stale (the ingest path, not the query path).
INGEST_CODE = [
    "ingest/**/*.py",
    "kb/embed.py",
    "kb/store.py",
    "kb/lexical.py",
    "kb/sentences.py",
    "kb/types.py",
    "kb/config.py",
    "kb/cite.py",
    "kb/commitments/**/*",
]
BASELINE_CODE = ["kb/bench/baseline.py"]
APP_QUESTION = "What did the G7 agree on returns?"
APP_TIMEOUT = 600.0
CLI_RUNS = 3


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


@dataclass(frozen=True)
class Child:
    """A finished child process: exit code, wall seconds, peak RSS (MiB) and what it printed."""

    code: int
    seconds: float
    peak_rss_mb: float
    stdout: str


def run(options: Options, settings: Settings, command: str) -> dict:
    """Measure everything; returns the results (see report.py for their shape)."""
    started = time.time()
    results: dict = {
        "command": command,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": report.machine(),
        "git": report.git_commit(),
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
        },
        "sizes": [],
    }
    options.cache.mkdir(parents=True, exist_ok=True)
    for i, size in enumerate(options.sizes, 1):
        _say(f"[{i}/{len(options.sizes)}] {size:,} passages")
        results["sizes"].append(measure_size(size, options, settings))
    if options.ocr_pages:
        _say(f"OCR: ingest of an image-only PDF of {options.ocr_pages} pages…")
        results["ocr"] = ocr_ingest(options.ocr_pages, options.cache)
    _say(
        "Quality on the shipped suite (kb hybrid"
        + ("" if options.skip_baseline else " and the baseline")
        + ")"
    )
    results["quality"] = _worker(
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
        done, _ = _worker("ingest", {**paths, "manifest": str(c.manifest.resolve()), "launched": time.time()})
        ingest, encode = done["ingest"], done["encode"]
        if ingest["failed"]:
            raise KBError(f"the benchmark corpus did not ingest cleanly: {ingest['failed'][:3]}")
        build = {
            "key": key,
            "measured_at": time.strftime("%Y-%m-%d %H:%M:%S %z"),
            "git": report.git_commit(),
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
    out["reingest"] = reingest(paths, c.manifest)

    if options.profile == size:
        _say("  profiling one ingest (into a scratch index)…")
        scratch = options.cache / "profile" / f"n{size}"
        shutil.rmtree(scratch, ignore_errors=True)
        _worker(
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
    out["queries"], _ = _worker("queries", {**paths, "queries": str(c.queries.resolve()), "profile": profile})

    if not options.skip_app:
        _say("  app start-up to first answer (`kb serve`)…")
        out["app"] = app_startup(paths, options.cache)
    _say(f"  `kb ask` in a new process ({CLI_RUNS} times)…")
    out["cli"] = cli_ask(paths)
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
        base, child = _worker(
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


def ocr_ingest(pages: int, cache: Path) -> dict:
    """The ingest of a scanned PDF of `pages` pages into a new index under CACHE/ocr/ (see
    workers.ocr_ingest), measured afresh at every run: a few pages take seconds, not worth a cache."""
    result, _ = _worker("ocr", {"directory": str((cache / "ocr").resolve()), "pages": pages})
    if result.get("failed"):
        raise KBError(f"kb bench: the scanned PDF did not ingest cleanly: {result['failed']}")
    return result


def reingest(paths: dict, manifest: Path) -> dict:
    """`kb ingest` of the unchanged corpus, timed from outside (what a user waits for)."""
    child = _run(
        [
            sys.executable,
            "-m",
            "kb.cli",
            "ingest",
            "--index",
            paths["index"],
            "--sources",
            paths["sources"],
            "--manifest",
            str(manifest.resolve()),
            "--json",
        ],
        capture=True,
    )
    summary = json.loads(child.stdout)
    return {
        "wall_s": child.seconds,
        "seconds": summary["seconds"],
        "documents": summary["unchanged"] + summary["added"] + summary["updated"],
        "unchanged": summary["unchanged"],
        "passages_embedded": summary["passages_embedded"],
        "peak_rss_mb": child.peak_rss_mb,
    }


def cli_ask(paths: dict) -> dict:
    """`kb ask` as a user types it in a terminal, each time in a new process: wall seconds (the
    median of CLI_RUNS runs: imports, opening the index and the model, the answer) and the
    answer's own latency as the command reports it."""
    runs = []
    for _ in range(CLI_RUNS):
        child = _run(
            [sys.executable, "-m", "kb.cli", "ask", APP_QUESTION, "--index", paths["index"], "--json"],
            capture=True,
        )
        runs.append((child.seconds, float(json.loads(child.stdout)["latency_ms"])))
    runs.sort()
    wall, latency = runs[len(runs) // 2]
    return {"wall_s": wall, "answer_ms": latency, "runs_s": [r[0] for r in runs]}


def app_startup(paths: dict, cache: Path) -> dict:
    """Seconds from starting `kb serve` to the app answering over HTTP, and to gradio_client's
    first `ask` returning; the server's peak RSS."""
    import httpx
    from gradio_client import Client

    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**_env(), "KB_HOST": "127.0.0.1", "KB_PORT": str(port), "KB_AUTH": ""}
    log = cache / "serve.log"
    with open(log, "w") as log_file:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kb.cli",
                "serve",
                "--index",
                paths["index"],
                "--sources",
                paths["sources"],
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )
        try:
            while True:
                if proc.poll() is not None or time.perf_counter() - t0 > APP_TIMEOUT:
                    raise KBError(f"`kb serve` did not start (see {log}): {log.read_text()[-500:]}")
                try:
                    if httpx.get(url, timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            ready = time.perf_counter() - t0
            answer = Client(url, verbose=False).predict(APP_QUESTION, "hybrid", 5, {}, api_name="/ask")
            first = time.perf_counter() - t0
        finally:
            proc.terminate()
            try:
                _, _, usage = os.wait4(proc.pid, 0)
                proc.returncode = 0
                rss = usage.ru_maxrss / 1024
            except ChildProcessError:
                rss = None
    return {
        "http_ready_s": ready,
        "first_answer_s": first,
        "peak_rss_mb": rss,
        "answered": bool(answer.get("passages")),
    }


def _worker(task: str, args: dict) -> tuple[dict, Child]:
    """Run one task of workers.py in a fresh process; its result and the process."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        result_path = Path(f.name)
    try:
        child = _run([sys.executable, "-m", "kb.bench.workers", task, json.dumps(args), str(result_path)])
        if child.code != 0:
            raise KBError(f"kb bench: the {task} step failed (exit {child.code}; its error is above)")
        return json.loads(result_path.read_text()), child
    finally:
        result_path.unlink(missing_ok=True)


def _run(argv: list[str], capture: bool = False) -> Child:
    """Run a command to its end; its peak RSS comes from wait4 (the process and its children)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE if capture else None, env=_env(), cwd=ROOT, text=True
    )
    stdout = proc.stdout.read() if capture else ""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if capture and proc.returncode != 0:
        raise KBError(f"kb bench: `{' '.join(argv[2:5])} …` failed (exit {proc.returncode})")
    return Child(proc.returncode, seconds, usage.ru_maxrss / 1024, stdout)


def _env() -> dict:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "KB_CHROMA_URL": "", "PYTHONUNBUFFERED": "1"}


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_T0 = time.perf_counter()


def _say(text: str) -> None:
    elapsed = int(time.perf_counter() - _T0)
    print(f"[{elapsed // 60:02d}:{elapsed % 60:02d}] {text}", file=sys.stderr, flush=True)
