"""One copy of every passage: SQLite holds the text and provenance, Chroma the vectors under the same
ids, the BM25 snapshot term statistics for the same ids; after an ingest, a change, a removal and a
rebuild they agree. (kill -9 at any moment: tests/test_crash.py, whose checks compare the three.)"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from conftest import DECLARATION_ID, copy_declaration

from ingest import pipeline
from kb.answer.ask import ask
from kb.index import generations, lexical
from kb.index.store import Index, filter_metadata
from kb.search.retrieve import search

NOTE = "Test fixture — not an official document.\n\nA joint investigation team on hawala brokers.\n"
CHANGED = "Test fixture — not an official document.\n\nAirline carriers check travel documents.\n"


def agreement(index: Index) -> dict[str, str]:
    """The passages all three stores hold (id → text), after checking that they hold the same ones, and that Chroma and
    the BM25 snapshot hold no passage text."""
    stored = {pid: text for pid, text, _ in index.passage_rows_of()}
    vectors = index.collection.get(include=["documents", "metadatas"])
    snapshot = lexical.load(index.dir)
    assert set(vectors["ids"]) == set(stored) == set(snapshot.ids)
    assert index.count() == len(stored) == sum(r.passages for r in index.records().values())
    assert set(vectors["documents"]) == {None}  # no text in Chroma
    records = index.records()
    for pid, meta in zip(vectors["ids"], vectors["metadatas"]):
        assert meta == filter_metadata(records[meta["doc_id"]].document), pid  # filter keys only
    on_disk = (index.dir / "bm25" / "passages.json").read_text(encoding="utf-8")
    for text in stored.values():
        assert len(text) < 30 or text not in on_disk  # a snapshot keeps no text
    assert not index.legacy
    return stored


def test_each_passage_is_stored_once_and_the_three_stores_agree(workspace):
    sources, settings = workspace
    copy_declaration(sources)
    (sources / "note.txt").write_text(NOTE, encoding="utf-8")
    pipeline.run(settings, progress=False)
    index = Index(settings)
    first = agreement(index)
    assert any("hawala" in p.text for p in index.document_passages("note"))
    hits = search(index, '"joint investigation team"', k=3)
    assert [h.passage.text for h in hits] == ["A joint investigation team on hawala brokers."]

    (sources / "note.txt").write_text(CHANGED, encoding="utf-8")
    pipeline.run(settings, progress=False)
    changed = agreement(Index(settings))
    assert changed.keys() == first.keys()  # ids are stable: document, paragraph, part
    assert [t for t in changed.values() if t not in first.values()] == [
        "Airline carriers check travel documents."
    ]
    assert search(Index(settings), '"joint investigation team"', k=3) == []
    assert search(Index(settings), '"travel documents"', mode="dense", k=3)[0].document.id == "note"

    (sources / "note.txt").unlink()
    pipeline.run(settings, progress=False)
    removed = agreement(Index(settings))
    assert removed.keys() < changed.keys() and not any(pid.startswith("note") for pid in removed)

    pipeline.run(settings, rebuild=True, progress=False)
    assert agreement(Index(settings)) == removed


def test_an_index_from_before_sqlite_is_read_from_chroma_then_adopted_by_the_next_ingest(workspace):
    """An index built by an earlier version keeps text and provenance in Chroma's metadata: it answers as
    it is, and the next `kb ingest` copies its passages into SQLite without embedding anything again."""
    sources, settings = workspace
    copy_declaration(sources)
    pipeline.run(settings, progress=False)
    index = Index(settings)
    before = search(index, "online platforms", k=3)
    # Turn it into the earlier layout: text and every field in Chroma, nothing in SQLite.
    rows = list(index.passage_rows_of())
    document = index.records()[DECLARATION_ID].document
    document_fields = {f"doc_{k}": v for k, v in asdict(document).items() if k not in ("id", "aliases")}
    vectors = index.collection.get(ids=[pid for pid, _, _ in rows], include=["embeddings"])["embeddings"]
    index.collection.update(
        ids=[pid for pid, _, _ in rows],
        embeddings=vectors,
        documents=[text for _, text, _ in rows],
        metadatas=[{**json.loads(meta), **document_fields} for _, _, meta in rows],
    )
    with index.db:
        index.db.execute("DELETE FROM passages")
        index.db.execute("DELETE FROM info WHERE key = 'passages'")
    index.client.clear_system_cache()  # what another process would find: Chroma not open
    index.close()
    flatten(settings.index_dir)
    legacy = Index(settings)
    assert legacy.legacy and legacy.dir == settings.index_dir
    assert [(h.passage.id, h.citation) for h in search(legacy, "online platforms", k=3)] == [
        (h.passage.id, h.citation) for h in before
    ]
    assert search(legacy, '"online platforms"', k=1)[0].passage.id == before[0].passage.id
    again = pipeline.run(settings, progress=False)
    assert again.passages_embedded == 0
    adopted = Index(settings)
    assert not adopted.legacy and len(list(adopted.passage_rows_of())) == len(rows)
    # ... and into a generation of its own: nothing of the index is left in the directory itself
    assert adopted.dir == generations.current(settings.index_dir) != settings.index_dir
    assert sorted(p.name for p in settings.index_dir.iterdir()) == [
        "CURRENT",
        adopted.dir.name,
        "ingest.lock",
    ]
    answer = ask(adopted, "online platforms", answer=False)
    assert answer.passages[0].hit.passage.id == before[0].passage.id


def flatten(root: Path) -> None:
    """Lay an index out as versions before generations did: its parts in the index directory
    itself, and its BM25 snapshot in `bm25/<name>/` named by a `bm25/CURRENT` file."""
    generation = generations.current(root)
    for part in generation.iterdir():
        part.rename(root / part.name)
    (root / generations.READERS).unlink()
    generation.rmdir()
    (root / generations.POINTER).unlink()
    bm25 = root / "bm25"
    name = (bm25 / "name").read_text()
    bm25.rename(root / "snapshot")
    bm25.mkdir()
    (root / "snapshot").rename(bm25 / name)
    (bm25 / "CURRENT").write_text(name)
