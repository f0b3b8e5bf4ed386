"""Each index generation in its own directory, one pointer selecting it (kb/index/generations.py): a
change is written into a new generation and put in service in one switch, a reader keeps the
generation it opened until its next question, and a generation is deleted only once no reader
holds it."""

from __future__ import annotations

from conftest import copy_declaration
from helpers import generated_text_document

from ingest import pipeline
from kb.index import generations
from kb.index.store import Index
from kb.search.retrieve import search


def test_a_change_is_put_in_service_in_one_switch_and_a_reader_keeps_its_generation(workspace):
    sources, settings = workspace
    root = settings.index_dir
    copy_declaration(sources)
    (sources / "note.txt").write_text(generated_text_document(1, paragraphs=3))
    pipeline.run(settings, progress=False)
    first = generations.current(root)
    assert first.name == "g-000001" and (root / "CURRENT").read_text() == "g-000001"

    again = pipeline.run(settings, progress=False)  # nothing to do: nothing copied, no new generation
    assert again.count("unchanged") == 2 and generations.all_of(root) == [first]

    reader = Index(settings)
    old_text = {p.id: p.text for p in reader.document_passages("note")}
    (sources / "note.txt").write_text(generated_text_document(2, paragraphs=3))
    assert pipeline.run(settings, progress=False).count("updated") == 1
    second = generations.current(root)
    assert second.name == "g-000002"
    # The reader still has the generation it opened, whole, until it asks its next question ...
    assert reader.dir == first and {p.id: p.text for p in reader.document_passages("note")} == old_text
    assert first.is_dir() and not generations.unused(first)  # ... so the ingest left it in place
    hits = search(reader, "ministry noted", k=10)
    assert reader.dir == second
    new_text = {p.id: p.text for p in reader.document_passages("note")}
    assert (
        new_text != old_text
        and {h.passage.id: h.passage.text for h in hits if h.document.id == "note"}.items()
        <= new_text.items()
    )
    search(reader, "ministry noted", k=1)  # a question later, the old generation is let go
    assert generations.unused(first)

    (sources / "note.txt").write_text(generated_text_document(3, paragraphs=3))
    pipeline.run(settings, progress=False)
    # The first generation is deleted; the second is the reader's until its next question.
    assert generations.all_of(root) == [second, generations.current(root)]
    assert (
        reader.dir == second
        and search(reader, "ministry noted", k=1)
        and reader.dir == generations.current(root)
    )
    reader.close()


def test_readers_in_one_process_open_and_leave_generations_without_disturbing_each_other(workspace):
    """Chroma shares one open store per path in a process. A reader moving to a new generation
    closes only its own client of the generation it left (Client.close), and only once no question
    still reads it; it used to clear Chroma's cache for the whole process, which broke another
    thread opening its own store at that moment (seen as KeyError, and once as "database is
    locked" on the copy that an ingest was writing into)."""
    import threading

    sources, settings = workspace
    root = settings.index_dir
    copy_declaration(sources)
    pipeline.run(settings, progress=False)
    first = generations.current(root)
    holder = Index(settings)  # keeps the first generation from being deleted
    (sources / "note.txt").write_text(generated_text_document(1, paragraphs=3))
    pipeline.run(settings, progress=False)
    second = generations.current(root)
    counts = {first: holder.collection.count(), second: Index(settings).collection.count()}
    assert counts[second] > counts[first]

    reader, errors, done = Index(settings), [], threading.Event()

    def open_and_close() -> None:  # another part of the same process, e.g. a second request
        while not done.is_set():
            try:
                other = Index(settings)
                other.collection.count()
                other.close()
            except Exception as exc:  # noqa: BLE001 (every failure is the finding)
                errors.append(repr(exc))

    thread = threading.Thread(target=open_and_close)
    thread.start()
    try:
        for flip in range(40):
            generation = (first, second)[flip % 2]
            generations.publish(root, generation)
            reader.refresh()
            assert reader.dir == generation and reader.collection.count() == counts[generation]
    finally:
        done.set()
        thread.join()
    assert not errors, errors[:3]
    generations.publish(root, second)
    reader.close()
    holder.close()
