"""How `kb commitments` shows commitments (JSON, CSV, rows wrapped for a terminal) and how `--eval` shows the compliance suggestions."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from kb.commitments.listing import as_json  # noqa: F401  (the JSON of `kb commitments`, shared with the APIs)


def as_csv(rows, tracker, docs) -> str:
    import csv
    import io

    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(
        [
            "key",
            "id",
            "document",
            "paragraph",
            "strength",
            "topics",
            "topic_scores",
            "lineage",
            "evidence_countries",
            "citation",
            "text",
        ]
    )
    for c in rows:
        lin = tracker.lineage.get(c.key)
        w.writerow(
            [
                c.key,
                c.id,
                docs[c.doc_id].cite_title if c.doc_id in docs else c.doc_id,
                c.paragraph,
                c.strength,
                " ".join(c.topic_keys),
                " ".join(f"{t.key}={t.score:.2f}" for t in c.topics),
                lin.status if lin else "",
                " ".join(sorted({e.country for e in tracker.evidence.get(c.key, [])})),
                c.citation,
                c.text,
            ]
        )
    return out.getvalue()


def print_rows(rows, tracker, docs, taxonomy) -> None:
    columns = width()
    commitments = [c for c in rows if c.is_commitment]
    acknowledgements = [c for c in rows if not c.is_commitment]
    documents = len({c.doc_id for c in commitments})
    if commitments:
        print(
            f"{len(commitments)} commitment{'s' * (len(commitments) != 1)} in "
            f"{documents} G7 document{'s' * (documents != 1)}"
        )
    else:
        print(
            "No commitment matches these filters."
            if tracker.commitments
            else "No commitments: no G7 declaration, communiqué or statement is indexed (see `kb sources`)."
        )
    for c in commitments:
        lin = tracker.lineage.get(c.key)
        countries = " ".join(sorted({e.country for e in tracker.evidence.get(c.key, [])})) or "none yet"
        print(f"\n{c.id:<8} {c.citation}")
        print(
            f"         {c.strength} · {topics(c, taxonomy)} · {lin.status if lin else '—'} · evidence: {countries}"
        )
        print(textwrap.fill(f"“{c.text}”", columns, initial_indent=" " * 9, subsequent_indent=" " * 10))
    if acknowledgements:
        print(f"\nAcknowledgements and context ({len(acknowledgements)}; not commitments, not counted)")
        for c in acknowledgements:
            print(f"\n{c.id:<8} {c.citation} · {topics(c, taxonomy)}")
            print(textwrap.fill(f"“{c.text}”", columns, initial_indent=" " * 9, subsequent_indent=" " * 10))


def topics(c, taxonomy) -> str:
    return ", ".join(f"{taxonomy.label(t.key)} ({t.score:.2f})" for t in c.topics) or "no topic"


def short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def width() -> int:
    return min(shutil.get_terminal_size((100, 20)).columns, 100)


def print_suggestions(report, path: Path) -> None:
    """Accuracy of the compliance suggestions, by language, and their confusion matrix."""
    by_language = ", ".join(f"{lang} {acc:.2f}" for lang, acc in report.by_language.items())
    print(f"\nCompliance suggestions against {path} ({report.items} labelled passages):")
    print(f"  accuracy {report.accuracy:.3f} ({by_language})")
    print("  label \\ suggested     +1     0    -1")
    for label, row in report.confusion.items():
        print(f"  {label:+d}{'':<17}" + "".join(f"{row[got]:>6}" for got in (1, 0, -1)))
    for e in report.errors:
        print(
            f"  {e['id']}: labelled {e['label']:+d}, suggested {e['suggested']:+d} (cosine {e['score']:.2f}, "
            f"shared topics {', '.join(e['topics_shared']) or 'none'}; {e['note']})"
        )
