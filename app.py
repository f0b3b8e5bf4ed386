"""The web app: ask a question, read the cited passages in their documents, collect them, export a briefing.

Started by `kb serve` (and `make run`, which ingests first); `python app.py` does the same.
The UI shows what the API returns: `Library` calls the kb library, kb/render.py turns its
dicts into HTML (escaping all document text), and the same functions are the named API
endpoints `ask`, `documents`, `document` and `export_briefing`.
"""

import logging
from html import escape
import secrets
import sys
import tempfile
import threading
from dataclasses import fields
from pathlib import Path

import kb  # noqa: F401  (sets the offline environment before gradio is imported)
import gradio as gr
from fastapi import Depends, HTTPException, Request
from fastapi.responses import FileResponse

from kb import export, feedback, render
from kb.answer import ask
from kb.config import Settings
from kb.errors import KBError, UsageError
from kb.retrieve import MODES, Filters, check_filters
from kb.store import Index, cite

log = logging.getLogger("kb.app")

EXAMPLES = [
    "Which commitments cover online platforms?",
    "What did the G7 agree on returns?",
    "What does the 2026 declaration say about sanctions?",
]
MODE_CHOICES = [
    ("Hybrid: meaning and exact words (recommended)", "hybrid"),
    ("Meaning only (dense vectors)", "dense"),
    ("Exact words only (BM25)", "bm25"),
]
TABLE_HEADERS = ["Title", "Issuer", "Country", "Date", "Type", "Passages", "Ingested at", "Id"]


class Library:
    """The open index and what the app does with it; each method returns plain JSON-friendly data."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.exports = Path(tempfile.mkdtemp(prefix="kb-briefings-"))
        self._index: Index | None = None
        self._lock = threading.Lock()

    def index(self) -> Index:
        """The index, opened on first use (and again after a failure, e.g. once `kb ingest` has run)."""
        with self._lock:
            if self._index is None:
                self._index = Index(self.settings)
            return self._index

    def reset(self) -> None:
        with self._lock:
            self._index = None

    def ask(self, question: str, mode: str = "hybrid", k: int = 5, filters: dict | None = None) -> dict:
        """The answer dict for a question (see Answer.to_dict); refuses empty or over-long questions."""
        question = (question or "").strip()
        if not question:
            raise UsageError("Type a question first.")
        limit = self.settings.max_question_chars
        if len(question) > limit:
            raise UsageError(f"The question is {len(question)} characters long; the limit is {limit}. Shorten it and ask again.")
        if mode not in MODES:
            raise UsageError(f"unknown retrieval mode {mode!r}; choose one of {', '.join(MODES)}")
        if not 1 <= int(k) <= 50:
            raise UsageError(f"k must be between 1 and 50, not {k}")
        index = self.index()
        parsed = filters_from(filters)
        check_filters(parsed, [r.document for r in index.records().values()])
        return ask(index, question, mode=mode, k=int(k), filters=parsed).to_dict()

    def documents(self) -> list[dict]:
        """Every indexed document: its manifest fields, passage count and ingest time."""
        return [
            {**r.document.to_dict(), "aliases": list(r.document.aliases), "passages": r.passages, "ingested_at": r.ingested_at}
            for r in sorted(self.index().records().values(), key=lambda r: (r.document.date, r.document.title), reverse=True)
        ]

    def document(self, doc_id: str) -> dict:
        """A document and its passages in reading order, each with label, heading, page, text and citation."""
        index = self.index()
        record = index.records().get(doc_id or "")
        if record is None:
            shown = (doc_id or "")[:80]
            raise UsageError(f"No document with id {shown!r} in the index. The Documents tab (or the `documents` API) lists the ids.")
        d = record.document
        paragraphs = [
            {"id": p.id, "paragraph": p.paragraph, "part": p.part, "heading": p.heading, "page": p.page,
             "page_end": p.page_end, "text": p.text, "citation": cite(p, d)}
            for p in index.document_passages(doc_id)
        ]
        return {"document": {**d.to_dict(), "aliases": list(d.aliases)}, "paragraphs": paragraphs}

    def passage_document(self, passage_id: str) -> str:
        """The id of the document a passage belongs to."""
        found = self.index().get([passage_id])
        if passage_id not in found:
            raise UsageError("That passage is no longer in the index (the document was re-ingested); ask again.")
        return found[passage_id][1].id

    def export(self, passage_ids: list[str], notes: dict | None, fmt: str, title: str = "Briefing") -> Path:
        return export.export(self.index(), list(passage_ids), fmt, self.exports, notes, title)

    def pdf(self, doc_id: str) -> Path:
        """The original PDF of an indexed document, found by id only (never by a path from the client)."""
        record = self.index().records().get(doc_id)
        root = self.settings.sources_dir.resolve()
        path = (root / record.document.file).resolve() if record and record.document.file else None
        if path is None or path.suffix.lower() != ".pdf" or not path.is_relative_to(root) or not path.is_file():
            raise HTTPException(404, "No PDF for this document id.")
        return path


def filters_from(data: dict | None) -> Filters:
    """Filters from a JSON object with the fields of kb.retrieve.Filters (lists may be given as one string)."""
    data = data or {}
    names = {f.name for f in fields(Filters)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise UsageError(f"unknown filter {', '.join(unknown)}; use {', '.join(sorted(names))}")
    values = {}
    for name, value in data.items():
        if name in ("since", "until"):
            values[name] = (value or "").strip()
        else:
            values[name] = tuple(v for v in ([value] if isinstance(value, str) else value or []) if v)
    return Filters(**values)


def readable(exc: Exception, library: Library) -> str:
    """The message to show for an error: a KBError's own text, else a short note (the traceback goes to the log)."""
    if isinstance(exc, KBError):
        return str(exc)
    log.exception("request failed")
    library.reset()  # a store that failed is reopened on the next request
    return (f"The passage store did not respond ({type(exc).__name__}). If the index uses a Chroma server "
            "(KB_CHROMA_URL), check that it is running; details are in the terminal running `kb serve`.")


