"""Many clients asking at once through `gradio_client`, optionally with a Chroma server restarted
in the middle.

    python -m evals.reliability.load [--clients 20] [--questions 400] [--url URL | --index DIR]
    python -m evals.reliability.load --chroma-restart [--outage 5]

Without --url, the bundled sources and the evaluation fixtures (the corpus of
evals/suites/g7-smuggling.yaml) are indexed into a temporary directory (or --index DIR) and a
`kb serve` is started on a free loopback port. Each client has its own `gradio_client.Client`
and asks the suite's questions in turn through `/ask` until --questions answers have been asked
in all. The report gives throughput, latency percentiles and every error message.

With --chroma-restart the index lives on a `chroma run` server; when a third of the questions
have been asked the server is stopped, and started again on the same port and data after
--outage seconds. Questions asked during the outage must fail with a readable message (no
traceback), and the app must answer again once the server is back, without being restarted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "evals" / "suites" / "g7-smuggling.yaml"


def questions(suite: Path = SUITE) -> list[str]:
    """The questions of an evaluation suite, in order."""
    return [q["question"] for q in yaml.safe_load(suite.read_text(encoding="utf-8"))["queries"]]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 180, proc: subprocess.Popen | None = None) -> None:
    import httpx

    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args[:4]} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def env(**settings: str) -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", **{f"KB_{k.upper()}": v for k, v in settings.items()}}


def corpus_sources(target: Path) -> Path:
    """One sources directory with the bundled documents and the suite's fixtures, manifests merged."""
    target.mkdir(parents=True, exist_ok=True)
    manifests = []
    for folder in (ROOT / "sources", ROOT / "evals" / "corpus"):
        for path in folder.iterdir():
            if path.name == "sources.toml":
                manifests.append(path.read_text(encoding="utf-8"))
            elif path.is_file():
                shutil.copy(path, target / path.name)
    (target / "sources.toml").write_text("\n".join(manifests), encoding="utf-8")
    return target


