"""`kb ask` and `kb search` in a new process answer through the app `kb serve` runs on the same
index (kb/cli/served.py), print what they print without it, and answer in their own process when the
app is gone, stale, or set up differently."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import httpx
import pytest
from helpers import ROOT, free_port, kb

from kb.cli import served
from kb.config import Settings

QUESTION = "Which commitments cover online platforms?"
VIA_APP = "answered by the app at"


@pytest.fixture(scope="module")
def index_dir(bundled, tmp_path_factory):
    """A copy of the bundled sources' index, for this module's app alone."""
    target = tmp_path_factory.mktemp("served") / ".kb"
    shutil.copytree(bundled.settings.index_dir, target)
    return target


def start_app(index_dir, **env) -> tuple[subprocess.Popen, str]:
    """`kb serve` on a free port, once its serve.json is written (the app answers from then on)."""
    port = free_port()
    full_env = {**os.environ, "KB_PORT": str(port), "KB_INDEX_DIR": str(index_dir), **env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kb.cli", "serve", "--sources", str(ROOT / "sources")],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180
    while not (index_dir / served.FILE).is_file():
        assert proc.poll() is None and time.monotonic() < deadline, "kb serve did not start"
        time.sleep(0.2)
    return proc, f"http://127.0.0.1:{port}"


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=60)


@pytest.fixture(scope="module")
def app(index_dir):
    proc, url = start_app(index_dir)
    yield url
    stop(proc)


def answer_json(out: str) -> dict:
    result = json.loads(out)
    result.pop("latency_ms")
    result.pop("stages_ms")  # timings: never the same twice
    return result


def test_kb_ask_answers_through_the_running_app_with_the_same_answer(app, index_dir):
    through_app = kb("ask", QUESTION, "--index", str(index_dir), "--json")
    here = kb("ask", QUESTION, "--index", str(index_dir), "--json", "--here")
    assert through_app.returncode == here.returncode == 0, through_app.stderr + here.stderr
    assert f"{VIA_APP} {app}" in through_app.stderr
    assert VIA_APP not in here.stderr
    result = answer_json(through_app.stdout)
    assert result == answer_json(here.stdout)
    assert result["passages"] and result["passages"][0]["citation"].startswith("G7 Leaders")
    # The terminal view is rendered from that same answer: identical but for the latency.
    printed = kb("ask", QUESTION, "--index", str(index_dir)).stdout.splitlines()
    printed_here = kb("ask", QUESTION, "--index", str(index_dir), "--here").stdout.splitlines()
    assert printed[2:] == printed_here[2:] and "Answer" in printed


def test_kb_search_with_filters_answers_through_the_app(app, index_dir):
    args = ("search", "returns", "--index", str(index_dir), "--country", "G7", "-k", "3", "--json")
    through_app, here = kb(*args), kb(*args, "--here")
    assert VIA_APP in through_app.stderr
    result = answer_json(through_app.stdout)
    assert result == answer_json(here.stdout)
    assert result["answer"] == "" and len(result["passages"]) == 3
    assert {p["document"]["country"] for p in result["passages"]} == {"G7"}


def test_a_question_the_app_refuses_gets_the_message_it_gets_without_the_app(app, index_dir):
    through_app = kb("search", "returns", "--index", str(index_dir), "--country", "XYZ")
    here = kb("search", "returns", "--index", str(index_dir), "--country", "XYZ", "--here")
    assert through_app.returncode == here.returncode == 2
    assert (
        through_app.stderr == here.stderr == "kb: error: no indexed document has country 'XYZ'; known: G7\n"
    )
    too_long = kb("ask", "x" * 600, "--index", str(index_dir))
    assert too_long.returncode == 2 and "limit is 500" in too_long.stderr


def test_other_answering_settings_answer_in_their_own_process(app, index_dir):
    """The app fuses dense and BM25 scores with "cc"; a CLI set to "rrf" must not get its answers."""
    result = kb("search", "returns", "--index", str(index_dir), env={"KB_FUSION": "rrf"})
    assert result.returncode == 0 and VIA_APP not in result.stderr
    assert "Passages" in result.stdout


def test_the_answer_route_takes_the_token_of_serve_json_only(app, index_dir):
    path = index_dir / served.FILE
    assert path.stat().st_mode & 0o777 == 0o600  # the token is the owner's
    record = json.loads(path.read_text())
    assert record["url"] == app and record["pid"] > 0
    request = {"question": QUESTION, "k": 2}
    with httpx.Client(base_url=app, timeout=60) as http:
        assert http.post(served.ROUTE, json=request).status_code == 401
        assert (
            http.post(served.ROUTE, json=request, headers={served.TOKEN_HEADER: "guess"}).status_code == 401
        )
        ok = http.post(served.ROUTE, json=request, headers={served.TOKEN_HEADER: record["token"]})
        assert ok.status_code == 200 and len(ok.json()["passages"]) == 2
        bad = http.post(served.ROUTE, json={"question": QUESTION, "colour": "red"},
                        headers={served.TOKEN_HEADER: record["token"]})  # fmt: skip
        assert bad.status_code == 400 and "unknown request field colour" in bad.json()["detail"]


def test_a_stopped_or_stale_app_is_not_asked(bundled, tmp_path):
    index_dir = tmp_path / ".kb"
    shutil.copytree(bundled.settings.index_dir, index_dir)
    proc, _ = start_app(index_dir)
    stop(proc)
    assert not (index_dir / served.FILE).exists()  # `kill` stops it as Ctrl+C does: the file goes with it
    result = kb("ask", QUESTION, "--index", str(index_dir))
    assert result.returncode == 0 and VIA_APP not in result.stderr and "Answer" in result.stdout
    # A file left by an app killed with -9: its process is gone, then (pid reused) its port is closed.
    settings = Settings.from_env(index_dir=index_dir)  # as the command reads them
    for pid in (2**22 + 1, os.getpid()):
        record = {"url": f"http://127.0.0.1:{free_port()}", "token": "t", "pid": pid}
        (index_dir / served.FILE).write_text(json.dumps(record | {"settings": served.fingerprint(settings)}))
        assert (served.find(settings) is None) == (pid != os.getpid())
        result = kb("ask", QUESTION, "--index", str(index_dir), "--json")
        assert result.returncode == 0 and VIA_APP not in result.stderr
        assert json.loads(result.stdout)["passages"]
