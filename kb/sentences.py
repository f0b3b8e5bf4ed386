"""Sentence boundaries as character spans, so that sentences are quoted exactly as in the source."""

from __future__ import annotations

import importlib.util
import os
import re
import threading

from kb import imports

# Abbreviations common in policy texts that Punkt's English model does not know.
_ABBREVIATIONS = {
    "art",
    "arts",
    "para",
    "paras",
    "no",
    "nos",
    "e.g",
    "i.e",
    "cf",
    "etc",
    "vs",
    "approx",
    "incl",
    "u.s",
    "u.k",
    "e.u",
    "u.n",
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "st",
    "fig",
    "sec",
    "ch",
    "vol",
    "pp",
    "p",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
}
_CONTINUATION = re.compile(r"[a-z0-9(\[,;:]")
_ENDS_WITH_INITIALS = re.compile(r"(?:\b[A-Z]\.){2,}$|\b(?:[A-Z]\.)$")


_tokenizer = None
_loading = threading.Lock()


def _punkt():
    global _tokenizer
    with _loading:
        if _tokenizer is None:
            with imports.without("scipy", "sklearn"):  # for NLTK modules that Punkt does not use
                import nltk
                from nltk.tokenize import PunktTokenizer

            # llama-index ships NLTK's punkt_tab data; nothing is downloaded. (Found without
            # importing llama_index.core, which takes a second and a half.)
            core = importlib.util.find_spec("llama_index.core").submodule_search_locations[0]
            bundled = os.path.join(core, "_static", "nltk_cache")
            if bundled not in nltk.data.path:
                nltk.data.path.append(bundled)
            tokenizer = PunktTokenizer("english")
            tokenizer._params.abbrev_types.update(_ABBREVIATIONS)
            _tokenizer = tokenizer
        return _tokenizer


def preload() -> None:
    """Load the sentence splitter (half a second of imports) in a background thread, so that it is
    ready by the time the first document has been read."""
    threading.Thread(target=_punkt, name="kb-punkt", daemon=True).start()


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of `text`, trailing spaces excluded.

    Punkt splits after abbreviations it does not know ("the U.K." in mid-sentence); a split
    is undone when the next piece starts in lower case, with a digit or a bracket, or the
    previous piece ends in initials.
    """
    spans: list[tuple[int, int]] = []
    for start, end in _punkt().span_tokenize(text):
        if spans and (_CONTINUATION.match(text, start) or _ENDS_WITH_INITIALS.search(text, 0, spans[-1][1])):
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def sentences(text: str) -> list[str]:
    """The sentences of `text`, each an exact substring of it."""
    return [text[a:b] for a, b in sentence_spans(text)]
