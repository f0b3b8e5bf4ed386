"""The Documents tab: the table of indexed documents and the reader that shows one paragraph by paragraph."""

import gradio as gr

from kb.answer import render
from kb.api import Library
from kb.app.assets import READER_JS
from kb.app.messages import readable

TABLE_HEADERS = ["Title", "Issuer", "Country", "Language", "Date", "Type", "Passages", "Ingested at", "Id"]


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
        js_on_load=READER_JS,
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
