"""The CSS and JavaScript the app sends to the browser: its look, and the clicks on cards and in the reader.

The HTML they apply to is kb/answer/render.py's: its class names (`kb-card`, `kb-para`, ...) and data
attributes (`data-action`, `data-widen`, `data-pid`) are what these find.
"""

# Passage cards and the answer: clicks on buttons are handled by CARD_JS (clipboard in the
# browser, "add" and "show" sent to the server); everything else is static HTML.
CARD_JS = r"""
const esc = (s) => s.replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]));
async function copy(html, text) {
  try {
    if (navigator.clipboard && window.ClipboardItem) {
      await navigator.clipboard.write([new ClipboardItem({
        'text/html': new Blob([html], {type: 'text/html'}),
        'text/plain': new Blob([text], {type: 'text/plain'}),
      })]);
      return true;
    }
  } catch (e) { /* some browsers refuse rich text: fall back to plain text */ }
  try { await navigator.clipboard.writeText(text); return true; } catch (e) { return false; }
}
function flash(btn, label) {
  const old = btn.dataset.label || btn.textContent;
  btn.dataset.label = old;
  btn.textContent = label;
  setTimeout(() => { btn.textContent = old; }, 1800);
}
// The passages added from this answer: each add sends them all, so that an add sent while an
// earlier one is on its way (with the basket as it was) still leaves every one of them in.
const added = new Set();  // forgets the passages of earlier answers (no longer on the page)
let sent = 0;  // numbers the adds, so that the app can tell an add overtaken by a later one
element.addEventListener('click', async (ev) => {
  const marker = ev.target.closest('a.kb-marker');
  if (marker) {
    ev.preventDefault();
    const card = element.querySelector('.kb-card[data-marker="' + marker.dataset.marker + '"]');
    if (card) {
      card.scrollIntoView({behavior: 'smooth', block: 'center'});
      card.classList.add('kb-flash');
      setTimeout(() => card.classList.remove('kb-flash'), 1600);
    }
    return;
  }
  const widen = ev.target.closest('button[data-widen]');
  if (widen) {
    widen.disabled = true;
    trigger('widen', {key: widen.dataset.widen});
    return;
  }
  const btn = ev.target.closest('button[data-action]');
  if (!btn) return;
  const card = btn.closest('.kb-card');
  const citation = card.querySelector('.kb-citation').textContent;
  const text = card.querySelector('.kb-text').textContent;
  const action = btn.dataset.action;
  if (action === 'copy-citation') {
    flash(btn, (await copy('<span>' + esc(citation) + '</span>', citation)) ? 'Copied ✓' : 'Copy failed');
  } else if (action === 'copy-passage') {
    const html = '<blockquote><p>“' + esc(text) + '”</p></blockquote><p><i>' + esc(citation) + '</i></p>';
    flash(btn, (await copy(html, '“' + text + '”\n' + citation)) ? 'Copied ✓' : 'Copy failed');
  } else if (action === 'add') {
    btn.textContent = 'In briefing ✓';
    const shown = new Set([...element.querySelectorAll('.kb-card')].map((c) => c.dataset.pid));
    [...added].filter((pid) => !shown.has(pid)).forEach((pid) => added.delete(pid));
    added.add(card.dataset.pid);
    trigger('add_passage', {pids: [...added], pid: card.dataset.pid, seq: ++sent});
  } else if (action === 'show') {
    trigger('show_passage', {pid: card.dataset.pid});
  }
});
"""

# The document reader: bring the selected paragraph into view whenever the reader changes.
READER_JS = r"""
const reveal = () => {
  const el = element.querySelector('.kb-selected');
  if (el) setTimeout(() => el.scrollIntoView({block: 'center'}), 80);
};
watch('value', reveal);
reveal();
"""

