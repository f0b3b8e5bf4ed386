"""A question read once: what it quotes, the documents it names, the countries, the G7, the years
and the kinds of document it states, what it asks for, each with where in the question it stands.

Every later stage reads this `Question`: the query retrieval matches (kb.search.query.Query.of),
the places and years that the fusion favours (kb.search.query.mentions), the constraints the user
sees and can remove (kb.search.understand), the sentences the answer quotes (kb.answer.quote) and
whether it is a question about commitments (kb.api). Nothing else parses the question's text
(tests/test_imports.py checks it).
"""

from __future__ import annotations

import html
import re
import threading
from dataclasses import dataclass, replace
from functools import cached_property

from kb.types import Document

PHRASE = re.compile(r'"([^"]+)"|“([^”]+)”')
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
# "G7" written in the question, in any language ("G7首脳宣言", "la dichiarazione del G7"), or "the
# Group of Seven". (Lookarounds, not \b: a Japanese character after "7" is a word character.)
G7_WRITTEN = re.compile(r"(?<![A-Za-z0-9])(?:G-?7|Group\s+of\s+Seven)(?![0-9])", re.I)
# Words that make a question about the G7's own texts even when it does not say "G7": a commitment
# is made in a G7 text; national documents report on carrying it out. Commitments, pledges,
# agreements, the leaders, the summit, "the declaration", "the action plan", in the five languages
# of the corpus. ("What did the leaders say about returns?" otherwise quoted a national report first.)
G7_CUES = re.compile(
    r"\bcommit(?:s|ted|ments?)?\b|\bpledge[sd]?\b|\bagreed?\b|\bleaders\b|\bsummits?\b"
    r"|\bthe\s+(?:(?:19|20)\d\d\s+)?(?:declaration|communiqu[eé]|action\s+plan)\b"
    r"|\bengagements?\b|\bs['’]est\s+engag|\bla\s+d[ée]claration\b|\ble\s+plan\s+d['’]action\b"
    r"|\bdirigeants\b|\bsommets?\b"
    r"|\bVerpflichtung(?:en)?\b|\bverpflichte[nt]\b|\bZusagen?\b|\bdie\s+Erkl[äa]rung\b|\bAktionsplan"
    r"|\bStaats-\s+und\s+Regierungschefs\b|\bGipfel"
    r"|\bimpegn[oi]\b|\bimpegnat[ie]\b|\bla\s+dichiarazione\b|\bpiano\s+d['’]azione\b|\bi\s+leader\b"
    r"|\bvertic[ei]\b"
    r"|コミットメント|公約|約束|首脳|宣言|行動計画|サミット",
    re.I,
)
# "The Canadian presidency", "la présidence italienne": the country that chaired the G7, not a
# country the question is about ("Did the leaders follow up on the Canadian presidency's work…" was
# read as about Canada's documents and quoted Canada's report first).
_PRESIDENCY = re.compile(r"presiden|présiden|präsidentschaft|議長", re.I)
_YEAR = re.compile(r"\b(?:(since|after|from|before|until|till|up\s+to|by)\s+)?((?:19|20)\d\d)\b", re.I)
# Kinds of document, each: the words for several of them ("the communiqués", "national reports":
# a constraint on the document type), the word for one ("the 2026 declaration", "the Apulia
# communiqué": it names a document, kb.search.query.named_documents), the types it covers, the label.
KINDS = (
    (r"communiqu[eé]s", r"communiqu[eé]", ("communique",), "communiqués"),
    (r"declarations", r"declaration", ("declaration",), "declarations"),
    (r"(?:leaders'?\s+)?statements", r"statement", ("statement",), "statements"),
    (r"action\s+plans", r"(?:action\s+)?plan", ("action-plan",), "action plans"),
    (
        r"national\s+(?:action\s+)?plans|national\s+strategies",
        r"plan|strategy",
        ("national-plan",),
        "national plans",
    ),
    (
        r"(?:national\s+|progress\s+|implementation\s+)?reports",
        r"report",
        ("national-report",),
        "national reports",
    ),
)
# A question that asks which commitments cover something, in the five languages of the corpus (a
# question about one country's commitments names the country and is read as about that country's
# documents instead, kb.search.understand), answered from the commitment tracker's rows (kb.api).
_ASKS_COMMITMENTS = re.compile(
    r"\b(?:which|what)\s+(?:\w+\s+){0,2}?(?:commitments?|pledges?)\b|\bcommit(?:s|ted)?\s+to\b"
    r"|\bpledged?\s+to\b|\bquels?\s+(?:sont\s+les\s+)?engagements?\b|\bs['’]est\s+engag\w*\s+[àa]\b"
    r"|\bwelche\s+(?:\w+\s+)?(?:Verpflichtungen|Zusagen)\b|\bverpflichtet\w*\s+(?:sich\s+)?zu\b"
    r"|\bquali\s+(?:\w+\s+)?impegni\b|\bimpegnat[ie]\s+a\b|コミットメント|公約|約束",
    re.I,
)

