"""The README's evaluation table, from the committed reference reports (evals/reports/<suite>/report.json).

    python -m evals.readme_figures            # rewrite the README's rows from the reports
    python -m evals.readme_figures --check    # exit 1, naming each cell, when they disagree

The rows it owns are those of a suite with a committed report, for the runs that report holds
(dense, bm25, **hybrid**): Recall@5, nDCG@10, MRR@10, checks passed, false abstain and false answer
rates. Other rows (another model, the misspelled suite) come from the commands quoted beside them.
Refresh the reports first with `kb eval SUITE --update-reference`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
REPORTS = ROOT / "evals" / "reports"
_SUITE_ROW = re.compile(r"^\| \[([\w-]+)\]\(evals/reports/([\w-]+)/report\.md\)")


def cells(run: dict) -> list[str]:
    """The six figures of one run, as the README writes them."""
    m, a = run["metrics"], run["abstention"]

    def rate(x: float | None) -> str:
        return "—" if x is None else f"{x:.2f}"

    checks = f"{run['checks_passed']}/{run['checks_total']}" if run.get("checks_total") else "—"
    return [
        f"{m['recall@5']:.3f}",
        f"{m['ndcg@10']:.3f}",
        f"{m['mrr@10']:.3f}",
        checks,
        rate(a.get("false_abstain")),
        rate(a.get("false_answer") if a.get("unanswerable") else None),
    ]


def rewritten(text: str, reports: Path = REPORTS) -> tuple[str, list[str]]:
    """The README text with the owned rows rewritten, and a line for each cell that changed."""
    lines, changes, suite = text.split("\n"), [], None
    for i, line in enumerate(lines):
        if not line.startswith("| "):
            suite = None
            continue
        m = _SUITE_ROW.match(line)
        if not line.startswith("| | "):  # a row that starts a suite's block, or no suite's
            suite = None
        if m:
            path = reports / m.group(2) / "report.json"
            suite = json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
            name = m.group(2)
        if suite is None:
            continue
        parts = line.split(" | ")
        if len(parts) != 8:
            continue
        label = parts[1].strip()
        run = suite["runs"].get(label.strip("*"))
        if run is None or label not in (run["mode"], f"**{run['mode']}**"):
            continue
        bold = label.startswith("**")
        new = cells(run)
        new[:3] = [f"**{x}**" if bold else x for x in new[:3]]
        old = [p.strip() for p in parts[2:7]] + [parts[7].rstrip(" |")]
        for header, was, now in zip(
            ("Recall@5", "nDCG@10", "MRR@10", "Checks", "False abstain", "False answer"),
            old,
            new,
            strict=True,
        ):
            if was != now:
                changes.append(f"{name} {label.strip('*')} {header}: README {was}, report {now}")
        lines[i] = " | ".join([*parts[:2], *new[:5], new[5] + " |"])
    return "\n".join(lines), changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evals.readme_figures", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when they disagree")
    args = parser.parse_args(argv)
    text, changes = rewritten(README.read_text(encoding="utf-8"))
    for change in changes:
        print(change)
    if args.check:
        return 1 if changes else 0
    README.write_text(text, encoding="utf-8")
    print(f"README.md: {len(changes)} figures updated from {REPORTS.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
