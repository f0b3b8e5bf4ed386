"""`kb ingest`: bring the index in line with the sources, doing only the work that changed.

Order of writes, so that a kill at any moment leaves an index that answers queries and a
rerun that finishes the job: (1) a document's passages are upserted by stable id and its
stale passages deleted, (2) only then its registry row is written; (3) documents that left
the sources are deleted; (4) the BM25 snapshot is rebuilt from Chroma and switched to
atomically. A document whose registry row does not match its file is simply redone.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import multiprocessing
import os
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from ingest import manifest as manifest_mod
from ingest.parse import Parsed, parse
from ingest.passages import make_passages
from kb import embed, lexical
from kb.commitments import store as commitments
from kb.config import Settings
from kb.errors import IndexBusyError, UsageError
from kb.store import Index
from kb.types import Document, Passage

# Bump when parsing or passage rules change: every document is then redone on the next ingest.
PIPELINE_VERSION = "2"
EMBED_BATCH_PASSAGES = 512  # passages gathered across documents before one encode call


@dataclass(frozen=True)
class Outcome:
    """What happened to one document."""

    doc_id: str
    file: str
    status: str  # added | updated | unchanged | removed | failed
    passages: int = 0
    reason: str = ""


@dataclass
class Summary:
    """The result of an ingest run."""

    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    passages_embedded: int = 0

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def changed(self) -> bool:
        return any(o.status in ("added", "updated", "removed") for o in self.outcomes)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def to_dict(self) -> dict:
        counts = {s: self.count(s) for s in ("added", "updated", "unchanged", "removed", "failed")}
        return {
            **counts,
            "seconds": round(self.seconds, 2),
            "passages_embedded": self.passages_embedded,
            "documents": [asdict(o) for o in self.outcomes],
        }


@dataclass
class _Job:
    source: manifest_mod.Source
    fingerprint: str
    status: str  # added | updated
    future: Future | None = None


def run(
    settings: Settings,
    manifest_path: Path | None = None,
    rebuild: bool = False,
    progress: bool = True,
    wait: bool = False,
) -> Summary:
    """Ingest `settings.sources_dir` into `settings.index_dir`; returns what happened per document.

    A malformed manifest raises ManifestError before anything is written; per-file problems
    are reported in the summary and never stop the run.
    """
    started = time.perf_counter()
    sources_dir = settings.sources_dir
    if not sources_dir.is_dir():
        raise UsageError(f"sources directory {sources_dir}/ does not exist (set --sources or KB_SOURCES_DIR)")
    manifest = manifest_mod.load(manifest_path or sources_dir / manifest_mod.MANIFEST_NAME)
    sources = manifest_mod.discover(manifest, sources_dir)
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    with ingest_lock(settings.index_dir, wait):
        if rebuild:
            _clear(settings)
        index = Index(settings, create=True)
        try:
            summary = _sync(index, sources, settings, progress)
            commitments.refresh(index)  # re-extract the commitments of changed G7 documents (kb/commitments)
        finally:
            index.close()
    summary.seconds = time.perf_counter() - started
    return summary


def _sync(index: Index, sources: list[manifest_mod.Source], settings: Settings, progress: bool) -> Summary:
    summary = Summary()
    records = index.records()
    jobs: list[_Job] = []
    present = set()
    for source in sources:
        doc = source.document
        present.add(doc.id)
        if source.problem:
            kept = " (the previously indexed version is kept)" if doc.id in records else ""
            summary.outcomes.append(Outcome(doc.id, doc.file, "failed", reason=source.problem + kept))
            continue
        fp = fingerprint(source.path, doc, settings)
        old = records.get(doc.id)
        if old and old.fingerprint == fp:
            summary.outcomes.append(Outcome(doc.id, doc.file, "unchanged", old.passages))
        else:
            jobs.append(_Job(source, fp, "updated" if old else "added"))
    for doc_id, old in records.items():
        if doc_id not in present:
            index.forget(doc_id)
            summary.outcomes.append(Outcome(doc_id, old.document.file, "removed", old.passages))
    if jobs:
        _ingest_jobs(index, jobs, settings, summary, progress)
    generation = index.generation
    snapshot = lexical.current_name(settings.index_dir)
    if summary.changed or snapshot is None or not snapshot.startswith(lexical.snapshot_prefix(generation)):
        rebuild_lexical(index, generation, progress)
    summary.outcomes.sort(key=lambda o: (o.status != "failed", o.doc_id))
    return summary


def _ingest_jobs(
    index: Index, jobs: list[_Job], settings: Settings, summary: Summary, progress: bool
) -> None:
    """Parse in worker processes while the main process embeds and writes, in batches."""
    from tqdm import tqdm

    records = index.records()
    bar = tqdm(total=len(jobs), unit="doc", disable=not progress, desc="Ingesting", dynamic_ncols=True)
    pending: list[tuple[_Job, Document, list[Passage]]] = []
    embedded = 0
    t0 = time.perf_counter()

    def flush() -> None:
        nonlocal embedded
        if not pending:
            return
        texts = [
            embed.embedding_text(p.text, d.cite_title, p.heading, settings.embed_context)
            for _, d, ps in pending
            for p in ps
        ]
        vectors = embed.encode(settings, texts)
        row = 0
        for job, doc, passages in pending:
            index.write(doc, passages, vectors[row : row + len(passages)])
            row += len(passages)
            index.record(doc, job.fingerprint, len(passages))
            summary.outcomes.append(Outcome(doc.id, doc.file, job.status, len(passages)))
            bar.update(1)
        embedded += len(texts)
        summary.passages_embedded = embedded
        bar.set_postfix(passages=embedded, per_s=f"{embedded / max(time.perf_counter() - t0, 1e-9):.0f}")
        pending.clear()

    max_tokens = embed.max_tokens(settings)
    for job, parsed in _parsed(jobs, settings):
        doc = job.source.document
        if parsed.error:
            kept = " (the previously indexed version is kept)" if doc.id in records else ""
            summary.outcomes.append(Outcome(doc.id, doc.file, "failed", reason=parsed.error + kept))
            bar.update(1)
            continue
        doc = manifest_mod.with_title(doc, parsed.title)
        if not doc.listed and not doc.date and parsed.date:
            doc = replace(doc, date=parsed.date)
        passages = make_passages(
            doc.id, parsed.paragraphs, lambda t: embed.token_spans(settings, t), max_tokens
        )
        pending.append((job, doc, passages))
        if sum(len(p) for _, _, p in pending) >= EMBED_BATCH_PASSAGES:
            flush()
    flush()
    bar.close()


def _parsed(jobs: list[_Job], settings: Settings) -> Iterator[tuple[_Job, Parsed]]:
    """Each job with its parsed file, in order; a file that hangs or kills its worker fails alone."""
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=max(1, settings.ingest_workers), mp_context=ctx)
    window = max(2, settings.ingest_workers * 4)  # parse ahead while the model embeds
    try:
        for i, job in enumerate(jobs):
            for ahead in jobs[i : i + window]:
                if ahead.future is None:
                    ahead.future = pool.submit(parse, str(ahead.source.path))
            try:
                yield job, job.future.result(timeout=settings.parse_timeout)
            except FutureTimeout:
                yield (
                    job,
                    Parsed([], error=f"reading took longer than {settings.parse_timeout:.0f} s; skipped"),
                )
                pool = _restart(pool, ctx, settings, jobs[i + 1 :])
            except BrokenProcessPool:
                yield job, Parsed([], error="the reader crashed on this file; skipped")
                pool = _restart(pool, ctx, settings, jobs[i + 1 :])
    finally:
        _kill(pool)


def _restart(pool: ProcessPoolExecutor, ctx, settings: Settings, rest: list[_Job]) -> ProcessPoolExecutor:
    _kill(pool)
    for job in rest:
        job.future = None
    return ProcessPoolExecutor(max_workers=max(1, settings.ingest_workers), mp_context=ctx)


def _kill(pool: ProcessPoolExecutor) -> None:
    for proc in list(getattr(pool, "_processes", {}).values()):
        proc.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def rebuild_lexical(index: Index, generation: int, progress: bool = False) -> str:
    """Rebuild the BM25 snapshot from the passages stored in Chroma."""
    rows = [
        {
            "id": p.id,
            "text": p.text,
            "heading": p.heading,
            "doc_id": p.doc_id,
            "type": d.type,
            "country": d.country,
            "issuer": d.issuer,
            "date_int": d.date_int,
            "seq": p.seq,
        }
        for p, d in index.all_passages()
    ]
    rows.sort(key=lambda r: (r["doc_id"], r["seq"]))
    return lexical.build(index.dir, rows, generation, show_progress=progress and len(rows) > 20000)


def fingerprint(path: Path, doc: Document, settings: Settings) -> str:
    """A hash of everything that determines a document's passages and vectors."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    h.update(json.dumps(asdict(doc), sort_keys=True).encode())
    h.update(f"{PIPELINE_VERSION}|{settings.model_id}|{settings.embed_context}".encode())
    return h.hexdigest()


def _clear(settings: Settings) -> None:
    """Empty the index so that everything is ingested again (`--rebuild`)."""
    index = Index(settings, create=True)
    try:
        index.clear()
    finally:
        index.close()


@contextmanager
def ingest_lock(index_dir: Path, wait: bool = False) -> Iterator[None]:
    """Hold the index's ingest lock; a second ingest waits (wait=True) or is refused."""
    path = index_dir / "ingest.lock"
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            raise IndexBusyError(
                f"another `kb ingest` ({holder}) is updating {index_dir}/; wait for it to finish "
                "or run with --wait"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}")
        f.flush()
        try:
            yield
        finally:
            f.seek(0)
            f.truncate()
            fcntl.flock(f, fcntl.LOCK_UN)
