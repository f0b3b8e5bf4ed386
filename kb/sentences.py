"""Sentence boundaries as character spans, so that sentences are quoted exactly as in the source."""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import re
import sys
import threading

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


class _WithoutOptionalImports(importlib.abc.MetaPathFinder):
    """While NLTK is imported, in the importing thread only: SciPy and scikit-learn look missing.

    `import nltk` imports every NLTK module, and those that use SciPy or scikit-learn (collocation
    statistics, a classifier wrapper; not Punkt) import them when they are installed, as they are
    beside sentence-transformers: 2.7 of the 3 seconds the import took. NLTK imports them under
    `except ImportError`. Other threads (sentence-transformers loading in one) import them as usual.
    """

    _skipped = ("scipy", "sklearn")

    def __init__(self) -> None:
        self.thread = threading.get_ident()

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if threading.get_ident() == self.thread and name.partition(".")[0] in self._skipped:
            raise ModuleNotFoundError(f"{name} is not imported for NLTK", name=name)
        return None

    def __enter__(self) -> None:
        sys.meta_path.insert(0, self)

    def __exit__(self, *exc: object) -> None:
        sys.meta_path.remove(self)


def _punkt():
    global _tokenizer
    with _loading:
        if _tokenizer is None:
            with _WithoutOptionalImports():
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
