"""HTML for the app, built from the same dicts the API returns; every piece of document text is escaped.

Document text is data, never markup: a source containing `<script>` or a Markdown link shows
as those characters. Nothing here parses Markdown, and the only URLs turned into links are
http(s) URLs from the manifest and the app's own routes. The CSS that styles this HTML and the
JavaScript that handles clicks on its buttons are in kb/app/assets.py.
"""

from __future__ import annotations

import re
from html import escape
from urllib.parse import quote, urlparse

from kb.models.llm import translation_label
from kb.text import language


def message(text: str, kind: str = "info") -> str:
    """A boxed message (kind: info, notice or error) with the text escaped."""
    return f'<div class="kb-msg kb-{escape(kind)}" role="{"alert" if kind == "error" else "status"}">{escape(text)}</div>'


def safe_url(url: str) -> str:
    """The URL if it is http(s), else "" (a manifest could hold a javascript: URL)."""
    parsed = urlparse(url.strip())
    return url.strip() if parsed.scheme in ("http", "https") and parsed.netloc else ""


def human_date(date: str) -> str:
    """`2025-06-17` → `17 June 2025`, `2026-06` → `June 2026`, `2024` → `2024`; other text unchanged."""
    months = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ]
    parts = date.split("-")
    if not date or not all(p.isdigit() for p in parts):
        return date
    if len(parts) >= 2 and 1 <= int(parts[1]) <= 12:
        month = months[int(parts[1]) - 1]
        return f"{int(parts[2])} {month} {parts[0]}" if len(parts) == 3 else f"{month} {parts[0]}"
    return parts[0]


def marked(text: str, highlights: list[dict]) -> str:
    """The passage text, escaped, with the highlighted spans wrapped in <mark>."""
    out, pos = [], 0
    for h in sorted(highlights, key=lambda h: h["start"]):
        start, end = max(h["start"], pos), min(h["end"], len(text))
        if start >= end:
            continue
        out += [escape(text[pos:start]), f'<mark class="kb-hl">{escape(text[start:end])}</mark>']
        pos = end
    out.append(escape(text[pos:]))
    return "".join(out)


def pdf_link(document: dict, page: int | None) -> str:
    """A link that opens the document's PDF (served by id) at the page, or "" for other formats."""
    if not str(document.get("file", "")).lower().endswith(".pdf"):
        return ""
    anchor = f"#page={int(page)}" if page else ""
    href = f"kb/pdf/{quote(document['id'], safe='')}{anchor}"
    label = f"Open the PDF at page {int(page)}" if page else "Open the PDF"
    return f'<a class="kb-pdf" href="{escape(href)}" target="_blank" rel="noopener">{label}</a>'


def where(passage: dict) -> str:
    """`p. 3 · para. 4` for a passage dict (page omitted when unknown)."""
    parts = []
    if passage.get("page"):
        end = passage.get("page_end")
        parts.append(
            f"pp. {passage['page']}–{end}" if end and end != passage["page"] else f"p. {passage['page']}"
        )
    if passage.get("table"):
        parts.append(f"table {passage['table']}")
        if passage.get("row"):
            parts.append(f"row “{passage['row']}”")
    elif passage.get("paragraph"):
        parts.append(f"para. {passage['paragraph']}")
    return " · ".join(parts)


def other_language(document: dict) -> str:
    """The name of a document's language when it is not English ("Italian"), else "": most are."""
    code = document.get("language", "")
    return language.name(code) if code and code != "en" else ""


def card(passage: dict, in_briefing: bool = False) -> str:
    """One passage card: title, issuer, date, page and paragraph, highlighted text, citation, buttons."""
    d = passage["document"]
    facts = (d.get("issuer", ""), human_date(d.get("date", "")), other_language(d), where(passage))
    if passage.get("ocr"):  # a scanned page: misread characters are possible, check the original
        facts += ("read by OCR",)
    meta = " · ".join(x for x in facts if x)
    added = "In briefing ✓" if in_briefing else "Add to briefing"
    return (
        f'<article class="kb-card" id="kb-passage-{int(passage["marker"])}" data-pid="{escape(passage["id"])}" '
        f'data-marker="{int(passage["marker"])}">'
        f'<header><span class="kb-num">[{int(passage["marker"])}]</span>'
        f'<span class="kb-title">{escape(d.get("title", ""))}</span>'
        + (
            '<span class="kb-badge" title="A national document: evidence of carrying out the G7\'s '
            'commitments, not a commitment itself">National evidence</span>'
            if passage.get("national_evidence")
            else ""
        )
        + "</header>"
        f'<div class="kb-docmeta">{escape(meta)}</div>'
        f'<p class="kb-text">{marked(passage["text"], passage.get("highlights", []))}</p>'
        + row_table(passage.get("cells") or [])
        + f'<div class="kb-citation">{escape(passage["citation"])}</div>'
        '<div class="kb-actions">'
        '<button type="button" data-action="copy-citation">Copy citation</button>'
        '<button type="button" data-action="copy-passage">Copy passage with citation</button>'
        f'<button type="button" data-action="add">{added}</button>'
        '<button type="button" data-action="show">Show in document</button>'
        f"{pdf_link(d, passage.get('page'))}</div></article>"
    )


