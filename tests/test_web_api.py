"""The plain JSON API (kb/web_api.py) on the app's own server, with httpx, as a portal would call it.

The app runs for real, in this process on free loopback ports, over the session's index of the
declaration and the labelled fixtures: once open, once with a login (KB_AUTH).
"""

from __future__ import annotations

import base64

import httpx
import pytest
from helpers import free_port

import app
from kb.api import Library

QUESTION = "Which commitments cover online platforms?"
PARA_4 = "G7 Leaders' Declaration on Tackling Migrant Smuggling (2026), para. 4"
DECLARATION_ID = "g7-2026-leaders-declaration-migrant-smuggling"
# What `curl -d '{…}'` sends: a JSON body under a form's content type.
CURL = {"Content-Type": "application/x-www-form-urlencoded"}


def served(settings):
    demo, url = app.serve(settings, block=False, quiet=True)
    return demo, url.rstrip("/")


@pytest.fixture(scope="module")
def api(fixtures_index):
    demo, url = served(fixtures_index.settings.with_(port=free_port()))
    with httpx.Client(base_url=url + "/api/v1", timeout=120) as client:
        yield client
    demo.close()


@pytest.fixture(scope="module")
def with_login(fixtures_index):
    demo, url = served(fixtures_index.settings.with_(port=free_port(), auth="alice:correct horse"))
    yield url
    demo.close()


def test_ask_as_curl_sends_it_returns_the_answer_the_app_gives(api, fixtures_index):
    response = api.post("/ask", content=f'{{"question": "{QUESTION}"}}', headers=CURL)
    assert response.status_code == 200, response.text
    result = response.json()
    expected = Library(fixtures_index.settings).ask(QUESTION)
    assert [p["citation"] for p in result["passages"]] == [p["citation"] for p in expected["passages"]]
    assert PARA_4 in [p["citation"] for p in result["passages"]]
    assert result["answer"] == expected["answer"] and not result["abstained"]
    for s in result["sentences"]:  # every quoted sentence is in the passage its marker names
        passage = next(p for p in result["passages"] if p["marker"] == s["marker"])
        assert s["text"] in passage["text"] and f"{s['text']} [{s['marker']}]" in result["answer"]


def test_ask_takes_filters_and_search_returns_the_ranking_without_an_answer(api):
    french = api.post("/ask", json={"question": QUESTION, "k": 3, "filters": {"countries": ["FRA"]}}).json()
    assert {p["document"]["country"] for p in french["passages"]} == {"FRA"}
    found = api.post("/search", json={"question": "hawala", "k": 4}).json()
    assert found["answer"] == "" and found["generated_by"] == "none"
    assert len(found["passages"]) == 4 and [p["rank"] for p in found["passages"]] == [1, 2, 3, 4]


@pytest.mark.parametrize(
    "body, message",
    [
        ('{"question": ""}', "Type a question first."),
        ('{"question": "' + "x" * 501 + '"}', "The question is 501 characters long; the limit is 500."),
        ('{"question": "returns", "k": 0}', "k (the number of passages) must be between 1 and 50, not 0"),
        ('{"question": "returns", "mode": "fuzzy"}', "unknown retrieval mode 'fuzzy'; choose one of"),
        ('{"question": "returns", "filters": {"country": "FRA"}}', "unknown filter country; use countries"),
        (
            '{"question": "returns", "filters": {"countries": ["XXX"]}}',
            "no indexed document has country 'XXX'",
        ),
        ('{"question": "returns", "filters": {"since": "last year"}}', "'last year' is not a date"),
        ('{"questio": "returns"}', "question: Field required; unknown field 'questio'"),
        ('{"question": "returns", "k": "many"}', "k: Input should be a valid integer"),
        ('{"question": "returns"', "the body is not JSON"),
        ("", "the body is empty"),
    ],
)
def test_bad_input_gets_422_with_the_apps_message(api, body, message):
    response = api.post("/ask", content=body, headers=CURL)
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]


def test_documents_and_a_document_with_its_cited_paragraphs(api):
    documents = api.get("/documents").json()
    assert DECLARATION_ID in {d["id"] for d in documents}
    declaration = api.get(f"/documents/{DECLARATION_ID}").json()
    paragraph_4 = next(p for p in declaration["paragraphs"] if p["paragraph"] == "4")
    assert paragraph_4["citation"] == PARA_4 and "online platforms" in paragraph_4["text"]
    missing = api.get("/documents/no-such-report")
    assert missing.status_code == 404
    assert missing.json()["detail"].startswith("No document with id 'no-such-report' in the index.")


def test_commitments_filtered_by_topic_and_one_with_its_evidence(api):
    rows = api.get("/commitments", params={"topic": "online-platforms"}).json()["commitments"]
    assert rows and all("online-platforms" in [t["key"] for t in r["topics"]] for r in rows)
    assert all(r["citation"] and r["passage_id"] and r["text"] for r in rows)
    bad = api.get("/commitments", params={"topic": "platforms"})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("unknown topic platforms; choose from")
    key = next(r["key"] for r in rows if r["evidence_countries"])
    one = api.get(f"/commitments/{key}").json()
    assert one["key"] == key and one["evidence"] and one["compliance"]
    assert all(e["citation"] and e["text"] and e["passage_id"] for e in one["evidence"])
    country = one["evidence"][0]["country"]
    only = api.get(f"/commitments/{key}", params={"country": country}).json()
    assert {e["country"] for e in only["evidence"]} == {country} and list(only["compliance"]) == [country]
    assert api.get("/commitments/1999-99").status_code == 404


def test_the_openapi_schema_describes_the_four_endpoints(api):
    schema = api.get("/openapi.json").json()
    assert {f"/api/v1/{p}" for p in ("ask", "search", "documents/{doc_id}", "commitments")} <= set(
        schema["paths"]
    )
    body = schema["components"]["schemas"]["AskIn"]
    assert body["required"] == ["question"] and {"mode", "k", "filters", "removed"} <= set(body["properties"])


def test_with_kb_auth_the_api_refuses_requests_without_a_login(with_login):
    with httpx.Client(base_url=with_login, timeout=120) as http:
        for method, path in (
            ("POST", "/api/v1/ask"),
            ("POST", "/api/v1/search"),
            ("GET", f"/api/v1/documents/{DECLARATION_ID}"),
            ("GET", "/api/v1/commitments"),
            ("GET", "/api/v1/openapi.json"),
        ):
            refused = http.request(method, path, json={"question": QUESTION})
            assert refused.status_code == 401, path
            assert refused.headers["www-authenticate"] == 'Basic realm="kb"'
            assert "send a login of KB_AUTH as HTTP Basic credentials" in refused.json()["detail"]
        wrong = http.post("/api/v1/ask", json={"question": QUESTION}, auth=("alice", "wrong"))
        assert wrong.status_code == 401
        right = http.post("/api/v1/ask", json={"question": QUESTION}, auth=("alice", "correct horse"))
        assert right.status_code == 200 and PARA_4 in [p["citation"] for p in right.json()["passages"]]
        # A browser signed in on the app's login page uses the API with its session cookie.
        assert http.post("/login", data={"username": "alice", "password": "correct horse"}).status_code == 200
        assert http.get("/api/v1/commitments").status_code == 200
    header = "Basic " + base64.b64encode(b"alice:correct horse").decode()
    assert httpx.get(with_login + "/api/v1/documents", headers={"Authorization": header}).status_code == 200
