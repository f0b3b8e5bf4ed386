"""Ingest end to end: provenance of the bundled declaration, incremental runs, bad input, crashes."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import DECLARATION_ID, SOURCES, copy_declaration, settings_for
from helpers import ROOT, chroma_written_up_to, free_port, generated_text_document, kb

from ingest import pipeline
from ingest.embedder import Embedder
from kb.answer.ask import ask
from kb.config import DEFAULT_MODEL_ID, MINILM, Settings
from kb.errors import ModelMismatchError
from kb.index import generations
from kb.index.store import VECTORS_PERSISTED, Index, cite
from kb.models import embed

DECLARATION_CITE = "G7 Leaders' Declaration on Tackling Migrant Smuggling (2026)"


def source_paragraphs(markdown: str) -> list[str]:
    """The declaration's body paragraphs, read straight from the Markdown file (not through our reader)."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", markdown) if b.strip()]
    return [" ".join(b.split()) for b in blocks if not b.startswith("#")]


def test_every_passage_of_the_declaration_cites_the_paragraph_that_contains_it(bundled):
    passages = bundled.document_passages(DECLARATION_ID)
    source = source_paragraphs((SOURCES / f"{DECLARATION_ID}.md").read_text(encoding="utf-8"))
    assert len(source) == 7
    assert [p.paragraph for p in passages] == [str(n) for n in range(1, 8)]
    doc = bundled.records()[DECLARATION_ID].document
    for p in passages:
        assert p.text in source[int(p.paragraph) - 1]
        assert cite(p, doc) == f"{DECLARATION_CITE}, para. {p.paragraph}"
        assert p.heading == "LEADERS' DECLARATION ON TACKLING MIGRANT SMUGGLING"
    assert passages[3].text.startswith("We recognize ongoing work to adopt targeted sanctions")


def test_ask_json_lists_the_online_platforms_paragraph_in_the_top_3(bundled):
    result = kb("ask", "Which commitments cover online platforms?", "--json", "--index", str(bundled.dir))
    assert result.returncode == 0, result.stderr
    top3 = json.loads(result.stdout)["passages"][:3]
    para4 = [p for p in top3 if p["document"]["id"] == DECLARATION_ID and p["paragraph"] == "4"]
    assert para4, [p["citation"] for p in top3]
    assert para4[0]["citation"] == f"{DECLARATION_CITE}, para. 4"
    assert "online platforms" in para4[0]["text"]


def test_second_ingest_embeds_nothing_then_change_and_removal_redo_only_those(workspace):
    sources, settings = workspace
    copy_declaration(sources)
    (sources / "note.txt").write_text(
        "Test fixture — not an official document.\n\nOne paragraph about border checks.\n"
    )
    first = pipeline.run(settings, progress=False)
    assert (first.count("added"), first.exit_code) == (2, 0)
    second = pipeline.run(settings, progress=False)
    assert (second.count("unchanged"), second.passages_embedded, second.changed) == (2, 0, False)

    (sources / "note.txt").write_text(
        "Test fixture — not an official document.\n\nNow about airline carriers.\n\nAnd a second paragraph.\n"
    )
    third = pipeline.run(settings, progress=False)
    assert {o.doc_id: o.status for o in third.outcomes} == {DECLARATION_ID: "unchanged", "note": "updated"}
    assert third.passages_embedded == 3
    index = Index(settings)
    assert [p.text for p in index.document_passages("note")] == [
        "Test fixture — not an official document.",
        "Now about airline carriers.",
        "And a second paragraph.",
    ]

    (sources / "note.txt").unlink()
    fourth = pipeline.run(settings, progress=False)
    assert [(o.doc_id, o.status) for o in fourth.outcomes if o.status != "unchanged"] == [("note", "removed")]
    index = Index(settings)
    assert index.document_passages("note") == [] and index.count() == 7
    hits = ask(index, "airline carriers", mode="bm25", answer=False).passages
    assert all(h.hit.document.id != "note" for h in hits)  # the BM25 snapshot was rebuilt too


