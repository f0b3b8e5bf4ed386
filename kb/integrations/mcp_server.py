"""The knowledge base over the Model Context Protocol (`kb mcp`), for AI assistants that call tools.

Tools: `search` (ranked passages), `ask` (a cited answer), `commitments` (the G7's commitments)
and `evidence` (one commitment's evidence of implementation by country). Every passage in a
result carries its citation and passage id. Each indexed document is a resource,
`kb://documents/<id>`: its passages in reading order, with citations. The official `mcp` SDK
serves it over stdio, or over streamable HTTP at /mcp (kb/cli/mcp.py) behind KB_AUTH's logins as
HTTP Basic credentials (kb/logins.py). Every call goes to kb.api.Library, so the checks and the
messages are the app's: a request the knowledge base cannot use comes back as the tool's error.
"""

from __future__ import annotations

import json
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError

from kb.api import Library
from kb.commitments import listing
from kb.errors import KBError

INSTRUCTIONS = """Search and cite the G7's commitments against migrant smuggling and the national
reports on carrying them out. Quote passages with their citation. `ask` answers with sentences
quoted verbatim from the passages, each marked [n] for the passage it comes from; `search` lists
passages; `commitments` lists the G7's commitments; `evidence` shows one commitment's evidence by
country. Filters: {"countries": ["FRA"], "types": ["national-report"], "since": "2025"}."""


def server(library: Library) -> MCPServer:
    """The MCP server over a library: its four tools and a resource per indexed document."""
    mcp = MCPServer("g7-smuggling-kb", instructions=INSTRUCTIONS)

    @mcp.tool()
    def search(
        question: str, k: int = 5, filters: dict[str, list[str] | str] | None = None, mode: str = "hybrid"
    ) -> dict[str, Any]:
        """Passages that answer a question, best first, each with its citation and passage id.
        filters: {"types", "countries", "issuers", "doc_ids", "languages": [...], "since", "until": "YYYY[-MM[-DD]]"}."""
        result = _call(library.ask, question, mode, k, filters, None, False)
        return {"question": result["question"], "notice": result["notice"], "passages": _passages(result)}

    @mcp.tool()
    def ask(
        question: str, k: int = 5, filters: dict[str, list[str] | str] | None = None, mode: str = "hybrid"
    ) -> dict[str, Any]:
        """A cited answer: sentences quoted verbatim from the passages, each followed by [n], the
        marker of its passage; abstains when the documents do not address the question."""
        result = _call(library.ask, question, mode, k, filters)
        markers = {p["marker"]: p for p in result["passages"]}
        return {
            "question": result["question"],
            "answer": result["answer"],
            "abstained": result["abstained"],
            "notice": result["notice"],
            "sentences": [
                {
                    "text": s["text"],
                    "marker": s["marker"],
                    "passage_id": markers[s["marker"]]["id"],
                    "citation": markers[s["marker"]]["citation"],
                }
                for s in result["sentences"]
            ],
            "passages": _passages(result),
            "commitments": [
                {k: c[k] for k in ("key", "citation", "text") if k in c} for c in result["commitments"]
            ],
        }

    @mcp.tool()
    def commitments(
        doc_ids: list[str] | None = None, topics: list[str] | None = None, strengths: list[str] | None = None
    ) -> dict[str, Any]:
        """The G7's commitments, each with its id, exact words, citation, passage id, strength,
        topics and the countries with evidence of implementation. topics: online-platforms,
        sanctions, follow-the-money, returns, ...; strengths: pledge, mandate, support, acknowledgement."""
        rows = _call(_commitments, library, doc_ids or [], topics or [], strengths or [])
        return {"commitments": rows}

    @mcp.tool()
    def evidence(commitment: str, country: str = "") -> dict[str, Any]:
        """One commitment (id such as 2026-7, or DOC_ID:2026-7) with the national passages that give
        evidence of its implementation (citation, passage id, text) and each country's compliance score."""
        tracker, _ = _call(library.commitments)
        data = _call(listing.evidence, tracker, commitment, library.settings.sources_dir, country)
        return {
            "commitment": {k: data[k] for k in ("key", "id", "citation", "passage_id", "text", "strength")},
            "evidence": [
                {k: e[k] for k in ("country", "citation", "passage_id", "doc_id", "date", "score", "text")}
                for e in data["evidence"]
            ],
            "compliance": data.get("compliance", {}),
        }

    def read_document(doc_id: str) -> str:
        try:
            return json.dumps(library.document(doc_id), ensure_ascii=False)
        except KBError as exc:
            raise ResourceError(str(exc)) from None

    # Every document indexed when the server starts is listed; one indexed later is read all the same.
    mcp.resource(
        "kb://documents/{doc_id}",
        name="document",
        description="An indexed document's passages in reading order, each with its citation",
        mime_type="application/json",
    )(read_document)
    for d in library.documents():
        mcp.resource(
            f"kb://documents/{d['id']}",
            name=d["id"],
            title=d["title"],
            description=f"{d['issuer']}, {d['date']}: {d['passages']} passages with citations",
            mime_type="application/json",
        )(_reader(read_document, d["id"]))
    return mcp


def _reader(read, doc_id: str):
    """read(doc_id) as a function of nothing, as the SDK wants a resource without variables."""

    def read_it() -> str:
        return read(doc_id)

    return read_it


def _call(fn, *args):
    """fn(*args), a KBError (a bad filter, an unknown id, no index) as the tool's error message."""
    try:
        return fn(*args)
    except KBError as exc:
        raise ToolError(str(exc)) from None


def _passages(result: dict) -> list[dict]:
    return [
        {
            "marker": p["marker"],
            "passage_id": p["id"],
            "citation": p["citation"],
            "text": p["text"],
            "doc_id": p["document"]["id"],
            "country": p["document"]["country"],
            "date": p["document"]["date"],
            "page": p["page"],
            "paragraph": p["paragraph"],
            "score": p["score"],
        }
        for p in result["passages"]
    ]


def _commitments(library: Library, doc_ids: list[str], topics: list[str], strengths: list[str]) -> list[dict]:
    tracker, _ = library.commitments()
    return [
        {
            "key": c.key,
            "id": c.id,
            "citation": c.citation,
            "passage_id": c.passage_id,
            "text": c.text,
            "strength": c.strength,
            "topics": list(c.topic_keys),
            "evidence_countries": sorted({e.country for e in tracker.evidence.get(c.key, [])}),
        }
        for c in listing.select(tracker, library.records(), doc_ids, topics, strengths)
    ]


def with_login(app, logins: list[tuple[str, str]]):
    """The HTTP app, refusing (401) every request without one of `logins` as HTTP Basic credentials."""
    from kb.logins import basic_login

    async def guarded(scope, receive, send) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            if not basic_login(logins, headers.get(b"authorization", b"").decode("latin-1")):
                body = b'{"error": "Not signed in: send a login of KB_AUTH as HTTP Basic credentials."}'
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"www-authenticate", b'Basic realm="kb"'),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await app(scope, receive, send)

    return guarded
