"""Which language a question or a document is written in (ISO 639-1 codes, lingua's detector)."""

from __future__ import annotations

import re
import threading
from functools import cache

_lock = threading.Lock()
_WORD = re.compile(r"(?u)\w+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")


@cache
def _detector(codes: tuple[str, ...]):
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in codes]
    # Low accuracy mode: trigram models only, loaded in 0.16 s instead of 2.5 s (a cold `kb ask`
    # pays it), and as right as the full models on questions of three words or more.
    return LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode().build()


def of_question(question: str, codes: tuple[str, ...], stopwords) -> str:
    """The ISO 639-1 code of the question's language among `codes` ("en" when unsure).

    Keyword questions fool the detector: it calls "consular laissez-passer" and "National Referral
    Mechanism" French and "Europol European Migrant Smuggling Centre support" Italian. A language
    other than English is believed only for Chinese or Japanese script, or when the question uses
    one of that language's stopwords (`stopwords(code)`) that is not an English one."""
    cjk = bool(_CJK.search(question))
    if len(_WORD.findall(question)) < 2 and not cjk:
        return "en"
    with _lock:
        found = _detector(tuple(sorted(codes))).detect_language_of(question)
    code = found.iso_code_639_1.name.lower() if found is not None else "en"
    if code in ("en", "ja", "zh") and (cjk or code == "en"):
        return code
    words = {w.lower() for w in _WORD.findall(question)}
    return code if words & (stopwords(code) - stopwords("en")) else "en"


# The languages a document may be detected in: the G7 members' own, and those of the EU, UN and
# transit-country texts found beside them. Fewer candidates make detection faster and surer.
DOCUMENT_LANGUAGES = ("ar", "de", "en", "es", "fr", "it", "ja", "nl", "pt", "ru", "sv", "zh")
# Measured on 3,000-character samples (2 shared cores): the low-accuracy detector builds at once and
# loads the trigram models it needs lazily, about 0.1 s on the first document, then 1.0-1.6 ms per
# document. Preloading them makes the build 0.10-0.15 s for the same 1.1-1.4 ms; high accuracy with
# preloading takes 2.4-4.2 s to build, for the same answers: above 120 characters lingua uses
# trigrams only in either mode. From their opening 3,000 characters all 16 texts of sources/,
# evals/corpus and evals/corpus-multilingual get their language (en, fr, de, it, ja) right.
DOCUMENT_SAMPLE_CHARS = 3000


def of_document(text: str) -> str:
    """The ISO 639-1 code of a document's language, detected from the opening DOCUMENT_SAMPLE_CHARS
    characters of its text among DOCUMENT_LANGUAGES; "en" for empty or undetectable text."""
    sample = text[:DOCUMENT_SAMPLE_CHARS]
    if not _WORD.search(sample):
        return "en"
    with _lock:
        found = _detector(DOCUMENT_LANGUAGES).detect_language_of(sample)
    return found.iso_code_639_1.name.lower() if found is not None else "en"


def name(code: str) -> str:
    """The English name of an ISO 639-1 code ("it" → "Italian"); the code itself when unknown."""
    import pycountry

    found = pycountry.languages.get(alpha_2=code) if len(code) == 2 else None
    return found.name if found is not None else code


def is_code(code: str) -> bool:
    """Whether `code` is an ISO 639-1 language code (two lower-case letters, e.g. "it")."""
    import pycountry

    return len(code) == 2 and code.islower() and pycountry.languages.get(alpha_2=code) is not None