# Words that appear in the titles of many G7 documents and name none of them.
_GENERIC = set(
    """g7 g8 g20 leaders leader statement statements declaration declarations communique communiqué
    action plan plans national report reports ministers ministerial interior security migrant migrants
    smuggling migration trafficking countering counter prevent preventing tackling against annex the and
    of on to for in a an un united nations general debate summit meeting strategy document chair chair's
    fixture test official not progress implementation federal government""".split()
)
# A word that says "a document" in a question (KINDS' singular forms).
_KIND = "(" + "|".join(one for _, one, _, _ in KINDS) + ")"


def _types_of(word: str) -> tuple[str, ...]:
    """The document types a word for one document points to ("plan": action and national plans)."""
    return tuple(t for _, one, types, _ in KINDS if re.fullmatch(one, word, re.I) for t in types)


@dataclass(frozen=True)
class Catalog:
    """What questions are matched against in the indexed documents' metadata, built once per set
    of documents (not per question: at thousands of documents that work dominated a query)."""

    documents: tuple[Document, ...]
    names: tuple[tuple[str, str], ...]  # (lower-cased short title or alias, document id)
    owners: dict[str, frozenset[str]]  # distinctive title word → documents whose title has it
    countries: frozenset[str]
    years: frozenset[str]


_catalogs: list[tuple[list[Document], Catalog]] = []  # (the list it was built from, catalog)
_catalogs_lock = threading.Lock()


def catalog(documents: list[Document]) -> Catalog:
    """The catalog of a list of documents; the last few are kept, keyed by the list's identity
    (Index.documents() returns the same list until an ingest changes the registry)."""
    if not documents:
        return Catalog((), (), {}, frozenset(), frozenset())
    with _catalogs_lock:
        for built_from, c in _catalogs:
            if built_from is documents:
                return c
    names = tuple(
        (name.lower(), d.id)
        for d in documents
        for name in [d.short_title, *d.aliases]
        if name and len(name) > 3
    )
    owners: dict[str, set[str]] = {}
    for d in documents:
        for word in set(re.findall(r"[A-Za-zÀ-ÿ][\w'’-]{3,}", f"{d.title} {d.short_title}")):
            w = word.lower().strip("'’")
            if w not in _GENERIC:
                owners.setdefault(w, set()).add(d.id)
    c = Catalog(
        tuple(documents),
        names,
        {w: frozenset(ids) for w, ids in owners.items()},
        frozenset(d.country for d in documents),
        frozenset(d.date[:4] for d in documents),
    )
    with _catalogs_lock:
        _catalogs.insert(0, (documents, c))
        del _catalogs[4:]
    return c


def named_documents(question: str, documents: list[Document]) -> tuple[set[str], list[tuple[int, int]]]:
    """Ids of the documents a question names, and where it names them: by an alias or short
    title written out ("the Kananaskis statement"), by a distinctive title word followed by a
    word for a document ("the Apulia communiqué"), or by a year and a kind of document ("the
    2026 declaration")."""
    cat = catalog(documents)
    q_lower = question.lower()
    named: set[str] = set()
    spans: list[tuple[int, int]] = []
    for name, doc_id in cat.names:
        if name in q_lower and (m := re.search(rf"(?<!\w){re.escape(name)}(?!\w)", q_lower)):
            named.add(doc_id)
            spans.append(m.span())
    if named:
        return named, spans
    for m in re.finditer(rf"\b([A-ZÀ-Þ][\w'’-]{{3,}})(?:\s+\w+){{0,2}}\s+{_KIND}\b", question, re.IGNORECASE):
        if not m.group(1)[0].isupper():
            continue
        ids = cat.owners.get(m.group(1).lower().strip("'’"), frozenset())
        if 0 < len(ids) <= 2:
            named |= ids
            spans.append(m.span())
    for m in re.finditer(rf"\b((?:19|20)\d\d)\s+(?:g7\s+)?(?:leaders'?\s+)?{_KIND}\b", q_lower):
        types = _types_of(m.group(2))
        ids = {d.id for d in cat.documents if d.date.startswith(m.group(1)) and d.type in types}
        if ids:
            named |= ids
            spans.append(m.span())
    return named, spans


Span = tuple[int, int]


@dataclass(frozen=True)
class Said:
    """One thing the question says, read as `value` (shown as `label`), from its words at `span`."""

    value: str
    label: str
    span: Span


