"""The web app: ask a question, read the cited passages in their documents, collect them, export a briefing.

Started by `kb serve` (and `make run`, which ingests first); `python app.py` does the same.
The UI shows what the API returns: `kb.api.Library` calls the kb library and returns plain
dicts, kb/answer/render.py turns them into HTML (escaping all document text), and the same methods
are the named API endpoints `ask`, `documents`, `document` and `export_briefing`.

Each tab is built by its own module in kb/app/ (ask_tab, documents_tab, briefing_tab,
commitments_tab); this module puts them on one page, wires what crosses tabs ("Show in
document", the briefing's count, the data read at page load), and serves the app.
"""

import os
import secrets
import sys
import urllib.parse
from html import escape

import kb  # noqa: F401  (sets the offline environment before gradio and huggingface_hub are imported)

# isort: split
import gradio as gr
from fastapi import Depends, HTTPException, Request
from fastapi.responses import FileResponse

from kb import web_api
from kb.answer import render
from kb.api import AskRequest, Library
from kb.app.ask_tab import ask_tab
from kb.app.assets import CSS
from kb.app.briefing_tab import briefing_tab
from kb.app.commitments_tab import commitments_tab
from kb.app.documents_tab import TABLE_HEADERS, documents_tab
from kb.app.messages import readable
from kb.cli import served
from kb.compat import gradio_signed_in
from kb.config import Settings
from kb.errors import KBError, UsageError
from kb.logins import auth_pairs, basic_login

# System fonts: the app works offline, so nothing is fetched from a font service.
SYSTEM_FONTS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"]
MONO_FONTS = ["ui-monospace", "Consolas", "monospace"]


def api_endpoints(library: Library) -> None:
    """The named endpoints that gradio_client and other programs call; errors come back as messages."""

    def call(fn, *args):
        try:
            return fn(*args)
        except Exception as exc:  # every failure becomes a readable message for the caller
            raise gr.Error(escape(readable(exc, library), quote=False), print_exception=False) from None

    def ask(
        question: str,
        mode: str = "hybrid",
        k: int = 5,
        filters: dict | None = None,
        removed: list[str] | None = None,
    ) -> dict:
        """Answer a question from the documents. filters: {"types", "countries", "issuers", "doc_ids", "languages": [..], "since", "until": "YYYY[-MM[-DD]]"}; removed: keys of understood constraints to ignore ("country:FRA")."""
        return call(library.ask, question, mode, k, filters, removed)

    def documents() -> list[dict]:
        """List the indexed documents with their metadata and passage counts."""
        return call(library.documents)

    def document(doc_id: str) -> dict:
        """A document's passages in reading order, with paragraph labels, headings, pages and citations."""
        return call(library.document, doc_id)

    def export_briefing(
        passage_ids: list[str], notes: dict | None = None, format: str = "docx", title: str = "Briefing"
    ) -> gr.FileData:
        """Export passages (ids from `ask`) as a .docx or .md briefing; notes map passage ids to notes."""
        path = call(library.export, passage_ids, notes, format, title)
        return gr.FileData(path=str(path), orig_name=path.name)

    for fn in (ask, documents, document, export_briefing):
        gr.api(fn, api_name=fn.__name__)


def build_app(settings: Settings | None = None, library: Library | None = None) -> gr.Blocks:
    """The Gradio app over an index; launch it with `serve` (which adds auth and the PDF route)."""
    settings = settings or Settings.from_env()
    library = library or Library(settings)
    with gr.Blocks(title="G7 migrant smuggling knowledge base", delete_cache=(86400, 86400)) as demo:
        gr.HTML(
            "<div class='kb-head'><h1>G7 commitments against migrant smuggling</h1><p>Ask a question: every "
            "sentence of the answer quotes a document and cites it. Click a citation to see the passage in its "
            "document.</p></div>"
        )
        status = gr.HTML(elem_id="kb-status")
        secret = browser_secret(settings)
        basket = gr.BrowserState([], storage_key="kb-briefing", secret=secret)  # passage ids, in order
        notes = gr.BrowserState({}, storage_key="kb-briefing-notes", secret=secret)  # passage id -> note
        heading = gr.BrowserState("Briefing", storage_key="kb-briefing-title", secret=secret)  # its title
        # Passages taken out of the briefing in this page, so that adding another passage of the same
        # answer (whose add carries every passage added from it) does not bring them back.
        dropped = gr.State([])
        with gr.Tabs() as tabs:
            with gr.Tab("Ask", id="ask"):
                asked = ask_tab(library, basket, dropped)
            with gr.Tab("Documents", id="documents"):
                docs = documents_tab(library)
            with gr.Tab("Briefing", id="briefing") as briefing:
                briefing_tab(library, basket, notes, heading, dropped, demo)
            commitments_tab(library)
        api_endpoints(library)

        def show(evt: gr.EventData):
            try:
                doc_id = library.passage_document(evt.pid)
            except Exception as exc:
                return (
                    gr.Tabs(selected="documents"),
                    gr.Dropdown(),
                    render.message(readable(exc, library), "error"),
                )
            return gr.Tabs(selected="documents"), gr.Dropdown(value=doc_id), docs["open"](doc_id, evt.pid)

        asked["result"].show_passage(
            show, None, [tabs, docs["choice"], docs["reader"]], api_visibility="private"
        )
        basket.change(
            lambda b: gr.Tab(label=f"Briefing ({len(b)})" if b else "Briefing"),
            basket,
            briefing,
            api_visibility="private",
        )
        demo.load(
            lambda: on_load(library),
            None,
            [status, docs["table"], docs["choice"], *asked["filters"]],
            api_visibility="private",
        )
    return demo


