"""`kb feedback export`: turn the app's "wrong passage" / "wrong citation" reports into draft evaluation queries."""

from __future__ import annotations

import argparse
from pathlib import Path

from kb.cli.options import add_index_options, settings_from


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "feedback",
        help="work with the feedback users sent from the app",
        description="Work with the feedback users sent from the app (stored in INDEX/feedback.jsonl).",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    exp = actions.add_parser(
        "export",
        help="write the reports marked wrong as draft evaluation queries (YAML)",
        description="Write the reports marked 'wrong passage' or 'wrong citation' as draft queries in the format of "
        "evals/suites/*.yaml, with `relevant:` left for an evaluator to complete.",
    )
    add_index_options(exp)
    exp.add_argument("--file", metavar="FILE", help="feedback file (default INDEX/feedback.jsonl)")
    exp.add_argument("--out", metavar="FILE", help="write the YAML here (default: print it)")
    exp.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    from kb import feedback

    settings = settings_from(args)
    path = Path(args.file) if args.file else feedback.feedback_path(settings)
    reports = feedback.load(path)
    text = feedback.draft_suite(reports, source=str(path))
    if not args.out:
        print(text, end="")
        return 0
    Path(args.out).write_text(text, encoding="utf-8")
    wrong = sum(1 for r in reports if r.verdict in feedback.WRONG)
    print(
        f"Wrote {wrong} draft quer{'y' if wrong == 1 else 'ies'} ({len(reports)} reports in {path}) to {args.out}."
    )
    return 0
