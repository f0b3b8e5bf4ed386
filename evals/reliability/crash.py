"""SIGKILL `kb ingest` at random points of its work, over and over, and check what is left.

    python -m evals.reliability.crash --runs 40 --seed 1 [--fresh] [--out report.md]

A small corpus of generated text and Markdown fixtures is indexed once; then, run after run, a
few documents are changed, added or removed and `kb ingest` (every fourth run
`kb ingest --rebuild`) is killed with SIGKILL, together with its reader processes, at a point
drawn from a seeded generator: a delay after start, the n-th registry write, the first
document marked unfinished, or the end of the document writes (BM25 snapshot and commitments).

After each kill the index must answer queries with passages whose text is a paragraph of the
document they cite, and every document the registry holds as finished must have exactly its
passages in Chroma, all from one version of its file; a killed run (`--rebuild` or not) must leave
the generation in service exactly as it was, unless it was killed after putting its new one in
service (kb/index/generations.py). After a last uninterrupted run the index must equal a clean ingest of
the same sources: same passage ids, texts, metadata and vectors, same registry, a BM25 snapshot
of exactly the Chroma passages, and nothing left beside it.

By default each run is `kb.cli.main(["ingest", ...])` in a process forked from a server that
has already imported the libraries and loaded the model (a kill then costs the work, not ten
seconds of imports); `--fresh` starts every run as a new `python -m kb.cli ingest` process.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
# Float ONNX vectors do not depend on the other texts of their batch, so an index updated run by
# run can be compared vector for vector with a clean ingest. (int8 dynamic quantization scales
# each batch by its own range: the same text gets a slightly different vector in another batch.)
BACKEND = "onnx"
QUESTIONS = [
    "financial investigators trace the proceeds",
    "joint investigation teams share evidence",
    "online platforms remove advertisements",
]
_TOPICS = [
    "online platforms remove advertisements for smuggling services",
    "financial investigators trace the proceeds of smuggling networks",
    "transport operators check travel documents before boarding",
    "joint investigation teams share evidence across borders",
    "return procedures respect the dignity of the persons concerned",
    "awareness campaigns warn migrants about the risks of irregular journeys",
    "border guards receive training on identifying victims of trafficking",
    "countries of transit cooperate on dismantling criminal networks",
]


# --- the corpus -------------------------------------------------------------------------------


def document(number: int, version: int) -> tuple[str, str]:
    """File name and text of fixture document `number` at `version`: 4–7 numbered paragraphs,
    Markdown with a heading for odd numbers, plain text for even ones."""
    rng = random.Random(number * 1000 + version)
    title = f"Test fixture — not an official document: report {number}, version {version}"
    paragraphs = [
        f"{n}. In {rng.choice(['2024', '2025', '2026'])} report {number} found that "
        f"{rng.choice(_TOPICS)}. Measure {number}.{n}.{version} requires that {rng.choice(_TOPICS)}."
        for n in range(1, 4 + (number + version) % 4 + 1)
    ]
    if number % 2:
        return f"report-{number:02d}.md", "\n\n".join([f"# {title}", "## Findings", *paragraphs]) + "\n"
    return f"report-{number:02d}.txt", "\n\n".join([title, *paragraphs]) + "\n"


@dataclass
class Corpus:
    """The sources directory and every version of every document ever written to it."""

    dir: Path
    rng: random.Random
    versions: dict[str, int] = field(default_factory=dict)  # file name → current version
    history: dict[str, set[str]] = field(default_factory=dict)  # doc id → texts of all its versions
    removed: list[str] = field(default_factory=list)

    def write(self, number: int, version: int) -> None:
        name, text = document(number, version)
        (self.dir / name).write_text(text, encoding="utf-8")
        self.versions[name] = version
        self.history.setdefault(Path(name).stem, set()).add(_norm(text))

    def mutate(self) -> str:
        """Change two documents, and sometimes remove one or bring a removed one back."""
        present = sorted(self.versions)
        changes = []
        for name in self.rng.sample(present, min(2, len(present))):
            self.write(int(name[7:9]), self.versions[name] + 1)
            changes.append(f"~{name[7:9]}")
        roll = self.rng.random()
        if roll < 0.3 and len(present) > 5:
            name = self.rng.choice(present)
            (self.dir / name).unlink()
            del self.versions[name]
            self.removed.append(name)
            changes.append(f"-{name[7:9]}")
        elif roll < 0.6 and self.removed:
            name = self.removed.pop(0)
            self.write(int(name[7:9]), self.rng.randrange(100, 200))
            changes.append(f"+{name[7:9]}")
        return " ".join(changes)

    def holds(self, doc_id: str, text: str) -> bool:
        """Whether a passage text is a paragraph of some version of the document."""
        return any(_norm(text) in version for version in self.history.get(doc_id, ()))

    def version_holding(self, doc_id: str, texts: list[str]) -> bool:
        """Whether one version of the document holds all these passage texts."""
        return any(all(_norm(t) in v for t in texts) for v in self.history.get(doc_id, ()))


def _norm(text: str) -> str:
    return " ".join(text.split())


def make_corpus(root: Path, documents: int, seed: int) -> Corpus:
    sources = root / "sources"
    sources.mkdir(parents=True)
    corpus = Corpus(sources, random.Random(seed + 1))
    for n in range(documents):
        corpus.write(n, 0)
    return corpus


# --- running and killing `kb ingest` ------------------------------------------------------------


class Launcher:
    """Starts `kb ingest` runs, each in its own process group (so that a kill takes its readers too)."""

    def __init__(self, fresh: bool, log: Path, env: dict[str, str] | None = None):
        self.fresh = fresh
        self.log = log
        self.env = {"HF_HUB_OFFLINE": "1", "KB_EMBED_BACKEND": BACKEND, **(env or {})}
        self.ctx = None
        if not fresh:
            self.ctx = multiprocessing.get_context("forkserver")
            self.ctx.set_forkserver_preload(["evals.reliability.preload"])

    def start(self, argv: list[str], log: Path | None = None):
        """A started run: an object with `pid` and `poll()` (None while running, else the exit code);
        its output goes to `log` (default: the launcher's log)."""
        log = log or self.log
        if self.fresh:
            with open(log, "a") as out:
                return subprocess.Popen(
                    [sys.executable, "-m", "kb.cli", *argv],
                    cwd=ROOT,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    env={**os.environ, **self.env},
                )
        proc = self.ctx.Process(target=_forked_ingest, args=(argv, str(log), self.env))
        proc.start()
        proc.poll = lambda: proc.exitcode
        return proc


def _forked_ingest(argv: list[str], log: str, env: dict[str, str]) -> None:
    os.setsid()
    os.environ.update(env)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    from kb.cli import main

    code = main(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # no atexit work in a forked child


def kill(run) -> None:
    """SIGKILL a run and every process of its group (its reader processes), as a power cut would."""
    try:
        os.killpg(run.pid, signal.SIGKILL)
    except ProcessLookupError:  # not yet its own group leader
        with contextlib.suppress(ProcessLookupError):
            os.kill(run.pid, signal.SIGKILL)
    deadline = time.time() + 30
    while run.poll() is None and time.time() < deadline:
        time.sleep(0.01)


def unpublished(root: Path) -> list[str]:
    """Generations newer than the one in service (a run that did not finish), and what a killed
    deletion of a generation left."""
    from kb.index import generations

    live = generations.current(root)
    newer = [g for g in generations.all_of(root) if live == root or g.name > live.name]
    return [p.name for p in newer + generations.leftovers(root)]


def written_generation(root: Path, rebuild: bool) -> Path:
    """The generation the next `kb ingest` of an index in service writes into: the one a killed run
    left, copied from the generation in service (resumed), else a new one (ingest/generation.py)."""
    from ingest.generation import BASE, info
    from kb.index import generations

    live = generations.current(root)
    newer = [g for g in generations.all_of(root) if g.name > live.name]
    resumable = [g for g in newer if info(g, BASE) == live.name]
    if resumable and not rebuild:
        return resumable[-1]
    return root / f"g-{int(live.name[2:]) + 1:06d}"


def registry_state(index_dir: Path) -> tuple[int, int]:
    """(generation, documents marked unfinished) of an index's registry; (0, 0) before it exists."""
    path = index_dir / "registry.sqlite"
    if not path.exists():
        return 0, 0
    try:
        db = sqlite3.connect(path, timeout=0.5)
        try:
            row = db.execute("SELECT value FROM info WHERE key = 'generation'").fetchone()
            pending = db.execute("SELECT COUNT(*) FROM pending").fetchone()[0]
        finally:
            db.close()
    except sqlite3.OperationalError:  # being created, or locked for a moment
        return 0, 0
    return (int(row[0]) if row else 0), pending


@dataclass
class Kill:
    """One run and where it was killed."""

    run: int
    rebuild: bool
    changes: str
    trigger: str
    phase: str = ""
    seconds: float = 0.0
    killed: bool = True  # False: the run finished before the kill point
    exit_code: int | None = None
    problems: list[str] = field(default_factory=list)


def choose_trigger(rng: random.Random, writes: int, delay_max: float) -> tuple[str, float]:
    """Where to kill: after a delay, at the n-th registry write, at the first unfinished mark, or
    once every document is written (during the BM25 snapshot and the commitments)."""
    kind = rng.choices(["delay", "write", "pending", "end"], weights=[2, 4, 2, 2])[0]
    if kind == "delay":
        return kind, rng.uniform(0.0, delay_max)
    if kind == "write":
        return kind, float(rng.randint(0, max(0, writes - 1)))
    return kind, float(writes if kind == "end" else 0)


def kill_at(
    run, trigger: tuple[str, float], watched: Path, g0: int, rng: random.Random
) -> tuple[bool, float]:
    """Wait for the trigger, then SIGKILL the run; returns (killed, seconds since start)."""
    kind, value = trigger
    left_unfinished = registry_state(watched)[1]  # by the last kill: this run forgets them first
    start = time.time()
    deadline = start + 300
    while run.poll() is None and time.time() < deadline:
        elapsed = time.time() - start
        generation, pending = registry_state(watched)
        if (
            (kind == "delay" and elapsed >= value)
            or (kind == "write" and generation >= g0 + value + 1)
            or (kind == "pending" and pending and (generation > g0 or not left_unfinished))
            or (kind == "end" and generation >= g0 + value)
        ):
            # Writes come in a burst of milliseconds once a batch is embedded; what follows the last
            # write (BM25 snapshot, commitments, exit) takes tens of milliseconds on a small corpus.
            time.sleep(rng.uniform(0.0, {"delay": 0.0, "end": 0.03}.get(kind, 0.01)))
            if run.poll() is not None:
                break
            kill(run)
            return True, time.time() - start
        time.sleep(0.002)
    while run.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    if run.poll() is None:
        kill(run)
        raise RuntimeError("kb ingest did not finish within 300 s")
    return False, time.time() - start


def phase_after(watched: Path, g0: int, writes: int, snapshot_before: str | None) -> str:
    """Where in the run the kill landed, as the files on disk tell it."""
    from kb.index import lexical

    generation, pending = registry_state(watched)
    snapshot = lexical.current_name(watched)
    if pending:
        return "writing a document's passages"
    if generation <= g0:
        return "start-up, reading or embedding (nothing written yet)"
    if generation < g0 + writes:
        return "between two documents"
    if (
        snapshot == snapshot_before
        or snapshot is None
        or not snapshot.startswith(lexical.snapshot_prefix(generation))
    ):
        return "documents written, BM25 snapshot not yet built"
    return "after the BM25 snapshot (commitments, the switch, exit)"


# --- what must hold --------------------------------------------------------------------------------


def open_index(settings):
    """The index as a newly started app would open it (no Chroma state cached in this process)."""
    from chromadb.api.shared_system_client import SharedSystemClient

    from kb.index.store import Index

    SharedSystemClient.clear_system_cache()
    return Index(settings)


def passages_of(index) -> dict[str, tuple[str, dict]]:
    """Every passage as SQLite (the one copy of the text) holds it: id → (text, provenance)."""
    return {
        pid: (text, json.loads(meta))
        for pid, text, meta in index.db.execute("SELECT id, text, meta FROM passages")
    }


def vector_ids_of(index) -> dict[str, str]:
    """Every passage id Chroma holds a vector for, with its document."""
    got = index.collection.get(include=["metadatas"])
    return {i: m["doc_id"] for i, m in zip(got["ids"], got["metadatas"])}


def check_answers(settings, corpus: Corpus) -> list[str]:
    """Problems with the index after a kill: queries that fail or cite text no document has, and
    finished documents whose passages in Chroma are not exactly those of one version."""
    from kb.search.retrieve import search

    problems = []
    index = open_index(settings)
    try:
        for question in QUESTIONS:
            hits = search(index, question, k=5)
            if not hits:
                problems.append(f"no hits for {question!r}")
            ids = [h.passage.id for h in hits]
            if len(set(ids)) != len(ids):
                problems.append(f"duplicate hits for {question!r}: {ids}")
            for h in hits:
                if not corpus.holds(h.document.id, h.passage.text):
                    problems.append(f"{h.passage.id}: text in no version of {h.document.id}")
        stored = passages_of(index)
        vectors = vector_ids_of(index)
        unfinished = set(index.unfinished())
        by_doc: dict[str, list[str]] = {}
        for text, meta in stored.values():
            by_doc.setdefault(meta["doc_id"], []).append(text)
        finished = set(index.records()) - unfinished
        in_sqlite = {pid for pid, (_, meta) in stored.items() if meta["doc_id"] in finished}
        in_chroma = {pid for pid, doc_id in vectors.items() if doc_id in finished}
        if in_sqlite != in_chroma:
            problems.append(
                f"finished documents' passages: {len(in_sqlite - in_chroma)} in SQLite without a vector, "
                f"{len(in_chroma - in_sqlite)} vectors without a passage"
            )
        for doc_id, record in index.records().items():
            if doc_id in unfinished:
                continue
            texts = by_doc.get(doc_id, [])
            if len(texts) != record.passages:
                problems.append(
                    f"{doc_id}: registry says {record.passages} passages, SQLite has {len(texts)}"
                )
            elif not corpus.version_holding(doc_id, texts):
                problems.append(f"{doc_id}: its passages come from different versions of the file")
        orphans = set(by_doc) - set(index.records()) - unfinished
        if orphans:
            problems.append(f"passages of documents neither finished nor unfinished: {sorted(orphans)}")
    finally:
        index.close()
    return problems


def index_contents(settings) -> dict:
    """Everything that must match between two indexes of the same sources."""
    from kb.index import lexical

    index = open_index(settings)
    try:
        got = index.collection.get(include=["metadatas", "embeddings"])
        order = np.argsort(got["ids"])
        stored = passages_of(index)
        snapshot = lexical.load(index.dir)
        records = {
            k: (asdict(r.document), r.fingerprint, r.passages) for k, r in sorted(index.records().items())
        }
        ids = sorted(stored)
        return {
            "ids": ids,
            "vector_ids": [got["ids"][i] for i in order],
            "texts": [stored[pid][0] for pid in ids],
            "metadatas": [(got["metadatas"][i], stored.get(got["ids"][i], ("", {}))[1]) for i in order],
            "embeddings": np.asarray(got["embeddings"])[order],
            "records": records,
            "unfinished": index.unfinished(),
            "bm25": sorted(snapshot.ids) if snapshot is not None else None,
            "bm25_generation": snapshot.generation if snapshot is not None else None,
            "generation": index.generation,
        }
    finally:
        index.close()


def compare_with_clean(settings, clean_settings) -> list[str]:
    """Differences between an index and a clean ingest of the same sources."""
    got, want = index_contents(settings), index_contents(clean_settings)
    problems = []
    if got["ids"] != want["ids"]:
        problems.append(
            f"passage ids differ: {len(got['ids'])} vs {len(want['ids'])} "
            f"(extra {sorted(set(got['ids']) - set(want['ids']))[:5]}, missing {sorted(set(want['ids']) - set(got['ids']))[:5]})"
        )
    elif got["texts"] != want["texts"] or got["metadatas"] != want["metadatas"]:
        problems.append("passage texts or metadata differ")
    elif not np.allclose(got["embeddings"], want["embeddings"], atol=1e-4):
        problems.append("passage vectors differ")
    if len(set(got["ids"])) != len(got["ids"]):
        problems.append("duplicate passage ids")
    if got["records"] != want["records"]:
        problems.append("registry rows differ")
    if got["unfinished"]:
        problems.append(f"documents still marked unfinished: {got['unfinished']}")
    if got["vector_ids"] != got["ids"]:
        problems.append("Chroma's vectors are not exactly those of the passages in SQLite")
    if got["bm25"] != got["ids"]:
        problems.append("the BM25 snapshot does not hold exactly the passages in SQLite")
    if got["bm25_generation"] != got["generation"]:
        problems.append(
            f"BM25 snapshot of generation {got['bm25_generation']}, registry at {got['generation']}"
        )
    from kb.index import generations

    live = generations.current(settings.index_dir)
    leftovers = [p.name for p in generations.all_of(settings.index_dir) if p != live] + [
        p.name for p in live.iterdir() if p.name.startswith(".")
    ]
    leftovers += [p.name for p in generations.leftovers(settings.index_dir)]
    if leftovers:
        problems.append(f"left beside the index: {leftovers}")
    return problems


# --- the scenario -----------------------------------------------------------------------------------


@dataclass
class Report:
    runs: list[Kill]
    final_problems: list[str]
    seconds: float
    passages: int

    @property
    def kills(self) -> int:
        return sum(r.killed for r in self.runs)

    @property
    def problems(self) -> list[str]:
        return [f"run {r.run}: {p}" for r in self.runs for p in r.problems] + [
            f"final: {p}" for p in self.final_problems
        ]

    def markdown(self) -> str:
        phases = Counter(r.phase for r in self.runs if r.killed)
        lines = [
            f"{self.kills} kills in {len(self.runs)} runs ({sum(r.rebuild and r.killed for r in self.runs)} "
            f"during `--rebuild`), {self.seconds:.0f} s; final index: {self.passages} passages, "
            + ("equal to a clean ingest." if not self.final_problems else "DIFFERENT from a clean ingest."),
            "",
            "| Where the kill landed | Kills |",
            "|---|---|",
            *(f"| {phase} | {n} |" for phase, n in phases.most_common()),
            "",
            f"Problems: {len(self.problems)}" + "".join(f"\n- {p}" for p in self.problems),
        ]
        return "\n".join(lines)


def scenario(root: Path, runs: int, seed: int, fresh: bool = False, documents: int = 8, log=print) -> Report:
    """Index a corpus, then `runs` times change it and kill `kb ingest` at a random point; check
    after each kill, then finish with one uninterrupted run and compare with a clean ingest."""
    from ingest import pipeline
    from kb.config import Settings
    from kb.index import generations, lexical

    started = time.time()
    rng = random.Random(seed)
    corpus = make_corpus(root, documents, seed)
    settings = Settings(sources_dir=corpus.dir, index_dir=root / ".kb", embed_backend=BACKEND)
    first = pipeline.run(settings, progress=False)
    assert first.exit_code == 0, first.to_dict()
    launcher = Launcher(fresh, root / "ingest.log")
    base = ["ingest", "-q", "--sources", str(corpus.dir), "--index", str(settings.index_dir)]
    results = []
    for n in range(1, runs + 1):
        changes = corpus.mutate()
        rebuild = n % 4 == 0
        before = index_contents(settings)
        live = generations.current(settings.index_dir)
        watched = written_generation(settings.index_dir, rebuild)
        if rebuild:  # every document is written again into a new generation
            g0, writes = 0, len(corpus.versions)
        else:  # each change and each document left unfinished by the last kill is one registry write
            g0, unfinished = registry_state(watched if watched.exists() else live)
            writes = len(changes.split()) + unfinished
        snapshot_before = lexical.current_name(watched)
        # a run in a preloaded worker takes about 2 s: delays beyond it would kill nothing
        trigger = choose_trigger(rng, writes, delay_max=15.0 if fresh else 1.5)
        run = launcher.start(base + (["--rebuild"] if rebuild else []))
        killed, seconds = kill_at(run, trigger, watched, g0, rng)
        result = Kill(
            n, rebuild, changes, f"{trigger[0]} {trigger[1]:g}", seconds=round(seconds, 2), killed=killed
        )
        result.exit_code = run.poll()
        if killed:
            result.phase = phase_after(watched, g0, writes, snapshot_before)
        elif result.exit_code != 0:
            result.problems.append(f"the run failed on its own (exit {result.exit_code}); see {launcher.log}")
        if killed:  # the generation in service is the one before the run, untouched, or the new one
            after = index_contents(settings)
            if generations.current(settings.index_dir) == watched:
                result.phase = "after the new generation was put in service"
            elif (after["ids"], after["texts"], after["records"]) != (
                before["ids"],
                before["texts"],
                before["records"],
            ):
                result.problems.append("a killed run changed the generation in service")
            if rebuild:
                result.phase = "rebuild: " + result.phase
        result.problems += check_answers(settings, corpus)
        results.append(result)
        log(
            f"run {n:>3}: {'rebuild' if rebuild else 'ingest '} {changes:<14} kill at {result.trigger:<10} "
            f"{'after' if killed else 'finished in'} {seconds:5.2f} s: {result.phase or 'not killed'}"
            + (f" PROBLEMS: {result.problems}" if result.problems else "")
        )
    final = launcher.start(base)
    while final.poll() is None:
        time.sleep(0.05)
    final_problems = [] if final.poll() == 0 else [f"the last run exited with {final.poll()}"]
    clean = settings.with_(index_dir=root / "clean" / ".kb")
    pipeline.run(clean, progress=False)
    final_problems += compare_with_clean(settings, clean)
    passages = len(index_contents(settings)["ids"])
    return Report(results, final_problems, time.time() - started, passages)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evals.reliability.crash", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--runs", type=int, default=40, help="killed runs (default 40)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--documents", type=int, default=8, help="documents in the corpus (default 8)")
    parser.add_argument(
        "--fresh", action="store_true", help="start each run as a new `python -m kb.cli` process"
    )
    parser.add_argument("--out", metavar="FILE", help="also write the report (Markdown) here")
    parser.add_argument("--json", metavar="FILE", help="write every run as JSON here")
    parser.add_argument(
        "--keep", metavar="DIR", help="work in this new directory and keep it (index, sources, log)"
    )
    args = parser.parse_args(argv)
    if args.keep:
        report = scenario(Path(args.keep), args.runs, args.seed, args.fresh, args.documents)
    else:
        with tempfile.TemporaryDirectory(prefix="kb-crash-") as tmp:
            report = scenario(Path(tmp), args.runs, args.seed, args.fresh, args.documents)
    text = (
        f"`python -m evals.reliability.crash --runs {args.runs} --seed {args.seed}{' --fresh' * args.fresh}`: "
        + report.markdown()
    )
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in report.runs], indent=2), encoding="utf-8")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
