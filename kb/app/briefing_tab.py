"""The Briefing tab: the collected passages (order, notes, remove) and their export as Word or Markdown."""

import gradio as gr

from kb.answer import render
from kb.api import Library
from kb.app.messages import readable

# One-click download: before a briefing file is written, note the link already shown (if any) and
# read the notes as they stand in their boxes (a note typed just before the click is included, even
# if its change has not reached the server yet; an empty box whose note is stored, as a box drawn
# again before its note reached the server shows it, gives the stored note); after, wait for the new file's link (gr.File renders
# one) and click it, so that the browser saves the file.
NOTE_FILE = """(basket, title, notes) => {
  window.kbOldFile = document.querySelector('#kb-briefing-file a[href]')?.href || '';
  const typed = {...(notes || {})};
  for (const row of document.querySelectorAll('.kb-basket-row')) {
    const pid = row.querySelector('.kb-basket-item[data-pid]')?.dataset.pid;
    const box = row.querySelector('textarea');
    if (pid && box && (box.value || !typed[pid])) typed[pid] = box.value;
  }
  return [basket, title, typed];
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


def briefing_tab(
    library: Library,
    basket: gr.BrowserState,
    notes: gr.BrowserState,
    heading: gr.BrowserState,
    dropped: gr.State,
    demo: gr.Blocks,
) -> None:
    """The basket of collected passages (order, notes, remove) and its export as Word or Markdown.

    The basket (passage ids, in order) and the notes (by passage id) are kept apart so that typing
    a note does not redraw the list. Passages removed are noted in `dropped` (see ask_tab's add).
    """
    gr.Markdown(
        "Passages you add with **Add to briefing** on the Ask tab collect here, in this browser. "
        "Put them in order, add notes, then download the briefing with its reference list."
    )

    @gr.render(inputs=[basket, notes], triggers=[demo.load, basket.change])
    def items(ids, written):
        ids = list(ids or [])
        if not ids:
            gr.HTML(render.message("Your briefing is empty."), elem_id="kb-basket-empty")
            return
        try:
            found = library.cited(ids)
        except Exception as exc:
            gr.HTML(render.message(readable(exc, library), "error"))
            return
        for i, pid in enumerate(ids):
            shown = found.get(pid) or {
                "citation": pid,
                "text": "This passage is no longer in the index; remove it.",
            }
            with gr.Group(elem_classes="kb-basket-row"):
                gr.HTML(render.basket_item(shown, pid))
                with gr.Row(equal_height=True):
                    note = gr.Textbox(
                        (written or {}).get(pid, ""), label="Your note (optional)", scale=4, key=f"note-{pid}"
                    )
                    up = gr.Button("↑ Move up", interactive=i > 0, key=f"up-{pid}", min_width=100)
                    down = gr.Button(
                        "↓ Move down", interactive=i < len(ids) - 1, key=f"down-{pid}", min_width=100
                    )
                    remove = gr.Button("Remove", variant="stop", key=f"remove-{pid}", min_width=100)
            # Keyed, so that a passage's listeners keep their ids when the list is drawn again: a
            # click sent while it is redrawn (after the previous click) still finds its listener.
            # Each acts on the passage by id, in the basket as it is then.
            note.change(
                lambda n, text, pid=pid: {**(n or {}), pid: text}, [notes, note], notes, key=f"on-note-{pid}"
            )
            up.click(lambda b, pid=pid: moved(b, pid, -1), basket, basket, key=f"on-up-{pid}")
            down.click(lambda b, pid=pid: moved(b, pid, 1), basket, basket, key=f"on-down-{pid}")
            remove.click(
                lambda b, d, pid=pid: ([x for x in b or [] if x != pid], [*d, pid]),
                [basket, dropped],
                [basket, dropped],
                key=f"on-remove-{pid}",
            )

    title = gr.Textbox("Briefing", label="Briefing title", interactive=True, elem_id="kb-briefing-title")
    # The title is kept in the browser with the passages and notes: a reload finds all three.
    demo.load(lambda saved: saved or "Briefing", heading, title, api_visibility="private")
    title.change(lambda t: t, title, heading, api_visibility="private")
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

    # Registered once, outside the list drawn above: a download reads the basket, title and notes as
    # they are at the click, never a list drawn earlier.
    for button, fmt in ((word, "docx"), (markdown, "md")):
        button.click(
            lambda b, t, n, fmt=fmt: download(b, n, t, fmt),
            [basket, title, notes],
            [file, status],
            js=NOTE_FILE,
            api_visibility="private",
        ).then(None, js=SAVE_FILE)

    # Emptying asks first (the browser's own confirmation); cancelling leaves the briefing as it is.
    confirmed = gr.Checkbox(False, visible="hidden")
    clear.click(
        lambda ok, b, d: ([], {}, [*d, *(b or [])]) if ok else (gr.skip(), gr.skip(), gr.skip()),
        [confirmed, basket, dropped],
        [basket, notes, dropped],
        js="(ok, b, d) => [confirm('Empty the briefing? Its passages and notes will be removed.'), b, d]",
        api_visibility="private",
    )


def moved(entries: list, pid: str, step: int) -> list:
    """The list with `pid` moved `step` places (-1: up one), within its ends; unchanged when it is
    no longer there."""
    entries = list(entries or [])
    if pid in entries:
        i = entries.index(pid)
        entries.insert(min(max(i + step, 0), len(entries) - 1), entries.pop(i))
    return entries
