"""`kb commitments`: the G7's commitments as rows, their evidence, the compliance matrix, confirmations."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

from kb.cli import commitments_output as output
from kb.cli.options import settings_from

DESCRIPTION = """\
List the commitments extracted from the G7 documents of the index (declarations, statements,
communiqués, action plans), with their exact words, citation, strength, topics, lineage and the
countries whose documents give evidence of implementation. Acknowledgements ("we note…") are
listed apart and never counted."""

EPILOG = """\
Examples:
  kb commitments --topic online-platforms
  kb commitments --doc g7-2026-leaders-declaration-migrant-smuggling --json
  kb commitments evidence 2026-7
  kb commitments matrix --csv matrix.csv --png matrix.png
  kb commitments confirm 2026-7 ITA 1 --note "Online Smuggling Monitoring Desk, report of Sept. 2026"
  kb commitments --eval

Rules: kb/commitments/rules.toml; topics: kb/commitments/topics.toml; confirmed scores:
SOURCES/compliance.toml. Commitment ids follow the G7 Research Group (2026-3 = the third commitment
of a 2026 document); when two documents share an id, write DOC_ID:2026-3."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "commitments",
        help="G7 commitments: list, filter, evidence by country, compliance matrix, confirm scores",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _paths(p)
    p.add_argument("--doc", action="append", default=[], metavar="ID", help="only this document (repeatable)")
    p.add_argument(
        "--topic", action="append", default=[], metavar="T", help="only this topic key (repeatable)"
    )
    p.add_argument(
        "--strength",
        action="append",
        default=[],
        metavar="S",
        help="only this strength: pledge, mandate, support or acknowledgement (repeatable)",
    )
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument(
        "--json", action="store_true", help="print as JSON (commitments with lineage and evidence)"
    )
    fmt.add_argument("--csv", action="store_true", help="print as CSV")
    p.add_argument(
        "--eval",
        action="store_true",
        help="precision/recall and topic accuracy against the gold file, and the accuracy of the "
        "compliance suggestions against labelled passages",
    )
    p.add_argument(
        "--gold", metavar="FILE", help="gold file for --eval (default evals/commitments/gold.yaml)"
    )
    p.add_argument(
        "--labelled",
        metavar="FILE",
        help="labelled passages for --eval's compliance suggestions (default evals/commitments/compliance.yaml)",
    )
    p.set_defaults(func=run_list)
    actions = p.add_subparsers(dest="action", metavar="ACTION")

    ev = actions.add_parser("evidence", help="one commitment: its words, lineage, and evidence by country")
    ev.add_argument("id", help="commitment id (2026-7) or DOC_ID:2026-7")
    _paths(ev, suppress=True)
    ev.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print as JSON")
    ev.set_defaults(func=run_evidence)

    mx = actions.add_parser("matrix", help="commitment × country: evidence, best score, compliance score")
    _paths(mx, suppress=True)
    mx.add_argument(
        "--csv", metavar="FILE", dest="csv_file", help="write the matrix as CSV (one row per cell)"
    )
    mx.add_argument("--png", metavar="FILE", help="write a heatmap image")
    mx.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print as JSON")
    mx.set_defaults(func=run_matrix)

    cf = actions.add_parser(
        "confirm",
        help="confirm (or change) the compliance score of a commitment for a country",
        description="Record an analyst's compliance score in SOURCES/compliance.toml (reviewed in git; ingest "
        "never changes it). SCORE is 1 (full compliance), 0 (work in progress) or -1 (no evidence of "
        "implementation).",
    )
    cf.add_argument("id", help="commitment id (2026-7) or DOC_ID:2026-7")
    cf.add_argument("country", help="ISO 3166 alpha-3 code, e.g. ITA")
    cf.add_argument("score", help="1, 0 or -1")
    cf.add_argument("--note", default="", help="the analyst's reasons and sources")
    _paths(cf, suppress=True)
    cf.set_defaults(func=run_confirm)


def _paths(p: argparse.ArgumentParser, suppress: bool = False) -> None:
    # On sub-commands the defaults are suppressed so that `kb commitments --index X matrix` keeps X.
    default = argparse.SUPPRESS if suppress else None
    p.add_argument(
        "--index", metavar="DIR", default=default, help="index directory (default .kb, or KB_INDEX_DIR)"
    )
    p.add_argument(
        "--sources",
        metavar="DIR",
        default=default,
        help="sources directory, where compliance.toml lives (default sources, or KB_SOURCES_DIR)",
    )


def _open(args: argparse.Namespace):
    """The settings, the library (kb.api, the one service) and its commitment tracker."""
    from kb.api import Library

    settings = settings_from(args)
    library = Library(settings)
    return settings, library, library.commitments()[0]


