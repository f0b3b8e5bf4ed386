"""Glyph names and ligatures that PDF text extraction leaves in the text, turned into characters.

A font whose encoding names its glyphs outside the Adobe Glyph List ("/f_i", "/uni00E9") makes
pypdf print the name itself ("Con/f_irmed"); a font without a Unicode map makes pdfminer print
"(cid:12)". A ligature code point (U+FB01 "ﬁ") is one character where the reader expects two.
`clean_glyphs` repairs all three, and changes nothing else in the text.
"""

from __future__ import annotations

import re
import unicodedata

# "/f_i", "/f_f_l", "/T_h": a ligature named by its letters joined with "_" (AGL specification).
# The name runs straight into the rest of the word ("Con/f_irmed"), so only the ligatures that
# fonts have are matched, which leaves a path in a URL ("/draft_docs", "/fi/__yleiset") alone.
_LIGATURE_NAME = re.compile(r"/((?:f_)+[a-z]|[sc]_t|T_h)(?:\.(?:alt|liga|sc)\d*)?")
# "/uni00E9", "/uni00660069" (several code points), "/u1F600"; an optional ".alt"-style suffix.
_UNI_NAME = re.compile(
    r"/uni((?:[0-9A-F]{4})+)(?:\.[A-Za-z0-9]+)?|/u([0-9A-F]{4,6})(?:\.[A-Za-z0-9]+)?(?![0-9A-Za-z])"
)
_CID = re.compile(r"\(cid:\d+\)")
_LIGATURES = re.compile("[\ufb00-\ufb06]")  # ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ


def clean_glyphs(text: str) -> str:
    """`text` with glyph names ("/f_i" → "fi", "/uni00E9" → "é"), ligature code points ("ﬁ" →
    "fi", by NFKC) and pdfminer's "(cid:N)" placeholders (dropped: the font does not say which
    character they are) replaced. Text without any of them comes back unchanged."""
    if "/" in text:
        text = _LIGATURE_NAME.sub(lambda m: m.group(1).replace("_", ""), text)
        text = _UNI_NAME.sub(_from_uni, text)
    if "(cid:" in text:
        text = _CID.sub("", text)
    return _LIGATURES.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)


def _from_uni(match: re.Match) -> str:
    if match.group(1):
        hexes = [match.group(1)[i : i + 4] for i in range(0, len(match.group(1)), 4)]
    else:
        hexes = [match.group(2)]
    chars = []
    for code in (int(h, 16) for h in hexes):
        if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
            return match.group()  # not a character: leave the name as it was
        chars.append(chr(code))
    return "".join(chars)
