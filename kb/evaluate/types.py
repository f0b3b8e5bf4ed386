"""The plain data of an evaluation suite: its questions with their judgments, its behavioural
checks, and the judgments resolved against an index."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kb.evaluate.corpus import Corpus
from kb.search.query import Filters


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
    """A behavioural check (kind: must_include, must_not_include, same_top, phrase, filter, quotes)."""

    id: str
    kind: str
    questions: tuple[str, ...]
    passage: Judgment | None = None
    k: int | None = None  # None: the suite's k
    filters: Filters = field(default_factory=Filters)
    quote: str = ""  # quotes: words the answer's quoted sentences must contain


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