def run_list(args: argparse.Namespace) -> int:
    if args.eval:
        return run_eval(args)
    from kb.commitments import listing, view
    from kb.commitments import topics as topics_mod

    settings, library, tracker = _open(args)
    taxonomy = topics_mod.load()
    docs = {d: r.document for d, r in library.records().items()}
    rows = listing.select(tracker, docs, _split(args.doc), _split(args.topic), _split(args.strength))
    if args.json:
        print(json.dumps([output.as_json(c, tracker, taxonomy) for c in rows], indent=2, ensure_ascii=False))
    elif args.csv:
        sys.stdout.write(output.as_csv(rows, tracker, docs))
    else:
        output.print_rows(rows, tracker, docs, taxonomy)
        for line in view.what_to_add(tracker):  # what the sources lack for the tracker to show more
            print(f"\nNote: {line}", file=sys.stderr)
    return 0


def run_evidence(args: argparse.Namespace) -> int:
    from kb.commitments import compliance, listing, matrix
    from kb.commitments import rules as rules_mod
    from kb.commitments import topics as topics_mod

    settings, library, tracker = _open(args)
    c = _one(tracker, args.id)
    if getattr(args, "json", False):
        data = listing.evidence(tracker, c.key, settings.sources_dir)
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    taxonomy, rules = topics_mod.load(), rules_mod.load()
    docs = {d: r.document for d, r in library.records().items()}
    m = matrix.build(tracker, compliance.load(settings.sources_dir), rules) if c.is_commitment else None
    width = output.width()
    print(f"{c.id}  {c.citation}")
    print(f"  {c.strength} · actor: {c.actor} · topics: {output.topics(c, taxonomy)}")
    print(textwrap.fill(f"“{c.text}”", width, initial_indent="  ", subsequent_indent="  "))
    if not c.is_commitment:
        print("\n  An acknowledgement: kept visible, not a commitment; no evidence or compliance score.")
        return 0
    lin = tracker.lineage.get(c.key)
    if lin:
        print(f"\nLineage: {lin.explained}")
        for key in lin.chain:
            other = tracker.get(key)
            if other:
                print(
                    f"  {'→ ' if key != lin.chain[0] else '  '}{docs[other.doc_id].cite_title if other.doc_id in docs else other.doc_id} {other.id}"
                )
        for link in lin.links:
            other = tracker.get(link.key)
            if other:
                print(
                    textwrap.fill(
                        f"{link.direction} ({link.similarity:.2f}, {link.strength_change}): {other.citation}: “{other.text}”",
                        width,
                        initial_indent="  - ",
                        subsequent_indent="    ",
                    )
                )
    print("\nEvidence of implementation (national documents dated after the commitment)")
    evidence = tracker.evidence.get(c.key, [])
    for country in m.countries:
        cell = m.cell(c.key, country)
        s = cell.score
        label = f"{s.score:+d} {compliance.SCALE[s.score]} ({s.status}{', STALE' if s.stale else ''})"
        if s.no_documents:
            label = f"no documents from {country} indexed: no score"
        print(
            f"  {country}: {cell.evidence} passage{'s' * (cell.evidence != 1)}, best {cell.best:.2f} · {label}"
        )
        if s.note or s.reason:
            print(
                textwrap.fill(s.note or s.reason, width, initial_indent="      ", subsequent_indent="      ")
            )
        for e in (x for x in evidence if x.country == country):
            print(
                textwrap.fill(
                    f"[{e.score:.2f}] {e.citation}: {e.text}",
                    width,
                    initial_indent="      ",
                    subsequent_indent="        ",
                )
            )
    return 0


