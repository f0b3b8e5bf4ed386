"""Plain data crossing the layers: documents, passages, retrieved hits."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

DOC_TYPES = (
    "declaration",
    "statement",
    "communique",
    "action-plan",
    "national-plan",
    "national-report",
    "other",
)
G7_TYPES = ("declaration", "statement", "communique", "action-plan")
# Between a table row's caption and its values: "Table 3: Returns — Country: Italy · Returns: 4,210".
TABLE_ROW_HEAD = " — "


@dataclass(frozen=True)
class Document:
    """A source document and its manifest metadata."""

    id: str
    title: str
    short_title: str = ""
    issuer: str = ""
    country: str = ""  # ISO 3166 alpha-3, or "G7"
    date: str = ""  # ISO date (YYYY-MM-DD, or YYYY-MM / YYYY when that is all that is known)
    type: str = "other"
    url: str = ""
    file: str = ""  # path under the sources directory; empty when not fetched yet
    sha256: str = ""  # recorded by `kb sources fetch`
    listed: bool = True  # False when found in sources/ without a manifest entry
    aliases: tuple[str, ...] = ()  # other names users call it by ("Kananaskis statement")
    language: str = ""  # ISO 639-1 code of the document's language ("" when not known)

    @property
    def cite_title(self) -> str:
        """The title used in citations."""
        return self.short_title or self.title

    @property
    def date_int(self) -> int:
        """The date as YYYYMMDD for range filters (missing month/day count as 01); 0 when unknown."""
        return date_to_int(self.date)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Passage:
    """One paragraph (or one part of a long paragraph) with exact provenance.

    `text` is exactly the source paragraph's text (or a contiguous part of it); `start`/`end`
    are its character offsets in the document's extracted text; `sentences` are the
    (start, end) offsets of its sentences within `text`.
    """

    id: str
    doc_id: str
    text: str
    paragraph: str  # the document's own number ("12", "12(a)") or the body paragraph's position
    part: int = 0  # position among the passages that share this paragraph label
    heading: str = ""
    page: int | None = None
    page_end: int | None = None
    start: int = 0
    end: int = 0
    seq: int = 0  # position of the passage in the document
    sentences: tuple[tuple[int, int], ...] = field(default=())
    ocr: bool = False  # read by OCR from a scanned page: check the original before quoting
    # A table's data row: the table's label ("3"), the row's name (its first cell), and each value
    # with its column heading; the text reads "<caption> — <heading>: <value> · …".
    table: str = ""
    row: str = ""
    cells: tuple[tuple[str, str], ...] = ()

    @property
    def caption(self) -> str:
        """A table row's caption (its text before the values); "" for other passages."""
        return self.text.split(TABLE_ROW_HEAD, 1)[0] if self.table else ""


@dataclass(frozen=True)
class Hit:
    """A passage returned by retrieval, with its document and its place in the ranking."""

    passage: Passage
    document: Document
    rank: int
    score: float
    citation: str
    scores: dict[str, float] = field(default_factory=dict)  # per-retriever scores (dense, bm25, rrf)


def date_to_int(date: str) -> int:
    """`2024-10-04` → 20241004, `2024` → 20240101; 0 for an empty or unreadable date."""
    parts = date.strip().split("-")
    if not all(p.isdigit() for p in parts) or len(parts) > 3:
        return 0
    year, month, day = (int(p) for p in parts + ["1"] * (3 - len(parts)))
    return year * 10000 + month * 100 + day