def test_the_embedding_process_gives_this_process_vectors_and_when_it_dies_this_process_embeds(workspace):
    _, settings = workspace
    texts = [
        "Test fixture: G7 partners will share passenger information to disrupt smuggling networks.",
        "Test fixture: a short one.",
        "Test fixture: online platforms must remove content that advertises smuggling services.",
    ]
    here = embed.encode(settings, texts)
    with Embedder(settings) as embedder:
        assert embedder.ahead  # the default backend embeds in its own process
        assert np.allclose(embedder.vectors(embedder.submit(texts), texts), here, atol=1e-6)
        (process,) = multiprocessing.active_children()
        in_flight = [embedder.submit(texts[::-1]), embedder.submit(texts[1:])]
        os.kill(process.pid, signal.SIGKILL)
        process.join(10)
        assert np.allclose(embedder.vectors(in_flight[0], texts[::-1]), here[::-1], atol=1e-6)
        assert np.allclose(embedder.vectors(in_flight[1], texts[1:]), here[1:], atol=1e-6)
        assert np.allclose(embedder.vectors(embedder.submit(texts), texts), here, atol=1e-6)
    assert multiprocessing.active_children() == []


def test_a_first_ingest_builds_the_bm25_snapshot_of_what_chroma_holds_and_a_later_one_reads_chroma(workspace):
    sources, settings = workspace
    copy_declaration(sources)
    for seed in (1, 2):
        (sources / f"report-{seed}.txt").write_text(generated_text_document(seed, paragraphs=40))

    def snapshot() -> dict:
        bm25 = generations.current(settings.index_dir) / "bm25"
        return json.loads((bm25 / "passages.json").read_text(encoding="utf-8"))

    pipeline.run(settings, progress=False)  # built from the rows it wrote
    built = snapshot()
    index = Index(settings)
    pipeline.rebuild_lexical(index, index.generation)  # read back from Chroma
    read = snapshot()
    assert len(built["columns"]["id"]) == index.count() == 87
    assert (built["columns"], built["acronyms"]) == (read["columns"], read["acronyms"])
    index.close()

    (sources / "report-2.txt").write_text(generated_text_document(3, paragraphs=5))
    assert pipeline.run(settings, progress=False).count("updated") == 1  # not empty: reads Chroma
    after = snapshot()["columns"]
    assert len(after["id"]) == 7 + 40 + 5
    assert sum(doc == "report-2" for doc in after["doc_id"]) == 5


def test_dense_search_examines_200_candidates_also_in_an_index_built_before(workspace):
    # Chroma's default of 100 missed a question's best passage in a re-embedded 20k-passage index
    sources, settings = workspace
    copy_declaration(sources)
    pipeline.run(settings, progress=False)
    assert Index(settings).collection.configuration["hnsw"]["ef_search"] == settings.ranking.ef_search == 200
    before = Index(settings)  # as versions before made it: ef_search 100, no model in the registry
    before.collection.modify(configuration={"hnsw": {"ef_search": 100}})
    with before.db:
        before.db.execute("DELETE FROM info WHERE key = 'embed_model'")
    assert pipeline.run(settings, progress=False).passages_embedded == 0
    assert Index(settings).collection.configuration["hnsw"]["ef_search"] == 200


def test_ingest_leaves_chroma_no_changes_to_replay_also_in_an_index_built_before(workspace):
    """Chroma writes its graph of the vectors every 1,000 changes, and a new process replays the
    changes since from its log before its first query (the declaration's few passages: all of them).
    Ingest has it written at its end; the next ingest does it for an index built before."""
    sources, settings = workspace
    copy_declaration(sources)
    pipeline.run(settings, progress=False)
    index = Index(settings)
    first = chroma_written_up_to(index.dir / "chroma")
    assert first["VECTOR"] == first["METADATA"] > 0
    with index.db:  # as versions before left it
        index.db.execute("DELETE FROM info WHERE key = ?", (VECTORS_PERSISTED,))
    passages = index.count()
    index.close()
    assert pipeline.run(settings, progress=False).passages_embedded == 0
    again = Index(settings)
    second = chroma_written_up_to(again.dir / "chroma")
    assert second["VECTOR"] == second["METADATA"] > first["METADATA"]
    assert again.count() == passages
    assert pipeline.run(settings, progress=False).passages_embedded == 0
    assert Index(settings).dir == again.dir  # nothing left to do: the generation in service is kept