# The compliance matrix (kb.commitments.view.matrix_table): a click on a cell (or Enter on it) asks
# the app for that commitment's detail, open at the cell's country.
MATRIX_JS = r"""
function openCell(cell) {
  if (!cell || !cell.dataset.key) return;
  element.querySelectorAll('td.kb-cell.kb-open').forEach((c) => c.classList.remove('kb-open'));
  cell.classList.add('kb-open');
  trigger('open_cell', {key: cell.dataset.key, country: cell.dataset.country});
  document.querySelector('#kb-commitment-detail')?.scrollIntoView({behavior: 'smooth', block: 'start'});
}
element.addEventListener('click', (ev) => openCell(ev.target.closest('td.kb-cell')));
element.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); openCell(ev.target.closest('td.kb-cell')); }
});
"""

CSS = """
/* Boxes have their own light background and dark text, so they read the same in Gradio's dark mode;
   text outside boxes takes the theme's colours. */
.kb-answer, .kb-reader, .kb-msg, .kb-basket-item { font-size: 15px; line-height: 1.55; }
.kb-card, .kb-answer-text, .kb-abstain, .kb-msg, .kb-reader, .kb-basket-item {
  color: #1b1f24; --body-text-color: #1b1f24; --body-text-color-subdued: #57606a; }
.kb-answer > h3 { margin: 14px 0 6px; font-size: 17px; color: var(--body-text-color); }
.kb-reader h3 { margin: 10px 0 4px; font-size: 18px; color: #1b1f24; }
.kb-meta { color: #57606a; font-size: 13px; margin-bottom: 6px; }
.kb-searched { font-size: 15px; margin: 4px 0 8px; }
footer .divider { display: none !important; }
.kb-understood { margin: 4px 0 8px; font-size: 14px; }
.kb-understood > .kb-meta { display: inline; }
.kb-chip { display: inline-flex; align-items: center; gap: 4px; border: 1px solid #8c959f; border-radius: 12px;
  padding: 1px 4px 1px 10px; margin: 0 4px 2px 0; background: #f6f8fa; color: #1b1f24; }
.kb-chip button { border: 0; background: transparent; font-size: 15px; line-height: 1; cursor: pointer;
  color: #57606a; padding: 0 4px; }
.kb-chip button:hover, .kb-chip button:focus { color: #cf222e; }
.kb-chip-off { border-style: dashed; padding-right: 10px; color: #57606a; }  /* Gradio's "·" left after "Use via API" alone */
/* The Commitments table: one line per row, cut with "…", so that ten rows fit on a screen (a click shows all). */
#kb-commitments .body-cell .cell-wrap, #kb-commitments .body-cell .cell-wrap * { display: block !important;
  white-space: nowrap !important; overflow: hidden !important; text-overflow: ellipsis !important; }
#kb-commitments .body-cell, #kb-commitments th { font-size: 13px !important; }
.table-wrap .body-cell { font-family: var(--font) !important; }  /* tables in the page's font, not monospace */
.kb-searched .kb-meta { display: inline; }
.kb-head h1 { margin: 0; font-size: 24px; }
.kb-head p { margin: 2px 0 0; color: #57606a; }
.dark .kb-head p, .dark .kb-answer > .kb-meta, .dark #kb-status .kb-meta { color: #c9d1d9; }
.kb-answer-text { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 8px; padding: 10px 14px; }
.kb-answer-text p { margin: 4px 0; }
.kb-answer-text .kb-doc { font-weight: 600; margin-top: 8px; }
a.kb-marker { color: #0550ae; font-weight: 600; text-decoration: none; padding: 0 2px; }
a.kb-marker:hover, a.kb-marker:focus { text-decoration: underline; }
.kb-abstain { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 8px; padding: 10px 14px; }
.kb-abstain strong { font-size: 16px; }
.kb-card { background: #ffffff; border: 1px solid #d0d7de; border-radius: 8px; padding: 10px 14px; margin: 10px 0;
  transition: box-shadow 0.3s; }
.kb-card.kb-flash { box-shadow: 0 0 0 3px #0969da; }
.kb-card header { display: flex; gap: 8px; align-items: baseline; }
.kb-num { color: #0550ae; font-weight: 700; }
.kb-title { font-weight: 600; }
.kb-docmeta { color: #57606a; font-size: 13px; }
.kb-text { margin: 8px 0; white-space: pre-wrap; overflow-wrap: anywhere; }
mark.kb-hl { background: #fff1a8; color: #1b1f24; padding: 0 1px; border-bottom: 2px solid #d4a72c; }
.kb-citation { font-style: italic; color: #24292f; font-size: 14px; }
.kb-actions { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 8px; align-items: center; }
.kb-actions button { border: 1px solid #8c959f; background: #f6f8fa; color: #1b1f24; border-radius: 6px;
  padding: 3px 10px; font-size: 13px; cursor: pointer; margin: 0; }
.kb-actions button:hover, .kb-actions button:focus { background: #eaeef2; border-color: #0969da; }
.kb-msg { border-radius: 8px; padding: 10px 14px; border: 1px solid #d0d7de; background: #f6f8fa; }
.kb-msg.kb-error { border-color: #cf222e; background: #ffebe9; }
.kb-msg.kb-notice { border-color: #d4a72c; background: #fff8c5; }
.kb-translation { margin: -0.3em 0 0.6em 1.5em; color: #57606a; font-style: italic; }
.kb-reader { background: #ffffff; border: 1px solid #d0d7de; border-radius: 8px; padding: 8px 16px; }
.kb-reader h4 { margin: 14px 0 4px; font-size: 15px; color: #1b1f24; }
.kb-para { display: flex; gap: 12px; padding: 4px 6px; border-radius: 6px; scroll-margin: 80px; }
.kb-para .kb-label { min-width: 64px; color: #57606a; font-size: 13px; padding-top: 2px; }
.kb-para .kb-ptext { white-space: pre-wrap; overflow-wrap: anywhere; }
.kb-para.kb-selected { background: #fff1a8; outline: 2px solid #d4a72c; }
.kb-table { border-collapse: collapse; margin: 8px 0; font-size: 14px; }
.kb-table th, .kb-table td { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left; vertical-align: top; }
.kb-table caption { text-align: left; font-weight: 600; padding: 4px 0; }
.kb-table tr.kb-selected td { background: #fff1a8; }
.kb-row-table { font-size: 13px; }
.kb-reader a, .kb-card a.kb-pdf { color: #0550ae; }
.kb-basket-item { background: #ffffff; padding: 8px 12px; }
.kb-basket-item .kb-text { margin: 4px 0; }
#kb-documents table { font-family: inherit; font-size: 14px; }
#kb-feedback { border: 1px solid #d0d7de; border-radius: 8px; padding: 10px 14px; }
.kb-matrix { border-collapse: collapse; font-size: 0.85rem; width: 100%; }
.kb-matrix th, .kb-matrix td { border: 1px solid #d0d4da; padding: 0.25rem 0.4rem; text-align: left; }
.kb-matrix thead th { position: sticky; top: 0; background: #f3f4f6; }
.kb-matrix th[scope=row] { max-width: 15rem; cursor: help; font-weight: 600; }
.kb-matrix-words { min-width: 16rem; max-width: 30rem; color: #374151; }
.kb-matrix td.kb-cell { text-align: center; cursor: pointer; font-weight: 600; min-width: 3rem; }
.kb-matrix td.kb-plus { background: #c6efce; }
.kb-matrix td.kb-zero { background: #ffeb9c; }
.kb-matrix td.kb-minus { background: #ffc7ce; }
.kb-matrix td.kb-none { background: #e5e7eb; color: #6b7280; font-weight: 400; }
.kb-matrix td.kb-open { outline: 3px solid #1d4ed8; }
.kb-matrix-summary td, .kb-matrix-summary th { background: #f9fafb; font-size: 0.8rem; }
.kb-badge { margin-left: 0.5rem; padding: 0.05rem 0.45rem; border-radius: 0.6rem; font-size: 0.75rem;
  background: #e0e7ff; color: #3730a3; white-space: nowrap; }
.kb-commitments .kb-commitment-row { border-left: 3px solid #c7d2fe; padding: 0.15rem 0 0.15rem 0.75rem;
  margin: 0.6rem 0; }
.kb-commitments .kb-commitment-row p { margin: 0.2rem 0; }
"""
