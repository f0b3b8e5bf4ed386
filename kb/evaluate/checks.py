"""Behavioural checks: plain pass/fail tests of retrieval beside the ranked metrics.

must_include / must_not_include: a passage is (not) in the top k for a question;
same_top: several wordings of a question (acronym and expansion, paraphrases) get the same
top paragraph; phrase: every returned passage contains the question's "quoted phrase";
filter: every returned passage's document matches the filters; quotes: the sentences the answer
quotes contain the expected words (the figure of a "how many" question, the date of a "when").
"""

from __future__ import annotations

from dataclasses import dataclass

from kb.api import AskRequest, Library
from kb.evaluate.suite import normalise
from kb.evaluate.types import Check, Judged
from kb.search.reading import read
from kb.types import Hit


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check in one run; `returned` holds the citations each question got."""

    id: str
    kind: str
    passed: bool
    detail: str
    returned: tuple[tuple[str, ...], ...]

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "passed": self.passed,
            "detail": self.detail,
            "returned": [list(r) for r in self.returned],
        }


def run_check(library: Library, check: Check, judged: Judged, mode: str, k: int) -> CheckResult:
    """Ask the check's question(s) in one mode and judge what came back."""
    k = check.k or k
    if check.kind == "quotes":
        return _quotes(library, check, mode, k)
    results = [
        [c.hit for c in library.answer(AskRequest(q, mode, k, check.filters, answer=False)).passages]
        for q in check.questions
    ]
    returned = tuple(tuple(h.citation for h in hits) for hits in results)
    passed, detail = _JUDGES[check.kind](check, results[0], results, judged, k)
    return CheckResult(check.id, check.kind, passed, detail, returned)


def _must_include(check: Check, hits: list[Hit], _all, judged: Judged, k: int) -> tuple[bool, str]:
    wanted = judged.check_passages.get(check.id, frozenset())
    ranks = [h.rank for h in hits if h.passage.id in wanted]
    if ranks:
        return True, f"{check.passage.describe()} at rank {ranks[0]}"
    return False, f"{check.passage.describe()} is not in the top {k}"


def _must_not_include(check: Check, hits: list[Hit], _all, judged: Judged, k: int) -> tuple[bool, str]:
    wanted = judged.check_passages.get(check.id, frozenset())
    ranks = [h.rank for h in hits if h.passage.id in wanted]
    if ranks:
        return False, f"{check.passage.describe()} is at rank {ranks[0]} (should not be in the top {k})"
    return True, f"{check.passage.describe()} is not in the top {k}"


def _same_top(check: Check, _hits, results: list[list[Hit]], _judged, _k) -> tuple[bool, str]:
    tops = [(h[0].document.id, h[0].passage.paragraph) if h else None for h in results]
    shown = "; ".join(
        f"{q!r} → {h[0].citation if h else 'nothing'}" for q, h in zip(check.questions, results)
    )
    return (tops[0] is not None and len(set(tops)) == 1), shown


def _phrase(check: Check, hits: list[Hit], _all, _judged, _k) -> tuple[bool, str]:
    phrases = read(check.questions[0], []).quoted
    if not hits:
        return False, "nothing was returned"
    wanted = [normalise(p) for p in phrases]
    lacking = [h for h in hits if not all(w in normalise(h.passage.text) for w in wanted)]
    if lacking:
        return (
            False,
            f"{len(lacking)} of {len(hits)} passages lack the phrase: {', '.join(h.citation for h in lacking[:5])}",
        )
    return True, f"all {len(hits)} passages contain it"


def _filter(check: Check, hits: list[Hit], _all, _judged, _k) -> tuple[bool, str]:
    if not hits:
        return False, "nothing was returned"
    outside = [h for h in hits if not check.filters.admits(h.document)]
    if outside:
        return False, f"{len(outside)} of {len(hits)} passages are outside the filters: " + ", ".join(
            f"{h.citation} ({h.document.type}, {h.document.country or 'no country'}, {h.document.date or 'no date'})"
            for h in outside[:5]
        )
    return True, f"all {len(hits)} passages match"


def _quotes(library: Library, check: Check, mode: str, k: int) -> CheckResult:
    answer = library.answer(AskRequest(check.questions[0], mode, k, check.filters))
    quoted = [s.text for s in answer.sentences]
    passed = normalise(check.quote) in normalise(" ".join(quoted))
    detail = f"{'quotes' if passed else 'does not quote'} {check.quote!r}" + (
        "" if passed else f"; quoted: {' | '.join(q[:120] for q in quoted) or 'nothing (abstained)'}"
    )
    return CheckResult(
        check.id, check.kind, passed, detail, (tuple(c.hit.citation for c in answer.passages),)
    )


_JUDGES = {
    "must_include": _must_include,
    "must_not_include": _must_not_include,
    "same_top": _same_top,
    "phrase": _phrase,
    "filter": _filter,
}