SPELLING_HINT = (
    "spelling corrected from the indexed documents' words; put a word in quotes to search it as typed"
)


def searched_for(result: dict) -> str:
    """ "Searched for: which <b>commitments</b> cover …", the corrected words in bold."""
    changed = {c["searched"] for c in result.get("corrections", ())}
    words = re.split(r"(\w+)", result["searched_for"])
    shown = "".join(f"<b>{escape(w)}</b>" if w in changed else escape(w) for w in words)
    return (
        f'<div class="kb-searched" role="status">Searched for: <span class="kb-searched-question">{shown}</span>'
        f' <span class="kb-meta">({escape(SPELLING_HINT)})</span></div>'
    )


def chips(understood: dict) -> str:
    """ "Read as: [Italy ×] [2025 ×]": what the question was read to ask for, each removable."""
    shown = [c for c in understood["constraints"] if c["key"] not in understood.get("removed", ())]
    if not shown:
        return ""
    items = []
    for c in shown:
        label = escape(c["label"])
        origin = escape(f"from “{c['words']}” in the question")
        if not c["indexed"]:
            items.append(
                f'<span class="kb-chip kb-chip-off" title="{origin}">{label} '
                f'<span class="kb-meta">(no indexed document: not applied)</span></span>'
            )
            continue
        items.append(
            f'<span class="kb-chip" data-key="{escape(c["key"])}" title="{origin}">{label}'
            f'<button type="button" data-widen="{escape(c["key"])}" aria-label="Ask again without {label}">×</button>'
            "</span>"
        )
    hint = "Searched these first. Click × to ask again without one."
    return (
        f'<div class="kb-understood" role="status">Read as: {"".join(items)} '
        f'<span class="kb-meta">{hint}</span></div>'
    )


def answer(result: dict, in_briefing: set[str] = frozenset()) -> str:
    """The answer (sentences with [n] markers linking to the cards), then the passage cards."""
    passages = result["passages"]
    n = len(passages)
    meta = (
        f"{result['mode']} search · {n} passage{'s' * (n != 1)} · answered in {result['latency_ms']:.0f} ms"
    )
    parts = [f'<div class="kb-answer"><div class="kb-meta">{escape(meta)}</div>']
    if result.get("searched_for"):
        parts.append(searched_for(result))
    if result.get("notice"):
        parts.append(message(result["notice"], "notice"))
    if (result.get("understood") or {}).get("constraints"):
        parts.append(chips(result["understood"]))
    if result["abstained"] or not result["sentences"]:
        parts.append(
            '<div class="kb-abstain" role="status"><strong>No answer in the documents.</strong> '
            "The indexed documents do not appear to address this question. The closest passages are "
            "listed below; check them before relying on them.</div>"
        )
        sections = [("Closest passages (not an answer)" if passages else "No passages matched.", passages)]
    else:
        parts.append("<h3>Answer</h3>" + answer_text(result))
        if result.get("commitments"):
            parts.append(commitments(result["commitments"]))
        quoted = {int(s["marker"]) for s in result["sentences"]}
        others = [p for p in passages if p["marker"] not in quoted]
        sections = [("Passages cited", [p for p in passages if p["marker"] in quoted])]
        sections += [("Other passages found", others)] if others else []
    for heading, shown in sections:
        parts.append(f"<h3>{heading}</h3>")
        parts += [card(p, p["id"] in in_briefing) for p in shown]
    parts.append("</div>")
    return "".join(parts)


def commitments(rows: list[dict]) -> str:
    """The G7 commitments behind an answer to "which commitments…": words, strength, lineage, the
    countries with evidence, citation, and the marker of the passage that holds each."""
    out = ['<div class="kb-commitments"><h3>Commitments</h3>']
    for c in rows:
        m = int(c["marker"])
        countries = ", ".join(c["evidence_countries"]) or "none yet"
        facts = (
            f"{c['id']} · {c['strength']} · {c['lineage'] or 'lineage unknown'} · evidence from: {countries}"
        )
        out.append(
            f'<div class="kb-commitment-row" data-key="{escape(c["key"])}"><div class="kb-meta">{escape(facts)}</div>'
            f'<p>“{escape(c["text"])}” <a class="kb-marker" href="#kb-passage-{m}" data-marker="{m}" '
            f'title="Go to passage {m}">[{m}]</a></p><div class="kb-citation">{escape(c["citation"])} '
            "(details in the Commitments tab)</div></div>"
        )
    out.append("</div>")
    return "".join(out)


