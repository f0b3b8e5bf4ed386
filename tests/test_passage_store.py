"""One copy of every passage: SQLite holds the text and provenance, Chroma the vectors under the same
ids, the BM25 snapshot term statistics for the same ids; after an ingest, a change, a removal and a
rebuild they agree. (kill -9 at any moment: tests/test_crash.py, whose checks compare the three.)"""

from __future__ import annotations

from conftest import copy_declaration
from helpers import kb

from ingest import pipeline
from kb.index import lexical
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


def test_an_index_from_before_sqlite_is_refused_with_the_command_that_rebuilds_it(workspace):
    """An index built by an earlier version kept text and provenance in Chroma's metadata, not in
    SQLite: it is not read (no branch for old layouts); the error names `kb ingest --rebuild`,
    which builds it anew."""
    from kb.errors import IndexMissingError

    sources, settings = workspace
    copy_declaration(sources)
    pipeline.run(settings, progress=False)
    index = Index(settings)
    before = [(h.passage.id, h.citation) for h in search(index, "online platforms", k=3)]
    with index.db:  # the earlier layout: no passages in SQLite, no mark that SQLite holds them
        index.db.execute("DELETE FROM passages")
        index.db.execute("DELETE FROM info WHERE key = 'passages'")
    index.close()
    try:
        Index(settings)
    except IndexMissingError as exc:
        assert "earlier version" in str(exc) and "kb ingest --rebuild" in str(exc)
    else:
        raise AssertionError("an index of the earlier layout was opened")
    refused = kb("search", "online platforms", "--index", str(settings.index_dir))
    assert refused.returncode == 1 and "kb ingest --rebuild" in refused.stderr
    pipeline.run(settings, rebuild=True, progress=False)
    assert [(h.passage.id, h.citation) for h in search(Index(settings), "online platforms", k=3)] == before
