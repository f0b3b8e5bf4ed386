"""BEIR datasets (corpus.jsonl, queries.jsonl, qrels/test.tsv) as evaluation suites.

Each BEIR document becomes a plain-text file holding its title and text on one line, listed in
a generated sources.toml under its BEIR title, so that the project's own pipeline (readers,
passages, embeddings, Chroma, BM25) indexes it like any other document. A long document may
become several passages; retrieval then keeps each document's best-ranked passage, and the
document is scored under its BEIR id. The generated directory lives in the cache, keyed by the
content hash of corpus.jsonl, and is written once.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

from ingest.manifest import MANIFEST_NAME, slug
from kb.errors import UsageError
from kb.evaluate.corpus import Corpus
from kb.evaluate.types import Judgment, Query, Suite

FORMAT_VERSION = "1"  # bump when the generated files change, so that cached copies are rewritten
IDS_FILE = ".beir-ids.json"  # index document id → BEIR id (a dot file: never ingested)
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def load(directory: Path, cache: Path, split: str = "test", k: int = 10) -> Suite:
    """A BEIR dataset as a Suite whose relevance unit is the document.

    Only queries with at least one positive judgment in qrels/<split>.tsv are kept, as in the
    BEIR evaluation. Raises UsageError naming the file and line for malformed input.
    """
    directory = Path(directory)
    corpus_path, queries_path = directory / "corpus.jsonl", directory / "queries.jsonl"
    qrels_path = directory / "qrels" / f"{split}.tsv"
    missing = [
        p.relative_to(directory).as_posix()
        for p in (corpus_path, queries_path, qrels_path)
        if not p.is_file()
    ]
    if missing:
        raise UsageError(
            f"{directory}/ is not a BEIR dataset: {', '.join(missing)} not found "
            f"(expected corpus.jsonl, queries.jsonl and qrels/{split}.tsv)"
        )
    digest = hashlib.sha256(FORMAT_VERSION.encode())
    with open(corpus_path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    target = cache / "beir" / f"{slug(directory.resolve().name) or 'dataset'}-{digest.hexdigest()[:12]}"
    sources = target / "sources"
    if not (sources / IDS_FILE).is_file():
        write_sources(corpus_path, sources)
    external: dict[str, str] = json.loads((sources / IDS_FILE).read_text(encoding="utf-8"))
    texts = read_queries(queries_path)
    judged = read_qrels(qrels_path)
    queries = []
    for qid, docs in judged.items():
        if qid not in texts:
            print(f"{qrels_path}: query {qid} is not in queries.jsonl; left out", file=sys.stderr)
            continue
        relevant = tuple(Judgment(doc=d, grade=g) for d, g in docs.items())
        queries.append(Query(qid, texts[qid], relevant))
    if not queries:
        raise UsageError(f"{qrels_path}: no query has a positive relevance judgment")
    description = (
        f"BEIR dataset {directory.resolve().name} ({len(external)} documents, {len(queries)} {split} queries "
        "with judgments), indexed with this project's pipeline."
    )
    return Suite(
        f"beir-{directory.resolve().name}",
        directory,
        Corpus((sources,)),
        k,
        description,
        tuple(queries),
        (),
        unit="document",
        external_ids=external,
    )


def write_sources(corpus_path: Path, sources: Path) -> None:
    """Write one .txt file per BEIR document and a sources.toml listing them with their titles."""
    import tomlkit

    tmp = sources.with_name(f".{sources.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    external: dict[str, str] = {}
    entries = []
    skipped = 0
    with open(corpus_path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            doc = _json_line(corpus_path, n, line)
            beir_id = str(doc.get("_id", "")).strip()
            if not beir_id:
                raise UsageError(f"{corpus_path}, line {n}: document without an _id")
            title = " ".join(str(doc.get("title") or "").split())
            text = " ".join(str(doc.get("text") or "").split())
            if not (title or text):
                skipped += 1
                continue
            index_id = _index_id(beir_id, external)
            external[index_id] = beir_id
            (tmp / f"{index_id}.txt").write_text(
                _joined(title, text) + "\n", encoding="utf-8", errors="replace"
            )
            entries.append(
                {
                    "id": index_id,
                    "title": title or f"BEIR document {beir_id}",
                    "type": "other",
                    "file": f"{index_id}.txt",
                }
            )
    if skipped:
        print(f"{corpus_path}: {skipped} empty document(s) left out", file=sys.stderr)
    header = f"# Generated by `kb eval --beir` from {corpus_path}; do not edit.\n"
    (tmp / MANIFEST_NAME).write_text(header + tomlkit.dumps({"document": entries}), encoding="utf-8")
    (tmp / IDS_FILE).write_text(json.dumps(external, ensure_ascii=False), encoding="utf-8")
    shutil.rmtree(sources, ignore_errors=True)
    tmp.rename(sources)


def read_queries(path: Path) -> dict[str, str]:
    """Query id → text, from queries.jsonl."""
    queries: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if line.strip():
                q = _json_line(path, n, line)
                queries[str(q.get("_id", ""))] = " ".join(str(q.get("text") or "").split())
    return queries


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """Query id → BEIR document id → grade, positive grades only, from a BEIR qrels TSV (header optional)."""
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            cols = line.rstrip("\n").split("\t") if "\t" in line else line.split()
            if not cols or not line.strip():
                continue
            if len(cols) != 3:
                raise UsageError(
                    f"{path}, line {n}: expected query-id, corpus-id and score, got {line.strip()!r}"
                )
            try:
                grade = int(float(cols[2]))
            except ValueError:
                if n == 1:  # the header line
                    continue
                raise UsageError(f"{path}, line {n}: score {cols[2]!r} is not a number") from None
            if grade > 0:
                qrels.setdefault(cols[0].strip(), {})[cols[1].strip()] = grade
    return qrels


def _joined(title: str, text: str) -> str:
    if not title or not text:
        return title or text
    return f"{title} {text}" if title[-1] in ".?!:;" else f"{title}. {text}"


def _index_id(beir_id: str, taken: dict[str, str]) -> str:
    """A manifest id (a lower-case slug) for a BEIR id, unique among those given so far."""
    base = slug(beir_id)
    if not _ID.match(base):
        base = (
            f"d-{base}"
            if base and _ID.match(f"d-{base}")
            else "d-" + hashlib.sha256(beir_id.encode()).hexdigest()[:12]
        )
    index_id, n = base, 2
    while index_id in taken:
        index_id, n = f"{base}-{n}", n + 1
    return index_id


def _json_line(path: Path, n: int, line: str) -> dict:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}, line {n}: not valid JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise UsageError(f"{path}, line {n}: expected a JSON object")
    return value
