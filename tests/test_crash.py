"""SIGKILL during `kb ingest` and `kb ingest --rebuild`: the index keeps answering, and the next
run finishes the job. A short version of `python -m evals.reliability.crash` (which runs 40 kills)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from evals.reliability import crash
from ingest import pipeline
from kb.config import Settings
from kb.index import generations

pytestmark = pytest.mark.slow


def test_killed_ingests_leave_an_index_that_answers_and_a_rerun_equals_a_clean_ingest(tmp_path):
    report = crash.scenario(tmp_path, runs=5, seed=2)
    print(report.markdown())
    assert report.problems == []
    assert report.kills >= 4
    assert any(r.rebuild and r.killed for r in report.runs)


def test_a_killed_rebuild_leaves_the_old_index_in_service_and_the_next_run_cleans_up(tmp_path):
    corpus = crash.make_corpus(tmp_path, documents=6, seed=4)
    settings = Settings(sources_dir=corpus.dir, index_dir=tmp_path / ".kb", embed_backend=crash.BACKEND)
    assert pipeline.run(settings, progress=False).exit_code == 0
    before = crash.index_contents(settings)
    corpus.mutate()
    beside = crash.written_generation(settings.index_dir, rebuild=True)
    launcher = crash.Launcher(fresh=False, log=tmp_path / "ingest.log")
    argv = ["ingest", "-q", "--sources", str(corpus.dir), "--index", str(settings.index_dir)]
    run = launcher.start(argv + ["--rebuild"])
    killed, _ = crash.kill_at(run, ("write", 2), beside, 0, crash.random.Random(0))
    assert killed and beside.is_dir()  # killed with three documents written into a new generation
    after = crash.index_contents(settings)
    assert (after["ids"], after["texts"], after["records"]) == (
        before["ids"],
        before["texts"],
        before["records"],
    )
    assert crash.check_answers(settings, corpus) == []

    rerun = launcher.start(argv)
    while rerun.poll() is None:
        time.sleep(0.05)
    assert rerun.poll() == 0
    assert crash.unpublished(settings.index_dir) == []
    clean = settings.with_(index_dir=tmp_path / "clean" / ".kb")
    pipeline.run(clean, progress=False)
    assert crash.compare_with_clean(settings, clean) == []


def test_a_failing_rebuild_leaves_the_old_index_in_service(tmp_path):
    corpus = crash.make_corpus(tmp_path, documents=3, seed=5)
    settings = Settings(sources_dir=corpus.dir, index_dir=tmp_path / ".kb", embed_backend=crash.BACKEND)
    assert pipeline.run(settings, progress=False).exit_code == 0
    before = crash.index_contents(settings)
    corpus.mutate()
    failed = subprocess.run(
        [
            crash.sys.executable,
            "-m",
            "kb.cli",
            "ingest",
            "--rebuild",
            "--sources",
            str(corpus.dir),
            "--index",
            str(settings.index_dir),
            "--embed-model",
            str(tmp_path / "no-such-model"),
        ],
        capture_output=True,
        text=True,
        cwd=crash.ROOT,
        env={**crash.os.environ, "KB_EMBED_BACKEND": crash.BACKEND},
    )
    assert failed.returncode == 1
    assert "cannot load the embedding model" in failed.stderr and "Traceback" not in failed.stderr
    assert crash.unpublished(settings.index_dir) == []
    after = crash.index_contents(settings)
    assert (after["ids"], after["texts"], after["records"]) == (
        before["ids"],
        before["texts"],
        before["records"],
    )
    assert crash.check_answers(settings, corpus) == []


def test_a_rebuild_puts_a_new_generation_in_service_and_keeps_the_feedback(tmp_path):
    corpus = crash.make_corpus(tmp_path, documents=3, seed=6)
    settings = Settings(sources_dir=corpus.dir, index_dir=tmp_path / ".kb", embed_backend=crash.BACKEND)
    assert pipeline.run(settings, progress=False).exit_code == 0
    (settings.index_dir / "feedback.jsonl").write_text('{"verdict": "helpful"}\n')
    live = generations.current(settings.index_dir)
    corpus.mutate()
    summary = pipeline.run(settings, rebuild=True, progress=False)
    assert summary.exit_code == 0 and summary.count("added") == 3
    assert generations.current(settings.index_dir) != live  # a new generation, switched to
    assert generations.all_of(settings.index_dir) == [generations.current(settings.index_dir)]
    assert (settings.index_dir / "feedback.jsonl").read_text() == '{"verdict": "helpful"}\n'
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".kb.")] == []
    clean = settings.with_(index_dir=tmp_path / "clean" / ".kb")
    pipeline.run(clean, progress=False)
    assert crash.compare_with_clean(settings, clean) == []


def process_group(pgid: int) -> list[int]:
    """Live processes of a process group (zombies excluded), from /proc."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            pids.append(int(stat.parent.name))
    return pids


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_reader_and_embedding_processes_exit_when_kb_ingest_alone_is_killed(tmp_path):
    corpus = crash.make_corpus(tmp_path, documents=30, seed=8)
    launcher = crash.Launcher(fresh=False, log=tmp_path / "ingest.log")
    run = launcher.start(["ingest", "-q", "--sources", str(corpus.dir), "--index", str(tmp_path / ".kb")])
    deadline = time.time() + 120
    while len(process_group(run.pid)) < 3 and run.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    assert run.poll() is None, "the ingest ended before its reader and embedding processes were seen"
    os.kill(run.pid, signal.SIGKILL)  # the main process only, as the OOM killer would
    while process_group(run.pid) and time.time() < deadline:
        time.sleep(0.1)
    assert process_group(run.pid) == []


@pytest.mark.server
def test_a_killed_rebuild_on_a_chroma_server_leaves_the_old_collection_and_the_next_run_drops_the_new(
    tmp_path,
):
    from evals.reliability.load import ChromaServer

    server = ChromaServer(tmp_path / "chroma-server")
    server.start()
    try:
        corpus = crash.make_corpus(tmp_path, documents=6, seed=9)
        settings = Settings(
            sources_dir=corpus.dir,
            index_dir=tmp_path / ".kb",
            embed_backend=crash.BACKEND,
            chroma_url=server.url,
        )
        assert pipeline.run(settings, progress=False).exit_code == 0
        before = crash.index_contents(settings)
        corpus.mutate()
        launcher = crash.Launcher(fresh=False, log=tmp_path / "ingest.log", env={"KB_CHROMA_URL": server.url})
        argv = ["ingest", "-q", "--sources", str(corpus.dir), "--index", str(settings.index_dir)]
        run = launcher.start(argv + ["--rebuild"])
        beside = crash.written_generation(settings.index_dir, rebuild=True)
        killed, _ = crash.kill_at(run, ("write", 2), beside, 0, crash.random.Random(0))
        assert killed
        client = crash.open_index(settings).client
        assert len(client.list_collections()) == 2  # the live one and the half-built one
        after = crash.index_contents(settings)
        assert (after["ids"], after["texts"]) == (before["ids"], before["texts"])
        assert crash.check_answers(settings, corpus) == []

        rerun = launcher.start(argv)
        while rerun.poll() is None:
            time.sleep(0.05)
        assert rerun.poll() == 0, (tmp_path / "ingest.log").read_text()
        assert [c.name for c in client.list_collections()] == ["passages"]
        assert crash.unpublished(settings.index_dir) == []
        clean = settings.with_(index_dir=tmp_path / "clean" / ".kb", collection="clean")
        pipeline.run(clean, progress=False)
        assert crash.compare_with_clean(settings, clean) == []
    finally:
        server.stop()
