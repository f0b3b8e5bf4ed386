"""The measures `kb bench` takes each in a child process of its own: a task of workers.py, a
re-ingest with the real `kb ingest`, `kb ask` in a new process, `kb serve` to its first answer;
each with its wall time and peak RSS."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from kb.bench.corpus import ROOT
from kb.errors import KBError

APP_QUESTION = "What did the G7 agree on returns?"
APP_TIMEOUT = 600.0
CLI_RUNS = 5  # this machine's noise: one run in five may take half as long again


@dataclass(frozen=True)
class Child:
    """A finished child process: exit code, wall seconds, peak RSS (MiB) and what it printed."""

    code: int
    seconds: float
    peak_rss_mb: float
    stdout: str
    stderr: str = ""


def ocr_ingest(pages: int, cache: Path) -> dict:
    """The ingest of a scanned PDF of `pages` pages into a new index under CACHE/ocr/ (see
    kb/bench/scans.py ingest_worker), measured afresh at every run: a few pages take seconds, not worth a cache."""
    result, _ = worker("ocr", {"directory": str((cache / "ocr").resolve()), "pages": pages})
    if result.get("failed"):
        raise KBError(f"kb bench: the scanned PDF did not ingest cleanly: {result['failed']}")
    return result


def table_ingest(pages: int, cache: Path) -> dict:
    """The ingest of the table-heavy fixture PDF of `pages` pages into a new index under
    CACHE/tables/ (see kb/bench/tables.py), measured afresh at every run."""
    result, _ = worker("tables", {"directory": str((cache / "tables").resolve()), "pages": pages})
    if result.get("failed"):
        raise KBError(f"kb bench: the table-heavy PDF did not ingest cleanly: {result['failed']}")
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


def generation_copy(paths: dict, scratch: Path) -> dict:
    """What `kb ingest` spends before reading anything when a document changed: copying the
    generation in service into a new one (kb/index/generations.py), here into a scratch directory."""
    from kb.index import generations

    shutil.rmtree(scratch, ignore_errors=True)
    started = time.perf_counter()
    generations.copy(generations.current(Path(paths["index"])), scratch)
    seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in scratch.rglob("*") if p.is_file())
    shutil.rmtree(scratch)
    return {"seconds": seconds, "mb": size / 1e6}


def cli_ask(paths: dict, through_app: bool = False) -> dict:
    """`kb ask` as a user types it in a terminal, each time in a new process: wall seconds (the
    median of CLI_RUNS runs: imports, opening the index and the model, the answer) and the
    answer's own latency as the command reports it. through_app: while `kb serve` runs on the
    index, which answers (kb/cli/served.py); otherwise `--here`, the command's own process."""
    runs = []
    argv = [sys.executable, "-m", "kb.cli", "ask", APP_QUESTION, "--index", paths["index"], "--json"]
    for _ in range(CLI_RUNS):
        child = _run(argv + ([] if through_app else ["--here"]), capture=True)
        if through_app != ("answered by the app at" in child.stderr):
            raise KBError(
                f"kb bench: `kb ask` {'did not answer' if through_app else 'answered'} through the app"
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
            through_app = cli_ask(paths, through_app=True)
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
        "cli": through_app,
    }


def worker(task: str, args: dict) -> tuple[dict, Child]:
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
    with tempfile.TemporaryFile("w+") as errors:  # a file, not a pipe: a full pipe would stall the child
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE if capture else None,
            stderr=errors if capture else None,
            env=_env(),
            cwd=ROOT,
            text=True,
        )
        stdout = proc.stdout.read() if capture else ""
        _, status, usage = os.wait4(proc.pid, 0)
        errors.seek(0)
        stderr = errors.read()
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if capture and proc.returncode != 0:
        raise KBError(
            f"kb bench: `{' '.join(argv[2:5])} …` failed (exit {proc.returncode}): {stderr.strip()[-500:]}"
        )
    return Child(proc.returncode, seconds, usage.ru_maxrss / 1024, stdout, stderr)


def _env() -> dict:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "KB_CHROMA_URL": "", "PYTHONUNBUFFERED": "1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
