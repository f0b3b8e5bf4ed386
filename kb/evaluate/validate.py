"""Checking the parts of a suite file (corpus, queries, judgments, filters, checks) as they are
read: each problem a sentence naming its query or check, collected so that all are told at once."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

from kb.errors import UsageError
from kb.evaluate.corpus import Corpus
from kb.evaluate.types import Check, Judgment, Query
from kb.search.query import Filters
from kb.search.reading import read

FILTER_KEYS = ("type", "country", "issuer", "doc", "since", "until", "language")
CHECK_KINDS = ("must_include", "must_not_include", "same_top", "phrase", "filter", "quotes")
SUITE_KEYS = {"name", "description", "corpus", "manifest", "subset", "k", "queries", "checks"}
_QUERY_KEYS = {"id", "question", "filters", "relevant", "answerable", "note", "language"}
_JUDGMENT_KEYS = {"doc", "paragraph", "contains", "grade"}
_CHECK_KEYS = {"id", "kind", "question", "questions", "passage", "k", "filters", "note", "quote"}
_ID = re.compile(r"^\S+$")
_LANGUAGE = re.compile(r"^[a-z]{2}$")  # ISO 639-1


def read_corpus(data: dict, path: Path, errors: list[str]) -> Corpus:
    """The corpus a suite runs on (its sources folders, manifest and subset); problems go to `errors`."""
    root = (
        path.resolve().parent.parent.parent
    )  # corpus paths are relative to the repository root (evals/suites/../..)
    raw = data.get("corpus")
    dirs = [raw] if isinstance(raw, str) else raw
    if not dirs or not isinstance(dirs, list) or not all(isinstance(d, str) and d for d in dirs):
        errors.append("corpus must be a directory or a list of directories (relative to the repository root)")
        return Corpus(())
    resolved = tuple((root / d).resolve() for d in dirs)
    for d, full in zip(dirs, resolved):
        if not full.is_dir():
            errors.append(f"corpus directory {d!r} does not exist (looked for {full})")
    manifest = data.get("manifest")
    manifest_path = None
    if manifest is not None:
        manifest_path = (root / str(manifest)).resolve()
        if not manifest_path.is_file():
            errors.append(f"manifest {manifest!r} does not exist (looked for {manifest_path})")
    subset = data.get("subset") or []
    subset = [subset] if isinstance(subset, str) else subset
    if not isinstance(subset, list) or not all(isinstance(s, str) and s for s in subset):
        errors.append("subset must be a glob or a list of globs, relative to the corpus directory")
        subset = []
    return Corpus(resolved, manifest_path, tuple(subset))


def read_queries(raw: object, errors: list[str]) -> tuple[Query, ...]:
    """The suite's judged questions; problems go to `errors`, each naming its query."""
    if not isinstance(raw, list) or not raw:
        errors.append("queries must be a non-empty list")
        return ()
    queries: list[Query] = []
    seen: set[str] = set()
    for n, entry in enumerate(raw, start=1):
        who = f"query #{n}"
        if not isinstance(entry, dict):
            errors.append(f"{who}: must be a mapping with id and question")
            continue
        qid, who = _identify(entry, "query", who, _QUERY_KEYS, seen, errors)
        question = entry.get("question")
        if not isinstance(question, str) or not question.strip():
            errors.append(f"{who}: question is required")
            question = ""
        answerable = entry.get("answerable", True)
        if not isinstance(answerable, bool):
            errors.append(f"{who}: answerable must be true or false")
            answerable = True
        relevant = entry.get("relevant") or []
        if not isinstance(relevant, list):
            errors.append(
                f"{who}: relevant must be a list of {{doc, paragraph}} or {{doc, contains}} entries"
            )
            relevant = []
        judgments = tuple(j for j in (read_judgment(who, r, errors, graded=True) for r in relevant) if j)
        if answerable and not relevant:
            errors.append(
                f"{who}: no relevant passage given (add `relevant:` or mark it `answerable: false`)"
            )
        if not answerable and relevant:
            errors.append(f"{who}: marked `answerable: false` but lists relevant passages")
        filters = read_filters(who, entry.get("filters"), errors)
        language = entry.get("language", "")
        if language and not (isinstance(language, str) and _LANGUAGE.match(language)):
            errors.append(
                f"{who}: language must be a two-letter ISO 639-1 code such as fr or ja, got {language!r}"
            )
            language = ""
        queries.append(Query(qid, question.strip(), judgments, filters, answerable, language))
    return tuple(queries)


def read_judgment(who: str, raw: object, errors: list[str], graded: bool) -> Judgment | None:
    """One judgment (by document and paragraph, or by a fragment), or None when it is malformed."""
    keys = _JUDGMENT_KEYS if graded else _JUDGMENT_KEYS - {"grade"}
    if not isinstance(raw, dict):
        errors.append(f'{who}: a relevant passage is a mapping like {{doc: ID, paragraph: "4"}}, got {raw!r}')
        return None
    unknown = set(raw) - keys
    if unknown:
        errors.append(
            f"{who}: unknown key(s) {', '.join(sorted(unknown))} in {raw!r}; allowed: {', '.join(sorted(keys))}"
        )
        return None
    doc, paragraph, contains = raw.get("doc", ""), raw.get("paragraph", ""), raw.get("contains", "")
    if isinstance(paragraph, int) and not isinstance(paragraph, bool):
        paragraph = str(paragraph)
    if not isinstance(paragraph, str):
        errors.append(f'{who}: paragraph must be a quoted label like "4" or "3(a)", got {paragraph!r}')
        return None
    if not isinstance(doc, str) or not isinstance(contains, str):
        errors.append(f"{who}: doc and contains must be strings in {raw!r}")
        return None
    grade = raw.get("grade", 1)
    if not isinstance(grade, int) or isinstance(grade, bool) or grade < 1:
        errors.append(f"{who}: grade must be a whole number of at least 1, got {grade!r}")
        return None
    if paragraph and contains:
        errors.append(f"{who}: give paragraph or contains, not both, in {raw!r}")
        return None
    if paragraph and not doc:
        errors.append(f"{who}: paragraph {paragraph!r} needs a doc")
        return None
    if not paragraph and not contains.strip():
        errors.append(f"{who}: name a passage by doc + paragraph or by contains, in {raw!r}")
        return None
    return Judgment(doc.strip(), paragraph.strip(), contains.strip(), grade)