def api_endpoints(library: Library) -> None:
    """The named endpoints that gradio_client and other programs call; errors come back as messages."""

    def call(fn, *args):
        try:
            return fn(*args)
        except Exception as exc:  # every failure becomes a readable message for the caller
            raise gr.Error(escape(readable(exc, library), quote=False), print_exception=False) from None

    def ask(question: str, mode: str = "hybrid", k: int = 5, filters: dict | None = None) -> dict:
        """Answer a question from the documents. filters: {"types", "countries", "issuers", "doc_ids": [..], "since", "until": "YYYY[-MM[-DD]]"}."""
        return call(library.ask, question, mode, k, filters)

    def documents() -> list[dict]:
        """List the indexed documents with their metadata and passage counts."""
        return call(library.documents)

    def document(doc_id: str) -> dict:
        """A document's passages in reading order, with paragraph labels, headings, pages and citations."""
        return call(library.document, doc_id)

    def export_briefing(passage_ids: list[str], notes: dict | None = None, format: str = "docx", title: str = "Briefing") -> gr.FileData:
        """Export passages (ids from `ask`) as a .docx or .md briefing; notes map passage ids to notes."""
        path = call(library.export, passage_ids, notes, format, title)
        return gr.FileData(path=str(path), orig_name=path.name)

    for fn in (ask, documents, document, export_briefing):
        gr.api(fn, api_name=fn.__name__)


