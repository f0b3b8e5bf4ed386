"""Evaluation suites: questions with judged passages, behavioural checks, and the corpus they run on.

A suite is a YAML file (format in evals/README.md). `load` checks its structure; `resolve`
checks its judgments against an index and turns them into relevance judgments (qrels) over
units that do not depend on chunking:

- a judgment by document + paragraph makes the paragraph `doc:paragraph` one relevant unit;
  every passage of it (all its parts) counts as that unit;
- a `contains:` judgment makes relevant the paragraph of every passage whose text contains the
  fragment, and only those passages count as it (another part of a split paragraph does not);
- a passage that matches no judgment is its own, non-relevant unit (its passage id).

A unit retrieved twice (two parts of one paragraph) counts once, at its best rank.
"""

from __future__ import annotations

import datetime
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kb.errors import UsageError
from kb.evaluate.corpus import Corpus
from kb.query import Filters, check_filters, parse_query
from kb.store import Index
from kb.types import Hit, Passage

FILTER_KEYS = ("type", "country", "issuer", "doc", "since", "until", "language")
CHECK_KINDS = ("must_include", "must_not_include", "same_top", "phrase", "filter")
_SUITE_KEYS = {"name", "description", "corpus", "manifest", "subset", "k", "queries", "checks"}
_QUERY_KEYS = {"id", "question", "filters", "relevant", "answerable", "note", "language"}
_JUDGMENT_KEYS = {"doc", "paragraph", "contains", "grade"}
_CHECK_KEYS = {"id", "kind", "question", "questions", "passage", "k", "filters", "note"}
_ID = re.compile(r"^\S+$")
_LANGUAGE = re.compile(r"^[a-z]{2}$")  # ISO 639-1
UNKNOWN_LANGUAGE = "?"  # a document whose manifest entry gives no language


class SuiteError(UsageError):
    """A suite file is malformed or does not match the index; the message names the query or check."""


@dataclass(frozen=True)
class Judgment:
    """A relevant passage as an evaluator names it: by document and paragraph, or by words it contains."""

    doc: str = ""
    paragraph: str = ""
    contains: str = ""
    grade: int = 1

    def describe(self) -> str:
        where = f"{self.doc}, para. {self.paragraph}" if self.paragraph else self.doc or "any document"
        return f'{where} containing "{self.contains}"' if self.contains else where


@dataclass(frozen=True)
class Query:
    """One judged question; `answerable: false` questions have no relevant passage (abstention tests)."""

    id: str
    question: str
    relevant: tuple[Judgment, ...] = ()
    filters: Filters = field(default_factory=Filters)
    answerable: bool = True
    language: str = ""  # ISO 639-1 code of the question's language, when the suite gives it


@dataclass(frozen=True)
class Check:
    """A behavioural check (kind: must_include, must_not_include, same_top, phrase, filter)."""

    id: str
    kind: str
    questions: tuple[str, ...]
    passage: Judgment | None = None
    k: int | None = None  # None: the suite's k
    filters: Filters = field(default_factory=Filters)


@dataclass(frozen=True)
class Suite:
    """A loaded suite. BEIR datasets load into the same shape with unit = "document"."""

    name: str
    path: Path
    corpus: Corpus
    k: int = 10
    description: str = ""
    queries: tuple[Query, ...] = ()
    checks: tuple[Check, ...] = ()
    unit: str = "paragraph"  # what one relevance judgment covers: "paragraph", or "document" (BEIR)
    external_ids: dict[str, str] = field(default_factory=dict, compare=False)  # index doc id → dataset id


@dataclass(frozen=True)
class Judged:
    """A suite's judgments resolved against one index."""

    qrels: dict[str, dict[str, int]]  # answerable query id → relevant unit → grade
    units: dict[str, dict[str, str]]  # query id → relevant passage id → the unit it counts as
    check_passages: dict[str, frozenset[str]]  # check id → ids of the passages its `passage` names
    # query id → the language(s) of the documents of its relevant passages ("en", "de+en"), for
    # suites whose questions give their language
    languages: dict[str, str] = field(default_factory=dict)


