"""Acronyms defined in the documents ("Financial Intelligence Unit (FIU)"), so that a question
with the acronym finds passages with the expansion and the other way round."""

from __future__ import annotations

import re
from collections import Counter, defaultdict

_DEFINITION = re.compile(r"\(([A-Z][A-Za-z]{1,7})\)")
_SKIP = {"of", "for", "the", "and", "on", "in", "to", "against", "de", "la", "du", "des", "et", "&"}
_WORD = re.compile(r"[A-Za-zÀ-ÿ][\w'’-]*")


def definitions(texts: list[str]) -> dict[str, str]:
    """Acronym → its expansion (lower case), for acronyms the texts define in brackets after the
    words they abbreviate; the most frequent expansion wins when a corpus has several."""
    found: dict[str, Counter] = defaultdict(Counter)
    for text in texts:
        for m in _DEFINITION.finditer(text):
            acronym = m.group(1)
            letters = [c for c in acronym if c.isupper()]
            if len(letters) < 2:
                continue
            words = _WORD.findall(text[max(0, m.start() - 200) : m.start()])[-(len(letters) + 6) :]
            expansion = _match(words, letters)
            if expansion:
                found[acronym][expansion.lower()] += 1
    return {a: counts.most_common(1)[0][0] for a, counts in found.items()}


def _match(words: list[str], letters: list[str]) -> str | None:
    """The shortest run of words whose initials spell the acronym (small words skipped), ending
    at most two small-word-led words before the bracket ("Unit of Germany (FIU)")."""
    for end in range(len(words), max(len(words) - 3, 0), -1):
        tail = words[end:]
        if tail and tail[0].lower() not in _SKIP:
            continue
        for start in range(end - 1, -1, -1):
            run = words[start:end]
            initials = [w[0].upper() for w in run if w.lower() not in _SKIP]
            if initials == letters and run[0].lower() not in _SKIP:
                return " ".join(run)
            if len(initials) > len(letters):
                break
    return None


def expand(question: str, known: dict[str, str]) -> str:
    """The question with each known acronym followed by its expansion, and each expansion written
    out followed by its acronym (what retrieval reads; the question shown stays as typed)."""
    extra = []
    lower = question.lower()
    words = set(re.findall(r"\w+", question))
    for acronym, expansion in known.items():
        if (acronym in words or f"{acronym}s" in words) and expansion not in lower:
            extra.append(expansion)
        elif (
            expansion in lower  # cheap test first: a corpus defines hundreds of acronyms
            and acronym not in words
            and re.search(rf"\b{re.escape(expansion)}s?\b", lower)
        ):
            extra.append(acronym)
    return f"{question} ({'; '.join(extra)})" if extra else question