def run_matrix(args: argparse.Namespace) -> int:
    from kb.commitments import compliance, matrix
    from kb.commitments import rules as rules_mod

    settings, library, tracker = _open(args)
    m = matrix.build(tracker, compliance.load(settings.sources_dir), rules_mod.load())
    titles = {d: r.document.cite_title for d, r in library.records().items()}
    if args.csv_file:
        Path(args.csv_file).write_text(matrix.to_csv(m, titles), encoding="utf-8")
        print(
            f"Matrix written to {args.csv_file} ({len(m.rows)} commitments × {len(m.countries)} countries)",
            file=sys.stderr,
        )
    if args.png:
        matrix.heatmap(m, Path(args.png), titles)
        print(f"Heatmap written to {args.png}", file=sys.stderr)
    if getattr(args, "json", False):
        print(
            json.dumps(
                {
                    "countries": m.countries,
                    "rows": [
                        {
                            "commitment": c.key,
                            "id": c.id,
                            "cells": {
                                k: {
                                    "evidence": m.cell(c.key, k).evidence,
                                    "best": round(m.cell(c.key, k).best, 4),
                                    **m.cell(c.key, k).score.to_dict(),
                                }
                                for k in m.countries
                            },
                        }
                        for c in m.rows
                    ],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return 0
    if args.csv_file or args.png:
        return 0
    docs = {d: r.document for d, r in library.records().items()}
    print(
        "Compliance: +1 full, 0 work in progress, -1 no evidence · ✓ confirmed, otherwise suggested · (n) "
        "evidence passages · 'no docs': no document of that country indexed\n"
    )
    print(f"{'commitment':<34}" + "".join(f"{k:>9}" for k in m.countries))
    for c in m.rows:
        label = f"{output.short(docs[c.doc_id].cite_title if c.doc_id in docs else c.doc_id, 24)} {c.id}"
        cells = []
        for k in m.countries:
            cell = m.cell(c.key, k)
            mark = "✓" if cell.score.status == "confirmed" else " "
            shown = "no docs" if cell.score.no_documents else f"{cell.score.score:+d}{mark}({cell.evidence})"
            cells.append(shown.rjust(9))
        print(f"{label:<34}" + "".join(cells))
    stale = [s for s in (m.cell(c.key, k).score for c in m.rows for k in m.countries) if s.stale]
    if stale:
        print(
            f"\n{len(stale)} confirmed score(s) are stale: the commitment's words changed since confirmation; "
            "check them with `kb commitments evidence ID` and confirm again."
        )
    return 0


def run_confirm(args: argparse.Namespace) -> int:
    from kb.commitments import compliance

    settings, library, tracker = _open(args)
    c = _one(tracker, args.id)
    conf = compliance.confirm(settings.sources_dir, c, args.country, args.score, args.note)
    print(
        f"Confirmed {conf.commitment} for {conf.country}: {conf.score:+d} ({compliance.SCALE[conf.score]}) "
        f"in {compliance.path_for(settings.sources_dir)}"
    )
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from kb.commitments import evaluate, suggestions
    from kb.commitments import rules as rules_mod
    from kb.commitments import topics as topics_mod

    settings, library, tracker = _open(args)
    docs = {c.doc_id for c in tracker.commitments} | set(_gold_docs(args))
    passages = {d: library.document_passages(d) for d in docs if d in library.records()}
    report = evaluate.evaluate(
        settings, tracker.commitments, passages, topics_mod.load(), Path(args.gold) if args.gold else None
    )
    labelled = Path(args.labelled) if args.labelled else None
    suggested = suggestions.evaluate(
        settings, tracker.commitments, rules_mod.load(), topics_mod.load(), labelled
    )
    if args.json:
        print(
            json.dumps({**report.to_dict(), "suggestions": suggested.to_dict()}, indent=2, ensure_ascii=False)
        )
        return 0
    a = report.acknowledgements
    print(f"Gold file: {args.gold or evaluate.GOLD_PATH} · documents: {', '.join(report.documents)}")
    if report.missing_documents:
        print(f"Not in the index (left out): {', '.join(report.missing_documents)}")
    print(
        f"Commitments:      precision {report.precision:.3f}  recall {report.recall:.3f}  "
        f"({report.matched} matched of {report.extracted} extracted, {report.gold} in gold)"
    )
    print(f"Strength:         accuracy {report.strength_accuracy:.3f} on matched commitments")
    print(
        f"Topics:           accuracy {report.topic_accuracy:.3f} (exact set)  label precision "
        f"{report.topic_precision:.3f}  recall {report.topic_recall:.3f}"
    )
    print(
        f"Acknowledgements: precision {a['precision']:.3f}  recall {a['recall']:.3f} "
        f"({a['matched']} matched of {a['extracted']} extracted, {a['gold']} in gold)"
    )
    for title, items in (("Missed", report.missed), ("Extracted but not in gold", report.spurious)):
        for item in items:
            print(f"  {title}: {item['doc']} {item['id']}: {item['span'][:100]}")
    for item in report.strength_errors:
        print(f"  Strength: {item['doc']} {item['id']}: gold {item['gold']}, extracted {item['predicted']}")
    for item in report.topic_errors:
        print(f"  Topics: {item['doc']} {item['id']}: gold {item['gold']}, predicted {item['predicted']}")
    output.print_suggestions(suggested, labelled or suggestions.LABELLED_PATH)
    return 0


def _gold_docs(args) -> list[str]:
    from kb.commitments import evaluate

    gold_c, gold_a = evaluate.load_gold(Path(args.gold) if args.gold else None)
    return [g.doc_id for g in gold_c + gold_a]


def _one(tracker, ref: str):
    from kb.commitments import listing

    return listing.one(tracker, ref)


def _split(values: list[str]) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]