@dataclass(frozen=True)
class Question:
    """A question as read once, for every later stage."""

    text: str  # the question as asked (spelling corrected, markup read as text)
    phrases: tuple[Said, ...] = ()  # quoted phrases (value: the words between the quotes)
    documents: tuple[str, ...] = ()  # ids of the indexed documents it names
    document_spans: tuple[Span, ...] = ()  # where it names them
    places: tuple[Said, ...] = ()  # countries (value: ISO 3166 alpha-3 code, label: its name)
    g7: tuple[Said, ...] = ()  # "G7" written out
    g7_cues: tuple[Said, ...] = ()  # words that make it about the G7's texts (G7_CUES)
    years: tuple[Said, ...] = ()  # value: "2015", "since 2015" or "until 2014"
    kinds: tuple[Said, ...] = ()  # kinds of document in the plural (value: the document type)
    asks_commitments: bool = False  # asks which commitments cover something
    dropped: tuple[str, ...] = ()  # quoted phrases the user took off (their words stay, unquoted)

    def words(self, span: Span) -> str:
        return self.text[span[0] : span[1]].strip()

    def free(self, span: Span) -> bool:
        """Whether a span lies outside the names of documents and the quoted phrases."""
        taken = [*self.document_spans, *(p.span for p in self.phrases)]
        return not any(a <= span[0] < b for a, b in taken)

    @property
    def about_g7(self) -> bool:
        """The G7 written out, or words that point to its texts."""
        return bool(self.g7 or self.g7_cues)

    @property
    def quoted(self) -> tuple[str, ...]:
        """The quoted phrases that a passage must contain (those the user kept)."""
        return tuple(p.value for p in self.phrases if p.value not in self.dropped and p.value.strip())

    def without_quotes(self, phrases: tuple[str, ...]) -> Question:
        """The question with these quoted phrases no longer required."""
        return replace(self, dropped=tuple(dict.fromkeys([*self.dropped, *phrases])))

    def matched_text(self, cut_documents: bool) -> str:
        """The words that passages are matched against: the question, the quotes of dropped phrases
        taken off, and (cut_documents) the words that name a document left out ("the 2026
        declaration" would otherwise favour any passage that says "declaration")."""
        edits = [(p.span, p.value) for p in self.phrases if p.value in self.dropped]
        if cut_documents:
            edits += [(span, " ") for span in self.document_spans]
        text = self.text
        for (a, b), by in sorted(edits, reverse=True):
            text = text[:a] + by + text[b:]
        return " ".join(text.split()) or self.text

    @cached_property
    def wanted(self) -> str:
        """ "figure", "date" or "name" when the question asks for one, else "" (kb.search.wanted)."""
        from kb.search.wanted import asked_for

        return asked_for(self.text)

    def terms_in(self, language: str) -> set[str]:
        """The question's terms in a language's analysis, numbers left out (for picking sentences)."""
        from kb.text import analyzer

        return {t for t in analyzer.analyze(self.text, language) if not t.isdigit()}


def as_text(question: str) -> str:
    """A question with any markup read as its text: tags dropped, entities decoded ("<b>returns</b>"
    → "returns"), so that words pasted from a web page are answered as the words themselves."""
    return " ".join(html.unescape(_TAG.sub(" ", question)).split())


def read(question: str, documents: list[Document]) -> Question:
    """Read a question over these indexed documents (which it may name)."""
    from kb.text.places import country_names

    phrases = tuple(
        Said(m.group(1) or m.group(2), m.group(), m.span())
        for m in PHRASE.finditer(question)
        if (m.group(1) or m.group(2)).strip()
    )
    named, spans = named_documents(question, documents)
    places = tuple(
        Said(code, name, span)
        for code, name, span in country_names(question)
        if not _PRESIDENCY.search(question[max(0, span[0] - 20) : span[1] + 20])
    )
    return Question(
        text=question,
        phrases=phrases,
        documents=tuple(sorted(named)),
        document_spans=tuple(spans),
        places=places,
        g7=tuple(Said("G7", "G7 texts", m.span()) for m in G7_WRITTEN.finditer(question)),
        g7_cues=tuple(Said("G7", "G7 texts", m.span()) for m in G7_CUES.finditer(question)),
        years=tuple(_year(m) for m in _YEAR.finditer(question)),
        kinds=tuple(
            Said(types[0], label, m.span())
            for several, _, types, label in KINDS
            if (m := re.search(rf"\b(?:{several})\b", question, re.I))
        ),
        asks_commitments=bool(_ASKS_COMMITMENTS.search(question)),
    )


def _year(m: re.Match) -> Said:
    word, year = (m.group(1) or "").lower(), m.group(2)
    value = f"since {year}" if word in ("since", "from") else year
    if word == "after":
        value = f"since {int(year) + 1}"
    elif word == "before":
        value = f"until {int(year) - 1}"
    elif word in ("until", "till", "by") or word.startswith("up"):
        value = f"until {year}"
    return Said(value, m.group().strip(), m.span())
