"""The app through its HTTP API (gradio_client and plain HTTP), `kb serve` and `kb feedback export`.

The app runs for real over the session's index of the bundled sources: in-process on a free
loopback port, and as the `kb serve` command for the login tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import docx
import httpx
import pytest
import yaml
from conftest import DECLARATION_ID
from gradio_client import Client
from gradio_client.exceptions import AppError
from helpers import ROOT, free_port, kb

import app
from kb import feedback
from kb.config import Settings
from kb.errors import UsageError

QUESTION = "Which commitments cover online platforms?"
PARA_4 = "G7 Leaders' Declaration on Tackling Migrant Smuggling (2026), para. 4"
PARA_4_TEXT = (
    "In that regard, we recall our determination, expressed under the Canadian presidency, to intensify our "
    "cooperation with online platforms and relevant actors for them to detect, prevent and remove online content "
    "used to conduct smuggling operations."
)


@pytest.fixture(scope="module")
def settings(bundled) -> Settings:
    return bundled.settings.with_(port=free_port())


@pytest.fixture(scope="module")
def client(settings):
    demo, url = app.serve(settings, block=False, quiet=True)
    yield Client(url, verbose=False)
    demo.close()


def para_4(result: dict) -> dict:
    return next(p for p in result["passages"] if p["citation"] == PARA_4)


def test_ask_returns_the_online_platforms_paragraph_with_its_citation(client):
    result = client.predict(QUESTION, "hybrid", 5, {}, api_name="/ask")
    assert result["question"] == QUESTION
    assert len(result["passages"]) == 5
    top3 = [p["citation"] for p in result["passages"][:3]]
    assert PARA_4 in top3, top3
    passage = para_4(result)
    assert PARA_4_TEXT in passage["text"]
    assert passage["id"] == f"{DECLARATION_ID}:4:0"
    assert passage["document"]["title"] == "G7 Leaders' Declaration on Tackling Migrant Smuggling"
    assert passage["paragraph"] == "4"
    for h in passage["highlights"]:  # highlights are exact sentences of the passage text
        assert passage["text"][h["start"] : h["end"]] == h["text"]
    if not result["abstained"]:
        assert "[" in result["answer"]


def test_ask_applies_filters_and_refuses_unknown_values(client):
    result = client.predict(QUESTION, "bm25", 3, {"types": ["declaration"], "since": "2026"}, api_name="/ask")
    assert {p["document"]["type"] for p in result["passages"]} == {"declaration"}
    assert result["filters"] == {"types": ["declaration"], "since": "2026"}
    with pytest.raises(AppError, match="no indexed document has country 'XYZ'"):
        client.predict(QUESTION, "hybrid", 5, {"countries": ["XYZ"]}, api_name="/ask")
    with pytest.raises(AppError, match="unknown filter colour"):
        client.predict(QUESTION, "hybrid", 5, {"colour": "red"}, api_name="/ask")


def test_an_overlong_question_is_refused_with_a_message(client, settings):
    question = "Which commitments cover online platforms? " * 20
    assert len(question.strip()) > settings.max_question_chars
    with pytest.raises(AppError, match=rf"characters long; the limit is {settings.max_question_chars}"):
        client.predict(question, api_name="/ask")


def test_documents_lists_the_index_and_document_returns_paragraphs(client):
    documents = client.predict(api_name="/documents")
    declaration = next(d for d in documents if d["id"] == DECLARATION_ID)
    assert declaration["title"] == "G7 Leaders' Declaration on Tackling Migrant Smuggling"
    assert declaration["issuer"] == "G7 Leaders"
    assert declaration["passages"] == 7
    assert declaration["ingested_at"]

    doc = client.predict(DECLARATION_ID, api_name="/document")
    assert doc["document"]["id"] == DECLARATION_ID
    assert [p["paragraph"] for p in doc["paragraphs"]] == ["1", "2", "3", "4", "5", "6", "7"]
    fourth = doc["paragraphs"][3]
    assert PARA_4_TEXT in fourth["text"]
    assert fourth["citation"] == PARA_4
    assert fourth["heading"] == "LEADERS' DECLARATION ON TACKLING MIGRANT SMUGGLING"


def test_an_unknown_document_id_gets_a_clear_message(client):
    with pytest.raises(AppError, match="No document with id 'no-such-document' in the index"):
        client.predict("no-such-document", api_name="/document")


def test_export_briefing_as_word_and_markdown(client):
    ids = [f"{DECLARATION_ID}:4:0", f"{DECLARATION_ID}:6:0"]
    path = client.predict(
        ids, {ids[0]: "Relevant to the platforms note."}, "docx", "Platforms", api_name="/export_briefing"
    )
    assert path.endswith(".docx")
    paragraphs = [p.text for p in docx.Document(path).paragraphs]
    body = "\n".join(paragraphs)
    assert PARA_4_TEXT in body
    assert f"— {PARA_4}" in paragraphs
    assert "Note: Relevant to the platforms note." in paragraphs
    assert paragraphs[0] == "Platforms"
    references = paragraphs[paragraphs.index("References") + 1 :]
    # The short title already holds the full one: the reference says it once.
    assert references == [
        "G7 Leaders' Declaration on Tackling Migrant Smuggling (2026). G7 Leaders, June 2026."
    ]
    properties = docx.Document(path).core_properties
    assert (properties.title, properties.author, properties.last_modified_by) == ("Platforms", "", "")

    path = client.predict(ids, None, "md", api_name="/export_briefing")
    text = Path(path).read_text(encoding="utf-8")
    assert PARA_4_TEXT in text
    assert f"— {PARA_4}" in text
    assert text.index("para. 4") < text.index("para. 6") < text.index("## References")


def test_export_refuses_unknown_passages_and_formats(client):
    with pytest.raises(AppError, match="no passage with id 'nope:1:0'"):
        client.predict(["nope:1:0"], None, "docx", api_name="/export_briefing")
    with pytest.raises(AppError, match="unknown briefing format 'pdf'"):
        client.predict([f"{DECLARATION_ID}:4:0"], None, "pdf", api_name="/export_briefing")
    with pytest.raises(AppError, match="the briefing is empty"):
        client.predict([], None, "md", api_name="/export_briefing")


def test_a_missing_index_or_unreachable_store_gives_a_readable_message(tmp_path):
    for settings, expected in (
        (Settings(index_dir=tmp_path / "none", port=free_port()), "run `kb ingest`"),
        (
            Settings(index_dir=tmp_path, chroma_url=f"http://127.0.0.1:{free_port()}", port=free_port()),
            "cannot reach the Chroma server",
        ),
    ):
        if settings.chroma_url:  # a registry, so that the store is the only thing missing
            (tmp_path / "registry.sqlite").touch()
        demo, url = app.serve(settings, block=False, quiet=True)
        try:
            with pytest.raises(AppError, match=expected):
                Client(url, verbose=False).predict(api_name="/documents")
        finally:
            demo.close()


def test_kb_serve_on_a_missing_index_says_what_to_run(tmp_path):
    result = kb("serve", "--index", str(tmp_path / "empty"), env={"KB_PORT": str(free_port())}, timeout=120)
    assert result.returncode == 1
    assert "no index in" in result.stderr
    assert "`kb ingest`" in result.stderr and "`make run`" in result.stderr


@pytest.fixture(scope="module")
def served_with_login(tmp_path_factory):
    """`kb serve --ingest` as `make run` starts it (bundled sources, a new index), with KB_AUTH naming a file of logins.

    Yields the URL and the lines the command printed before the app was up.
    """
    root = tmp_path_factory.mktemp("served")
    logins = root / "logins.txt"
    logins.write_text("# who may sign in\nalice:correct horse\nbob:battery staple\n", encoding="utf-8")
    port = free_port()
    env = {**os.environ, "KB_AUTH": str(logins), "KB_PORT": str(port), "KB_INDEX_DIR": str(root / ".kb")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kb.cli", "serve", "--ingest"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    printed: list[str] = []
    threading.Thread(target=lambda: printed.extend(proc.stdout), daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while not any(line.startswith("Starting the app") for line in printed):
        assert proc.poll() is None and time.monotonic() < deadline, "".join(printed)
        time.sleep(0.3)
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
            break
        except httpx.TransportError:
            time.sleep(0.3)
    yield url, printed
    proc.terminate()
    proc.wait(timeout=30)


def test_kb_serve_ingest_indexes_the_sources_then_starts_with_a_login(served_with_login):
    url, printed = served_with_login
    text = "".join(printed)
    assert "Indexing the documents in sources/" in text
    assert (
        "Ingest finished" in text
        and "added    g7-2026-leaders-declaration-migrant-smuggling.md (7 passages, language en)" in text
    )
    assert f"Starting the app on {url} (1 document, login required)." in text


def test_with_kb_auth_unauthenticated_requests_are_refused(served_with_login):
    url, _ = served_with_login
    page = httpx.get(url, timeout=10)
    assert "G7 commitments against migrant smuggling" not in page.text  # the login form, not the app
    for path in ("/config", "/gradio_api/info", f"/kb/pdf/{DECLARATION_ID}"):
        assert httpx.get(url + path, timeout=10).status_code == 401, path
    with pytest.raises(Exception, match="(?i)auth|401|login|credentials"):
        Client(url, verbose=False).predict(api_name="/documents")
    with pytest.raises(Exception, match="(?i)auth|401|login|credentials"):
        Client(url, auth=("alice", "wrong"), verbose=False)


def test_with_kb_auth_a_signed_in_client_works(served_with_login):
    url, _ = served_with_login
    client = Client(url, auth=("bob", "battery staple"), verbose=False)
    result = client.predict(QUESTION, "hybrid", 5, {}, api_name="/ask")
    assert PARA_4_TEXT in para_4(result)["text"]
    with httpx.Client(base_url=url, timeout=10) as http:
        assert http.post("/login", data={"username": "alice", "password": "correct horse"}).status_code == 200
        assert "G7 commitments against migrant smuggling" in http.get("/config").text
        assert (
            http.get(f"/kb/pdf/{DECLARATION_ID}").status_code == 404
        )  # signed in; the declaration is no PDF


def test_auth_pairs_reads_commas_or_a_file(tmp_path):
    assert app.auth_pairs("a:1, b:two:parts") == [("a", "1"), ("b", "two:parts")]
    path = tmp_path / "logins"
    path.write_text("\n# comment\nc:3\n", encoding="utf-8")
    assert app.auth_pairs(str(path)) == [("c", "3")]
    with pytest.raises(UsageError, match="entry 2 is not of the form user:password"):
        app.auth_pairs("a:1,b")
    with pytest.raises(UsageError, match="is neither a file nor user:password pairs"):
        app.auth_pairs(str(tmp_path / "missing-logins"))


def test_feedback_export_drafts_evaluation_queries(client, tmp_path):
    result = client.predict(QUESTION, "hybrid", 5, {}, api_name="/ask")
    wrong = next(p for p in result["passages"] if p["citation"] != PARA_4)
    path = tmp_path / "feedback.jsonl"
    feedback.record(
        path, feedback.from_answer(result, "wrong-passage", "Not about\nplatforms", wrong["marker"])
    )
    feedback.record(path, feedback.from_answer(result, "helpful"))
    returns = client.predict(
        'What did the G7 agree on "returns"?', "hybrid", 3, {"types": ["declaration"]}, api_name="/ask"
    )
    feedback.record(path, feedback.from_answer(returns, "wrong-citation", "para. 6 is the returns one"))

    out = tmp_path / "draft.yaml"
    run = kb("feedback", "export", "--file", str(path), "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert "Wrote 2 draft queries" in run.stdout
    text = out.read_text(encoding="utf-8")
    suite = yaml.safe_load(text)
    first, second = suite["queries"]
    assert first["question"] == QUESTION and second["question"] == 'What did the G7 agree on "returns"?'
    for query in suite["queries"]:  # the query keys of evals/suites/*.yaml; relevant is left to complete
        assert set(query) <= {"id", "question", "filters", "relevant", "answerable", "note"}
        assert query["relevant"] == []
    assert first["note"].endswith(
        f"wrong passage ([{wrong['marker']}] {wrong['citation']}). Comment: Not about platforms"
    )
    reported = (
        f'{{doc: {DECLARATION_ID}, paragraph: "{wrong["paragraph"]}"}}  {wrong["citation"]}  <- reported'
    )
    assert reported in text
    assert second["filters"] == {"type": ["declaration"]}

    missing = kb("feedback", "export", "--index", str(tmp_path / "none"))
    assert missing.returncode == 1
    assert "nobody has sent feedback from the app yet" in missing.stderr
