"""Misspelled question words, replaced by the closest words that the indexed passages use.

"wich comitments cover onlin platforms" shares too few words with the declaration to be answered;
"which commitments cover online platforms" is. A word of the question is left as typed when some
passage contains it, when the word list of the question's language
knows it (pyspellchecker's, shipped inside the package: a real word the documents do not use is
not a misspelling, and the answer may rightly be that they do not say it), or when it is short,
a stopword, an acronym, a country, or inside quotes. Any other word is replaced by the closest
candidate: a word of the passages in the question's language, or a word of the word list whose
stem some passage contains ("commitments" where the passages only say "commitment"), or a
stopword. Closest is the smallest edit distance (two letters swapped count as one edit), then
the same letters in another order ("sanctiosn" is "sanctions", not "sanction"), then a word the
passages use as written ("sunmit" is "summit", not "submit"), then the fewest letters inserted
or deleted ("wich" is "which", not "with"), then the commoner word;
within one edit for words of up to seven letters and two for longer ones and, for words of up to
five letters, with the same first letter. Names that neither the passages nor the word list know
("Meloni") have no candidate near enough and stay as typed.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import cache

from kb.config import RankingSettings
from kb.index import lexical
from kb.text import analyzer
from kb.text.places import country_terms

_QUOTED = re.compile(r'"[^"]*"|“[^”]*”|«[^»]*»|„[^“”]*[“”]')


@dataclass(frozen=True)
class Spelling:
    """The question as searched, and the words that were changed (as typed, as searched)."""

    question: str
    changes: tuple[tuple[str, str], ...] = ()


def correct(
    question: str, snapshot: lexical.Snapshot | None, ranking: RankingSettings | None = None
) -> Spelling:
    """The question with its misspelled words corrected (see the module's docstring)."""
    ranking = ranking or RankingSettings()
    if not ranking.correct_spelling or snapshot is None or not snapshot.words:
        return Spelling(question)
    language = analyzer.analyzer_language(analyzer.question_language(question))
    candidates = None  # built on the first unknown word only
    quoted = [m.span() for m in _QUOTED.finditer(question)]
    countries = set(country_terms(question))
    out, changes, last = [], [], 0
    for m in analyzer.WORD.finditer(question):
        word = m.group()
        if _as_typed(word, countries, language, snapshot, ranking.spelling_min_letters) or any(
            a <= m.start() < b for a, b in quoted
        ):
            continue
        candidates = candidates or _candidates(snapshot, language)
        found = _closest(word.lower(), candidates)
        if found is None:
            continue
        fixed = found.capitalize() if word[0].isupper() else found
        out.append(question[last : m.start()] + fixed)
        changes.append((word, fixed))
        last = m.end()
    if not changes:
        return Spelling(question)
    return Spelling("".join(out) + question[last:], tuple(changes))


def _as_typed(
    word: str, countries: set[str], language: str, snapshot: lexical.Snapshot, min_letters: int
) -> bool:
    """Whether a word stays as typed; `countries`: the question's country words (kb.text.places)."""
    lower = word.lower()
    return (
        len(word) < min_letters
        or word.isupper()
        or lower in analyzer.stopwords(language)
        or any(lower in words for words in snapshot.words.values())  # first: the word list loads in 0.4 s
        or lower in countries
        or lower in _word_list(language)
        or _unaccented(lower) in _word_list(language)  # "communiqués": the list has "communiques"
    )


@dataclass(frozen=True)
class _Candidates:
    words: list[str]
    # whether passages use the word as written (not just a word of its stem), or it is a stopword:
    # every text has them, though a short index may lack one ("wich" is "which" there too)
    indexed: list[bool]
    usage: list[int]  # how common each word is: its word-list frequency, else its passage count


def _closest(word: str, candidates: _Candidates) -> str | None:
    """The candidate nearest to a word, if near enough."""
    from rapidfuzz import process
    from rapidfuzz.distance import OSA, Indel

    most = 1 if len(word) <= 7 else 2
    found = process.extract(word, candidates.words, scorer=OSA.distance, score_cutoff=most, limit=None)
    if len(word) <= 5:
        found = [f for f in found if f[0][0] == word[0]]
    if not found:
        return None
    return min(
        found,
        key=lambda f: (
            f[1],
            sorted(f[0]) != sorted(word),  # letters swapped: "sanctiosn" is "sanctions", not "sanction"
            not candidates.indexed[f[2]],  # "sunmit" is "summit" where passages say summit, not submit
            Indel.distance(word, f[0]),
            -candidates.usage[f[2]],
            f[0],
        ),
    )[0]


_built: dict[tuple[str, str], _Candidates] = {}
_lock = threading.Lock()


def _candidates(snapshot: lexical.Snapshot, language: str) -> _Candidates:
    """The words a misspelling in `language` may be corrected to (built once per snapshot)."""
    key = (snapshot.name, language)
    with _lock:
        if key not in _built:
            word_list = _word_list(language)
            indexed = snapshot.words.get(language, {})
            usage = dict(indexed)
            stems = analyzer.stemmer(language)
            listed = list(word_list)
            stemmed = stems.stemWords(listed) if stems is not None else listed
            for w, stem in zip(listed, stemmed, strict=True):
                if stem in snapshot.doc_freq or w in analyzer.stopwords(language):
                    usage[w] = word_list[w]
            if len(_built) > 8:
                _built.clear()
            common = analyzer.stopwords(language)
            _built[key] = _Candidates(
                list(usage), [w in indexed or w in common for w in usage], list(usage.values())
            )
        return _built[key]


def _unaccented(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


@cache
def _word_list(language: str) -> dict[str, int]:
    """pyspellchecker's word list of a language (word → frequency); empty for languages it lacks
    (Japanese, Chinese: not spelled letter by letter)."""
    from spellchecker import SpellChecker

    try:
        return SpellChecker(language=language, distance=1).word_frequency.dictionary
    except ValueError:
        return {}
