"""Countries named in a question ("Italy", "Italian", "the UK"), for scoping and ranking."""

from __future__ import annotations

import re
from functools import cache

from kb.text.analyzer import terms

# Short names, abbreviations and demonyms that pycountry does not carry, for the countries
# users ask about most (G7 members, partners, origin and transit countries).
_EXTRA = {
    "GBR": ["UK", "U.K.", "Britain", "Great Britain", "British", "United Kingdom"],
    "USA": ["US", "U.S.", "USA", "America", "American", "United States"],
    "ITA": ["Italian"],
    "FRA": ["French"],
    "DEU": ["German"],
    "CAN": ["Canadian"],
    "JPN": ["Japanese"],
    "KOR": ["South Korea", "Korean", "Republic of Korea"],
    "PRK": ["North Korea"],
    "RUS": ["Russia", "Russian"],
    "CHN": ["Chinese"],
    "IND": ["Indian"],
    "KEN": ["Kenyan"],
    "LBY": ["Libyan"],
    "TUN": ["Tunisian"],
    "MAR": ["Moroccan"],
    "DZA": ["Algerian"],
    "EGY": ["Egyptian"],
    "TUR": ["Türkiye", "Turkish"],
    "GRC": ["Greek"],
    "ESP": ["Spanish"],
    "MEX": ["Mexican"],
    "BRA": ["Brazilian"],
    "NGA": ["Nigerian"],
    "NER": ["Nigerien"],
    "SEN": ["Senegalese"],
    "AFG": ["Afghan"],
    "PAK": ["Pakistani"],
    "BGD": ["Bangladeshi"],
    "SYR": ["Syria", "Syrian"],
    "IRQ": ["Iraqi"],
    "IRN": ["Iran", "Iranian"],
    "UKR": ["Ukrainian"],
    "POL": ["Polish"],
    "NLD": ["Dutch", "Netherlands"],
    "BEL": ["Belgian"],
    "AUS": ["Australian"],
    "GTM": ["Guatemalan"],
    "HND": ["Honduran"],
    "SLV": ["Salvadoran"],
    "COL": ["Colombian"],
    "VEN": ["Venezuela", "Venezuelan"],
    "ETH": ["Ethiopian"],
    "ERI": ["Eritrean"],
    "SDN": ["Sudanese"],
    "SOM": ["Somali"],
    "VNM": ["Vietnam", "Viet Nam", "Vietnamese"],
    "PHL": ["Filipino"],
    "IDN": ["Indonesian"],
    "MMR": ["Burma", "Myanmar"],
    "BOL": ["Bolivia"],
    "TZA": ["Tanzania"],
    "MDA": ["Moldova"],
    "LAO": ["Laos"],
    "CZE": ["Czech Republic", "Czechia"],
    "CIV": ["Côte d'Ivoire", "Ivory Coast"],
}


@cache
def _names() -> tuple[re.Pattern, dict[str, str]]:
    import pycountry

    names: dict[str, str] = {}
    for c in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(c, attr, None)
            if value and "," not in value:
                names[value] = c.alpha_3
    for code, extra in _EXTRA.items():
        for name in extra:
            names[name] = code
    # Longest first, so that "South Korea" wins over "Korea" and "United States" over "States".
    ordered = sorted(names, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w.])(" + "|".join(re.escape(n) for n in ordered) + r")(?![\w])")
    return pattern, names


def countries_named(text: str) -> set[str]:
    """ISO 3166 alpha-3 codes of the countries a text names, by name, short name or demonym.

    Matching is case-sensitive (capitalised names only), so "turkey" or "chad" in ordinary
    lower-case use are not countries.
    """
    pattern, names = _names()
    return {names[m.group(1)] for m in pattern.finditer(text)}


def country_terms(text: str) -> dict[str, str]:
    """The BM25 terms of the country names a text uses, each with its country code
    ("Italian" → {"italian": "ITA"}), so that a passage can count as naming a country through
    its document's metadata."""
    pattern, names = _names()
    return {t: names[m.group(1)] for m in pattern.finditer(text) for t in terms(m.group(1))}


@cache
def country_name(code: str) -> str:
    """A country's usual English name from its ISO alpha-3 code ("ITA" → "Italy"); other codes
    ("G7") as they are, "EU" as "European Union"."""
    import pycountry

    country = pycountry.countries.get(alpha_3=code) if len(code) == 3 else None
    if country is None:
        return {"EU": "European Union"}.get(code, code)
    return getattr(country, "common_name", None) or country.name


def country_names(text: str) -> list[tuple[str, str, tuple[int, int]]]:
    """Each country a text names, in order: (ISO 3166 alpha-3 code, the country's usual English
    name, where in the text), as `countries_named` finds them ("the Italian decree" → ITA, Italy)."""
    pattern, names = _names()
    return [(names[m.group(1)], country_name(names[m.group(1)]), m.span()) for m in pattern.finditer(text)]
