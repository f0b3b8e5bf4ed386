"""Sentence boundaries as character spans, so that sentences are quoted exactly as in the source."""

from __future__ import annotations

import re
import threading

from kb import imports

# Abbreviations common in policy texts that Punkt's English model does not know.
_ENGLISH = {
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
# The same for the other languages of G7 and EU texts, as Punkt spells them: lower case, no final
# period ("z.b" is "z.B."). Single letters cover abbreviations written with spaces ("z. B.", "d. h.").
_ABBREVIATIONS = {
    "en": _ENGLISH,
    "fr": set(
        "art arts al cf m mm mme mmes mlle me dr pr p pp n no nos n° etc éd vol chap ch env hab min max "
        "janv févr avr juil sept oct nov déc ibid op cit ex réf suiv s ss paragr dir sq c cass crim civ "
        "l r d".split()
    ),
    "de": set(
        "z.b z b bzw abs art nr d.h d h u.a u a vgl gem ggf sog usw bzgl inkl ca s o.ä ä i.v.m i.s.d "
        "i.d.r v dr prof hrsg mio mrd jan feb febr aug sept okt nov dez kap ziff lit anh tab abb str "
        "bspw evtl insb zzgl m.e bgbl aufenthg stgb stpo eur".split()
    ),
    "it": set(
        "art artt c co c.d cd ecc pag pagg dott dott.ssa sig sig.ra sigg on prof avv ing n nn d.lgs lgs "
        "d.l l d.p.r d.m lett cfr es ca gen feb mar apr giu lug ago set ott nov dic cap p pp vol s.p.a "
        "s.r.l sez cass pen civ cost reg all tab fig min max mln mld".split()
    ),
    "es": set(
        "art arts núm n nº pág págs sr sra sres dr dra d dña etc ej p.ej cf vid ss cap vol ed aprox "
        "admón ud uds ene feb mar abr jun jul ago sept oct nov dic apdo".split()
    ),
    "pt": set(
        "art arts n nº n.º pág págs sr sra srs dr dra prof etc cf ex p.ex al cap vol ed aprox jan fev "
        "mar abr jun jul ago set out nov dez inc".split()
    ),
    "nl": set("art nr bijv bv o.a d.w.z m.b.t i.p.v e.d enz zgn blz jl".split()),
}
# ISO 639-1 codes of the Punkt models that llama-index bundles (its punkt_tab folder).
_PUNKT = {
    "cs": "czech",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "et": "estonian",
    "fi": "finnish",
    "fr": "french",
    "it": "italian",
    "ml": "malayalam",
    "nb": "norwegian",
    "nl": "dutch",
    "no": "norwegian",
    "pl": "polish",
    "pt": "portuguese",
    "ru": "russian",
    "sl": "slovene",
    "sv": "swedish",
    "tr": "turkish",
}
_CJK = {"ja", "zh"}
_CONTINUATION = re.compile(r"[a-z0-9(\[,;:]")
_ENDS_WITH_INITIALS = re.compile(r"(?:\b[A-Z]\.){2,}$|\b(?:[A-Z]\.)$")
# A Japanese or Chinese sentence: up to a full stop, exclamation or question mark (fullwidth, or the
# halfwidth "｡"), with the closing brackets and quotes that follow it ("…と述べた。」"). Text after
# the last stop is a sentence too.
_CJK_SENTENCE = re.compile(r"[^。｡！？!?]*(?:[。｡！？!?]+[」』）)】〕〉》”’\"']*|$)")


_tokenizers: dict[str, object] = {}
_loading = threading.Lock()


def _punkt(language: str = "en"):
    """Punkt with our abbreviations for a language code of _PUNKT, loaded once."""
    name = _PUNKT[language]
    with _loading:
        if name not in _tokenizers:
            with imports.without("scipy", "sklearn"):  # for NLTK modules that Punkt does not use
                import nltk
                from nltk.tokenize.punkt import PunktSentenceTokenizer, load_punkt_params

            from kb.compat import punkt_data_dir

            if (bundled := punkt_data_dir()) not in nltk.data.path:
                nltk.data.path.append(bundled)
            params = load_punkt_params(nltk.data.find(f"tokenizers/punkt_tab/{name}/"))
            params.abbrev_types.update(_ABBREVIATIONS.get(language, ()))
            tokenizer = PunktSentenceTokenizer(params)
            _tokenizers[name] = tokenizer
        return _tokenizers[name]


def preload(language: str = "en") -> None:
    """Load the sentence splitter (half a second of imports) in a background thread, so that it is
    ready by the time the first document has been read.

    NLTK imports the standard library's XML packages, and so do readers in this thread (through
    defusedxml): two threads importing submodules of `xml` at once can fail in CPython 3.11 with
    "cannot access submodule 'parsers' of module 'xml'". They are imported here first (5 ms)."""
    import xml.etree.ElementTree  # noqa: F401
    import xml.parsers.expat  # noqa: F401
    import xml.sax.saxutils  # noqa: F401

    threading.Thread(target=_punkt, args=(_code(language),), name="kb-punkt", daemon=True).start()


def sentence_spans(text: str, language: str = "en") -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of `text`, trailing spaces excluded.

    `language` is an ISO 639-1 code ("fr", "de", "pt-BR"); languages without a Punkt model are
    split with the English one, Japanese and Chinese at 。！？. Punkt splits after abbreviations it
    does not know ("the U.K." in mid-sentence); a split is undone when the next piece starts in
    lower case, with a digit or a bracket, or the previous piece ends in initials ("M. Dupont").
    """
    language = _code(language)
    if language in _CJK:
        return _cjk_spans(text)
    english = language == "en"
    spans: list[tuple[int, int]] = []
    for start, end in _punkt(language).span_tokenize(text):
        continues = _CONTINUATION.match(text, start) if english else _continues(text[start])
        if spans and (continues or _ENDS_WITH_INITIALS.search(text, 0, spans[-1][1])):
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def sentences(text: str, language: str = "en") -> list[str]:
    """The sentences of `text`, each an exact substring of it."""
    return [text[a:b] for a, b in sentence_spans(text, language)]


def _code(language: str) -> str:
    """The primary ISO 639-1 subtag ("pt-BR" → "pt"); "en" for a language Punkt has no model for."""
    code = (language or "").strip().lower().replace("_", "-").split("-")[0]
    return code if code in _PUNKT or code in _CJK else "en"


def _continues(first: str) -> bool:
    # Any lower-case letter, not only a-z: "… art. 3 é …", "… z. B. über …".
    return first.islower() or first.isdigit() or first in "([,;:"


def _cjk_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for m in _CJK_SENTENCE.finditer(text):
        piece = m.group()
        start = m.start() + len(piece) - len(piece.lstrip())
        end = m.start() + len(piece.rstrip())
        if end > start:
            spans.append((start, end))
    return spans
