"""The web app: ask a question, read the cited passages in their documents, collect them, export a briefing.

Started by `kb serve` (and `make run`, which ingests first); `python app.py` does the same.
The UI shows what the API returns: `kb.api.Library` calls the kb library and returns plain
dicts, kb/render.py turns them into HTML (escaping all document text), and the same methods
are the named API endpoints `ask`, `documents`, `document` and `export_briefing`.
"""

import logging
import secrets
import sys
from html import escape
from pathlib import Path

import kb  # noqa: F401  (sets the offline environment before gradio and huggingface_hub are imported)

# isort: split
import gradio as gr
from fastapi import Depends, HTTPException, Request
from fastapi.responses import FileResponse

from kb import feedback, render
from kb.api import Library
from kb.config import Settings
from kb.errors import KBError, UsageError
from kb.store import cite

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
# System fonts: the app works offline, so nothing is fetched from a font service.
SYSTEM_FONTS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"]
MONO_FONTS = ["ui-monospace", "Consolas", "monospace"]
TABLE_HEADERS = ["Title", "Issuer", "Country", "Language", "Date", "Type", "Passages", "Ingested at", "Id"]


# One-click download: before a briefing file is written, note the link already shown (if any); after,
# wait for the new file's link (gr.File renders one) and click it, so that the browser saves the file.
NOTE_FILE = """(...inputs) => {
  window.kbOldFile = document.querySelector('#kb-briefing-file a[href]')?.href || '';
  return inputs;
}"""
SAVE_FILE = """() => {
  let tries = 0;
  const look = () => {
    const link = document.querySelector('#kb-briefing-file a[href]');
    if (link && link.href !== window.kbOldFile) link.click();
    else if (++tries < 50) setTimeout(look, 100);
  };
  look();
}"""


def readable(exc: Exception, library: Library) -> str:
    """The message to show for an error: a KBError's own text, else one line (the traceback goes to the log)."""
    if isinstance(exc, KBError):
        return str(exc)
    if library.settings.chroma_url and store_unreachable(exc):
        log.warning("the Chroma server is not answering: %s: %s", type(exc).__name__, exc)
        library.reset()
        return (
            f"The Chroma server at {library.settings.chroma_url} is not answering ({exc}): check that "
            "it is running. Questions are answered again as soon as it is back."
        )
    log.exception("request failed")
    library.reset()  # the index is reopened on the next request, in case its store went away
    return (
        f"Something went wrong ({type(exc).__name__}: {str(exc)[:200]}). If the index uses a Chroma server "
        "(KB_CHROMA_URL), check that it is running. Details are in the terminal running `kb serve`."
    )


def store_unreachable(exc: Exception) -> bool:
    """Whether an error is a connection to the Chroma server that failed or broke off."""
    import httpx

    return isinstance(exc, httpx.TransportError | ConnectionError)


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


