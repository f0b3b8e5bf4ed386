"""Contract tests for kb.compat: each library internal kb relies on, checked against the installed
library, so that an upgrade that changes one fails here, with the library named, and not in an
answer."""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor

import gradio as gr
import httpx
import numpy as np
import pytest
from helpers import chroma_written_up_to

from kb import compat, files


def test_bm25s_index_reads_as_postings_of_passages_per_term():
    import bm25s

    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(["smuggling networks", "border police", "smuggling of migrants"]))
    indptr, indices, vocabulary = compat.bm25_postings(retriever)
    col = vocabulary["smuggling"]
    assert sorted(indices[indptr[col] : indptr[col + 1]].tolist()) == [0, 2], (
        "bm25s: BM25.scores layout changed"
    )
    assert indices[indptr[vocabulary["police"]] : indptr[vocabulary["police"] + 1]].tolist() == [1]


def _sleep(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a killed child not yet reaped is a zombie: dead
        return f.read().split(") ", 1)[1][0] != "Z"


def test_kill_pool_stops_a_worker_in_the_middle_of_its_task():
    pool = ProcessPoolExecutor(1)
    assert pool.submit(_sleep, 0).result(timeout=60) > 0  # the worker is up
    pids = list(pool._processes)
    assert pids, "concurrent.futures: ProcessPoolExecutor._processes is gone"
    busy = pool.submit(_sleep, 600)
    compat.kill_pool(pool)
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in pids), "the worker still runs after kill_pool"
    assert busy.done()


def test_chroma_missing_id_error_is_recognised(tmp_path):
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(path=str(tmp_path), settings=Settings(anonymized_telemetry=False))
    collection = client.create_collection("passages")
    vectors = np.eye(4, dtype=np.float32)
    collection.add(ids=["a", "b", "c", "d"], embeddings=vectors)
    collection.delete(ids=["b"])
    with pytest.raises(Exception) as raised:  # what a query racing a deletion meets
        collection.query(query_embeddings=[vectors[1]], ids=["b"], n_results=1)
    assert compat.is_missing_id(raised.value), f"chromadb: the missing-id error now reads {raised.value!r}"
    assert not compat.is_missing_id(ValueError("Collection passages does not exist"))


def test_chroma_writes_its_graph_of_the_vectors_when_asked(tmp_path):
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(path=str(tmp_path), settings=Settings(anonymized_telemetry=False))
    collection = client.create_collection("passages", configuration={"hnsw": {"space": "cosine"}})
    vectors = np.random.default_rng(0).standard_normal((1500, 8)).astype(np.float32)
    for start in range(0, 1500, 500):
        collection.add(
            ids=[f"p{i}" for i in range(start, start + 500)], embeddings=vectors[start : start + 500]
        )
    before = chroma_written_up_to(tmp_path)
    assert before["VECTOR"] < before["METADATA"], (
        f"chromadb: the graph of the vectors is no longer written every sync_threshold changes ({before})"
    )
    compat.persist_vectors(collection)
    after = chroma_written_up_to(tmp_path)
    assert after["VECTOR"] == after["METADATA"] > before["METADATA"], (
        f"chromadb: sync_threshold changes no longer write the graph ({after})"
    )
    assert collection.count() == 1500
    client.clear_system_cache()  # a new process: reads the graph it wrote
    reopened = chromadb.PersistentClient(path=str(tmp_path), settings=Settings(anonymized_telemetry=False))
    found = reopened.get_collection("passages").query(query_embeddings=vectors[[7, 1234]], n_results=1)
    assert found["ids"] == [["p7"], ["p1234"]]


def test_gradio_session_cookie_is_recognised_for_our_own_routes():
    with gr.Blocks() as demo:
        gr.Markdown("fixture app")
    app, url, _ = demo.launch(
        auth=[("alice", "correct horse")], prevent_thread_lock=True, server_name="127.0.0.1", quiet=True
    )
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            assert not compat.gradio_signed_in(app, dict(http.cookies))
            login = http.post("/login", data={"username": "alice", "password": "correct horse"})
            assert login.status_code == 200
            cookies = dict(http.cookies)
        assert compat.gradio_signed_in(app, cookies), f"gradio: session cookies now {sorted(cookies)}"
        assert not compat.gradio_signed_in(app, {name: "forged" for name in cookies})
    finally:
        demo.close()


def test_write_text_replaces_a_file_whole_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "sub" / "CURRENT"
    files.write_text(target, "g1")
    files.write_text(target, "g2 – ünïcode")
    assert target.read_text(encoding="utf-8") == "g2 – ünïcode"
    with pytest.raises(RuntimeError), files.replacing(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed in the middle")
    assert target.read_text(encoding="utf-8") == "g2 – ünïcode"
    assert [p.name for p in target.parent.iterdir()] == ["CURRENT"]


def test_llama_index_ships_punkt_sentence_models_for_the_five_languages():
    path = compat.punkt_data_dir()
    for model in ("english", "french", "german", "italian"):
        assert os.path.isdir(os.path.join(path, "tokenizers", "punkt_tab", model)), (
            f"llama-index-core: no Punkt model {model!r} in {path}"
        )