class ChromaServer:
    """A `chroma run` server on loopback that can be stopped and started again on the same data."""

    def __init__(self, path: Path, port: int | None = None):
        self.path, self.port = path, port or free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or "chroma"
        self.proc = subprocess.Popen(
            [chroma, "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(f"{self.url}/api/v2/heartbeat", 60, self.proc)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_app(index: Path, sources: Path, extra: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    """`kb serve` on a free loopback port, its output in `log`; returns the process and its URL
    once it answers."""
    port = free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kb.cli", "serve", "--index", str(index), "--sources", str(sources)],
            cwd=ROOT,
            env=env(port=str(port), **extra),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    wait_for(url + "/", 300, proc)
    return proc, url


@dataclass
class Call:
    """One question asked: when, how long, and the error message if it failed."""

    client: int
    question: str
    started: float
    seconds: float
    error: str = ""
    passages: int = 0


@dataclass
class Result:
    clients: int
    calls: list[Call]
    seconds: float
    events: dict[str, float] = field(default_factory=dict)  # name → time since start

    def summary(self) -> dict:
        ok = [c.seconds for c in self.calls if not c.error]
        errors: dict[str, int] = {}
        for c in self.calls:
            if c.error:
                errors[c.error] = errors.get(c.error, 0) + 1
        q = np.percentile(ok, [50, 95, 99]) * 1000 if ok else [float("nan")] * 3
        return {
            "clients": self.clients,
            "questions": len(self.calls),
            "answered": len(ok),
            "errors": sum(errors.values()),
            "seconds": round(self.seconds, 1),
            "throughput_per_s": round(len(ok) / self.seconds, 2) if self.seconds else 0.0,
            "p50_ms": round(float(q[0])),
            "p95_ms": round(float(q[1])),
            "p99_ms": round(float(q[2])),
            "error_messages": errors,
        }


def run_load(url: str, clients: int, total: int, asked: list[str], during=None, limit: float = 900) -> Result:
    """`clients` threads, each with its own gradio_client.Client, asking until `total` questions
    are answered (or `limit` seconds passed); a client that gets an error waits half a second
    before its next question, as a person would. `during(result, started)`, if given, runs in its
    own thread alongside (e.g. a server restart)."""
    from gradio_client import Client

    calls: list[Call] = []
    result = Result(clients, calls, 0.0)
    counter = iter(range(10**9))
    answered, asking = [0], [0]
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)

    def client(n: int) -> None:
        api = Client(url, verbose=False)
        ready.wait()
        while True:
            with lock:  # exactly `total` answers when nothing fails
                if answered[0] + asking[0] >= total or time.time() - start > limit:
                    return
                i = next(counter)
                asking[0] += 1
            question = asked[i % len(asked)]
            t0 = time.time()
            try:
                answer = api.predict(question, "hybrid", 5, None, api_name="/ask")
                call = Call(n, question, t0 - start, time.time() - t0, passages=len(answer["passages"]))
            except Exception as exc:  # recorded with its message: the report lists them
                call = Call(n, question, t0 - start, time.time() - t0, error=f"{type(exc).__name__}: {exc}")
            with lock:
                calls.append(call)
                answered[0] += not call.error
                asking[0] -= 1
            if call.error:
                time.sleep(0.5)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    start = time.time()
    ready.wait()
    side = threading.Thread(target=during, args=(result, start)) if during else None
    if side:
        side.start()
    for t in threads:
        t.join()
    result.seconds = time.time() - start
    if side:
        side.join()
    calls.sort(key=lambda c: c.started)
    return result


def restart_when(server: ChromaServer, after_calls: int, outage: float):
    """A `during` function: stop the server once `after_calls` questions were answered, start it
    again `outage` seconds later; the times go into result.events."""

    def during(result: Result, start: float) -> None:
        while len(result.calls) < after_calls:
            time.sleep(0.05)
        result.events["stopped"] = time.time() - start
        server.stop()
        time.sleep(outage)
        server.start()
        result.events["started"] = time.time() - start

    return during


def outage_report(result: Result) -> dict:
    """What the clients saw around a restart: errors before, during and after, and recovery."""
    stopped, started = result.events["stopped"], result.events["started"]
    before = [c for c in result.calls if c.started + c.seconds < stopped]
    during = [c for c in result.calls if c.started < started and c.started + c.seconds >= stopped]
    after = [c for c in result.calls if c.started >= started]
    recovered = next((c.started + c.seconds for c in after if not c.error), None)
    failed_after = [c for c in after if c.error]
    return {
        "stopped_at_s": round(stopped, 1),
        "started_at_s": round(started, 1),
        "errors_before": sum(bool(c.error) for c in before),
        "errors_during": sum(bool(c.error) for c in during),
        "answered_during": sum(not c.error for c in during),
        "messages_during": sorted({c.error for c in during if c.error}),
        "first_answer_after_restart_s": round(recovered - started, 2) if recovered else None,
        "errors_after": len(failed_after),
        "messages_after": sorted({c.error for c in failed_after}),
        "answered_after": sum(not c.error for c in after),
        "tracebacks": sum("Traceback" in c.error for c in result.calls),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evals.reliability.load", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--questions", type=int, default=400, help="questions answered in all (default 400)")
    parser.add_argument("--url", help="a running app to load (default: start `kb serve`)")
    parser.add_argument(
        "--index", metavar="DIR", help="index to serve (default: a new one of sources/ + evals/corpus)"
    )
    parser.add_argument(
        "--chroma-restart", action="store_true", help="use a Chroma server, restart it midway"
    )
    parser.add_argument("--outage", type=float, default=5.0, help="seconds the Chroma server stays down")
    parser.add_argument("--json", metavar="FILE", help="write the summary and every call as JSON")
    args = parser.parse_args(argv)
    asked = questions()
    tmp = Path(tempfile.mkdtemp(prefix="kb-load-"))
    app = server = None
    try:
        if args.url:
            url = args.url
        else:
            sources = corpus_sources(tmp / "sources")
            extra: dict[str, str] = {}
            if args.chroma_restart:
                server = ChromaServer(tmp / "chroma-server")
                server.start()
                extra["chroma_url"] = server.url
            index = Path(args.index) if args.index else tmp / ".kb"
            print(f"Indexing {sources}/ into {index}/ …", flush=True)
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "kb.cli",
                    "ingest",
                    "-q",
                    "--index",
                    str(index),
                    "--sources",
                    str(sources),
                ],
                cwd=ROOT,
                env=env(**extra),
                check=True,
                stdout=subprocess.DEVNULL,
            )
            app, url = start_app(index, sources, extra, tmp / "serve.log")
        print(f"{args.clients} clients, {args.questions} questions, against {url}", flush=True)
        during = restart_when(server, args.questions // 3, args.outage) if server else None
        result = run_load(url, args.clients, args.questions, asked, during)
        report = {"summary": result.summary()}
        if server:
            report["restart"] = outage_report(result)
        print(json.dumps(report, indent=2))
        if args.json:
            report["calls"] = [asdict(c) for c in result.calls]
            Path(args.json).write_text(json.dumps(report, indent=2), encoding="utf-8")
        if server:
            restart = report["restart"]
            bad = restart["errors_before"] or restart["errors_after"] or restart["tracebacks"]
            return 1 if bad or restart["first_answer_after_restart_s"] is None else 0
        return 1 if result.summary()["errors"] else 0
    finally:
        if app is not None:
            app.send_signal(signal.SIGINT)
            try:
                app.wait(timeout=30)
            except subprocess.TimeoutExpired:
                app.kill()
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
