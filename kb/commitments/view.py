"""What the app's Commitments tab shows: table rows and the detail of one commitment, as plain rows
and escaped HTML built from the tracker's data (the app itself never reads the stored files)."""

from __future__ import annotations

from html import escape

from kb.commitments import compliance
from kb.commitments.matrix import Matrix
from kb.commitments.topics import Taxonomy
from kb.commitments.types import NO_EARLIER_TEXT, Commitment, Tracker

ALL = "all"
TABLE_HEADERS = ["Id", "Document", "Para.", "Strength", "Topics", "Lineage", "Evidence from", "Words"]


def topic_choices(taxonomy: Taxonomy) -> list[tuple[str, str]]:
    """(label, key) pairs for a topic filter, "All topics" first."""
    return [("All topics", ALL)] + [(t.label, t.key) for t in taxonomy.topics]


def rows(
    tracker: Tracker,
    taxonomy: Taxonomy,
    titles: dict[str, str],
    topic: str = ALL,
    strength: str = ALL,
    acknowledgements: bool = False,
) -> dict[str, list[str]]:
    """Table rows (TABLE_HEADERS) of the commitments that pass the filters (acknowledgements only
    when asked), by commitment key, the latest documents first, each document in reading order."""
    out = {}
    for c in _latest_first(tracker.commitments):
        if not acknowledgements and not c.is_commitment:
            continue
        if topic not in ("", ALL, None) and topic not in c.topic_keys:
            continue
        if strength not in ("", ALL, None) and c.strength != strength:
            continue
        lineage = tracker.lineage.get(c.key)
        out[c.key] = [
            c.id,
            titles.get(c.doc_id, c.doc_id),
            c.paragraph,
            c.strength,
            ", ".join(taxonomy.label(k) for k in c.topic_keys),
            lineage.status if lineage else "—",
            " ".join(sorted({e.country for e in tracker.evidence.get(c.key, [])})),
            c.text,
        ]
    return out


def detail(
    tracker: Tracker, c: Commitment, taxonomy: Taxonomy, titles: dict[str, str], matrix: Matrix | None
) -> str:
    """The HTML of one commitment: words, citation, topics, lineage chain, evidence and scores by country."""
    parts = [
        "<div class='kb-commitment'>",
        f"<h3>{escape(c.id)} · {escape(c.citation)}</h3>",
        f"<blockquote class='kb-commitment-text'>{escape(c.text)}</blockquote>",
        "<p class='kb-meta'>"
        f"Strength: <b>{escape(c.strength)}</b> · Actor: {escape(c.actor)} · Topics: "
        + (", ".join(f"{escape(taxonomy.label(t.key))} ({t.score:.2f})" for t in c.topics) or "none")
        + "</p>",
    ]
    if not c.is_commitment:
        parts.append("<p>An acknowledgement: kept visible, not counted as a commitment.</p></div>")
        return "".join(parts)
    lineage = tracker.lineage.get(c.key)
    if lineage:
        parts.append(f"<h4>Lineage: {escape(lineage.explained)}</h4><ol class='kb-chain'>")
        for key in lineage.chain:
            other = tracker.get(key)
            if other:
                here = " <b>(this commitment)</b>" if key == c.key else ""
                parts.append(
                    f"<li>{escape(titles.get(other.doc_id, other.doc_id))} {escape(other.id)}{here}: "
                    f"“{escape(other.text)}”</li>"
                )
        parts.append("</ol>")
        later = [x for x in lineage.links if x.direction == "later"]
        others = [x for x in lineage.links if x.direction == "earlier" and x.key not in lineage.chain]
        for title, links in (("Also similar, earlier", others), ("Taken up later", later)):
            if links:
                parts.append(f"<p>{title}:</p><ul>")
                for link in links:
                    other = tracker.get(link.key)
                    if other:
                        parts.append(
                            f"<li>{escape(other.citation)} ({link.similarity:.2f}, language "
                            f"{escape(link.strength_change)}): “{escape(other.text)}”</li>"
                        )
                parts.append("</ul>")
    parts.append("<h4>Evidence of implementation, by country</h4>")
    evidence = tracker.evidence.get(c.key, [])
    for country in matrix.countries if matrix else sorted({e.country for e in evidence}):
        mine = [e for e in evidence if e.country == country]
        score = matrix.cell(c.key, country).score if matrix else None
        label = ""
        if score and score.no_documents:
            label = f" · <span class='kb-meta'>no documents from {escape(country)} indexed: no score</span>"
        elif score:
            mark = "confirmed ✓" if score.status == "confirmed" else "suggested"
            stale = " — stale: the words changed since confirmation" if score.stale else ""
            label = (
                f" · compliance <b>{score.score:+d}</b> ({escape(compliance.SCALE[score.score])}, {mark}{stale})"
                f"<br><span class='kb-meta'>{escape(score.note or score.reason)}</span>"
            )
        parts.append(
            f"<div class='kb-evidence' data-country='{escape(country)}'><p><b>{escape(country)}</b>: "
            f"{len(mine)} passage{'s' * (len(mine) != 1)}{label}</p>"
        )
        for e in mine:
            parts.append(
                f"<p class='kb-evidence-passage'><span class='kb-citation'>{escape(e.citation)}</span> "
                f"(score {e.score:.2f}, {escape(e.date)}): {escape(e.text)}</p>"
            )
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)


