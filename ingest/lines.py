"""Helpers shared by the readers that rebuild paragraphs from lines (PDF and plain text).

A paragraph's lines are joined with single spaces, except at a word broken after a hyphen:
it is joined without the hyphen when the joined word is a known word ("implemen-" + "tation")
and keeps its hyphen otherwise ("sixty-" + "seventh", "counter-" + "terrorism"); see
`WordList.joins`. A line ending in a slash or dash right after a character ("A/67/" + "PV.6")
joins the next line without a space too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

# A numbered paragraph start: "1.", "12.", "1.2.", "(a)", "(iv)", "a)", "3)", "IV." followed by a space.
# Four-digit numbers are left out so that a wrapped line starting with a year ("2030. The") is not taken
# for a paragraph number.
NUMBERED_START = re.compile(
    r"(?:\d{1,3}(?:\.\d{1,3})*\.|\(\d{1,3}\)|\d{1,3}\)|\([a-zA-Z]{1,2}\)|[a-z]\)"
    r"|\((?:[ivxlc]{1,6}|[IVXLC]{1,6})\)|[ivx]{1,5}\)|[IVX]{1,5}\.)\s+\S"
)
# Bullets that begin a list item; the bullet stays in the text.
BULLET_START = re.compile(r"[-*•▪◦●■○➢\uf0b7\uf0a7]\s+\S")

_SENTENCE_END = frozenset(".!?:;…")
_CLOSERS = "\"'”’»)]*_ "
_WHITESPACE = re.compile(r"\s+")
# The part of a line after its last space, when it ends with a hyphen after a letter: "implemen-".
_HYPHENATED_END = re.compile(r"(?:^|\s)(\S*[^\W\d_])-$")
_LEADING_WORD = re.compile(r"[^\W\d_]+")
# "pre- and post-conflict": the hyphen is followed by a space even at a line end.
_SUSPENDED = frozenset({"and", "or", "to", "nor"})
_GLUE = ("/", "—", "–")
_TOKEN_PUNCTUATION = ".,;:!?\"'()[]{}“”‘’«»…*_/"

# Decides whether a stem hyphenated at a line end and the start of the next line form one word.
Joins = Callable[[str, str], bool]


def collapse(text: str) -> str:
    """`text` with every run of whitespace (line breaks, tabs, spaces) turned into one space, stripped."""
    return _WHITESPACE.sub(" ", text).strip()


def starts_paragraph(line: str) -> bool:
    """Whether a (stripped) line begins with a paragraph number or a bullet, so always starts a block."""
    return bool(NUMBERED_START.match(line) or BULLET_START.match(line))


def ends_sentence(line: str) -> bool:
    """Whether a line ends with sentence-final punctuation (closing quotes and brackets skipped)."""
    stripped = line.rstrip(_CLOSERS)
    return bool(stripped) and stripped[-1] in _SENTENCE_END


def ends_with_punctuation(line: str) -> bool:
    """Whether a line ends with any punctuation that a heading would not end with (.,;:!?)."""
    stripped = line.rstrip(_CLOSERS)
    return bool(stripped) and stripped[-1] in ".,;:!?…"


def first_word(line: str) -> str:
    """The first space-separated token of a stripped line ("" for an empty line)."""
    return line.split(" ", 1)[0]


def join_hyphenated(left: str, right: str, joins: Joins) -> bool:
    """Whether the line ending `left` ("implemen-") joins `right` ("tation ...") without the hyphen.

    Only when the right part continues in lower case and `joins(stem, tail)` says the two parts
    form one word: "Secretary-" + "General" and "sixty-" + "seventh" keep their hyphens.
    """
    end = _HYPHENATED_END.search(left)
    head = _LEADING_WORD.match(right)
    if not end or not head or not head.group().islower():
        return False
    stem = end.group(1).rsplit("-", 1)[-1]
    if not stem.isalpha():
        return False
    return joins(stem.lower(), head.group())


def join_lines(lines: Iterable[str], joins: Joins) -> str:
    """The paragraph text of stripped `lines`: joined by spaces, hyphenated words rejoined, spaces collapsed."""
    parts: list[str] = []
    previous = ""
    for line in lines:
        if not line:
            continue
        if previous.endswith("\u00ad"):
            # A soft hyphen only shows at a line end: always join.
            parts[-1] = previous[:-1]
        elif _broken_at_hyphen(previous, line):
            # A word broken at its hyphen: "sixty-" + "seventh" is "sixty-seventh", no space.
            if join_hyphenated(previous, line, joins):
                parts[-1] = previous[:-1]
        elif previous[-1:] in _GLUE and len(previous) > 1 and not previous[-2].isspace():
            pass  # "see A/67/" + "PV.6)", "framework—" + "and": no space after the line break
        elif parts:
            parts.append(" ")
        parts.append(line)
        previous = line
    return collapse("".join(parts))


def _broken_at_hyphen(previous: str, line: str) -> bool:
    """Whether `previous` ends with a letter and a hyphen and `line` goes on with a word ("sixty-" / "seventh")."""
    return (
        previous.endswith("-")
        and bool(_HYPHENATED_END.search(previous))
        and bool(_LEADING_WORD.match(line))
        and first_word(line) not in _SUSPENDED
    )


class WordList:
    """Words of one document, for deciding line-end hyphens; add lines with `add`, then ask `joins`."""

    def __init__(self) -> None:
        self._tokens: set[str] = set()
        self._index: tuple[frozenset[str], frozenset[str]] | None = None

    def add(self, line: str) -> None:
        """Record the words of one line (cheaply: the tokens are cleaned once, when first needed)."""
        self._tokens.update(line.lower().split())
        self._index = None

    def _words(self) -> tuple[frozenset[str], frozenset[str]]:
        """The document's words without hyphens, and its hyphenated words with the hyphens removed."""
        if self._index is None:
            cleaned = {token.strip(_TOKEN_PUNCTUATION) for token in self._tokens}
            # A stem hyphenated at a line end ("implemen-") is not a word of the document.
            cleaned = {
                word for word in cleaned if word and not word.endswith("-") and not word.startswith("-")
            }
            plain = frozenset(word for word in cleaned if "-" not in word)
            hyphenated = frozenset(word.replace("-", "") for word in cleaned if "-" in word)
            self._index = (plain, hyphenated)
        return self._index

    def joins(self, stem: str, tail: str) -> bool:
        """Whether `stem` + "-" at a line end and `tail` on the next line are one hyphenated word.

        The document's own spelling decides first (mid-line "counter-terrorism" keeps the hyphen,
        "counterterrorism" drops it). Otherwise the joined word must be in the embedding model's
        WordPiece vocabulary while the parts are not both words themselves: "implemen-" + "tation"
        joins, "health-" + "care" and "post-" + "war" stay compounds.
        """
        from ingest.words import vocabulary

        plain, hyphenated = self._words()
        joined = stem + tail
        if joined in hyphenated:
            return False
        if joined in plain:
            return True
        words = vocabulary()
        return joined in words and not (stem in words and tail in words)