def ask_tab(library: Library, basket: gr.BrowserState) -> dict:
    """Question, examples, filters, advanced options, the answer with its passage cards, and feedback."""
    with gr.Row(equal_height=True):
        question = gr.Textbox(
            label="Your question",
            placeholder="e.g. Which commitments cover online platforms?",
            scale=6,
            autofocus=True,
            elem_id="kb-question",
            max_lines=4,
        )
        ask_button = gr.Button("Ask", variant="primary", scale=1, elem_id="kb-ask")
    examples = gr.Examples(EXAMPLES, inputs=question, label="Example questions (click one)")
    with gr.Accordion("Filter by document type, country, issuer, language or date", open=False):
        with gr.Row():
            types = gr.Dropdown(label="Document type", multiselect=True, choices=[])
            countries = gr.Dropdown(label="Country (G7 for G7 texts)", multiselect=True, choices=[])
            issuers = gr.Dropdown(label="Issuer", multiselect=True, choices=[])
            languages = gr.Dropdown(label="Language (ISO 639-1)", multiselect=True, choices=[])
        with gr.Row():
            since = gr.Textbox(label="Dated from", placeholder="YYYY, YYYY-MM or YYYY-MM-DD")
            until = gr.Textbox(label="Dated until", placeholder="YYYY, YYYY-MM or YYYY-MM-DD")
    with gr.Accordion("Advanced", open=False), gr.Row():
        mode = gr.Radio(MODE_CHOICES, value="hybrid", label="Retrieval mode")
        k = gr.Slider(1, 20, value=library.settings.top_k, step=1, label="Passages to show")
    result = gr.HTML(
        render.message("Ask a question: the answer quotes the documents, and every sentence is cited."),
        js_on_load=render.CARD_JS,
        elem_id="kb-answer",
    )
    last = gr.State(None)
    removed = gr.State([])  # keys of the constraints the user took off the question (chips' ×)
    with gr.Column(visible=False, elem_id="kb-feedback") as feedback_box:
        gr.Markdown("**Was this answer right?** Your report is saved on this computer for the evaluators.")
        with gr.Row():
            about = gr.Dropdown(label="Which passage? (optional)", choices=[], scale=2)
            comment = gr.Textbox(label="Comment (optional)", scale=3)
            verdicts = [
                gr.Button(label, size="md", scale=1, min_width=120) for label in feedback.VERDICTS.values()
            ]
        thanks = gr.HTML()

    def run(q, t, c, i, lang, s, u, m, n, items, gone=()):
        try:
            res = library.ask(
                q,
                m,
                n,
                {"types": t, "countries": c, "issuers": i, "languages": lang, "since": s, "until": u},
                removed=list(gone),
            )
        except Exception as exc:  # shown in the page, never as a traceback
            return (
                render.message(readable(exc, library), "error"),
                None,
                gr.Column(visible=False),
                gr.Dropdown(),
                "",
                list(gone),
            )
        choices = [("None in particular", 0)] + [
            (f"[{p['marker']}] {p['citation']}", p["marker"]) for p in res["passages"]
        ]
        html = render.answer(res, set(items or []))
        return html, res, gr.Column(visible=True), gr.Dropdown(choices=choices, value=0), "", list(gone)

    inputs = [question, types, countries, issuers, languages, since, until, mode, k, basket]
    outputs = [result, last, feedback_box, about, thanks, removed]
    for event in (ask_button.click, question.submit, examples.load_input_event.then):
        event(run, inputs, outputs, api_visibility="private")  # a new question: nothing removed

    def widen(q, t, c, i, lang, s, u, m, n, items, gone, evt: gr.EventData):
        return run(q, t, c, i, lang, s, u, m, n, items, [*gone, evt.key])

    result.widen(widen, [*inputs, removed], outputs, api_visibility="private")

    def send(res, marker, text, verdict):
        if res is None:
            return render.message("Ask a question first.", "notice"), text
        feedback.record(
            feedback.feedback_path(library.settings), feedback.from_answer(res, verdict, text, marker)
        )
        return render.message(f"Thank you: your report ({feedback.VERDICTS[verdict]}) was saved."), ""

    for button, verdict in zip(verdicts, feedback.VERDICTS):
        button.click(
            lambda r, m, t, v=verdict: send(r, m, t, v),
            [last, about, comment],
            [thanks, comment],
            api_visibility="private",
        )

    def add(items, evt: gr.EventData):
        items = list(items or [])
        items += [pid for pid in dict.fromkeys(evt.pids) if pid not in items]
        gr.Info(f"Added to your briefing ({len(items)} passage{'s' * (len(items) != 1)}).", duration=3)
        return items

    # A click while an earlier add is on its way is sent when it is done, with every passage added since.
    result.add_passage(add, basket, basket, api_visibility="private", trigger_mode="always_last")
    return {"result": result, "filters": [types, countries, issuers, languages]}


def documents_tab(library: Library) -> dict:
    """The table of indexed documents and a reader that shows one paragraph by paragraph."""
    table = gr.Dataframe(
        headers=TABLE_HEADERS,
        interactive=False,
        wrap=True,
        elem_id="kb-documents",
        column_widths=["25%", "12%", "7%", "8%", "8%", "10%", "9%", "10%", "11%"],
        label="Indexed documents (click a row to read the document)",
    )
    choice = gr.Dropdown(label="Read a document", choices=[], elem_id="kb-doc-choice")
    reader = gr.HTML(
        render.message("Choose a document to read it here."),
        js_on_load=render.READER_JS,
        elem_id="kb-reader",
        max_height=720,
    )

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


