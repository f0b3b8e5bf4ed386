"""What kind of answer a question asks for (a figure, a date, a name) and whether a sentence gives
it, so that the answer quotes the sentence with the figure a briefing writer asked "how many" for,
not the one that only repeats the question's words. In English, French, German, Italian and Japanese.
"""

from __future__ import annotations

import re

from kb.text import analyzer

_ASKS = {
    "figure": re.compile(
        r"\bhow\s+(?:many|much|often|long|far|large|big|high)\b"
        r"|\bwhat\s+(?:share|percentage|proportion|number|amount|fraction|sum|budget|cost|price)\b"
        r"|\bcombien\b|\bquel(?:le)?s?\s+(?:part|pourcentage|proportion|nombre|montant|budget|co[uû]t)\b"
        r"|\bwie\s+(?:viele?|hoch|oft|lange|gro(?:ß|ss))\b|\bwelcher\s+(?:Anteil|Betrag)\b"
        r"|\bquant[ioea]\b|\bquale\s+(?:percentuale|quota|importo)\b"
        r"|いくつ|何人|何件|何隻|何回|何か国|どれ(?:くらい|ほど|だけ)|何パーセント|いくら|何割",
        re.I,
    ),
    "date": re.compile(
        r"\bwhen\b|\bsince\s+when\b|\bwhat\s+(?:year|date|month|day)\b|\bquand\b|\bdepuis\s+quand\b"
        r"|\bwann\b|\bseit\s+wann\b|\bquando\b|\bda\s+quando\b|いつ|何年|何月",
        re.I,
    ),
    "name": re.compile(
        r"\bwho\b|\bwhich\s+(?:countr|organi[sz]ation|agenc|compan|partner|institution|ministr|bod|authorit)\w*"
        r"|\bqui\b|\bquels?\s+(?:pays|organismes?|partenaires)\b|\bwer\b|\bwelche[nrms]?\s+(?:L[äa]nder|Staaten|Beh[öo]rden?)\b"
        r"|\bchi\b|\bquali\s+(?:paesi|organismi|partner)\b|誰|どの国|どこ",
        re.I,
    ),
}
_YEAR = r"(?:19|20)\d\d(?:[–-]\d{2,4})?"
# A figure: digits (grouped "3,412", decimal "12.4", with a unit or per cent) or a number word;
# a year alone is a date, not a figure.
_FIGURE = re.compile(
    rf"(?<![\w.,])(?!{_YEAR}(?![\d,.]))\d+(?:[,.\u00a0 ]\d{{3}})*(?:[.,]\d+)?"
    r"|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundred|thousand|million|billion|dozen)s?\b|[一二三四五六七八九十百千万億]+(?:人|件|隻|回|か国)",
    re.I,
)
_DATE = re.compile(
    rf"\b{_YEAR}\b|\b(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre|"
    r"Januar|Februar|März|Juni|Juli|Oktober|Dezember|gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|"
    r"agosto|settembre|ottobre|dicembre)\b|\d+年|\d+月",
    re.I,
)
_NAME = re.compile(r"(?<=[a-z,;:] )(?:[A-ZÀ-Þ][\w'’-]+)(?:\s+(?:of\s+|and\s+)?[A-ZÀ-Þ][\w'’-]+)*")
_NEAR = 40  # characters around a figure in which the thing counted is named ("1,350 posts")


def asked_for(question: str) -> str:
    """ "figure", "date" or "name" when the question asks for one, else ""."""
    for kind, pattern in _ASKS.items():
        if pattern.search(question):
            return kind
    return ""


def states_figure(text: str) -> bool:
    """Whether a text states a figure other than a year ("1,204 posts", "EUR 4 million", "41 arrests")."""
    return bool(_FIGURE.search(text))


def gives(kind: str, sentence: str, question_terms: set[str], language: str = "en") -> float:
    """How well a sentence gives what the question asks for: 1 when it has a figure next to a word
    of the question (the thing counted), a date or a name as asked; 0.25 for a figure elsewhere in it;
    0 otherwise."""
    if kind == "figure":
        best = 0.0
        for m in _FIGURE.finditer(sentence):
            around = sentence[max(0, m.start() - _NEAR) : m.end() + _NEAR]
            near = set(analyzer.analyze(around, language)) & question_terms
            best = max(best, 1.0 if near else 0.25)
        return best
    if kind == "date":
        return 1.0 if _DATE.search(sentence) else 0.0
    if kind == "name":
        return 1.0 if _NAME.search(sentence) else 0.0
    return 0.0
