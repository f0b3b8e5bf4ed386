"""How a text becomes BM25 terms: each language's stopwords and Snowball stemmer, Chinese and
Japanese as character pairs, the words as written (for spelling), and a question's language."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from functools import cache

from kb import imports

# NLTK's 179 English stopwords: questions are full of "what", "does", "how", which a rare
# occurrence in the documents would otherwise reward. Bump kb.index.lexical.ANALYZER when tokenizing
# changes: every index then rebuilds its BM25 snapshot on the next ingest.
STOPWORDS = "en_plus"
# Each passage is analysed in its own document's language: Snowball stemmer (PyStemmer) and stopwords
# (bm25s's lists, from NLTK) of that language. Chinese and Japanese have no spaces between words: runs
# of their characters become overlapping character pairs (see `cjk_pairs`). Other languages, and
# passages whose language is not known, are analysed as English.
ANALYZERS = {
    "en": ("english", STOPWORDS),
    "fr": ("french", "fr"),
    "de": ("german", "de"),
    "it": ("italian", "it"),
    "es": ("spanish", "es"),
    "pt": ("portuguese", "pt"),
    "nl": ("dutch", "nl"),
    "ru": ("russian", "ru"),
    "sv": ("swedish", "sv"),
    "no": ("norwegian", "no"),
    "ja": (None, ()),
    "zh": (None, "zh"),
}


@cache
def stemmer(language: str = "en"):
    """The Snowball stemmer (PyStemmer) of a language's analysis; None for Chinese and Japanese."""
    import Stemmer

    name = ANALYZERS.get(language, ANALYZERS["en"])[0]
    return Stemmer.Stemmer(name) if name else None


def analyzer_language(language: str) -> str:
    """The language whose analysis a text in `language` (ISO 639-1, or "" when not known) gets."""
    return language if language in ANALYZERS else "en"


# Han ideographs with the iteration mark, Katakana with the prolonged sound mark, and Hiragana:
# a run of one script is one unit. Hiragana runs are mostly particles and inflections ("は", "を",
# "する") and are dropped; Han and Katakana runs become overlapping pairs ("密入国" → "密入 入国"),
# the usual dictionary-free indexing of Japanese and Chinese, which a question's words always match.
_CJK_RUN = re.compile(
    r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3005]+)|([\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f]+)|[\u3040-\u309f]+"
)


def cjk_pairs(text: str) -> str:
    """`text` with each run of Chinese or Japanese characters replaced by its overlapping character
    pairs (a single character stays as it is), separated by spaces; other text unchanged."""
    if not _HAS_CJK.search(text):
        return text

    def pairs(m: re.Match) -> str:
        run = m.group(1) or m.group(2)
        if not run:
            return " "
        grams = [run[i : i + 2] for i in range(len(run) - 1)] or [run]
        return " " + " ".join(grams) + " "

    return _CJK_RUN.sub(pairs, text)


_HAS_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# bm25s's words of two or more letters, and single Chinese or Japanese characters (a run of one).
_SPLIT = re.compile(r"(?u)\b\w\w+\b|[\u3400-\u4dbf\u4e00-\u9fff\u30a0-\u30ff]")
# Words as written, for spelling correction: letters only, no Chinese or Japanese script.
WORD = re.compile(r"[^\W\d_\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]{2,}")


def written_words(text: str) -> set[str]:
    """The distinct lower-cased words of a text as written (not stemmed, stopwords kept)."""
    return set(WORD.findall(text.lower()))


# bm25s's stopword lists (from NLTK) by the language codes of ANALYZERS.
_STOPWORD_LISTS = {
    "fr": "STOPWORDS_FRENCH",
    "de": "STOPWORDS_GERMAN",
    "it": "STOPWORDS_ITALIAN",
    "es": "STOPWORDS_SPANISH",
    "pt": "STOPWORDS_PORTUGUESE",
    "nl": "STOPWORDS_DUTCH",
    "ru": "STOPWORDS_RUSSIAN",
    "sv": "STOPWORDS_SWEDISH",
    "no": "STOPWORDS_NORWEGIAN",
    "zh": "STOPWORDS_CHINESE",
    "en_plus": "STOPWORDS_EN_PLUS",
}


@cache
def stopwords(language: str) -> frozenset[str]:
    """The stopwords of a language's analysis (bm25s's lists, from NLTK)."""
    words = ANALYZERS[analyzer_language(language)][1]
    if not isinstance(words, str):
        return frozenset(words)
    with imports.without("scipy", "sklearn", "numba"):
        from bm25s import stopwords as lists

    return frozenset(getattr(lists, _STOPWORD_LISTS[words]))


def analyze(text: str, language: str = "en") -> list[str]:
    """The BM25 terms of a text analysed in `language`: lower-cased words of two or more letters
    (Chinese and Japanese: character pairs), stopwords removed, Snowball-stemmed. For English,
    exactly what bm25s.tokenize gives with the same stopwords and stemmer."""
    import_bm25s()
    language = analyzer_language(language)
    dropped = stopwords(language)
    words = [w for w in _SPLIT.findall(cjk_pairs(text).lower()) if w not in dropped]
    stem = stemmer(language)
    return stem.stemWords(words) if stem is not None else words


def import_bm25s():
    """The bm25s module, imported without numba and SciPy (its numba backend and SciPy matrices,
    which the NumPy backend used here does not need)."""
    if "bm25s" not in sys.modules:
        with imports.without("numba", "scipy"):
            import bm25s  # noqa: F401
    return sys.modules["bm25s"]


def terms(text: str, languages: Iterable[str] = ("en",)) -> list[str]:
    """The stemmed, stopword-free terms of a text, as BM25 sees them, analysed in each of
    `languages` in turn (each term once, in order)."""
    if tuple(languages) == ("en",):
        return analyze(text, "en")
    return list(dict.fromkeys(t for lang in languages for t in analyze(text, lang)))


def other_language(language: str, question_language: str) -> bool:
    """Whether a text in `language` (ISO 639-1; "" when not known) is in another language than a
    question in `question_language`: then no word of the question can match it."""
    return bool(language) and language != question_language


def question_language(question: str) -> str:
    """The language a question is written in, among those with an analysis (ANALYZERS)."""
    from kb.text import language

    return language.of_question(question, tuple(x for x in ANALYZERS if x != "no"), stopwords)