def briefing_tab(library: Library, basket: gr.BrowserState, notes: gr.BrowserState, demo: gr.Blocks) -> None:
    """The basket of collected passages (order, notes, remove) and its export as Word or Markdown.

    The basket (passage ids, in order) and the notes (by passage id) are kept apart so that typing
    a note does not redraw the list.
    """
    gr.Markdown(
        "Passages you add with **Add to briefing** on the Ask tab collect here, in this browser. "
        "Put them in order, add notes, then download the briefing with its reference list."
    )

    @gr.render(inputs=[basket, notes], triggers=[demo.load, basket.change])
    def items(ids, written):
        ids, boxes = list(ids or []), []

        def downloads():
            # The buttons read the note boxes themselves, so a note typed just before the click is included.
            for button, fmt in ((word, "docx"), (markdown, "md")):
                button.click(
                    lambda b, t, *texts, fmt=fmt: download(b, dict(zip(ids, texts)), t, fmt),
                    [basket, title, *boxes],
                    [file, status],
                    js=NOTE_FILE,
                    api_visibility="private",
                ).then(None, js=SAVE_FILE)  # one click: the browser saves the file as soon as it is written

        if not ids:
            gr.HTML(render.message("Your briefing is empty."), elem_id="kb-basket-empty")
            return downloads()
        try:
            found = library.index().get(ids)
        except Exception as exc:
            gr.HTML(render.message(readable(exc, library), "error"))
            return downloads()
        for i, pid in enumerate(ids):
            passage, document = found.get(pid, (None, None))
            shown = (
                {"citation": cite(passage, document), "text": passage.text}
                if passage
                else {"citation": pid, "text": "This passage is no longer in the index; remove it."}
            )
            with gr.Group(elem_classes="kb-basket-row"):
                gr.HTML(render.basket_item(shown))
                with gr.Row(equal_height=True):
                    note = gr.Textbox(
                        (written or {}).get(pid, ""), label="Your note (optional)", scale=4, key=f"note-{pid}"
                    )
                    up = gr.Button("↑ Move up", interactive=i > 0, key=f"up-{pid}", min_width=100)
                    down = gr.Button(
                        "↓ Move down", interactive=i < len(ids) - 1, key=f"down-{pid}", min_width=100
                    )
                    remove = gr.Button("Remove", variant="stop", key=f"remove-{pid}", min_width=100)
            boxes.append(note)
            note.change(lambda n, text, pid=pid: {**(n or {}), pid: text}, [notes, note], notes)
            up.click(lambda b, i=i: moved(b, i, i - 1), basket, basket)
            down.click(lambda b, i=i: moved(b, i, i + 1), basket, basket)
            remove.click(lambda b, i=i: b[:i] + b[i + 1 :], basket, basket)
        downloads()

    title = gr.Textbox("Briefing", label="Briefing title", interactive=True)
    with gr.Row():
        word = gr.Button("Download as Word (.docx)", variant="primary")
        markdown = gr.Button("Download as Markdown (.md)")
        clear = gr.Button("Empty the briefing", variant="stop")
    file = gr.File(label="Your briefing file", interactive=False, visible=False, elem_id="kb-briefing-file")
    status = gr.HTML()

    def download(ids, written, heading, fmt):
        try:
            ids = list(ids or [])
            path = library.export(ids, written, fmt, heading)
            done = (
                f"Saved as {path.name} ({len(ids)} passage{'s' * (len(ids) != 1)}), in your browser's "
                "downloads. If it did not appear, click the file name below."
            )
            return gr.File(str(path), visible=True), render.message(done)
        except Exception as exc:
            return gr.File(None, visible=False), render.message(readable(exc, library), "error")

    # Emptying asks first (the browser's own confirmation); cancelling leaves the briefing as it is.
    confirmed = gr.Checkbox(False, visible="hidden")
    clear.click(
        lambda ok: ([], {}) if ok else (gr.skip(), gr.skip()),
        confirmed,
        [basket, notes],
        js="(ok) => [confirm('Empty the briefing? Its passages and notes will be removed.')]",
        api_visibility="private",
    )