def make_bad_files(sources: Path) -> dict[str, str]:
    """Each kind of bad input, with the reason the summary must give."""
    from pypdf import PdfWriter
    from reportlab.pdfgen import canvas

    good_pdf = sources / "good.pdf"
    c = canvas.Canvas(str(good_pdf))
    c.drawString(72, 720, "Test fixture — not an official document. A paragraph about smuggling routes.")
    c.save()
    (sources / "truncated.pdf").write_bytes(good_pdf.read_bytes()[: good_pdf.stat().st_size // 2])
    writer = PdfWriter(clone_from=str(good_pdf))
    writer.encrypt("secret")
    with open(sources / "encrypted.pdf", "wb") as f:
        writer.write(f)
    c = canvas.Canvas(str(sources / "scanned.pdf"))
    c.rect(100, 100, 300, 300, fill=1)
    c.save()
    (sources / "empty.txt").write_bytes(b"")
    (sources / "binary.txt").write_bytes(bytes(range(256)) * 64)
    with open(sources / "sources.toml", "a", encoding="utf-8") as f:
        f.write('\n[[document]]\nid = "listed-but-missing"\ntitle = "Missing"\nfile = "missing.pdf"\n')
    return {
        "truncated": "corrupt PDF",
        "encrypted": "encrypted PDF, no password given",
        "scanned": "no text found: no text layer, and no scanned image to read by OCR",
        "empty": "empty file",
        "binary": "not a text file",
        "listed-but-missing": "the file missing.pdf is missing",
    }


def test_bad_files_are_named_and_skipped_and_the_rest_is_indexed(workspace):
    sources, settings = workspace
    copy_declaration(sources)
    expected = make_bad_files(sources)
    result = kb("ingest", "--sources", str(sources), "--index", str(settings.index_dir))
    assert result.returncode == 1, result.stdout + result.stderr
    for doc_id, reason in expected.items():
        line = next((ln for ln in result.stderr.splitlines() if doc_id in ln), "")
        assert reason in line, (doc_id, result.stderr)
    assert "2 added" in result.stdout and "6 failed" in result.stdout
    index = Index(settings)
    assert set(index.records()) == {DECLARATION_ID, "good"}


def test_malformed_manifest_stops_before_anything_is_written(workspace):
    sources, settings = workspace
    copy_declaration(sources)
    with open(sources / "sources.toml", "a", encoding="utf-8") as f:
        f.write('\n[[document]]\nid = "x"\ntitle = "unterminated\n')
    result = kb("ingest", "--sources", str(sources), "--index", str(settings.index_dir))
    assert result.returncode == 2
    assert re.search(r"sources\.toml: malformed TOML: .*line \d+", result.stderr), result.stderr
    assert not settings.index_dir.exists()


def test_a_second_ingest_is_refused_while_one_runs(workspace):
    sources, settings = workspace
    copy_declaration(sources)
    settings.index_dir.mkdir()
    with pipeline.ingest_lock(settings.index_dir):
        result = kb("ingest", "--sources", str(sources), "--index", str(settings.index_dir))
    assert result.returncode == 1
    assert "another `kb ingest`" in result.stderr and "--wait" in result.stderr


def test_kill_9_mid_ingest_then_rerun_completes_without_duplicates(tmp_path):
    sources = tmp_path / "sources"
    sources.mkdir()
    for n in range(24):
        (sources / f"report-{n:02d}.txt").write_text(
            generated_text_document(n, paragraphs=40), encoding="utf-8"
        )
    index_dir = tmp_path / ".kb"
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "KB_SOURCES_DIR": str(sources),
        "KB_INDEX_DIR": str(index_dir),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "kb.cli", "ingest", "-q"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    registry = index_dir / "g-000001" / "registry.sqlite"  # a first build: in service from its start
    deadline = time.time() + 300
    done = 0
    while time.time() < deadline and proc.poll() is None:
        if registry.exists():
            try:
                done = sqlite3.connect(registry).execute("SELECT COUNT(*) FROM documents").fetchone()[0]
            except sqlite3.OperationalError:
                done = 0
            if done >= 1:
                break
        time.sleep(0.05)
    assert proc.poll() is None, "ingest finished before it could be killed; make the corpus larger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with contextlib.closing(sqlite3.connect(registry)) as db:
        recorded = db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    assert 1 <= done <= recorded < 24  # killed part-way: some documents recorded, not all

    settings = settings_for(sources, index_dir)
    interrupted = Index(settings)  # the index still answers queries after the kill
    assert ask(interrupted, "online platforms", mode="dense", answer=False).passages
    interrupted.close()

    rerun = pipeline.run(settings, progress=False)
    assert rerun.exit_code == 0 and rerun.count("added") + rerun.count("unchanged") == 24
    clean_settings = settings_for(sources, tmp_path / ".kb-clean")
    pipeline.run(clean_settings, progress=False)
    after, clean = Index(settings), Index(clean_settings)
    got = [(p.id, p.text) for p, _ in after.all_passages()]
    want = [(p.id, p.text) for p, _ in clean.all_passages()]
    assert sorted(got) == sorted(want)
    assert sorted(after.collection.get(include=[])["ids"]) == sorted(pid for pid, _ in got)
    assert after.count() == sum(r.passages for r in after.records().values()) == 24 * 40
    hits = ask(after, "joint investigation teams", mode="bm25", k=50, answer=False).passages
    assert len({h.hit.passage.id for h in hits}) == len(hits) == 50


def test_querying_with_another_model_says_to_rebuild(bundled, tmp_path):
    fake_model = tmp_path / "other-model"
    fake_model.mkdir()
    result = kb("search", "returns", "--index", str(bundled.dir), env={"KB_EMBED_MODEL": str(fake_model)})
    assert result.returncode == 1
    assert "kb ingest --rebuild" in result.stderr and Settings().model_id in result.stderr


def test_ingesting_with_another_model_is_refused_before_any_work_and_the_index_is_kept(workspace, tmp_path):
    sources, settings = workspace
    copy_declaration(sources)
    pipeline.run(settings, progress=False)
    before = Index(settings).records()
    (sources / "new.txt").write_text(generated_text_document(7, 3))
    fake_model = tmp_path / "other-model"  # not a model at all: loading it would fail otherwise
    fake_model.mkdir()
    result = kb(
        "ingest",
        "--sources",
        str(sources),
        "--index",
        str(settings.index_dir),
        env={"KB_EMBED_MODEL": str(fake_model)},
    )
    assert result.returncode == 1
    assert "was built with the embedding model" in result.stderr and "kb ingest --rebuild" in result.stderr
    assert "cannot load the embedding model" not in result.stderr
    assert Index(settings).records() == before


def test_an_index_of_the_earlier_int8_model_says_to_rebuild_and_the_rebuild_serves(workspace):
    # Before int8 weights were quantized per channel, model ids ended in "+int8": other vectors.
    sources, settings = workspace
    settings = settings.with_(embed_model=MINILM)
    minilm = {"KB_EMBED_MODEL": MINILM}
    copy_declaration(sources)
    pipeline.run(settings, progress=False)
    Index(settings).collection.modify(metadata={"embed_model": f"{DEFAULT_MODEL_ID}+int8"})
    with pytest.raises(ModelMismatchError, match=r"\+int8'.*kb ingest --rebuild.*the version of this tool"):
        Index(settings)
    index = ("--index", str(settings.index_dir))
    assert "kb ingest --rebuild" in kb("search", "online platforms", *index, env=minilm).stderr
    assert kb("ingest", "--rebuild", "--sources", str(sources), *index, env=minilm).returncode == 0
    found = kb("search", "online platforms", "--json", *index, env=minilm)
    assert found.returncode == 0, found.stderr
    assert "online" in json.loads(found.stdout)["passages"][0]["text"].casefold()


@pytest.mark.server
def test_ingest_and_ask_through_a_chroma_server(workspace, tmp_path):
    sources, settings = workspace
    copy_declaration(sources)
    port = free_port()
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or "chroma"
    server = subprocess.Popen(
        [
            chroma,
            "run",
            "--path",
            str(tmp_path / "chroma-server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import httpx

        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        env = {"KB_CHROMA_URL": f"http://127.0.0.1:{port}"}
        ingest = kb("ingest", "--sources", str(sources), "--index", str(settings.index_dir), env=env)
        assert ingest.returncode == 0, ingest.stderr
        assert not (generations.current(settings.index_dir) / "chroma").exists()  # vectors on the server
        result = kb(
            "ask",
            "What do the leaders say about sanctions?",
            "--json",
            "--index",
            str(settings.index_dir),
            env=env,
        )
        assert result.returncode == 0, result.stderr
        top = json.loads(result.stdout)["passages"][0]
        assert top["citation"] == f"{DECLARATION_CITE}, para. 4"
        # A change updates the server's collection; a rebuild writes a new one, and the old one
        # goes with the generation that used it.
        (sources / "note.txt").write_text(generated_text_document(5, paragraphs=3), encoding="utf-8")
        paths = ("--sources", str(sources), "--index", str(settings.index_dir))
        assert kb("ingest", *paths, env=env).returncode == 0
        assert kb("ingest", "--rebuild", *paths, env=env).returncode == 0
        import chromadb

        names = [c.name for c in chromadb.HttpClient(host="127.0.0.1", port=port).list_collections()]
        assert len(names) == 1 and names[0].startswith(f"{settings.collection}-"), names
        again = kb(
            "ask",
            "What do the leaders say about sanctions?",
            "--json",
            "--index",
            str(settings.index_dir),
            env=env,
        )
        assert json.loads(again.stdout)["passages"][0]["citation"] == top["citation"]
    finally:
        server.terminate()
        server.wait(timeout=30)
