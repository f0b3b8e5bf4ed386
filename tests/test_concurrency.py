"""Queries while `kb ingest` and `kb ingest --rebuild` run in another process, and two ingests at once.

The questions go through `kb.api.Library.ask`, what the app's `/ask` endpoint calls, from several
threads; the ingests are real `kb ingest` processes (forked from a server that has the libraries
imported, see evals/reliability/crash.py). Every answer must cite passages whose text the index
held at the time, from the previous or the new version of their document, and once an ingest
has finished the app must answer from the new index without a restart.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from evals.reliability import crash
from evals.reliability.crash import BACKEND, QUESTIONS, Launcher, make_corpus, open_index
from ingest import pipeline
from kb.api import Library
from kb.config import Settings

pytestmark = pytest.mark.slow


def passage_texts(settings: Settings) -> dict[str, str]:
    index = open_index(settings)
    try:
        return {p.id: p.text for p, _ in index.all_passages()}
    finally:
        index.close()


class Askers:
    """Threads asking the app's questions in a loop until stopped; every answer is kept with its times."""

    def __init__(self, library: Library, threads: int = 3):
        self.library = library
        self.answers: list[tuple[float, float, dict]] = []
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.changed = threading.Condition()  # notified after every answer or error
        self.threads = [threading.Thread(target=self._ask, args=(i,)) for i in range(threads)]

    def _ask(self, i: int) -> None:
        n = i
        while not self.stop.is_set():
            question = QUESTIONS[n % len(QUESTIONS)]
            n += 1
            started = time.time()
            try:
                answer = self.library.ask(question, "hybrid", 5)
            except Exception as exc:  # recorded: the test fails with every message
                with self.changed:
                    self.errors.append(f"{question!r}: {type(exc).__name__}: {exc}")
                    self.changed.notify_all()
                continue
            with self.changed:
                self.answers.append((started, time.time(), answer))
                self.changed.notify_all()

    def wait_until(self, enough, timeout: float = 300) -> None:
        """Wait until `enough(answers)` holds (or an error was recorded), checked after every answer."""
        with self.changed:
            if not self.changed.wait_for(lambda: enough(self.answers) or self.errors, timeout):
                raise AssertionError(f"{len(self.answers)} answers in {timeout} s")

    def __enter__(self) -> Askers:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)


def wrong_citations(answers, allowed: dict[str, set[str]]) -> list[str]:
    """Passages cited with a text the index did not hold, and quoted sentences not in their passage."""
    problems = []
    for _, _, answer in answers:
        by_marker = {p["marker"]: p for p in answer["passages"]}
        for p in answer["passages"]:
            if p["text"] not in allowed.get(p["id"], ()):
                problems.append(f"{p['id']} cited with a text the index never held: {p['text'][:60]!r}")
        for s in answer["sentences"]:
            if s["text"] not in by_marker[s["marker"]]["text"]:
                problems.append(f"sentence [{s['marker']}] is not in its passage: {s['text'][:60]!r}")
    return problems


def run_to_end(run, timeout: float = 300) -> int:
    deadline = time.time() + timeout
    while run.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert run.poll() is not None, "kb ingest did not finish"
    return run.poll()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A corpus, its index, the app's library on it, and a launcher of `kb ingest` processes."""
    root = tmp_path_factory.mktemp("concurrency")
    corpus = make_corpus(root, documents=8, seed=11)
    settings = Settings(sources_dir=corpus.dir, index_dir=root / ".kb", embed_backend=BACKEND)
    assert pipeline.run(settings, progress=False).exit_code == 0
    return corpus, settings, Library(settings), Launcher(fresh=False, log=root / "ingest.log")


@pytest.mark.parametrize("rebuild", [False, True], ids=["ingest", "rebuild"])
def test_answers_during_an_ingest_cite_text_the_index_held_and_then_the_new_index(live, rebuild):
    corpus, settings, library, launcher = live
    before = passage_texts(settings)
    reader = Library(settings)  # opened before the ingest, asked nothing
    reader.documents()
    for _ in range(2):
        corpus.mutate()
    argv = ["ingest", "-q", "--sources", str(corpus.dir), "--index", str(settings.index_dir)]
    with Askers(library) as askers:
        askers.wait_until(lambda answers: len(answers) >= 3)  # answered before the ingest starts
        run = launcher.start(argv + (["--rebuild"] if rebuild else []))
        assert run_to_end(run) == 0, Path(launcher.log).read_text()
        finished = time.time()
        askers.wait_until(lambda answers: sum(a[0] > finished + 0.1 for a in answers) >= 3)
    after = passage_texts(settings)
    assert before != after
    allowed = {pid: {t for t in (before.get(pid), after.get(pid)) if t} for pid in set(before) | set(after)}
    during = [a for a in askers.answers if a[0] < finished]
    later = [a for a in askers.answers if a[0] > finished + 0.1]
    assert not askers.errors, askers.errors[:5]
    assert len(during) >= 3 and len(later) >= 3, (len(during), len(later))
    assert wrong_citations(during, allowed) == []
    # Once the ingest is over, the app answers from the new index, without a restart.
    assert wrong_citations(later, {pid: {text} for pid, text in after.items()}) == []
    # The documents list and the reader see the new index too, without a question asked first.
    listed = {d["id"] for d in reader.documents()}
    assert listed == {Path(name).stem for name in corpus.versions}
    for doc_id in listed:
        paragraphs = reader.document(doc_id)["paragraphs"]
        assert {p["id"]: p["text"] for p in paragraphs} == {
            k: v for k, v in after.items() if k.startswith(doc_id + ":")
        }
    assert not crash.unpublished(settings.index_dir)


def test_a_second_ingest_is_refused_and_one_with_wait_runs_after_the_first(live, tmp_path):
    corpus, settings, _, launcher = live
    corpus.mutate()
    argv = ["ingest", "--sources", str(corpus.dir), "--index", str(settings.index_dir)]
    first = launcher.start(argv + ["--rebuild"], log=tmp_path / "first.log")
    lock = settings.index_dir / "ingest.lock"
    deadline = time.time() + 60
    while "pid" not in (lock.read_text() if lock.exists() else "") and time.time() < deadline:
        time.sleep(0.01)
    refused = launcher.start(argv, log=tmp_path / "refused.log")
    waiting = launcher.start(argv + ["--wait"], log=tmp_path / "waiting.log")
    assert run_to_end(refused) == 1
    assert "another `kb ingest` (pid" in (tmp_path / "refused.log").read_text()
    assert "--wait" in (tmp_path / "refused.log").read_text()
    assert run_to_end(first) == 0, (tmp_path / "first.log").read_text()
    assert run_to_end(waiting) == 0, (tmp_path / "waiting.log").read_text()
    # The waiting ingest ran on the rebuilt index after the swap, and found nothing left to do.
    assert "0 added, 0 updated" in (tmp_path / "waiting.log").read_text()
    assert not crash.unpublished(settings.index_dir)