def moved(entries: list, i: int, j: int) -> list:
    """The list with item i moved to position j."""
    entries = list(entries)
    entries.insert(j, entries.pop(i))
    return entries


def _row_id(row: list) -> str:
    """A table row as one string: what finds its commitment's key when the row is clicked."""
    return "\x1f".join(str(cell) for cell in row)


def commitments_tab(library: Library) -> None:
    """The Commitments tab: every G7 commitment as a row, filtered by topic with one click; a row opens
    its words, lineage and evidence by country with compliance scores (an analyst confirms one here);
    the compliance matrix as a heatmap and a CSV. Data: kb/commitments (store.tracker), HTML: its view.py.
    """
    from kb.commitments import compliance, matrix, store, view
    from kb.commitments import rules as rules_mod
    from kb.commitments import topics as topics_mod

    taxonomy = topics_mod.load()
    strengths = [("All strengths", view.ALL)] + [(s.label, s.key) for s in rules_mod.load().strengths]

    def current():
        index = library.index()
        titles = {d: r.document.cite_title for d, r in index.records().items()}
        return store.tracker(index), titles

    def table(topic, strength, acknowledgements):
        try:
            tracker, titles = current()
            shown = view.rows(tracker, taxonomy, titles, topic, strength, acknowledgements)
        except Exception as exc:
            return gr.Dataframe(value=[]), render.message(readable(exc, library), "error"), {}
        label = taxonomy.label(topic) if topic not in ("", view.ALL, None) else "all topics"
        count = f"{len(shown)} commitment{'s' * (len(shown) != 1)} · {label}"
        return (
            gr.Dataframe(value=list(shown.values()) or [[""] * len(view.TABLE_HEADERS)]),
            f"<div class='kb-meta'>{escape(count)}</div>",
            {_row_id(row): key for key, row in shown.items()},
        )

    def opened(key):
        tracker, titles = current()
        found = tracker.get(key)
        if found is None:
            return (
                render.message("This commitment is no longer in the index.", "notice"),
                gr.Row(visible=False),
                gr.Dropdown(),
            )
        m = matrix.build(tracker, compliance.load(library.settings.sources_dir), rules_mod.load())
        html = view.detail(tracker, found, taxonomy, titles, m)
        return html, gr.Row(visible=found.is_commitment), gr.Dropdown(choices=m.countries, value=None)

    def select(keys, evt: gr.SelectData):
        key = keys.get(_row_id(evt.row_value or []), "")
        try:
            return (key, *opened(key))
        except Exception as exc:
            return key, render.message(readable(exc, library), "error"), gr.Row(visible=False), gr.Dropdown()

    def confirm(key, country, score, note):
        try:
            tracker, _ = current()
            found = tracker.get(key)
            if found is None or not country or score is None:
                raise UsageError("Choose a commitment in the table, a country and a score first.")
            compliance.confirm(library.settings.sources_dir, found, country, score, note or "")
            html, row, _ = opened(key)
            return html, row, ""
        except Exception as exc:
            return render.message(readable(exc, library), "error"), gr.Row(), note

    def draw():
        try:
            tracker, titles = current()
            m = matrix.build(tracker, compliance.load(library.settings.sources_dir), rules_mod.load())
            name = f"commitment-matrix-{secrets.token_hex(4)}"  # one file per request: users do not share
            png = matrix.heatmap(m, library.exports / f"{name}.png", titles)
            csv_path = library.exports / f"{name}.csv"
            csv_path.write_text(matrix.to_csv(m, titles), encoding="utf-8")
            return str(png), gr.File(str(csv_path), visible=True), ""
        except Exception as exc:
            return None, gr.File(visible=False), render.message(readable(exc, library), "error")

    with gr.Tab("Commitments", id="commitments") as tab:
        gr.Markdown(
            "Every commitment of the G7 documents, with its exact words. Click a topic to filter the table; "
            "click a row for its lineage, the national evidence of its implementation and compliance scores."
        )
        topic = gr.Radio(
            view.topic_choices(taxonomy), value=view.ALL, label="Topic", elem_id="kb-commitment-topic"
        )
        with gr.Row():
            strength = gr.Dropdown(strengths, value=view.ALL, label="Strength", scale=2)
            acknowledgements = gr.Checkbox(False, label="Show acknowledgements too (not counted)", scale=2)
        count = gr.HTML(elem_id="kb-commitment-count")
        grid = gr.Dataframe(
            headers=view.TABLE_HEADERS,
            interactive=False,
            wrap=True,
            elem_id="kb-commitments",
            column_widths=["6%", "16%", "5%", "8%", "13%", "9%", "8%", "35%"],
            label="Commitments (click a row for its detail)",
            max_height=900,
        )
        selected = gr.State("")
        keys = gr.State({})  # the table's rows → their commitment keys
        detail = gr.HTML(
            render.message("Click a commitment in the table to see its detail."),
            elem_id="kb-commitment-detail",
        )
        with gr.Row(visible=False, equal_height=True) as confirm_row:
            country = gr.Dropdown(label="Country", choices=[], scale=1)
            score = gr.Radio(
                [
                    ("+1 full compliance", 1),
                    ("0 work in progress", 0),
                    ("−1 no evidence of implementation", -1),
                ],
                label="Confirmed compliance score",
                scale=3,
            )
            note = gr.Textbox(label="Note (reasons and sources)", scale=3)
            confirm_button = gr.Button("Confirm score", variant="primary", scale=1)
        with gr.Accordion("Compliance matrix: heatmap and CSV", open=False):
            gr.Markdown(matrix.LEGEND, elem_id="kb-matrix-legend")
            draw_button = gr.Button("Draw the commitment × country matrix")
            heatmap = gr.Image(
                type="filepath", label="Compliance by commitment and country", interactive=False
            )
            csv_file = gr.File(label="The matrix as CSV", interactive=False, visible=False)
            problem = gr.HTML()

    filters = [topic, strength, acknowledgements]
    for event in (tab.select, topic.change, strength.change, acknowledgements.change):
        event(table, filters, [grid, count, keys], api_visibility="private")
    grid.select(select, keys, [selected, detail, confirm_row, country], api_visibility="private")
    confirm_button.click(
        confirm, [selected, country, score, note], [detail, confirm_row, note], api_visibility="private"
    )
    draw_button.click(draw, None, [heatmap, csv_file, problem], api_visibility="private")


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
        with gr.Tabs() as tabs:
            with gr.Tab("Ask", id="ask"):
                asked = ask_tab(library, basket)
            with gr.Tab("Documents", id="documents"):
                docs = documents_tab(library)
            with gr.Tab("Briefing", id="briefing") as briefing:
                briefing_tab(library, basket, notes, demo)
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