def load(path: Path) -> Suite:
    """Read and check a suite file; raises SuiteError listing every problem, each naming its query."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SuiteError(f"{path}: no such suite file") from None
    except yaml.YAMLError as exc:
        raise SuiteError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SuiteError(
            f"{path}: a suite is a YAML mapping with name, corpus and queries (see evals/README.md)"
        )
    errors: list[str] = []
    unknown = set(data) - _SUITE_KEYS
    if unknown:
        errors.append(
            f"unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(_SUITE_KEYS))}"
        )
    name = str(data.get("name") or path.stem)
    corpus = _corpus(data, path, errors)
    k = data.get("k", 10)
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        errors.append(f"k must be a positive whole number, got {k!r}")
        k = 10
    queries = _queries(data.get("queries"), errors)
    checks = _checks(data.get("checks") or [], errors)
    if errors:
        raise SuiteError(f"{path}: " + _listing(errors))
    return Suite(name, path, corpus, k, str(data.get("description") or "").strip(), queries, checks)


def resolve(suite: Suite, index: Index) -> Judged:
    """The suite's judgments as relevance judgments over this index's passages.

    Raises SuiteError, naming the query or check, for unknown documents, paragraphs that do not
    exist, fragments found nowhere and filter values no document has: before anything is scored.
    """
    if suite.unit == "document":
        qrels = {q.id: {j.doc: j.grade for j in q.relevant} for q in suite.queries if q.answerable}
        return Judged(qrels, {}, {})
    documents = {r.document.id: r.document for r in index.records().values()}
    by_doc: dict[str, list[Passage]] = {}
    for passage, _ in index.all_passages():
        by_doc.setdefault(passage.doc_id, []).append(passage)
    for passages in by_doc.values():
        passages.sort(key=lambda p: p.seq)
    errors: list[str] = []
    qrels: dict[str, dict[str, int]] = {}
    units: dict[str, dict[str, str]] = {}
    languages: dict[str, str] = {}
    for q in suite.queries:
        _check_filters(f"query {q.id}", q.filters, documents, errors)
        mine: dict[str, str] = {}
        grades: dict[str, int] = {}
        found: set[str] = set()
        for j in q.relevant:
            for p in _passages_for(f"query {q.id}", j, documents, by_doc, errors):
                unit = mine.setdefault(p.id, unit_id(p))
                grades[unit] = max(grades.get(unit, 0), j.grade)
                found.add(documents[p.doc_id].language or UNKNOWN_LANGUAGE)
        units[q.id] = mine
        if q.answerable:
            qrels[q.id] = grades
            if q.language:
                languages[q.id] = "+".join(sorted(found)) or UNKNOWN_LANGUAGE
    check_passages: dict[str, frozenset[str]] = {}
    for c in suite.checks:
        _check_filters(f"check {c.id}", c.filters, documents, errors)
        if c.passage is not None:
            found = _passages_for(f"check {c.id}", c.passage, documents, by_doc, errors)
            check_passages[c.id] = frozenset(p.id for p in found)
    if errors:
        raise SuiteError(f"{suite.path}: does not match the index in {index.dir}/: " + _listing(errors))
    return Judged(qrels, units, check_passages, languages)


def unit_id(passage: Passage) -> str:
    """The chunking-independent unit of a relevant passage: `doc:paragraph` (no white space)."""
    return f"{passage.doc_id}:{passage.paragraph}".replace(" ", "_")


def hit_unit(suite: Suite, judged: Judged, query_id: str, hit: Hit) -> str:
    """What a retrieved passage counts as for one query: a relevant unit, a BEIR document, or itself."""
    if suite.unit == "document":
        return suite.external_ids.get(hit.document.id, hit.document.id)
    return judged.units.get(query_id, {}).get(hit.passage.id) or hit.passage.id.replace(" ", "_")


def normalise(text: str) -> str:
    """Text as fragments are matched: case-folded, white space collapsed to single spaces."""
    return " ".join(text.casefold().split())


def _passages_for(
    who: str, j: Judgment, documents: dict, by_doc: dict[str, list[Passage]], errors: list[str]
) -> list[Passage]:
    if j.doc and j.doc not in documents:
        close = difflib.get_close_matches(j.doc, list(documents), n=3)
        hint = (
            f"; did you mean {', '.join(close)}?" if close else f"; the index has {len(documents)} documents"
        )
        errors.append(f"{who}: unknown document {j.doc!r}{hint}")
        return []
    if j.paragraph:
        found = [p for p in by_doc.get(j.doc, []) if p.paragraph == j.paragraph]
        if not found:
            labels = list(dict.fromkeys(p.paragraph for p in by_doc.get(j.doc, [])))
            shown = ", ".join(labels[:25]) + (" …" if len(labels) > 25 else "")
            errors.append(
                f"{who}: document {j.doc!r} has no paragraph {j.paragraph!r} (its paragraphs: {shown or 'none'})"
            )
        return found
    fragment = normalise(j.contains)
    pool = by_doc.get(j.doc, []) if j.doc else [p for ps in by_doc.values() for p in ps]
    found = [p for p in pool if fragment in normalise(p.text)]
    if not found:
        where = f"document {j.doc!r}" if j.doc else "the index"
        errors.append(f"{who}: the fragment {j.contains!r} is found nowhere in {where}")
    return found


def _check_filters(who: str, filters: Filters, documents: dict, errors: list[str]) -> None:
    try:
        check_filters(filters, list(documents.values()))
    except UsageError as exc:
        errors.append(f"{who}: {exc}")


def _corpus(data: dict, path: Path, errors: list[str]) -> Corpus:
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


def _queries(raw: object, errors: list[str]) -> tuple[Query, ...]:
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
        qid = str(entry.get("id", "")).strip()
        if qid:
            who = f"query {qid}"
        if not qid or not _ID.match(qid):
            errors.append(f"{who}: id is required and may not contain spaces")
        elif qid in seen:
            errors.append(f"{who}: duplicate id")
        seen.add(qid)
        unknown = set(entry) - _QUERY_KEYS
        if unknown:
            errors.append(
                f"{who}: unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(_QUERY_KEYS))}"
            )
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
        judgments = tuple(j for j in (_judgment(who, r, errors, graded=True) for r in relevant) if j)
        if answerable and not relevant:
            errors.append(
                f"{who}: no relevant passage given (add `relevant:` or mark it `answerable: false`)"
            )
        if not answerable and relevant:
            errors.append(f"{who}: marked `answerable: false` but lists relevant passages")
        filters = _filters(who, entry.get("filters"), errors)
        language = entry.get("language", "")
        if language and not (isinstance(language, str) and _LANGUAGE.match(language)):
            errors.append(
                f"{who}: language must be a two-letter ISO 639-1 code such as fr or ja, got {language!r}"
            )
            language = ""
        queries.append(Query(qid, question.strip(), judgments, filters, answerable, language))
    return tuple(queries)


def _judgment(who: str, raw: object, errors: list[str], graded: bool) -> Judgment | None:
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


def _filters(who: str, raw: object, errors: list[str]) -> Filters:
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


def _checks(raw: object, errors: list[str]) -> tuple[Check, ...]:
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
        cid = str(entry.get("id", "")).strip()
        if cid:
            who = f"check {cid}"
        if not cid or not _ID.match(cid):
            errors.append(f"{who}: id is required and may not contain spaces")
        elif cid in seen:
            errors.append(f"{who}: duplicate id")
        seen.add(cid)
        unknown = set(entry) - _CHECK_KEYS
        if unknown:
            errors.append(
                f"{who}: unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(_CHECK_KEYS))}"
            )
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
            passage = _judgment(who, entry.get("passage"), errors, graded=False)
            if passage is None:
                continue
        k = entry.get("k")
        if k is not None and (not isinstance(k, int) or isinstance(k, bool) or k < 1):
            errors.append(f"{who}: k must be a positive whole number, got {k!r}")
            continue
        filters = _filters(who, entry.get("filters"), errors)
        if kind == "phrase" and not parse_query(questions[0], Filters(), []).phrases:
            errors.append(f'{who}: a phrase check needs a "quoted phrase" in its question')
            continue
        if kind == "filter" and not filters:
            errors.append(f"{who}: a filter check needs `filters:`")
            continue
        checks.append(Check(cid, kind, questions, passage, k, filters))
    return tuple(checks)


def _listing(errors: list[str]) -> str:
    if len(errors) == 1:
        return errors[0]
    return f"{len(errors)} problems:\n  " + "\n  ".join(errors)
