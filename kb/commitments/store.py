"""Commitments stored with the index, and kept in step with it.

`<index>/commitments.json` holds each G7 document's extracted commitments under the fingerprint of
the document version they came from (the registry's fingerprint) and the versions of rules.toml and
topics.toml; only documents whose fingerprint changed, and all documents after a rules change, are
extracted again. `<index>/commitments-links.json` holds lineage and evidence, computed for one index
generation: they depend on every document (a new national report can be evidence for any commitment),
so they are recomputed in full after an ingest that changed something, or on first use when stale.

`refresh(index)` is what `kb ingest` calls, under its lock, and the only writer; `tracker(index)` is
what the CLI and the app call: it reads, and when the files are stale (rules edited since the last
ingest, an index older than them) computes the result in memory, once per process and generation,
without writing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from kb import files
from kb.commitments import evidence as evidence_mod
from kb.commitments import lineage as lineage_mod
from kb.commitments import rules as rules_mod
from kb.commitments import topics as topics_mod
from kb.commitments.extract import EXTRACT_VERSION, extract, is_g7_document
from kb.commitments.types import Commitment, Evidence, Lineage, Link, Tracker
from kb.index.store import Index
from kb.types import date_to_int

FORMAT = 1
COMMITMENTS_FILE = "commitments.json"
LINKS_FILE = "commitments-links.json"


@dataclass(frozen=True)
class Refresh:
    """What a refresh did."""

    extracted: tuple[str, ...]  # documents (re-)extracted
    dropped: tuple[str, ...]  # documents no longer in the index
    commitments: int
    links_recomputed: bool


def refresh(index: Index) -> Refresh:
    """Bring the stored commitments, lineage and evidence in line with the index."""
    rules = rules_mod.load()
    taxonomy = topics_mod.load()
    commitments, extracted, dropped = _sync_commitments(index, rules, taxonomy)
    recomputed = _links(index, commitments, rules, taxonomy)[2]
    return Refresh(tuple(extracted), tuple(dropped), sum(c.is_commitment for c in commitments), recomputed)


def current(index: Index) -> bool:
    """Whether the stored commitments, lineage and evidence are those of this index generation and
    of today's rules (a refresh would change nothing)."""
    versions = _versions(index, rules_mod.load(), topics_mod.load())
    stored = _read(index.dir / COMMITMENTS_FILE)
    documents = stored.get("documents", {})
    g7 = {d: r.fingerprint for d, r in index.records().items() if is_g7_document(r.document)}
    stamp = _read(index.dir / LINKS_FILE).get("stamp", {})
    return (
        stored.get("versions") == versions
        and {d: e.get("fingerprint") for d, e in documents.items()} == g7
        and stamp.get("generation") == index.info("generation", "0")
        and stamp.get("versions") == versions
    )


_computed: dict[tuple[str, str, str], tuple] = {}  # stale files' results, per index, generation and versions


def tracker(index: Index) -> Tracker:
    """Commitments (in date and reading order), lineage, evidence and the matrix countries."""
    rules = rules_mod.load()
    taxonomy = topics_mod.load()
    key = (str(index.dir), index.info("generation", "0"), json.dumps(_versions(index, rules, taxonomy)))
    if key not in _computed:
        commitments, _, _ = _sync_commitments(index, rules, taxonomy, write=False)
        lineage, evidence, _ = _links(index, commitments, rules, taxonomy, write=False)
        if len(_computed) > 3:
            _computed.clear()
        _computed[key] = (commitments, lineage, evidence)
    commitments, lineage, evidence = _computed[key]
    countries = list(rules.compliance.members)
    for items in evidence.values():
        countries += [e.country for e in items if e.country and e.country not in countries]
    documented = frozenset(r.document.country for r in index.records().values() if r.document.country)
    return Tracker(commitments, lineage, evidence, countries, documented)


def _sync_commitments(
    index: Index, rules, taxonomy, write: bool = True
) -> tuple[list[Commitment], list[str], list[str]]:
    path = index.dir / COMMITMENTS_FILE
    stored = _read(path)
    versions = _versions(index, rules, taxonomy)
    if stored.get("versions") != versions:
        stored = {}
    documents = stored.get("documents", {})
    records = index.records()
    extracted, dropped = [], [d for d in documents if d not in records]
    for doc_id in dropped:
        del documents[doc_id]
    for doc_id, record in records.items():
        if not is_g7_document(record.document):
            if documents.pop(doc_id, None) is not None:
                dropped.append(doc_id)  # its type or country changed
            continue
        if documents.get(doc_id, {}).get("fingerprint") == record.fingerprint:
            continue
        found = extract(index.settings, record.document, index.document_passages(doc_id), rules, taxonomy)
        documents[doc_id] = {"fingerprint": record.fingerprint, "commitments": [c.to_dict() for c in found]}
        extracted.append(doc_id)
    if write and (extracted or dropped or not path.exists()):
        _write(path, {"format": FORMAT, "versions": versions, "documents": documents})
    commitments = [Commitment.from_dict(c) for entry in documents.values() for c in entry["commitments"]]
    order = {doc_id: i for i, doc_id in enumerate(records)}
    # A stable sort: within a document, the reading order of extraction is kept.
    commitments.sort(key=lambda c: (date_to_int(c.date), order.get(c.doc_id, 0)))
    return commitments, extracted, dropped


def _links(
    index: Index, commitments: list[Commitment], rules, taxonomy, write: bool = True
) -> tuple[dict[str, Lineage], dict[str, list[Evidence]], bool]:
    path = index.dir / LINKS_FILE
    stamp = {
        "generation": index.info("generation", "0"),
        "versions": _versions(index, rules, taxonomy),
        "commitments": [[c.key, c.text] for c in commitments],
    }
    stored = _read(path)
    if stored.get("stamp") == stamp:
        return _lineage_from(stored["lineage"]), _evidence_from(stored["evidence"]), False
    lineage = lineage_mod.link(index.settings, commitments, rules)
    evidence = evidence_mod.find(index, commitments, rules.evidence, taxonomy)
    if not write:
        return lineage, evidence, True
    _write(
        path,
        {
            "format": FORMAT,
            "stamp": stamp,
            "lineage": {k: v.to_dict() for k, v in lineage.items()},
            "evidence": {k: [e.to_dict() for e in v] for k, v in evidence.items()},
        },
    )
    return lineage, evidence, True


def _versions(index: Index, rules, taxonomy) -> dict:
    return {
        "format": FORMAT,
        "extractor": EXTRACT_VERSION,
        "rules": rules.digest,
        "topics": taxonomy.digest,
        "model": index.settings.model_id,
    }


def _lineage_from(data: dict) -> dict[str, Lineage]:
    return {
        k: Lineage(v["key"], v["status"], tuple(Link(**x) for x in v["links"]), tuple(v["chain"]))
        for k, v in data.items()
    }


def _evidence_from(data: dict) -> dict[str, list[Evidence]]:
    return {k: [Evidence(**{**e, "topics": tuple(e.get("topics", ()))}) for e in v] for k, v in data.items()}


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}  # absent or cut short: recomputed from the index
    return data if data.get("format") == FORMAT else {}


def _write(path: Path, data: dict) -> None:
    """Write beside the old file, then rename over it, so a reader never sees half a file."""
    files.write_text(path, json.dumps(data, ensure_ascii=False))
