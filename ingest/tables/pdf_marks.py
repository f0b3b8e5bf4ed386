"""Lines that name a table, a figure or a note: patterns shared by the PDF table finder."""

from __future__ import annotations

import re

CAPTION = re.compile(r"^\s*(?:table|tab\.|tableau|tabelle|tabla|tabella|exhibit)\s*[\dIVXA-Z]", re.I)
# A figure's caption or a section heading ("6.4.  Teachers and trainers") is never a table row.
BLOCKER = re.compile(
    r"^\s*(?:figure|fig\.|chart|graph|diagram|map|box|exhibit|graphique|abbildung)\s*[\dIVX]", re.I
)
NOTE = re.compile(r"^\s*(?:sources?|notes?|nb|\*|†|‡|§|¹|\(\w\)|\w\)|abbreviations?)\b|^\s*[*†‡§]", re.I)
