"""The evaluation figures of the README and of docs/evaluation.md, from the committed reference
reports (evals/reports/<suite>/report.json).

    python -m evals.readme_figures            # rewrite the pages' figures from the reports
    python -m evals.readme_figures --check    # exit 1, naming each figure, when they disagree

It owns two kinds of row:

- in docs/evaluation.md's table, the rows of a suite with a committed report, for the runs that
  report holds (dense, bm25, **hybrid**): Recall@5, nDCG@10, MRR@10, checks passed, false abstain
  and false answer rates. Every run of every committed report must have its row there. Other rows
  (another model, the misspelled suite) come from the commands quoted beside them.
- in the README's headline table, a row that links a report as `[suite, run](evals/reports/suite/report.md)`:
  each figure it names (`Recall@5 0.907`, `nDCG@10 0.936`, `MRR@10 …`, `false abstain 0.06`,
  `false answer 0.15`, `checks 32/34`) must be that run's. The README must have at least one.

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
EVALUATION = ROOT / "docs" / "evaluation.md"
REPORTS = ROOT / "evals" / "reports"
_SUITE_ROW = re.compile(r"^\| \[([\w-]+)\]\((?:\.\./)*evals/reports/([\w-]+)/report\.md\)")
_HEADLINE = re.compile(r"\[[\w-]+, (\w+)\]\((?:\.\./)*evals/reports/([\w-]+)/report\.md\)")
_FIGURE = re.compile(
    r"(Recall@5|nDCG@10|MRR@10) (\*\*|)(\d\.\d{3})\2|(false abstain|false answer) (\d\.\d\d|—)|(checks) (\d+/\d+|—)"
)
HEADERS = ("Recall@5", "nDCG@10", "MRR@10", "Checks", "False abstain", "False answer")


def cells(run: dict) -> list[str]:
    """The six figures of one run, as the pages write them."""
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


def _report(reports: Path, suite: str) -> dict | None:
    path = reports / suite / "report.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _table_row(line: str, name: str, suite: dict, changes: list[str], seen: set) -> str:
    """A row of the evaluation table, rewritten from its run (unchanged when it names no run)."""
    parts = line.split(" | ")
    if len(parts) != 8:
        return line
    label = parts[1].strip()
    run = suite["runs"].get(label.strip("*"))
    if run is None or label not in (run["mode"], f"**{run['mode']}**"):
        return line
    seen.add((name, run["mode"]))
    bold = label.startswith("**")
    new = cells(run)
    new[:3] = [f"**{x}**" if bold else x for x in new[:3]]
    old = [p.strip() for p in parts[2:7]] + [parts[7].rstrip(" |")]
    for header, was, now in zip(HEADERS, old, new, strict=True):
        if was != now:
            changes.append(f"{name} {label.strip('*')} {header}: page {was}, report {now}")
    return " | ".join([*parts[:2], *new[:5], new[5] + " |"])


def _headline_row(line: str, reports: Path, changes: list[str]) -> tuple[str, int]:
    """A headline row with each figure it names rewritten from the run it links; and how many."""
    m = _HEADLINE.search(line)
    label, name = m.group(1), m.group(2)
    suite = _report(reports, name)
    run = suite["runs"].get(label) if suite else None
    if run is None:
        changes.append(f"{name} {label}: no such run in {name}/report.json")
        return line, 0
    by_header = dict(zip(HEADERS, cells(run), strict=True))
    count = 0

    def fix(f: re.Match) -> str:
        nonlocal count
        count += 1
        if f.group(1):
            header, was, bold = f.group(1), f.group(3), f.group(2) or ""
        elif f.group(4):
            header, was, bold = f.group(4).capitalize(), f.group(5), ""
        else:
            header, was, bold = "Checks", f.group(7), ""
        now = by_header[header]
        if was != now:
            changes.append(f"{name} {label} {header}: page {was}, report {now}")
        return f.group(0).replace(f"{bold}{was}{bold}", f"{bold}{now}{bold}", 1)

    line = _FIGURE.sub(fix, line)
    if count == 0:
        changes.append(f"{name} {label}: the headline row links the report but names no figure")
    return line, count


def _rewrite(text: str, reports: Path) -> tuple[str, list[str], set, int]:
    """The text rewritten; the cells that changed; the (suite, run) table rows seen; headline figures."""
    lines, changes, suite, seen, headline = text.split("\n"), [], None, set(), 0
    for i, line in enumerate(lines):
        if not line.startswith("| "):
            suite = None
            continue
        if _HEADLINE.search(line):
            lines[i], n = _headline_row(line, reports, changes)
            headline += n
            continue
        m = _SUITE_ROW.match(line)
        if not line.startswith("| | "):  # a row that starts a suite's block, or no suite's
            suite = None
        if m:
            name = m.group(2)
            suite = _report(reports, name)
        if suite is not None:
            lines[i] = _table_row(line, name, suite, changes, seen)
    return "\n".join(lines), changes, seen, headline


def rewritten(text: str, reports: Path = REPORTS) -> tuple[str, list[str]]:
    """The text with the owned figures rewritten, and a line for each figure that changed."""
    new, changes, _, _ = _rewrite(text, reports)
    return new, changes


def problems(readme: Path = README, evaluation: Path = EVALUATION, reports: Path = REPORTS) -> list[str]:
    """Every disagreement between the pages and the reports, and every owned figure missing."""
    out = []
    _, changes, _, headline = _rewrite(readme.read_text(encoding="utf-8"), reports)
    out += [f"{readme.name}: {c}" for c in changes]
    if headline == 0:
        out.append(
            f"{readme.name}: no headline figure links a report ([suite, run](evals/reports/…/report.md))"
        )
    _, changes, seen, _ = _rewrite(evaluation.read_text(encoding="utf-8"), reports)
    out += [f"{evaluation.name}: {c}" for c in changes]
    for path in sorted(reports.glob("*/report.json")):
        for label in json.loads(path.read_text(encoding="utf-8"))["runs"]:
            if (path.parent.name, label) not in seen:
                out.append(f"{evaluation.name}: no row for {path.parent.name} {label}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evals.readme_figures", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when they disagree")
    args = parser.parse_args(argv)
    found = problems()
    for problem in found:
        print(problem)
    if args.check:
        return 1 if found else 0
    for page in (README, EVALUATION):
        text, changes = rewritten(page.read_text(encoding="utf-8"))
        page.write_text(text, encoding="utf-8")
        print(f"{page.relative_to(ROOT)}: {len(changes)} figures updated from {REPORTS.relative_to(ROOT)}/")
    return 1 if problems() else 0


if __name__ == "__main__":
    sys.exit(main())
