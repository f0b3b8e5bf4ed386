"""User feedback on answers, kept in a plain JSONL file, and its export as draft evaluation queries.

One line per report: the question, the verdict (helpful, wrong passage, wrong citation), an
optional comment and passage, and the passages the answer returned. `draft_suite` turns the
"wrong" reports into YAML entries in the suite format of evals/suites/ for an evaluator to complete.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kb.config import Settings
from kb.errors import KBError, UsageError

VERDICTS = {"helpful": "Helpful", "wrong-passage": "Wrong passage", "wrong-citation": "Wrong citation"}
WRONG = ("wrong-passage", "wrong-citation")
# Filter names in an answer (kb.search.query.Filters) and in a suite file (evals/suites/*.yaml).
SUITE_FILTERS = {
    "types": "type",
    "countries": "country",
    "issuers": "issuer",
    "doc_ids": "doc",
    "since": "since",
    "until": "until",
    "languages": "language",
}


@dataclass(frozen=True)
class Feedback:
    """One report on one answer."""

    question: str
    verdict: str  # a key of VERDICTS
    comment: str = ""
    passage_id: str = ""  # the passage the report is about, when the user picked one
    passages: tuple[dict, ...] = ()  # what the answer returned: marker, id, doc, paragraph, citation
    mode: str = "hybrid"
    filters: dict = field(default_factory=dict)
    abstained: bool = False
    at: str = ""


def feedback_path(settings: Settings) -> Path:
    """Where the app stores feedback: `<index dir>/feedback.jsonl`."""
    return settings.index_dir / "feedback.jsonl"


def from_answer(result: dict, verdict: str, comment: str = "", marker: int | None = None) -> Feedback:
    """A report on an answer dict (as `Answer.to_dict()` returns); `marker` picks one of its passages."""
    if verdict not in VERDICTS:
        raise UsageError(f"unknown feedback {verdict!r}; choose one of {', '.join(VERDICTS)}")
    passages = tuple(
        {
            "marker": p["marker"],
            "id": p["id"],
            "doc": p["document"]["id"],
            "paragraph": p["paragraph"],
            "citation": p["citation"],
        }
        for p in result["passages"]
    )
    chosen = next((p["id"] for p in passages if p["marker"] == marker), "")
    return Feedback(
        question=result["question"],
        verdict=verdict,
        comment=comment.strip(),
        passage_id=chosen,
        passages=passages,
        mode=result.get("mode", ""),
        filters=result.get("filters", {}),
        abstained=bool(result.get("abstained")),
        at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )


def record(path: Path, feedback: Feedback) -> None:
    """Append a report to the feedback file (created if needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(asdict(feedback), ensure_ascii=False) + "\n")


def load(path: Path) -> list[Feedback]:
    """Every report in the file; a malformed line raises UsageError naming it."""
    if not path.exists():
        raise KBError(f"no feedback file at {path}: nobody has sent feedback from the app yet")
    reports = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            reports.append(Feedback(**{**data, "passages": tuple(data.get("passages", ()))}))
        except (ValueError, TypeError) as exc:
            raise UsageError(f"{path}, line {n}: not a feedback record ({exc})") from None
    return reports


def draft_suite(reports: list[Feedback], source: str = "") -> str:
    """Draft evaluation queries (YAML, the query format of evals/suites/) from the "wrong" reports.

    `relevant:` is left empty for an evaluator to complete; the passages the answer returned are
    listed in comments as ready-made judgments, the one reported wrong marked.
    """
    wrong = [r for r in reports if r.verdict in WRONG]
    lines = [
        f"# Draft evaluation queries from user feedback: {len(wrong)} report(s) marked wrong"
        + (f" in {source}" if source else "")
        + f", exported {time.strftime('%Y-%m-%d %H:%M')}.",
        '# For each query, list under `relevant:` the passages that answer it ({doc: ID, paragraph: "N", grade: 2},',
        '# or {doc: ID, contains: "words", grade: 1}), or mark it `answerable: false`; then move it into a suite',
        "# under evals/suites/ (format: evals/README.md). The passages the answer returned are listed as comments.",
        "queries:" + (" []" if not wrong else ""),
    ]
    for n, r in enumerate(wrong, start=1):
        reported = next((p for p in r.passages if p["id"] == r.passage_id), None)
        note = f"User feedback {r.at or '(undated)'}: {VERDICTS[r.verdict].lower()}"
        note += f" ([{reported['marker']}] {reported['citation']})" if reported else ""
        note += f". Comment: {_oneline(r.comment)}" if r.comment else "."
        lines += [
            f"  - id: feedback-{r.at[:10].replace('-', '') or 'undated'}-{n:03d}",
            f"    question: {_scalar(r.question)}",
        ]
        filters = {SUITE_FILTERS[k]: v for k, v in r.filters.items() if k in SUITE_FILTERS and v}
        if filters:
            lines.append(f"    filters: {json.dumps(filters, ensure_ascii=False)}")
        lines += [
            f"    note: {_scalar(note)}",
            f"    # returned ({r.mode} search):" + ("" if r.passages else " nothing"),
        ]
        for p in r.passages:
            judgment = f"{{doc: {p.get('doc', '?')}, paragraph: {_scalar(str(p.get('paragraph', '?')))}}}"
            flag = f"  <- reported: {VERDICTS[r.verdict].lower()}" if p["id"] == r.passage_id else ""
            lines.append(f"    #   [{p['marker']}] {judgment}  {_oneline(p['citation'])}{flag}")
        lines.append("    relevant: []  # to complete: the passages that answer the question")
    return "\n".join(lines) + "\n"


def _scalar(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _oneline(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