def _latest_first(commitments: list[Commitment]) -> list[Commitment]:
    by_doc: dict[str, list[Commitment]] = {}
    for c in commitments:  # the tracker's order: oldest document first, reading order within each
        by_doc.setdefault(c.doc_id, []).append(c)
    return [c for doc in reversed(list(by_doc)) for c in by_doc[doc]]


def matrix_table(m: Matrix, titles: dict[str, str]) -> str:
    """The commitment × country matrix as an HTML table: a summary row per country (how many +1, 0
    and −1), then a row per commitment (its id and document; its full words on hover and in a
    column), each cell its compliance score, ✓ when confirmed, and a click opening its evidence."""
    if not m.rows:
        return "<p class='kb-meta'>No commitments: no G7 text is indexed.</p>"
    head = "".join(f"<th scope='col'>{escape(c)}</th>" for c in m.countries)
    summary = []
    for country in m.countries:
        cells = [m.cell(c.key, country).score for c in m.rows]
        if all(s.no_documents for s in cells):
            summary.append(
                "<td class='kb-cell kb-none' title='no document of this country indexed'>no docs</td>"
            )
            continue
        counts = {v: sum(1 for s in cells if s.score == v) for v in (1, 0, -1)}
        summary.append(f"<td class='kb-summary'>+1: {counts[1]} · 0: {counts[0]} · −1: {counts[-1]}</td>")
    rows = [
        "<table class='kb-matrix'><thead><tr><th scope='col'>Commitment</th><th scope='col'>Words</th>"
        f"{head}</tr></thead><tbody>",
        f"<tr class='kb-matrix-summary'><th scope='row'>All commitments</th><td></td>{''.join(summary)}</tr>",
    ]
    for c in m.rows:
        label = f"{c.id} · {titles.get(c.doc_id, c.doc_id)}"
        words = c.text if len(c.text) <= 110 else c.text[:107] + "…"
        cells = []
        for country in m.countries:
            cell = m.cell(c.key, country)
            s = cell.score
            if s.no_documents:
                shown, css, why = "–", "kb-none", f"no document of {country} indexed"
            else:
                mark = " ✓" if s.status == "confirmed" else ""
                shown = {1: "+1", 0: "0", -1: "−1"}[s.score] + mark
                css = {1: "kb-plus", 0: "kb-zero", -1: "kb-minus"}[s.score]
                why = f"{compliance.SCALE[s.score]} ({s.status}): {s.note or s.reason}"
            cells.append(
                f"<td class='kb-cell {css}' data-key='{escape(c.key)}' data-country='{escape(country)}' "
                f"title='{escape(why)}' tabindex='0' role='button'>{escape(shown)}</td>"
            )
        rows.append(
            f"<tr><th scope='row' title='{escape(c.text)}'>{escape(label)}</th>"
            f"<td class='kb-matrix-words'>{escape(words)}</td>{''.join(cells)}</tr>"
        )
    rows.append("</tbody></table>")
    return "".join(rows)


def what_to_add(tracker: Tracker) -> list[str]:
    """What an analyst can add to the sources for the tracker to show more (none when nothing is
    missing): national reports for evidence and scores, earlier G7 texts for lineage."""
    if not tracker.commitments:
        return [
            "No G7 text is indexed: put the G7 declarations, statements or action plans into sources/ "
            "(or run `kb sources fetch`) and run `kb ingest`."
        ]
    advice = []
    if not set(tracker.countries) & tracker.documented:  # the matrix's countries: the G7 members at least
        advice.append(
            "No national document of a G7 member is indexed yet, so no commitment has evidence or a compliance "
            "score: add "
            "national implementation reports (PDF, Word, HTML or text, in any of the five languages) to "
            "sources/, give their country in sources/sources.toml, and run `kb ingest`."
        )
    if all(lin.status == NO_EARLIER_TEXT for lin in tracker.lineage.values()):
        advice.append(
            "Only one G7 text is indexed, so no commitment can be traced to an earlier summit: add earlier G7 "
            "texts (`kb sources fetch` downloads the 2024 Action Plan and the 2025 Kananaskis statement "
            "listed in sources/sources.toml)."
        )
    return advice