def auth_pairs(value: str) -> list[tuple[str, str]]:
    """Logins from KB_AUTH: `user:password` pairs separated by commas, or a file path with one pair per line."""
    value = value.strip()
    if not value:
        return []
    path = Path(value)
    if ":" not in value and not path.is_file():
        raise UsageError(f"KB_AUTH={value!r} is neither a file nor user:password pairs")
    source, lines = (
        (str(path), path.read_text(encoding="utf-8").splitlines())
        if path.is_file()
        else ("KB_AUTH", value.split(","))
    )
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
            css=render.CSS,
        )
    except OSError as exc:
        raise KBError(
            f"cannot listen on {settings.host}:{settings.port} (is another `kb serve` running?): choose "
            "another port with --port or KB_PORT"
        ) from exc

    def signed_in(request: Request) -> None:
        """The check Gradio applies to its own routes: no login configured, or a session cookie it issued."""
        cookies = request.cookies
        token = cookies.get(f"access-token-{app.cookie_id}") or cookies.get(
            f"access-token-unsecure-{app.cookie_id}"
        )
        if app.auth is not None and app.tokens.get(token) is None:
            raise HTTPException(401, "Not authenticated")

    def pdf(doc_id: str) -> FileResponse:
        path = library.pdf(doc_id)
        if path is None:
            raise HTTPException(404, "No PDF for this document id.")
        return FileResponse(path, media_type="application/pdf")

    app.add_api_route("/kb/pdf/{doc_id}", pdf, methods=["GET"], dependencies=[Depends(signed_in)])
    if block:
        demo.block_thread()
    return demo, url


if __name__ == "__main__":
    from kb.cli import main

    sys.exit(main(["serve", *sys.argv[1:]]))
