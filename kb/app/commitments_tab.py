"""The Commitments tab: the commitments by topic, a commitment's detail with its evidence, and the matrix."""

import secrets
from html import escape

import gradio as gr

from kb.answer import render
from kb.api import Library
from kb.app.assets import MATRIX_JS
from kb.app.messages import readable
from kb.errors import UsageError


def _row_id(row: list) -> str:
    """A table row as one string: what finds its commitment's key when the row is clicked."""
    return "\x1f".join(str(cell) for cell in row)


def advice(tracker) -> str:
    """What to add to the sources to see more, as notices (kb.commitments.view.what_to_add)."""
    from kb.commitments import view

    return "".join(render.message(a, "notice") for a in view.what_to_add(tracker))


def commitments_tab(library: Library) -> None:
    """The Commitments tab: every G7 commitment as a row, filtered by topic with one click; a row opens
    its words, lineage and evidence by country with compliance scores (an analyst confirms one here);
    the compliance matrix as a heatmap and a CSV. Data: kb/commitments (store.tracker), HTML: its view.py.
    """
    from kb.commitments import compliance, matrix, view
    from kb.commitments import rules as rules_mod
    from kb.commitments import topics as topics_mod

    taxonomy = topics_mod.load()
    strengths = [("All strengths", view.ALL)] + [(s.label, s.key) for s in rules_mod.load().strengths]

    def current():
        return library.commitments()

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
            advice(tracker) + f"<div class='kb-meta'>{escape(count)}</div>",
            {_row_id(row): key for key, row in shown.items()},
        )

    def opened(key, place=None):
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
        return html, gr.Row(visible=found.is_commitment), gr.Dropdown(choices=m.countries, value=place)

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
            files = gr.File([str(png), str(csv_path)], visible=True)
            return advice(tracker) + view.matrix_table(m, titles), files, ""
        except Exception as exc:
            return "", gr.File(visible=False), render.message(readable(exc, library), "error")

    def cell_opened(evt: gr.EventData):
        key, place = evt.key, evt.country
        try:
            return (key, *opened(key, place))
        except Exception as exc:
            return key, render.message(readable(exc, library), "error"), gr.Row(visible=False), gr.Dropdown()

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
        with gr.Accordion("Compliance matrix: commitment × country", open=False):
            gr.Markdown(
                matrix.LEGEND + " Click a cell for its evidence; hover a commitment for its words.",
                elem_id="kb-matrix-legend",
            )
            draw_button = gr.Button("Draw the commitment × country matrix")
            grid_html = gr.HTML(js_on_load=MATRIX_JS, elem_id="kb-matrix")
            csv_file = gr.File(
                label="The matrix as a picture (PNG) and as CSV",
                interactive=False,
                visible=False,
                file_count="multiple",
            )
            problem = gr.HTML()

    filters = [topic, strength, acknowledgements]
    for event in (tab.select, topic.change, strength.change, acknowledgements.change):
        event(table, filters, [grid, count, keys], api_visibility="private")
    grid.select(select, keys, [selected, detail, confirm_row, country], api_visibility="private")
    confirm_button.click(
        confirm, [selected, country, score, note], [detail, confirm_row, note], api_visibility="private"
    )
    draw_button.click(draw, None, [grid_html, csv_file, problem], api_visibility="private")
    grid_html.open_cell(cell_opened, None, [selected, detail, confirm_row, country], api_visibility="private")
