"""llama-index over the knowledge base: our retriever inside llama-index's query engines, and
language models through llama-index (an installed integration named by KB_LLM_CLASS).

The retriever runs over the session's real index of the declaration and the labelled fixtures.
No language model runs offline here: the query engines get llama-index's MockLLM (it answers with
the prompt it was given), and the LLM path a stub of the OpenAI API on loopback (the only stub).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from helpers import ROOT, kb
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import CitationQueryEngine, RetrieverQueryEngine

from kb.answer.ask import ask
from kb.api import AskRequest, Library
from kb.errors import UsageError
from kb.index.store import Index
from kb.integrations.llama_index import KnowledgeBaseRetriever

QUESTION = "Which commitments cover online platforms?"


@pytest.fixture(scope="module")
def library(fixtures_index) -> Library:
    return Library(fixtures_index.settings)


@pytest.fixture(scope="module")
def asked(fixtures_index) -> dict:
    """What `kb ask --json` prints for QUESTION over the same index."""
    result = kb("ask", QUESTION, "--json", "--index", str(fixtures_index.dir))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_retriever_query_engine_cites_what_kb_ask_cites(library, asked):
    engine = RetrieverQueryEngine.from_args(KnowledgeBaseRetriever(library, k=5), llm=MockLLM())
    response = engine.query(QUESTION)
    nodes = response.source_nodes
    assert [n.node.metadata["citation"] for n in nodes] == [p["citation"] for p in asked["passages"]]
    assert [n.node.node_id for n in nodes] == [p["id"] for p in asked["passages"]]
    assert [n.node.get_content() for n in nodes] == [p["text"] for p in asked["passages"]]
    for node, passage in zip(nodes, asked["passages"], strict=True):
        meta = node.node.metadata
        assert (meta["doc_id"], meta["paragraph"], meta["page"]) == (
            passage["document"]["id"],
            passage["paragraph"],
            passage["page"],
        )
        assert meta["quoted"] == [h["text"] for h in passage["highlights"]]
        # The language model reads each passage under its citation, and no other metadata.
        assert f"citation: {meta['citation']}\n\n{passage['text']}" in str(response)
    assert "passage_id:" not in str(response) and "doc_id:" not in str(response)
    assert "G7 Leaders' Declaration on Tackling Migrant Smuggling (2026), para. 4" in [
        p["citation"] for p in asked["passages"]
    ]


def test_citation_query_engine_sources_carry_the_citations_and_exact_words(library):
    retriever = KnowledgeBaseRetriever(library, k=5)
    retrieved = retriever.retrieve(QUESTION)
    texts = {n.node.metadata["citation"]: n.node.get_content() for n in retrieved}
    response = CitationQueryEngine(retriever, llm=MockLLM()).query(QUESTION)
    assert response.source_nodes
    for n, source in enumerate(response.source_nodes, start=1):
        chunk = source.node.get_content()
        assert chunk.startswith(f"Source {n}:\n")
        # Each source the engine numbers is words of the passage its citation names.
        assert chunk.removeprefix(f"Source {n}:\n").strip() in texts[source.node.metadata["citation"]]
    assert {s.node.metadata["citation"] for s in response.source_nodes} == set(texts)


def test_the_retriever_applies_filters_and_refuses_bad_ones_with_the_apps_message(library):
    french = KnowledgeBaseRetriever(library, k=3, filters={"countries": ["FRA"]}).retrieve(QUESTION)
    assert french and {n.node.metadata["country"] for n in french} == {"FRA"}
    with pytest.raises(UsageError, match="no indexed document has country 'XXX'"):
        KnowledgeBaseRetriever(library, filters={"countries": ["XXX"]}).retrieve(QUESTION)
    with pytest.raises(UsageError, match="unknown filter country; use"):
        KnowledgeBaseRetriever(library, filters={"country": "FRA"})


def test_answer_false_gives_the_plain_ranking_of_kb_search(library):
    searched = library.answer(AskRequest("hawala", k=4, answer=False))
    nodes = KnowledgeBaseRetriever(library, k=4, answer=False).retrieve("hawala")
    assert [n.node.node_id for n in nodes] == [c.hit.passage.id for c in searched.passages]
    assert [n.score for n in nodes] == [c.hit.score for c in searched.passages]


def test_from_index_leaves_the_knowledge_bases_own_llm_out(fixtures_index, monkeypatch):
    monkeypatch.setenv("KB_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("KB_LLM_MODEL", "never-called")
    retriever = KnowledgeBaseRetriever.from_index(fixtures_index.dir, k=3)
    assert retriever.library.settings.index_dir == fixtures_index.dir
    assert not retriever.library.settings.llm_base_url
    assert len(retriever.retrieve(QUESTION)) == 3


class _ChatCompletions(BaseHTTPRequestHandler):
    """A stand-in for an OpenAI-compatible server: answers every chat request with `reply`."""

    reply = ""
    seen: list[dict] = []

    def do_POST(self):  # noqa: N802
        type(self).seen.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        message = {"role": "assistant", "content": type(self).reply}
        payload = json.dumps({"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def stub_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ChatCompletions)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_an_llm_named_by_kb_llm_class_answers_and_is_checked_like_the_default(fixtures_index, stub_api):
    options = {"api_base": stub_api, "api_key": "test", "is_chat_model": True, "model": "class-stub"}
    settings = fixtures_index.settings.with_(
        llm_class="llama_index.llms.openai_like.OpenAILike", llm_options=json.dumps(options)
    )
    plain = ask(Index(fixtures_index.settings), QUESTION)
    marker = next(c.marker for c in plain.passages if "national contact point" in c.hit.passage.text)
    _ChatCompletions.reply = (
        f'Each G7 member will set up "a national contact point for referrals of online smuggling content" [{marker}]. '
        f'The ministers "banned all social media" [{marker}].'
    )
    _ChatCompletions.seen.clear()
    answer = ask(Index(settings), QUESTION)
    assert answer.generated_by == "llm:class-stub"
    assert [s["supported"] for s in answer.to_dict()["llm_sentences"]] == [True, False]
    assert answer.text.endswith("[unsupported]") and "1 sentence(s)" in answer.notice
    assert _ChatCompletions.seen[0]["model"] == "class-stub"


def test_a_kb_llm_class_that_cannot_be_used_is_a_usage_error_saying_what_to_do(fixtures_index):
    for llm_class, options, message in (
        ("llama_index.llms.nowhere.Missing", "", "cannot import llama_index.llms.nowhere"),
        ("json.JSONDecoder", "", "does not name a llama-index LLM class"),
        ("llama_index.llms.openai_like.OpenAILike", "[1, 2]", "KB_LLM_OPTIONS must be a JSON object"),
        ("llama_index.llms.openai_like.OpenAILike", "{model: x}", "KB_LLM_OPTIONS is not JSON"),
    ):
        settings = fixtures_index.settings.with_(llm_class=llm_class, llm_options=options)
        with pytest.raises(UsageError, match=message):
            ask(Index(settings), QUESTION)


def test_the_documented_example_runs_and_cites_what_kb_ask_cites(fixtures_index, asked):
    example = ROOT / "docs" / "examples" / "llama_index_query.py"
    result = subprocess.run(
        [sys.executable, str(example), "--index", str(fixtures_index.dir), QUESTION],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "KB_LLM_BASE_URL": "",
            "KB_LLM_MODEL": "",
            "KB_LLM_CLASS": "",
        },
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "No language model configured" in result.stdout
    for n, passage in enumerate(asked["passages"], start=1):
        assert f"[{n}] {passage['citation']}  ({passage['id']}, score" in result.stdout
