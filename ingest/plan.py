"""What a `kb ingest` run must do to one generation of the index, decided before anything is read:
the documents to read (new, changed, or failed before), the outcomes already known (unchanged, failed,
removed), and the documents to remove; each outcome said against the index in service when the run
began. Also the fingerprint that tells a changed file from an unchanged one."""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from pathlib import Path

from ingest import manifest as manifest_mod
from ingest.summary import Outcome, Summary
from kb.config import Settings
from kb.index.registry import DocRecord
from kb.index.store import Index
from kb.types import Document

# Bump when parsing or passage rules change: every document is then redone on the next ingest.
PIPELINE_VERSION = "5"  # 5: each document has a language, and its sentences are split in it


@dataclass
class Job:
    """A document to read: its source, the fingerprint of its file, and what it will be reported as."""

    source: manifest_mod.Source
    fingerprint: str
    status: str  # against the index in service: added | updated | unchanged (when a killed run changed it)
    failed_before: bool = False  # this version of the file could not be read by the last run
    future: Future | None = None
    retried: bool = False  # parsed again alone after the reader pool crashed
    warnings: tuple[str, ...] = ()  # from parsing, for the outcome

    @property
    def path(self) -> Path:
        return self.source.path

    @property
    def language(self) -> str:
        return self.source.document.language


@dataclass
class Plan:
    """What a run must do to one generation of the index."""

    summary: Summary  # the outcomes known before reading anything (unchanged, failed, removed)
    jobs: list[Job]  # the documents to read
    doomed: list[str]  # documents of the generation that no readable file gives any more


def plan(
    index: Index,
    sources: list[manifest_mod.Source],
    settings: Settings,
    fingerprints: dict[str, str],
    base: dict[str, DocRecord],
) -> Plan:
    """What a run must do to bring `index` in line with the sources. Outcomes are said against
    `base`, the documents in service when the run began: a document that a killed run already
    wrote into this generation is reported as added or updated, not unchanged."""
    summary = Summary()
    unfinished = index.unfinished()  # half-written by a killed run: removed, then started again from nothing
    records = {doc_id: r for doc_id, r in index.records().items() if doc_id not in unfinished}
    failures = index.failures()
    jobs: list[Job] = []
    readable = set()
    for source in sources:
        doc = source.document
        if source.problem:
            summary.outcomes.append(failed(doc, source.problem, base))
            continue
        readable.add(doc.id)
        if doc.id not in fingerprints:
            fingerprints[doc.id] = fingerprint(source.path, doc, settings)
        fp = fingerprints[doc.id]
        old = records.get(doc.id)
        if old and old.fingerprint == fp:
            summary.outcomes.append(Outcome(doc.id, doc.file, status(doc.id, fp, base), old.passages))
        else:
            failed_before = failures.get(doc.id, ("",))[0] == fp  # read again: the failure may have passed
            jobs.append(Job(source, fp, status(doc.id, fp, base), failed_before))
    present = {s.document.id for s in sources}
    summary.outcomes += [
        Outcome(doc_id, old.document.file, "removed", old.passages)
        for doc_id, old in base.items()
        if doc_id not in present
    ]
    doomed = [doc_id for doc_id in [*unfinished, *records] if doc_id not in readable]
    return Plan(summary, jobs, doomed)


def status(doc_id: str, fp: str, base: dict[str, DocRecord]) -> str:
    """A readable document's outcome against the index in service when the run began."""
    old = base.get(doc_id)
    return "added" if old is None else ("unchanged" if old.fingerprint == fp else "updated")


def failed(doc: Document, reason: str, base: dict[str, DocRecord]) -> Outcome:
    """A document whose file cannot be read: its earlier version, if any, leaves the index."""
    if doc.id in base:
        reason += "; its earlier version was removed from the index"
    return Outcome(doc.id, doc.file, "failed", reason=reason)


def fingerprint(path: Path, doc: Document, settings: Settings) -> str:
    """A hash of everything that determines a document's passages and vectors."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    h.update(json.dumps(asdict(doc), sort_keys=True).encode())
    h.update(f"{PIPELINE_VERSION}|{settings.model_id}|{settings.embed_context}".encode())
    return h.hexdigest()
