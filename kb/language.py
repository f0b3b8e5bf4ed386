"""Which language a question is written in, among those the keyword index can analyse."""

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