def answer_text(result: dict) -> str:
    """The quoted sentences grouped by document, each followed by its linked marker."""
    titles = {
        p["document"]["id"]: p["document"].get("short_title") or p["document"]["title"]
        for p in result["passages"]
    }
    by_doc: dict[str, list[dict]] = {}
    for s in result["sentences"]:
        by_doc.setdefault(s["doc_id"], []).append(s)
    out = ['<div class="kb-answer-text">']
    for doc_id, sentences in by_doc.items():
        out.append(f'<p class="kb-doc">{escape(titles.get(doc_id, doc_id))}</p>')
        for s in sentences:
            m = int(s["marker"])
            out.append(
                f'<p>{escape(s["text"])} <a class="kb-marker" href="#kb-passage-{m}" data-marker="{m}" '
                f'title="Go to passage {m}">[{m}]</a></p>'
            )
            if s.get("translation"):
                label = translation_label(result.get("translated_by", ""))
                out.append(f'<p class="kb-translation">{escape(label)}: {escape(s["translation"])}</p>')
    out.append("</div>")
    return "".join(out)


def reader(doc: dict, selected: str = "") -> str:
    """A document paragraph by paragraph, with its headings and labels; `selected` (a passage id) is highlighted."""
    d = doc["document"]
    url = safe_url(d.get("url", ""))
    facts = " · ".join(
        escape(x)
        for x in (
            d.get("issuer", ""),
            human_date(d.get("date", "")),
            d.get("type", ""),
            d.get("country", ""),
            language.name(d.get("language", "")),
        )
        if x
    )
    out = [f'<div class="kb-reader"><h3>{escape(d["title"])}</h3><div class="kb-meta">{facts}</div>']
    links = [pdf_link(d, None)]
    if url:
        links.append(f'<a href="{escape(url)}" target="_blank" rel="noopener noreferrer">Official page</a>')
    if any(links):
        out.append(f'<div class="kb-meta">{" · ".join(x for x in links if x)}</div>')
    heading = None
    paragraphs = doc["paragraphs"]
    i = 0
    while i < len(paragraphs):
        p = paragraphs[i]
        if p["heading"] and p["heading"] != heading:
            out.append(f"<h4>{escape(p['heading'])}</h4>")
        heading = p["heading"]
        if p.get("table"):  # a table's rows, shown as the table
            rows = [p]
            while i + len(rows) < len(paragraphs) and _same_table(paragraphs[i + len(rows)], p):
                rows.append(paragraphs[i + len(rows)])
            out.append(table_html(rows, selected))
            i += len(rows)
            continue
        i += 1
        label = escape(f"para. {p['paragraph']}") if p["part"] == 0 else ""
        if p.get("page") and p["part"] == 0:
            label += f"<br>p. {int(p['page'])}"
        cls = "kb-para kb-selected" if p["id"] == selected else "kb-para"
        out.append(
            f'<div class="{cls}" data-pid="{escape(p["id"])}"><span class="kb-label">{label}</span>'
            f'<span class="kb-ptext">{escape(p["text"])}</span></div>'
        )
    out.append("</div>")
    return "".join(out)


def _same_table(a: dict, b: dict) -> bool:
    return a.get("table") == b.get("table") and a.get("page") == b.get("page") and bool(a.get("cells"))


def table_html(rows: list[dict], selected: str = "") -> str:
    """A table's rows (passage dicts with their (heading, value) cells) as one HTML table under its
    caption, each row a passage (data-pid), the `selected` one highlighted."""
    columns = list(dict.fromkeys(h for r in rows for h, _ in r["cells"]))
    caption = rows[0]["caption"]
    where_ = f"p. {int(rows[0]['page'])}" if rows[0].get("page") else ""
    out = [
        f'<table class="kb-table"><caption>{escape(caption)}'
        + (f' <span class="kb-label">{where_}</span>' if where_ else "")
        + "</caption><thead><tr>"
        + "".join(f"<th>{escape(c)}</th>" for c in columns)
        + "</tr></thead><tbody>"
    ]
    for r in rows:
        values = {h: v for h, v in r["cells"]}
        cls = "kb-row kb-selected" if r["id"] == selected else "kb-row"
        out.append(
            f'<tr class="{cls}" data-pid="{escape(r["id"])}">'
            + "".join(f"<td>{escape(values.get(c, ''))}</td>" for c in columns)
            + "</tr>"
        )
    out.append("</tbody></table>")
    return "".join(out)


def row_table(cells: list) -> str:
    """A table row's headings over its values, for a passage card ("" for other passages)."""
    if not cells:
        return ""
    return (
        '<table class="kb-table kb-row-table"><tr>'
        + "".join(f"<th>{escape(h)}</th>" for h, _ in cells)
        + "</tr><tr>"
        + "".join(f"<td>{escape(v)}</td>" for _, v in cells)
        + "</tr></table>"
    )


def basket_item(entry: dict, pid: str) -> str:
    """A passage in the briefing basket: citation and text (its id in data-pid, for the downloads)."""
    return (
        f'<div class="kb-basket-item" data-pid="{escape(pid)}"><div class="kb-citation">{escape(entry["citation"])}</div>'
        f'<p class="kb-text">{escape(entry["text"])}</p></div>'
    )
