"""`kb mcp` driven by the official MCP SDK's own client, over stdio and over streamable HTTP.

The server runs as the real command over the session's index of the declaration and the labelled
fixtures; every answer is compared with what kb.api.Library gives in this process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import anyio
import httpx
import httpx2
import pytest
from helpers import ROOT, free_port, kb
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from kb.api import Library

QUESTION = "Which commitments cover online platforms?"
PARA_4 = "G7 Leaders' Declaration on Tackling Migrant Smuggling (2026), para. 4"
DECLARATION_ID = "g7-2026-leaders-declaration-migrant-smuggling"
TOOLS = {"search", "ask", "commitments", "evidence"}


def paths(index) -> list[str]:
    return ["--index", str(index.dir), "--sources", str(index.settings.sources_dir)]


def test_over_stdio_the_sdk_client_lists_the_tools_and_searches_with_citations(fixtures_index):
    library = Library(fixtures_index.settings)
    expected = library.ask(QUESTION, k=5, answer=False)["passages"]
    answered = library.ask(QUESTION)
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "kb.cli", "mcp", *paths(fixtures_index)],
        env=dict(os.environ),
        cwd=ROOT,
    )

    async def session() -> dict:
        async with Client(params, read_timeout_seconds=300) as client:
            return {
                "tools": await client.list_tools(),
                "search": await client.call_tool("search", {"question": QUESTION, "k": 5}),
                "ask": await client.call_tool("ask", {"question": QUESTION}),
                "bad": await client.call_tool(
                    "search", {"question": QUESTION, "filters": {"countries": "XXX"}}
                ),
                "commitments": await client.call_tool("commitments", {"topics": ["online-platforms"]}),
                "resources": await client.list_resources(),
                "declaration": await client.read_resource(f"kb://documents/{DECLARATION_ID}"),
            }

    got = anyio.run(session)
    assert {t.name for t in got["tools"].tools} == TOOLS
    found = got["search"].structured_content["passages"]
    assert [(p["citation"], p["passage_id"], p["text"]) for p in found] == [
        (p["citation"], p["id"], p["text"]) for p in expected
    ]
    assert PARA_4 in [p["citation"] for p in found]

    answer = got["ask"].structured_content
    assert answer["answer"] == answered["answer"] and answer["sentences"]
    by_id = {p["passage_id"]: p for p in answer["passages"]}
    for s in answer["sentences"]:  # each quoted sentence names the passage that holds its words
        assert (
            s["text"] in by_id[s["passage_id"]]["text"]
            and s["citation"] == by_id[s["passage_id"]]["citation"]
        )

    assert got["bad"].is_error
    assert "no indexed document has country 'XXX'" in got["bad"].content[0].text

    rows = got["commitments"].structured_content["commitments"]
    assert rows and all("online-platforms" in r["topics"] and r["citation"] and r["passage_id"] for r in rows)

    assert f"kb://documents/{DECLARATION_ID}" in {str(r.uri) for r in got["resources"].resources}
    assert f'"citation": "{PARA_4}"' in got["declaration"].contents[0].text


@pytest.fixture(scope="module")
def mcp_over_http(fixtures_index):
    """`kb mcp --http` with a login (KB_AUTH), on a free loopback port; yields its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kb.cli", "mcp", "--http", "--port", str(port), *paths(fixtures_index)],
        cwd=ROOT,
        env={**os.environ, "KB_AUTH": "alice:correct horse"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    printed: list[str] = []
    threading.Thread(target=lambda: printed.extend(proc.stderr), daemon=True).start()
    url = f"http://127.0.0.1:{port}/mcp"
    deadline = time.monotonic() + 180
    while True:  # until the server answers, or the command has stopped
        assert proc.poll() is None and time.monotonic() < deadline, "".join(printed)
        try:
            httpx.get(url, timeout=2)
            break
        except httpx.TransportError:
            time.sleep(0.2)
    yield url, printed
    proc.terminate()
    proc.wait(timeout=30)


def test_over_http_a_client_with_a_login_searches_and_one_without_is_refused(mcp_over_http):
    url, printed = mcp_over_http
    assert f"Serving the knowledge base over MCP at {url} (login required)." in "".join(printed)
    refused = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, timeout=10)
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == 'Basic realm="kb"'

    async def with_login(password: str) -> tuple:
        timeout = httpx2.Timeout(30, read=300)
        async with (
            httpx2.AsyncClient(auth=httpx2.BasicAuth("alice", password), timeout=timeout) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            return await client.list_tools(), await client.call_tool("search", {"question": QUESTION, "k": 5})

    tools, searched = anyio.run(with_login, "correct horse")
    assert {t.name for t in tools.tools} == TOOLS
    assert not searched.is_error
    passages = searched.structured_content["passages"]
    assert PARA_4 in [p["citation"] for p in passages] and all(p["passage_id"] for p in passages)
    with pytest.raises(BaseException) as refused_by_sdk:
        anyio.run(with_login, "wrong")
    errors = list(leaves(refused_by_sdk.value))
    assert any(isinstance(e, MCPError) and "error response" in str(e) for e in errors), errors


def leaves(exc: BaseException):
    """The exceptions inside (nested) exception groups, as anyio's task groups raise them."""
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from leaves(inner)
    else:
        yield exc


def test_kb_mcp_will_not_open_http_to_the_network_without_a_login(fixtures_index):
    result = kb("mcp", "--http", "--host", "0.0.0.0", *paths(fixtures_index), env={"KB_AUTH": ""})
    assert result.returncode == 2
    assert "without a login: set KB_AUTH" in result.stderr
