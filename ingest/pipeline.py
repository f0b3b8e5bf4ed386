"""`kb ingest`: bring the index in line with the sources, doing only the work that changed.

Order of writes, so that a kill at any moment leaves an index that answers queries and a
rerun that finishes the job: (0) a document is marked unfinished in the registry, (1) its
passages are upserted by stable id and its stale passages deleted, (2) only then its registry
row is written (which clears the mark); (3) documents that left the sources are deleted the
same way; (4) the BM25 snapshot is rebuilt from Chroma (into an empty index, from the passages
just written) and switched to atomically. A document whose registry row does not match its file
is simply redone; one still marked unfinished by a killed run is removed and redone, whatever its
file holds by then.

These writes go into a generation of the index that is not in service yet (a copy of the one in
service, or for `--rebuild` an empty one), which one atomic switch of a pointer puts in service once
it is complete (ingest/generation.py): readers never see a change half made, and a killed run is
resumed by the next. A run with nothing to do copies nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import Future
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

from ingest import generation, readers
from ingest import manifest as manifest_mod
from ingest import plan as plan_mod
from ingest.embedder import Embedder
from ingest.lock import ingest_lock
from ingest.paragraphs import Paragraph
from ingest.passages import lead_ins, make_passages
from ingest.summary import Outcome, Summary
from kb.commitments import store as commitments
from kb.config import Settings
from kb.errors import IndexMissingError, UsageError
from kb.index import lexical
from kb.index.registry import DocRecord
from kb.index.store import VECTORS_PERSISTED, Index
from kb.models import embed
from kb.text import language, sentences
from kb.types import Document, Passage

EMBED_BATCH_PASSAGES = 128  # passages gathered across documents before they go to the model
STORE_BATCH_PASSAGES = 2048  # passages per Chroma upsert (and per batch when the model cannot embed ahead)
MAX_AHEAD_PASSAGES = 4096  # split but not yet stored: past this, splitting waits for the model


def run(
    settings: Settings,
    manifest_path: Path | None = None,
    rebuild: bool = False,
    progress: bool = True,
    wait: bool = False,
) -> Summary:
    """Ingest `settings.sources_dir` into `settings.index_dir`; returns what happened per document,
    measured against the index in service when the run began (a run that resumes a killed one
    reports what both did).

    The index afterwards holds exactly what a `rebuild` of the same sources would: a file that can
    no longer be read (corrupt, emptied, a listed file deleted) is reported as failed on every run
    and its earlier passages are removed, since they would cite words the file no longer holds. A
    malformed manifest raises ManifestError before anything is written; per-file problems are
    reported in the summary and never stop the run.
    """
    started = time.perf_counter()
    sources_dir = settings.sources_dir
    if not sources_dir.is_dir():
        raise UsageError(f"sources directory {sources_dir}/ does not exist (set --sources or KB_SOURCES_DIR)")
    manifest = manifest_mod.load(manifest_path or sources_dir / manifest_mod.MANIFEST_NAME)
    sources = manifest_mod.discover(manifest, sources_dir)
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    with ingest_lock(settings.index_dir, wait):
        fingerprints: dict[str, str] = {}
        base = {} if rebuild else _in_service(settings)
        summary = None if rebuild else _unchanged(settings, sources, fingerprints, base, progress)
        if summary is None:
            work = generation.begin(settings, rebuild)
            if work.in_service:  # a first build, or its resumption: everything it holds is new
                base = {}
            try:
                summary = _update(settings, sources, progress, work, fingerprints, base)
            except Exception:
                generation.abandon(settings, work)  # a kill or Ctrl-C leaves it for the next run to resume
                raise
            generation.finish(settings, work)
    summary.seconds = time.perf_counter() - started
    return summary


def _in_service(settings: Settings) -> dict[str, DocRecord]:
    """The documents of the index in service, by id ({} when there is none yet)."""
    try:
        index = Index(settings, connect=False)
    except IndexMissingError:
        return {}
    try:
        return dict(index.records())
    finally:
        index.close()


def _unchanged(
    settings: Settings,
    sources: list[manifest_mod.Source],
    fingerprints: dict[str, str],
    base: dict[str, DocRecord],
    progress: bool,
) -> Summary | None:
    """What a run with nothing to do reports, or None when the generation in service needs a
    change (so that a run with nothing to do copies nothing). Fills `fingerprints`.

    Files that failed before and have not changed are read again (a failure may have been the
    machine's: a missing OCR engine, a time limit); only if one now reads is a change needed."""
    try:
        index = Index(settings, connect=False)
    except IndexMissingError:
        return None
    try:
        plan = plan_mod.plan(index, sources, settings, fingerprints, base)
        if (
            plan.doomed
            or not all(job.failed_before for job in plan.jobs)
            or set(index.failures()) != {job.source.document.id for job in plan.jobs}
            or index.unfinished()
            or index.info("embed_model") != settings.model_id
            or index.info(generation.COMPLETE) != "1"
            or index.info(VECTORS_PERSISTED) != "1"  # built before ingest had Chroma write its graph
            or not (lexical.current_name(index.dir) or "").startswith(
                lexical.snapshot_prefix(index.generation)
            )
            or not commitments.current(index)
            or _stale_contexts(index, settings)
        ):
            return None
    finally:
        index.close()
    if plan.jobs:
        with readers.Reading(plan.jobs, settings, progress) as reading:
            for job, parsed in reading:
                if not parsed.error:
                    return None
                doc = job.source.document
                plan.summary.outcomes.append(plan_mod.failed(doc, parsed.error, base))
    plan.summary.outcomes.sort(key=lambda o: (o.status != "failed", o.doc_id))
    return plan.summary


def _update(
    settings: Settings,
    sources: list[manifest_mod.Source],
    progress: bool,
    work: generation.Work,
    fingerprints: dict[str, str],
    base: dict[str, DocRecord],
) -> Summary:
    # Chroma opens on first use, after the reader and embedding processes have started (if there
    # is anything to read): they start in the second its imports take.
    index = Index(settings, create=True, collection=work.collection, connect=False, generation=work.dir)
    try:
        summary = _sync(index, sources, settings, progress, fingerprints, base)
        commitments.refresh(index)  # re-extract the commitments of changed G7 documents (kb/commitments)
        index.persist_vectors()
    finally:
        index.close()
    return summary


def _sync(
    index: Index,
    sources: list[manifest_mod.Source],
    settings: Settings,
    progress: bool,
    fingerprints: dict[str, str],
    base: dict[str, DocRecord],
) -> Summary:
    plan = plan_mod.plan(index, sources, settings, fingerprints, base)
    summary, jobs = plan.summary, plan.jobs
    with ExitStack() as workers:
        # Worker processes start first: they read and load the model while this one loads the
        # sentence splitter and opens Chroma (on first use: a second and a half of imports each).
        if jobs:
            embedder = workers.enter_context(Embedder(settings))
            reading = workers.enter_context(readers.Reading(jobs, settings, progress))
            sentences.preload()  # in a thread
        # A first ingest (or a rebuild) writes every passage the index will hold: the BM25 snapshot
        # is then built from what was written, without reading it all back from Chroma (17 of the
        # 27 s it took at 100,000 passages; rebuild_lexical checks that Chroma holds these alone).
        written: list[dict] | None = [] if not index.records() and not index.unfinished() else None
        for doc_id in plan.doomed:
            index.forget(doc_id)
        if jobs:
            _ingest_jobs(index, reading, embedder, settings, summary, progress, written, base)
        store_contexts(index, settings, embedder if jobs else None)
    # Failures kept are those of files read by this run; a file gone or no longer listed has none.
    index.keep_failures({o.doc_id for o in summary.failed} & {job.source.document.id for job in jobs})
    snapshot = lexical.current_name(index.dir)
    if (
        plan.doomed
        or summary.passages_embedded
        or not (snapshot or "").startswith(lexical.snapshot_prefix(index.generation))
    ):
        rebuild_lexical(index, index.generation, progress, written)
    summary.outcomes.sort(key=lambda o: (o.status != "failed", o.doc_id))
    return summary


def _ingest_jobs(
    index: Index,
    reading: readers.Reading[plan_mod.Job],
    embedder: Embedder,
    settings: Settings,
    summary: Summary,
    progress: bool,
    written: list[dict] | None = None,
    base: dict[str, DocRecord] | None = None,
) -> None:
    """Parse in reader processes, split here, embed in the embedding process, write here; in batches.

    A batch is embedded while this process writes the batch before it and splits the documents
    of the next one, so that the cores stay busy with the model (ingest/embedder.py).
    """
    from tqdm import tqdm

    bar = tqdm(
        total=len(reading.jobs), unit="doc", disable=not progress, desc="Ingesting", dynamic_ncols=True
    )
    Batch = list[tuple[plan_mod.Job, Document, list[Passage]]]
    pending: Batch = []  # split, not yet sent to the model
    in_flight: list[tuple[Batch, list[str], Future]] = []  # sent to the model, not yet stored
    embedded = 0
    embedder.load()
    t0 = time.perf_counter()

    def submit() -> None:
        texts = [
            embed.embedding_text(p.text, d.cite_title, p.heading, settings.embed_context, lead)
            for _, d, ps in pending
            for p, lead in zip(ps, lead_ins(ps), strict=True)
        ]
        in_flight.append((pending.copy(), texts, embedder.submit(texts)))
        pending.clear()

    def drain(final: bool = False) -> None:
        """Store embedded batches, STORE_BATCH_PASSAGES at a time; wait for the model only at the
        end, when it is too far behind, or when it cannot embed ahead (PyTorch)."""
        while in_flight:
            done = 0
            for _, texts, future in in_flight:
                if not future.done():
                    break
                done += len(texts)
            waiting = sum(len(texts) for _, texts, _ in in_flight)
            if not (
                final or not embedder.ahead or done >= STORE_BATCH_PASSAGES or waiting > MAX_AHEAD_PASSAGES
            ):
                return
            group, size = [], 0  # at the end, each batch is stored as soon as it is embedded
            while (
                in_flight
                and size < STORE_BATCH_PASSAGES
                and (not final or not group or in_flight[0][2].done())
            ):
                group.append(in_flight.pop(0))
                size += len(group[-1][1])
            store(group)

    def store(group: list[tuple[Batch, list[str], Future]]) -> None:
        nonlocal embedded
        stored, done = [], []
        for batch, texts, future in group:
            vectors, row = embedder.vectors(future, texts), 0
            for job, doc, passages in batch:
                stored.append((doc, passages, vectors[row : row + len(passages)]))
                done.append(job)
                row += len(passages)
        index.write(stored)  # one batch of upserts for all of them: half the time of one per document
        for job, (doc, passages, _) in zip(done, stored, strict=True):
            index.record(doc, job.fingerprint, len(passages))
            if written is not None:
                written.extend(lexical_row(p, doc) for p in passages)
            summary.outcomes.append(
                Outcome(
                    doc.id, doc.file, job.status, len(passages), language=doc.language, warnings=job.warnings
                )
            )
            bar.update(1)
            embedded += len(passages)
        summary.passages_embedded = embedded
        bar.set_postfix(passages=embedded, per_s=f"{embedded / max(time.perf_counter() - t0, 1e-9):.0f}")

    max_tokens = embed.max_tokens(settings)
    # Small batches to the model, so that it starts early and finishes soon after the last
    # document is split; larger ones to Chroma, whose upserts cost less per passage in bulk.
    batch_passages = EMBED_BATCH_PASSAGES if embedder.ahead else STORE_BATCH_PASSAGES
    for job, parsed in reading:
        doc = job.source.document
        if parsed.error:
            if doc.id in index.records():  # its passages would cite words its file no longer holds
                index.forget(doc.id)
            index.record_failure(doc.id, job.fingerprint, parsed.error)
            summary.outcomes.append(plan_mod.failed(doc, parsed.error, base or {}))
            bar.update(1)
            continue
        job.warnings = parsed.warnings
        doc = manifest_mod.with_title(doc, parsed.title)
        if not doc.listed and not doc.date and parsed.date:
            doc = replace(doc, date=parsed.date)
        if not doc.language:  # the manifest's language wins over detection
            doc = replace(doc, language=language.of_document(opening(parsed.paragraphs)))
        passages = make_passages(
            doc.id, parsed.paragraphs, lambda t: embed.token_spans(settings, t), max_tokens, doc.language
        )
        pending.append((job, doc, passages))
        idle = embedder.ahead and all(future.done() for _, _, future in in_flight)  # e.g. the first batch
        if idle or sum(len(p) for _, _, p in pending) >= batch_passages:
            submit()
        drain()
    if pending:
        submit()
    drain(final=True)
    bar.close()


def store_contexts(index: Index, settings: Settings, embedder: Embedder | None = None) -> None:
    """Embed and store the context (country, year, title: kb.search.context) of every document
    whose stored one is missing or was embedded from other words or by another model, so that a
    question never waits for them. In the embedding process when one runs, else here."""
    todo = _stale_contexts(index, settings)
    if not todo:
        return
    texts = [t for _, t in todo]
    vectors = embedder.vectors(embedder.submit(texts), texts) if embedder else embed.encode(settings, texts)
    index.put_contexts(settings.model_id, [(d, t, v) for (d, t), v in zip(todo, vectors, strict=True)])


def _stale_contexts(index: Index, settings: Settings) -> list[tuple[str, str]]:
    """(document id, context text) of the documents whose stored context is missing or stale."""
    stored = index.contexts(settings.model_id)
    todo = [(d.id, embed.context_text(d)) for d in index.documents()]
    return [(d, t) for d, t in todo if stored.get(d, ("",))[0] != t]


def rebuild_lexical(
    index: Index, generation: int, progress: bool = False, written: list[dict] | None = None
) -> str:
    """Rebuild the BM25 snapshot from the passages stored in SQLite (streamed), or
    from `written`, the rows of every passage this run wrote, when the index holds those alone."""
    total = index.count()
    if written is not None and len(written) == total:
        rows: Iterable[dict] = written
    else:
        rows = (lexical_row(p, d) for p, d in index.all_passages())
    return lexical.build(index.dir, rows, generation, total, show_progress=progress and total > 20000)


def lexical_row(p: Passage, d: Document) -> dict:
    """A passage as the BM25 snapshot keeps it (lexical.COLUMNS)."""
    return {
        "id": p.id,
        "text": p.text,
        "heading": p.heading,
        "doc_id": p.doc_id,
        "type": d.type,
        "country": d.country,
        "issuer": d.issuer,
        "language": d.language,
        "date_int": d.date_int,
        "seq": p.seq,
    }


def opening(paragraphs: list[Paragraph]) -> str:
    """The document's first paragraphs, as much as language detection reads of it."""
    parts, size = [], 0
    for para in paragraphs:
        if size >= language.DOCUMENT_SAMPLE_CHARS:
            break
        parts.append(para.text)
        size += len(para.text) + 1
    return "\n".join(parts)
