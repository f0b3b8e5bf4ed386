"""A plain JSON API beside the app, on the same server and behind the same login: `curl` asks in
one call, where Gradio's own API is a queue protocol.

    POST /api/v1/ask                  {"question": ..., "mode", "k", "filters", "removed"} → the answer
    POST /api/v1/search               the same body → the ranked passages, without an answer
    GET  /api/v1/documents            the indexed documents
    GET  /api/v1/documents/{id}       a document's passages in reading order, with citations
    GET  /api/v1/commitments          ?doc=&topic=&strength= → the G7's commitments
    GET  /api/v1/commitments/{id}     ?country= → one commitment, its evidence and compliance scores
    GET  /api/v1/openapi.json         the schema

Every answer comes from kb.api.Library, so the checks and their messages are the app's: a request
the API cannot use gets 422 with {"detail": "<what is wrong and what to do>"}, an unknown id 404, an
index that cannot answer 503, a request without a login (when KB_AUTH is set) 401.
docs/integrations.md shows each with curl.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from kb.api import Library
from kb.app.messages import readable
from kb.commitments import listing, topics
from kb.errors import KBError, UsageError

PREFIX = "/api/v1"
TITLE = "G7 migrant smuggling knowledge base"
DESCRIPTION = "Cited answers, passages, documents and commitments (docs/integrations.md)."
FORM = "application/x-www-form-urlencoded"


class FiltersIn(BaseModel):
    """Restrictions on the documents searched; an empty field does not restrict."""

    model_config = ConfigDict(extra="allow")  # an unknown filter gets the app's message, not pydantic's

    types: list[str] | str | None = Field(None, description="declaration, statement, national-report, …")
    countries: list[str] | str | None = Field(None, description="ISO 3166 alpha-3 codes, or G7")
    issuers: list[str] | str | None = None
    doc_ids: list[str] | str | None = None
    languages: list[str] | str | None = Field(None, description="ISO 639-1 codes")
    since: str | None = Field(None, description="YYYY[-MM[-DD]], inclusive")
    until: str | None = Field(None, description="YYYY[-MM[-DD]], inclusive")


class AskIn(BaseModel):
    """A question and how to answer it (the app's `ask` endpoint takes the same)."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(description="at most KB_MAX_QUESTION_CHARS (500) characters")
    mode: str = Field("hybrid", description="hybrid, dense or bm25")
    k: int = Field(5, description="the number of passages, 1 to 50")
    filters: FiltersIn | None = None
    removed: list[str] = Field(
        default_factory=list,
        description="keys of constraints read from the question to ignore, from understood.constraints[].key",
    )

    def arguments(self) -> tuple:
        filters = self.filters.model_dump(exclude_none=True) if self.filters else None
        return self.question, self.mode, self.k, filters, self.removed


class PassageOut(BaseModel):
    """A cited passage (more fields: scores, highlights, start, end, ocr, national_evidence)."""

    model_config = ConfigDict(extra="allow")

    marker: int
    id: str
    citation: str
    text: str
    document: dict
    page: int | None
    paragraph: str
    heading: str


class AnswerOut(BaseModel):
    """Answer.to_dict(), what `kb ask --json` prints (more fields: understood, corrections, evidence…)."""

    model_config = ConfigDict(extra="allow")

    question: str
    answer: str = Field(description="quoted sentences, each followed by [marker] of its passage")
    abstained: bool
    generated_by: str
    notice: str
    sentences: list[dict]
    passages: list[PassageOut]
    commitments: list[dict]


def router(library: Library, allowed: Callable[[Request], bool]) -> APIRouter:
    """The JSON API's routes, to include in the app's server; `allowed` is the app's login check
    (kb/logins.py), applied to every route."""

    def signed_in(request: Request) -> None:
        if not allowed(request):
            raise HTTPException(
                401,
                "Not signed in: send a login of KB_AUTH as HTTP Basic credentials (curl -u user:password), "
                "or the session cookie the app's login page sets.",
                headers={"WWW-Authenticate": 'Basic realm="kb"'},
            )

    api = APIRouter(prefix=PREFIX, dependencies=[Depends(signed_in)], route_class=_JSONRoute)

    def call(fn, *args, refused: int = 422):
        """fn(*args), its errors as HTTP errors with the app's messages (`refused`: the status of a UsageError)."""
        try:
            return fn(*args)
        except UsageError as exc:
            raise HTTPException(refused, str(exc)) from None
        except KBError as exc:  # no index yet, an empty index, the store unreachable
            raise HTTPException(503, str(exc)) from None
        except Exception as exc:  # the traceback goes to the server's log (kb/app/messages.py)
            raise HTTPException(503, readable(exc, library)) from None

    @api.post("/ask", responses={200: {"model": AnswerOut}})
    def ask(body: AskIn) -> dict:
        """A cited answer: sentences quoted from the passages, each with the marker of its passage."""
        return call(library.ask, *body.arguments())

    @api.post("/search", responses={200: {"model": AnswerOut}})
    def search(body: AskIn) -> dict:
        """The ranked passages for a question, without an answer (`kb search --json`)."""
        return call(library.ask, *body.arguments(), False)

    @api.get("/documents")
    def documents() -> list[dict]:
        """Every indexed document: its manifest fields, passage count and ingest time."""
        return call(library.documents)

    @api.get("/documents/{doc_id}", responses={404: {"description": "no document with this id"}})
    def document(doc_id: str) -> dict:
        """A document and its passages in reading order, each with paragraph, page, text and citation."""
        return call(library.document, doc_id, refused=404)  # its one UsageError: no such document

    @api.get("/commitments")
    def commitments(
        doc: Annotated[list[str] | None, Query(description="only these documents' commitments")] = None,
        topic: Annotated[
            list[str] | None, Query(description="only these topics (online-platforms, …)")
        ] = None,
        strength: Annotated[
            list[str] | None, Query(description="pledge, mandate, support or acknowledgement")
        ] = None,
    ) -> dict:
        """The commitments of the G7's texts, with their citation, topics, lineage and evidence countries."""
        return call(_commitments, library, doc or [], topic or [], strength or [])

    @api.get("/commitments/{ref}", responses={404: {"description": "no commitment with this id"}})
    def commitment(
        ref: str, country: Annotated[str, Query(description="ISO 3166 alpha-3: only this country")] = ""
    ) -> dict:
        """One commitment in full: evidence passages with text and citation, compliance by country."""
        tracker, _ = call(library.commitments)
        if not tracker.find(ref):
            raise HTTPException(404, f"no commitment {ref!r}; GET {PREFIX}/commitments lists them")
        return call(listing.evidence, tracker, ref, library.settings.sources_dir, country)

    @api.get("/openapi.json", include_in_schema=False)
    def schema() -> dict:
        """The OpenAPI schema of these routes alone (the server's /openapi.json has Gradio's too)."""
        return get_openapi(title=TITLE, version="1", description=DESCRIPTION, routes=api.routes)

    return api


def _commitments(library: Library, doc: list[str], topic: list[str], strength: list[str]) -> dict:
    tracker, _ = library.commitments()
    rows = listing.select(tracker, library.records(), doc, topic, strength)
    taxonomy = topics.load()
    return {"commitments": [listing.as_json(c, tracker, taxonomy) for c in rows]}


def _described(errors: list) -> str:
    """pydantic's complaints as one sentence a person can act on."""
    parts = []
    for e in errors:
        where = ".".join(str(x) for x in e["loc"] if x != "body")
        if e["type"] == "json_invalid":
            parts.append(f"the body is not JSON ({e.get('ctx', {}).get('error', e['msg'])})")
        elif e["type"] == "missing" and not where:
            parts.append('the body is empty: send a JSON object such as {"question": "…"}')
        elif e["type"] == "extra_forbidden":
            parts.append(f"unknown field {where!r}; use question, mode, k, filters, removed")
        else:
            parts.append(f"{where or 'the body'}: {e['msg']}")
    return "; ".join(parts)


class _JSONRoute(APIRoute):
    """A route of this API: it reads a body sent as a form, or with no type, as JSON (`curl -d '{…}'`
    sends a form's type), and says what is wrong with a body it cannot use in one sentence. Reading
    forms is safe because no route here changes anything: a page of another site that posts a form
    gets an answer its browser does not let it read."""

    def get_route_handler(self):
        handle = super().get_route_handler()

        async def handle_json(request: Request):
            kind = request.headers.get("content-type", "")
            if request.method == "POST" and (not kind or kind.split(";")[0].strip() == FORM):
                headers = [(k, v) for k, v in request.scope["headers"] if k != b"content-type"]
                scope = {**request.scope, "headers": [*headers, (b"content-type", b"application/json")]}
                request = Request(scope, request.receive)
            try:
                return await handle(request)
            except RequestValidationError as exc:
                return JSONResponse({"detail": _described(exc.errors())}, status_code=422)

        return handle_json