def read_filters(who: str, raw: object, errors: list[str]) -> Filters:
    """A query's or check's filters, checked as the `kb` command checks them (empty when malformed)."""
    if raw is None:
        return Filters()
    if not isinstance(raw, dict):
        errors.append(f"{who}: filters must be a mapping with keys {', '.join(FILTER_KEYS)}")
        return Filters()
    unknown = set(raw) - set(FILTER_KEYS)
    if unknown:
        errors.append(
            f"{who}: unknown filter(s) {', '.join(sorted(unknown))}; allowed: {', '.join(FILTER_KEYS)}"
        )
        return Filters()

    def values(key: str) -> tuple[str, ...]:
        v = raw.get(key) or []
        return tuple(str(x) for x in ([v] if isinstance(v, str | int) else v))

    def date(key: str) -> str:
        v = raw.get(key) or ""
        return v.isoformat() if isinstance(v, datetime.date) else str(v)

    try:
        return Filters(
            values("type"),
            values("country"),
            values("issuer"),
            values("doc"),
            date("since"),
            date("until"),
            languages=values("language"),
        )
    except UsageError as exc:
        errors.append(f"{who}: {str(exc).replace('--', '')}")
        return Filters()


def read_checks(raw: object, errors: list[str]) -> tuple[Check, ...]:
    """The suite's behavioural checks; problems go to `errors`, each naming its check."""
    if not isinstance(raw, list):
        errors.append("checks must be a list")
        return ()
    checks: list[Check] = []
    seen: set[str] = set()
    for n, entry in enumerate(raw, start=1):
        who = f"check #{n}"
        if not isinstance(entry, dict):
            errors.append(f"{who}: must be a mapping with id and kind")
            continue
        cid, who = _identify(entry, "check", who, _CHECK_KEYS, seen, errors)
        kind = entry.get("kind")
        if kind not in CHECK_KINDS:
            errors.append(f"{who}: kind must be one of {', '.join(CHECK_KINDS)}, got {kind!r}")
            continue
        if kind == "same_top":
            questions = entry.get("questions")
            if (
                not isinstance(questions, list)
                or len(questions) < 2
                or not all(isinstance(x, str) and x.strip() for x in questions)
            ):
                errors.append(f"{who}: same_top needs `questions:`, a list of at least two questions")
                continue
        else:
            question = entry.get("question")
            if not isinstance(question, str) or not question.strip():
                errors.append(f"{who}: question is required")
                continue
            questions = [question]
        questions = tuple(x.strip() for x in questions)
        passage = None
        if kind in ("must_include", "must_not_include"):
            passage = read_judgment(who, entry.get("passage"), errors, graded=False)
            if passage is None:
                continue
        k = entry.get("k")
        if k is not None and (not isinstance(k, int) or isinstance(k, bool) or k < 1):
            errors.append(f"{who}: k must be a positive whole number, got {k!r}")
            continue
        filters = read_filters(who, entry.get("filters"), errors)
        if kind == "phrase" and not read(questions[0], []).quoted:
            errors.append(f'{who}: a phrase check needs a "quoted phrase" in its question')
            continue
        if kind == "filter" and not filters:
            errors.append(f"{who}: a filter check needs `filters:`")
            continue
        quote = entry.get("quote", "")
        if kind == "quotes" and (not isinstance(quote, str) or not quote.strip()):
            errors.append(f"{who}: a quotes check needs `quote:`, the words the answer must quote")
            continue
        checks.append(Check(cid, kind, questions, passage, k, filters, quote.strip()))
    return tuple(checks)


def _identify(
    entry: dict, kind: str, who: str, keys: set[str], seen: set[str], errors: list[str]
) -> tuple[str, str]:
    """A query's or check's id, and how messages name it ("query q1"; `who`, "query #3", when it has
    none); a missing, malformed or repeated id and unknown keys go to `errors`."""
    eid = str(entry.get("id", "")).strip()
    if eid:
        who = f"{kind} {eid}"
    if not eid or not _ID.match(eid):
        errors.append(f"{who}: id is required and may not contain spaces")
    elif eid in seen:
        errors.append(f"{who}: duplicate id")
    seen.add(eid)
    unknown = set(entry) - keys
    if unknown:
        errors.append(
            f"{who}: unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(keys))}"
        )
    return eid, who


def listing(errors: list[str]) -> str:
    """The problems as one message: the only one, or a count and one per line."""
    if len(errors) == 1:
        return errors[0]
    return f"{len(errors)} problems:\n  " + "\n  ".join(errors)