def ask_tab(library: Library, basket: gr.BrowserState) -> dict:
    """Question, examples, filters, advanced options, the answer with its passage cards, and feedback."""
    with gr.Row(equal_height=True):
        question = gr.Textbox(label="Your question", placeholder="e.g. Which commitments cover online platforms?",
                              scale=6, autofocus=True, elem_id="kb-question", max_lines=4)
        ask_button = gr.Button("Ask", variant="primary", scale=1, elem_id="kb-ask")
    examples = gr.Examples(EXAMPLES, inputs=question, label="Example questions (click one)")
    with gr.Accordion("Filter by document type, country, issuer or date", open=False):
        with gr.Row():
            types = gr.Dropdown(label="Document type", multiselect=True, choices=[])
            countries = gr.Dropdown(label="Country (G7 for G7 texts)", multiselect=True, choices=[])
            issuers = gr.Dropdown(label="Issuer", multiselect=True, choices=[])
        with gr.Row():
            since = gr.Textbox(label="Dated from", placeholder="YYYY, YYYY-MM or YYYY-MM-DD")
            until = gr.Textbox(label="Dated until", placeholder="YYYY, YYYY-MM or YYYY-MM-DD")
    with gr.Accordion("Advanced", open=False):
        with gr.Row():
            mode = gr.Radio(MODE_CHOICES, value="hybrid", label="Retrieval mode")
            k = gr.Slider(1, 20, value=library.settings.top_k, step=1, label="Passages to show")
    result = gr.HTML(render.message("Ask a question: the answer quotes the documents, and every sentence is cited."),
                     js_on_load=render.CARD_JS, elem_id="kb-answer")
    last = gr.State(None)
    with gr.Group(visible=False) as feedback_box:
        gr.Markdown("**Was this answer right?** Your report is saved on this computer for the evaluators.")
        with gr.Row():
            about = gr.Dropdown(label="Which passage? (optional)", choices=[], scale=2)
            comment = gr.Textbox(label="Comment (optional)", scale=3)
        with gr.Row():
            verdicts = [gr.Button(label, size="sm") for label in feedback.VERDICTS.values()]
        thanks = gr.HTML()

    def run(q, t, c, i, s, u, m, n, items):
        try:
            res = library.ask(q, m, n, {"types": t, "countries": c, "issuers": i, "since": s, "until": u})
        except Exception as exc:  # shown in the page, never as a traceback
            return render.message(readable(exc, library), "error"), None, gr.Group(visible=False), gr.Dropdown(), ""
        choices = [("None in particular", 0)] + [(f"[{p['marker']}] {p['citation']}", p["marker"]) for p in res["passages"]]
        html = render.answer(res, {item["id"] for item in items or []})
        return html, res, gr.Group(visible=True), gr.Dropdown(choices=choices, value=0), ""

    inputs = [question, types, countries, issuers, since, until, mode, k, basket]
    outputs = [result, last, feedback_box, about, thanks]
    for event in (ask_button.click, question.submit, examples.load_input_event.then):
        event(run, inputs, outputs, api_visibility="private")

    def send(res, marker, text, verdict):
        if res is None:
            return render.message("Ask a question first.", "notice"), text
        feedback.record(feedback.feedback_path(library.settings), feedback.from_answer(res, verdict, text, marker))
        return render.message(f"Thank you: your report ({feedback.VERDICTS[verdict]}) was saved."), ""

    for button, verdict in zip(verdicts, feedback.VERDICTS):
        button.click(lambda r, m, t, v=verdict: send(r, m, t, v), [last, about, comment], [thanks, comment],
                     api_visibility="private")

    def add(items, evt: gr.EventData):
        items = list(items or [])
        if evt.pid not in {item["id"] for item in items}:
            items.append({"id": evt.pid, "note": ""})
        gr.Info(f"Added to your briefing ({len(items)} passage{'s' * (len(items) != 1)}).")
        return items

    result.add_passage(add, basket, basket, api_visibility="private")
    return {"result": result, "filters": [types, countries, issuers]}


def documents_tab(library: Library) -> dict:
    """The table of indexed documents and a reader that shows one paragraph by paragraph."""
    table = gr.Dataframe(headers=TABLE_HEADERS, interactive=False, wrap=True, elem_id="kb-documents",
                         label="Indexed documents (click a row to read the document)")
    choice = gr.Dropdown(label="Read a document", choices=[], elem_id="kb-doc-choice")
    reader = gr.HTML(render.message("Choose a document to read it here."), js_on_load=render.READER_JS,
                     elem_id="kb-reader", max_height=720)

    def open_doc(doc_id, passage_id=""):
        try:
            return render.reader(library.document(doc_id), passage_id)
        except Exception as exc:
            return render.message(readable(exc, library), "error")

    def open_row(evt: gr.SelectData):
        doc_id = evt.row_value[-1]
        return gr.Dropdown(value=doc_id), open_doc(doc_id)

    choice.input(open_doc, choice, reader, api_visibility="private")
    table.select(open_row, None, [choice, reader], api_visibility="private")
    return {"table": table, "choice": choice, "reader": reader, "open": open_doc}


