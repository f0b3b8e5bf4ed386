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

import difflib
from pathlib import Path

import yaml

from kb.api import Library
from kb.errors import UsageError
from kb.evaluate import validate
from kb.evaluate.types import Judged, Judgment, Query, Suite  # noqa: F401  (Query: the suite's data, as suite.Query)
from kb.search.query import Filters, check_filters
from kb.types import Hit, Passage

UNKNOWN_LANGUAGE = "?"  # a document whose manifest entry gives no language


class SuiteError(UsageError):
    """A suite file is malformed or does not match the index; the message names the query or check."""


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
    unknown = set(data) - validate.SUITE_KEYS
    if unknown:
        errors.append(
            f"unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(validate.SUITE_KEYS))}"
        )
    name = str(data.get("name") or path.stem)
    corpus = validate.read_corpus(data, path, errors)
    k = data.get("k", 10)
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        errors.append(f"k must be a positive whole number, got {k!r}")
        k = 10
    queries = validate.read_queries(data.get("queries"), errors)
    checks = validate.read_checks(data.get("checks") or [], errors)
    if errors:
        raise SuiteError(f"{path}: " + validate.listing(errors))
    return Suite(name, path, corpus, k, str(data.get("description") or "").strip(), queries, checks)


def resolve(suite: Suite, index: Library) -> Judged:
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
        raise SuiteError(
            f"{suite.path}: does not match the index in {index.settings.index_dir}/: "
            + validate.listing(errors)
        )
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