def on_load(library: Library) -> tuple:
    """The status line, the documents table and the filter choices, read from the index at page load."""
    try:
        docs = library.documents()
    except Exception as exc:
        return (render.message(readable(exc, library), "error"),) + (gr.skip(),) * 6
    passages = sum(d["passages"] for d in docs)
    status = (
        f"{len(docs)} document{'s' * (len(docs) != 1)} · {passages} passages indexed"
        if docs
        else "The index holds no documents yet: run `kb ingest`."
    )
    columns = ("title", "issuer", "country", "language", "date", "type", "passages")
    rows = [[d[c] for c in columns] + [d["ingested_at"][:16].replace("T", " "), d["id"]] for d in docs]
    choices = sorted((d["title"], d["id"]) for d in docs)
    return (
        f"<div class='kb-meta'>{escape(status)}</div>",
        gr.Dataframe(value=rows, headers=TABLE_HEADERS),
        gr.Dropdown(choices=choices),
        *(
            gr.Dropdown(choices=sorted({d[key] for d in docs if d[key]}))
            for key in ("type", "country", "issuer", "language")
        ),
    )


def browser_secret(settings: Settings) -> str:
    """The key that encrypts the briefing in the browser's storage; kept in the index dir so it survives restarts."""
    path = settings.index_dir / "app-secret"
    if path.is_file():
        return path.read_text().strip()
    secret = secrets.token_urlsafe(24)
    if settings.index_dir.is_dir():
        path.write_text(secret)
    return secret


def serve(
    settings: Settings,
    block: bool = True,
    quiet: bool = False,
    announce: bool = False,
    library: Library | None = None,
) -> tuple[gr.Blocks, str]:
    """Launch the app on settings.host:port (with a login when KB_AUTH is set); returns the app and its URL.
    announce: write the index's serve.json, so that `kb ask` in another terminal answers through this app."""
    library = library or Library(settings)
    demo = build_app(settings, library)
    logins = auth_pairs(settings.auth)
    try:
        app, url, _ = demo.launch(
            server_name=settings.host,
            server_port=settings.port,
            auth=logins or None,
            show_error=False,  # gr.Error messages still show; Gradio's own errors would show internals
            auth_message="Sign in with the user name and password you were given for this knowledge base.",
            prevent_thread_lock=True,
            quiet=quiet,
            footer_links=["api"],
            run_history=False,
            mcp_server=False,
            theme=gr.themes.Default(
                primary_hue="blue", neutral_hue="slate", font=SYSTEM_FONTS, font_mono=MONO_FONTS
            ),
            css=CSS,
        )
    except OSError as exc:
        raise KBError(
            f"cannot listen on {settings.host}:{settings.port} (is another `kb serve` running?): choose "
            "another port with --port or KB_PORT"
        ) from exc

    def allowed(request: Request) -> bool:
        """The check Gradio applies to its own routes (no login configured, or a session cookie it
        issued), or a login of KB_AUTH sent as HTTP Basic credentials, as programs do."""
        return gradio_signed_in(app, request.cookies) or basic_login(
            logins, request.headers.get("authorization", "")
        )

    def signed_in(request: Request) -> None:
        if not allowed(request):
            raise HTTPException(401, "Not authenticated")

    def pdf(doc_id: str) -> FileResponse:
        path = library.pdf(doc_id)
        if path is None:
            raise HTTPException(404, "No PDF for this document id.")
        return FileResponse(path, media_type="application/pdf")

    app.add_api_route("/kb/pdf/{doc_id}", pdf, methods=["GET"], dependencies=[Depends(signed_in)])
    app.include_router(web_api.router(library, allowed))  # the JSON API (kb/web_api.py)

    token = served.token()

    def cli_token(request: Request) -> None:
        """The token `kb serve` wrote to the index's serve.json: the route is the CLI's, not a browser's."""
        if not secrets.compare_digest(request.headers.get(served.TOKEN_HEADER, ""), token):
            raise HTTPException(401, "Not authenticated")

    def answer(payload: dict) -> dict:  # FastAPI reads a dict parameter from the JSON body
        """What `kb ask` and `kb search` print (Answer.to_dict) for an AskRequest.to_dict."""
        try:
            return library.answer(AskRequest.read(payload)).to_dict()
        except UsageError as exc:
            raise HTTPException(400, str(exc)) from None
        except Exception as exc:  # the CLI answers in its own process and shows the error there
            raise HTTPException(503, readable(exc, library)) from None

    app.add_api_route(served.ROUTE, answer, methods=["POST"], dependencies=[Depends(cli_token)])
    if announce:
        served.announce(settings, _loopback(url), token)
    if block:
        demo.block_thread()
    return demo, url


def _loopback(url: str) -> str:
    """The app's URL as a process on this machine reaches it (an app on 0.0.0.0 is on 127.0.0.1 too)."""
    parts = urllib.parse.urlsplit(url)
    if parts.hostname in ("0.0.0.0", "::", ""):
        return parts._replace(netloc=f"127.0.0.1:{parts.port}").geturl()
    return url


# `python app.py` is `kb serve`, run as its own program (kb.cli imports this module).
if __name__ == "__main__":
    os.execv(sys.executable, [sys.executable, "-m", "kb.cli", "serve", *sys.argv[1:]])