def briefing_tab(library: Library, basket: gr.BrowserState) -> None:
    """The basket of collected passages (order, notes, remove) and its export as Word or Markdown."""
    gr.Markdown("Passages you add with **Add to briefing** on the Ask tab collect here, in this browser. "
                "Put them in order, add notes, then download the briefing with its reference list.")

    @gr.render(inputs=basket)
    def items(entries):
        if not entries:
            gr.HTML(render.message("Your briefing is empty."), elem_id="kb-basket-empty")
            return
        try:
            found = library.index().get([e["id"] for e in entries])
        except Exception as exc:
            gr.HTML(render.message(readable(exc, library), "error"))
            return
        for i, entry in enumerate(entries):
            passage, document = found.get(entry["id"], (None, None))
            shown = {"citation": cite(passage, document), "text": passage.text} if passage else {
                "citation": entry["id"], "text": "This passage is no longer in the index; remove it."}
            with gr.Group(elem_classes="kb-basket-row"):
                gr.HTML(render.basket_item(shown))
                with gr.Row():
                    note = gr.Textbox(entry.get("note", ""), label="Your note (optional)", scale=5, key=f"note-{entry['id']}")
                    up = gr.Button("↑ Move up", size="sm", interactive=i > 0, key=f"up-{entry['id']}")
                    down = gr.Button("↓ Move down", size="sm", interactive=i < len(entries) - 1, key=f"down-{entry['id']}")
                    remove = gr.Button("Remove", size="sm", variant="stop", key=f"remove-{entry['id']}")
            note.blur(lambda b, text, i=i: [*b[:i], {**b[i], "note": text}, *b[i + 1:]], [basket, note], basket)
            up.click(lambda b, i=i: moved(b, i, i - 1), basket, basket)
            down.click(lambda b, i=i: moved(b, i, i + 1), basket, basket)
            remove.click(lambda b, i=i: b[:i] + b[i + 1:], basket, basket)

    title = gr.Textbox("Briefing", label="Briefing title")
    with gr.Row():
        word = gr.Button("Download as Word (.docx)", variant="primary")
        markdown = gr.Button("Download as Markdown (.md)")
        clear = gr.Button("Empty the briefing", variant="stop")
    file = gr.File(label="Your briefing file", interactive=False, elem_id="kb-briefing-file")
    status = gr.HTML()

    def download(entries, heading, fmt):
        try:
            ids = [e["id"] for e in entries or []]
            path = library.export(ids, {e["id"]: e.get("note", "") for e in entries or []}, fmt, heading)
            return str(path), render.message(f"Ready: {path.name} ({len(ids)} passages). Click the file name to save it.")
        except Exception as exc:
            return None, render.message(readable(exc, library), "error")

    word.click(lambda b, t: download(b, t, "docx"), [basket, title], [file, status], api_visibility="private")
    markdown.click(lambda b, t: download(b, t, "md"), [basket, title], [file, status], api_visibility="private")
    clear.click(lambda: [], None, basket, api_visibility="private")


def moved(entries: list, i: int, j: int) -> list:
    """The list with item i moved to position j."""
    entries = list(entries)
    entries.insert(j, entries.pop(i))
    return entries


def commitments_tab(library: Library) -> None:
    """Placeholder: the Commitments tab (kb/commitments) is added here by its owner."""


