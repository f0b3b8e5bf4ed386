"""The Ask tab: the question, its filters and options, the answer with its passage cards, and feedback."""

import gradio as gr

from kb import feedback
from kb.answer import render
from kb.api import Library
from kb.app.assets import CARD_JS
from kb.app.messages import readable

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


def ask_tab(library: Library, basket: gr.BrowserState, dropped: gr.State) -> dict:
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
        js_on_load=CARD_JS,
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

    def busy():  # one question at a time: a second click or Enter while it runs asks nothing
        return gr.Button("Asking…", interactive=False)

    def ready():
        return gr.Button("Ask", interactive=True)

    for event in (ask_button.click, question.submit, examples.load_input_event.then):
        event(busy, None, ask_button, api_visibility="private").then(
            run,
            inputs,
            outputs,
            api_visibility="private",  # a new question: nothing removed
        ).then(ready, None, ask_button, api_visibility="private")

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

    newest = gr.State(0)  # the number of the latest add applied in this browser tab

    def add(items, applied, out, evt: gr.EventData):
        if evt.seq <= applied:  # overtaken by a later add, which holds its passages too
            return gr.skip(), applied, gr.skip()
        items = list(items or [])
        items += [p for p in dict.fromkeys(evt.pids) if p not in items and (p == evt.pid or p not in out)]
        gr.Info(f"Added to your briefing ({len(items)} passage{'s' * (len(items) != 1)}).", duration=3)
        return items, evt.seq, [p for p in out if p != evt.pid]

    # Every click is sent (Gradio's default drops one sent while the previous add runs), and the adds
    # run one after the other; each carries every passage added from this answer, so the latest one
    # holds them all even though the basket it was sent with may not have the others yet (except those
    # taken out of the briefing since, unless it is the one clicked). Requests can overtake each other
    # on a busy machine: an add that arrives after a later one is skipped, else it would put back the
    # basket without the later passages.
    result.add_passage(
        add,
        [basket, newest, dropped],
        [basket, newest, dropped],
        api_visibility="private",
        trigger_mode="multiple",
        concurrency_limit=1,
    )
    return {"result": result, "filters": [types, countries, issuers, languages]}