def build_app(settings: Settings | None = None, library: Library | None = None) -> gr.Blocks:
    """The Gradio app over an index; launch it with `serve` (which adds auth and the PDF route)."""
    settings = settings or Settings.from_env()
    library = library or Library(settings)
    with gr.Blocks(title="G7 migrant smuggling knowledge base", delete_cache=(86400, 86400)) as demo:
        gr.HTML("<h1 style='margin:0;font-size:24px'>G7 commitments against migrant smuggling</h1>"
                "<p style='margin:2px 0 0;color:#57606a'>Ask a question: every sentence of the answer quotes a "
                "document and cites it. Click a citation to see the passage in its document.</p>")
        status = gr.HTML(elem_id="kb-status")
        basket = gr.BrowserState([], storage_key="kb-briefing", secret=browser_secret(settings))
        with gr.Tabs() as tabs:
            with gr.Tab("Ask", id="ask"):
                asked = ask_tab(library, basket)
            with gr.Tab("Documents", id="documents"):
                docs = documents_tab(library)
            with gr.Tab("Briefing", id="briefing") as briefing:
                briefing_tab(library, basket)
            commitments_tab(library)
        api_endpoints(library)

        def show(evt: gr.EventData):
            try:
                doc_id = library.passage_document(evt.pid)
            except Exception as exc:
                return gr.Tabs(selected="documents"), gr.Dropdown(), render.message(readable(exc, library), "error")
            return gr.Tabs(selected="documents"), gr.Dropdown(value=doc_id), docs["open"](doc_id, evt.pid)

        asked["result"].show_passage(show, None, [tabs, docs["choice"], docs["reader"]], api_visibility="private")
        basket.change(lambda b: gr.Tab(label=f"Briefing ({len(b)})" if b else "Briefing"), basket, briefing,
                      api_visibility="private")
        demo.load(lambda: on_load(library), None, [status, docs["table"], docs["choice"], *asked["filters"]],
                  api_visibility="private")
    return demo


def on_load(library: Library) -> tuple:
    """The status line, the documents table and the filter choices, read from the index at page load."""
    try:
        docs = library.documents()
    except Exception as exc:
        return (render.message(readable(exc, library), "error"),) + (gr.skip(),) * 5
    passages = sum(d["passages"] for d in docs)
    status = f"{len(docs)} documents · {passages} passages indexed" if docs else "The index holds no documents yet: run `kb ingest`."
    rows = [[d["title"], d["issuer"], d["country"], d["date"], d["type"], d["passages"], d["ingested_at"], d["id"]] for d in docs]
    choices = sorted((d["title"], d["id"]) for d in docs)
    return (
        f"<div class='kb-meta'>{escape(status)}</div>",
        gr.Dataframe(value=rows, headers=TABLE_HEADERS),
        gr.Dropdown(choices=choices),
        *(gr.Dropdown(choices=sorted({d[key] for d in docs if d[key]})) for key in ("type", "country", "issuer")),
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


def auth_pairs(value: str) -> list[tuple[str, str]]:
    """Logins from KB_AUTH: `user:password` pairs separated by commas, or a file path with one pair per line."""
    value = value.strip()
    if not value:
        return []
    path = Path(value)
    source, lines = (str(path), path.read_text(encoding="utf-8").splitlines()) if path.is_file() else ("KB_AUTH", value.split(","))
    pairs = []
    for n, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not (sep and user.strip() and password):
            raise UsageError(f"{source}: entry {n} is not of the form user:password")
        pairs.append((user.strip(), password))
    if not pairs:
        raise UsageError(f"{source} holds no user:password pair")
    return pairs


def serve(settings: Settings, block: bool = True, quiet: bool = False) -> tuple[gr.Blocks, str]:
    """Launch the app on settings.host:port (with a login when KB_AUTH is set); returns the app and its URL."""
    library = Library(settings)
    demo = build_app(settings, library)
    logins = auth_pairs(settings.auth)
    app, url, _ = demo.launch(
        server_name=settings.host, server_port=settings.port, auth=logins or None, show_error=True,
        auth_message="Sign in with the user name and password you were given for this knowledge base.",
        prevent_thread_lock=True, quiet=quiet, footer_links=["api"], run_history=False, mcp_server=False,
        theme=gr.themes.Default(primary_hue="blue", neutral_hue="slate"), css=render.CSS,
    )

    def signed_in(request: Request) -> None:
        """The check Gradio applies to its own routes: no login configured, or a session cookie it issued."""
        cookies = request.cookies
        token = cookies.get(f"access-token-{app.cookie_id}") or cookies.get(f"access-token-unsecure-{app.cookie_id}")
        if app.auth is not None and app.tokens.get(token) is None:
            raise HTTPException(401, "Not authenticated")

    app.add_api_route("/kb/pdf/{doc_id}", lambda doc_id: FileResponse(library.pdf(doc_id), media_type="application/pdf"),
                      methods=["GET"], dependencies=[Depends(signed_in)])
    if block:
        demo.block_thread()
    return demo, url


if __name__ == "__main__":
    from kb.cli import main

    sys.exit(main(["serve", *sys.argv[1:]]))
