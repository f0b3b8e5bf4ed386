"""Commitments of one G7 document, at sentence or clause level, each quoted exactly from its passage.

Reading order: the passage's sentences (kb/text/sentences.py) → cues of commitment language
(rules.toml) → one clause per cue → clauses cut at a second complement ("…, and to…") → each
part that adds a measure rather than a target joined back to its commitment (verb lists in
rules.toml; the embedding model places verbs in neither list) → topics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.commitments import topics as topics_mod
from kb.commitments.rules import Rules, opens_clause, stem
from kb.commitments.types import Commitment
from kb.config import Settings
from kb.index.store import cite
from kb.models import embed
from kb.text.sentences import sentence_spans
from kb.types import G7_TYPES, Document, Passage

# Bump when the extraction code changes: stored commitments of every document are then extracted again.
EXTRACT_VERSION = "2"

_TRAILING = re.compile(r"(?:[\s,;:]|\b(?:and|but|while|whereas)\b)+$", re.I)
_LEADING = re.compile(r"^[\s,;:]+")
# Whom a mandate (or an invitation) addresses: the words between the verb and "to".
_ADDRESSEE = re.compile(
    r"\b(?:task|instruct|mandate|ask|request|direct|invite|urge|call (?:on|upon))\s+(?P<who>[^.;:]{2,90}?)\s+to\b",
    re.I,
)


@dataclass
class _Part:
    """A clause (or part of one) before numbering; offsets are within the passage text."""

    passage: Passage
    sentence: tuple[int, int]
    start: int
    end: int
    strength: str
    cue: str
    split: bool = False  # begins at a split connector ("and to …") rather than at a cue
    intro: str = ""  # for an item of a list: the words that introduced the list ("We task … areas:")
    subject: str = ""  # who speaks: "We", "Our officials", "G7 members"


def is_g7_document(document: Document) -> bool:
    """Whether commitments are extracted from this document (a G7 text of a G7 type)."""
    return document.type in G7_TYPES and document.country == "G7"


def extract(
    settings: Settings,
    document: Document,
    passages: list[Passage],
    rules: Rules,
    taxonomy: topics_mod.Taxonomy,
) -> list[Commitment]:
    """The commitments and acknowledgements of a document, in reading order, numbered and tagged."""
    if not is_g7_document(document):
        return []
    parts = _join_measures(settings, _document_parts(passages, rules), rules)
    year = document.date[:4] if document.date[:4].isdigit() else "0000"
    tags = topics_mod.tag(
        settings,
        taxonomy,
        [p.passage.text[p.start : p.end] for p in parts],
        [topics_mod.context_of(taxonomy, p.passage, p.start, p.end) for p in parts],
    )
    out: list[Commitment] = []
    counts = {True: 0, False: 0}
    for part, topics in zip(parts, tags):
        counted = rules.is_commitment(part.strength)
        counts[counted] += 1
        text = part.passage.text[part.start : part.end]
        out.append(
            Commitment(
                id=f"{year}-{counts[True]}" if counted else f"{year}-a{counts[False]}",
                doc_id=document.id,
                passage_id=part.passage.id,
                paragraph=part.passage.paragraph,
                start=part.start,
                end=part.end,
                text=text,
                strength=part.strength,
                cue=part.cue,
                actor=_actor(part.intro or text, part.strength, document, part.subject),
                date=document.date,
                citation=cite(part.passage, document),
                topics=topics,
                sentence=part.sentence,
            )
        )
    return out


def _document_parts(passages: list[Passage], rules: Rules) -> list[_Part]:
    """The parts of every passage, plus the items of lists that a commitment introduces.

    "We task our Ministers to double down on the following areas:" followed by paragraphs without
    commitment language of their own ("Adopt a follow-the-money approach…;") makes each such
    paragraph a commitment of the introducing strength; the introduction itself is then not counted
    (it only carries the verb of its items). The list ends at a paragraph with its own
    cue, at a new heading, or, when the items end with ";", at the first item ending with ".".
    """
    parts: list[_Part] = []
    intro: _Part | None = None
    semicolons = False
    for p in passages:
        own = [part for span in _sentences(p) for part in _sentence_parts(p, span, rules)]
        if own:
            parts.extend(own)
            last = own[-1]
            intro = last if rules.is_commitment(last.strength) and _opens_list(last) else None
            semicolons = False
            continue
        text = p.text.rstrip()
        if intro is None or p.heading != intro.passage.heading or not text:
            intro = None
            continue
        item = _Part(p, (0, len(p.text)), 0, len(p.text), intro.strength, intro.cue)
        item.intro = intro.passage.text[intro.start : intro.end]
        item.subject = intro.subject
        if parts and parts[-1] is intro:
            parts.pop()  # the items are the commitments; the introduction only carries their verb
        parts.append(_trim(item))
        semicolons = semicolons or text.endswith((";", "; and", "; or"))
        if semicolons and text.endswith("."):
            intro = None
    return parts


def _opens_list(part: _Part) -> bool:
    """Whether a clause ends its sentence with a colon ("… in the following areas:")."""
    sentence = part.passage.text[part.sentence[0] : part.sentence[1]].rstrip()
    return sentence.endswith(":") and part.end >= part.passage.text.rfind(":", 0, part.sentence[1]) - 1


def _sentences(passage: Passage) -> list[tuple[int, int]]:
    return list(passage.sentences) or sentence_spans(passage.text)


def _sentence_parts(passage: Passage, span: tuple[int, int], rules: Rules) -> list[_Part]:
    """The clauses of one sentence that carry commitment or acknowledgement language."""
    s0, s1 = span
    sentence = passage.text[s0:s1]
    found: list[tuple[int, int, str, str, str]] = []  # (start, verb end, strength, cue words, subject)
    for cue in rules.cues:
        for m in cue.regex.finditer(sentence):
            if opens_clause(sentence, m.start()):
                found.append(
                    (m.start(), m.end(), cue.strength, _words(m.group(0)), _words(m.group("subject")))
                )
    if rules.ignore is not None:
        for m in rules.ignore.finditer(sentence):
            if opens_clause(sentence, m.start()):
                found.append((m.start(), m.end(), "", _words(m.group(0)), ""))
    # At one place the longest phrase wins; a cue inside an accepted one is not a new clause.
    found.sort(key=lambda f: (f[0], -f[1]))
    cues: list[tuple[int, int, str, str, str]] = []
    for f in found:
        if not cues or f[0] >= cues[-1][1]:
            cues.append(f)
    if not cues:
        return []
    parts: list[_Part] = []
    first = cues[0][0]
    opener = next((o for o in rules.openers if o.regex.match(sentence.lstrip())), None)
    if opener is not None and first > 0:
        lead = len(sentence) - len(sentence.lstrip())
        parts.append(_Part(passage, span, s0 + lead, s0 + first, opener.strength, _words(opener.verb)))
        first_start = first
    else:
        first_start = 0  # keep the introduction ("Accordingly, we task …") with the first clause
    for i, (start, _, strength, words, subject) in enumerate(cues):
        end = cues[i + 1][0] if i + 1 < len(cues) else len(sentence)
        begin = first_start if i == 0 else start
        if strength:
            parts.extend(_split(passage, span, s0 + begin, s0 + end, strength, words, subject, rules))
    return [p for p in (_trim(p) for p in parts) if p.end > p.start]


def _split(
    passage: Passage,
    span: tuple[int, int],
    start: int,
    end: int,
    strength: str,
    cue: str,
    subject: str,
    rules: Rules,
) -> list[_Part]:
    """A commitment clause cut before each split connector; acknowledgements stay whole."""
    if not rules.is_commitment(strength):
        return [_Part(passage, span, start, end, strength, cue, subject=subject)]
    text = passage.text[start:end]
    cuts: list[int] = []
    for connector in rules.connectors:
        for m in re.finditer(re.escape(connector), text, re.I):
            cut = m.start() + len(connector) - len(connector.lstrip(", "))
            if cut not in cuts and not any(abs(cut - c) < 3 for c in cuts):
                cuts.append(cut)
    bounds = [0, *sorted(cuts), len(text)]
    return [
        _Part(passage, span, start + a, start + b, strength, cue, split=i > 0, subject=subject)
        for i, (a, b) in enumerate(zip(bounds, bounds[1:]))
    ]


def _join_measures(settings: Settings, parts: list[_Part], rules: Rules) -> list[_Part]:
    """Join each split part that adds a measure (not a new target) back to the part before it."""
    joined: list[_Part] = []
    for part in parts:
        if (
            part.split
            and joined
            and _same_sentence(joined[-1], part)
            and not _names_target(settings, part, rules)
        ):
            prev = joined[-1]
            joined[-1] = _Part(
                prev.passage,
                prev.sentence,
                prev.start,
                part.end,
                prev.strength,
                prev.cue,
                subject=prev.subject,
            )
        else:
            joined.append(part)
    return joined


_LEAD = re.compile(r"^(?:as\s+well\s+as|and)\s+to\s+(?P<verbs>\w+(?:\s*,\s*\w+)*(?:\s+and\s+\w+)?)", re.I)


def _names_target(settings: Settings, part: _Part, rules: Rules) -> bool:
    """Whether a split part ("and to disrupt …") names a target of its own.

    Its leading verbs are looked up in the rules' target and measure lists; a verb in neither
    list goes with the list whose verbs the embedding model finds closest.
    """
    m = _LEAD.match(part.passage.text[part.start : part.end])
    if not m:
        return True
    verbs = [stem(v) for v in re.split(r"\s*,\s*|\s+and\s+", m.group("verbs"))]
    if any(v in {stem(t) for t in rules.target_verbs} for v in verbs):
        return True
    if any(v in {stem(t) for t in rules.measure_verbs} for v in verbs):
        return False
    return _closer_to_targets(settings, "to " + m.group("verbs"), rules)


def _closer_to_targets(settings: Settings, lead: str, rules: Rules) -> bool:
    """Whether the embedding model puts `lead` ("to curb") nearer the target verbs than the measure verbs."""
    phrases = [f"to {v}" for v in (*rules.target_verbs, *rules.measure_verbs)]
    vectors = embed.encode(settings, [lead, *phrases])
    sims = vectors[1:] @ vectors[0]
    n = len(rules.target_verbs)
    return n > 0 and float(sims[:n].max()) >= float(sims[n:].max(initial=-1.0))


def _same_sentence(a: _Part, b: _Part) -> bool:
    return a.passage.id == b.passage.id and a.sentence == b.sentence


def _trim(part: _Part) -> _Part:
    text = part.passage.text[part.start : part.end]
    lead = len(_LEADING.match(text).group(0)) if _LEADING.match(text) else 0
    tail = _TRAILING.search(text)
    end = part.end - (len(tail.group(0)) if tail else 0)
    return _Part(
        part.passage,
        part.sentence,
        part.start + lead,
        max(end, part.start + lead),
        part.strength,
        part.cue,
        part.split,
        part.intro,
        part.subject,
    )


def _actor(text: str, strength: str, document: Document, subject: str = "") -> str:
    """Who is to act: the addressee of a mandate or invitation, a subject other than "we" ("Our
    officials will…"), else the document's issuer."""
    if subject and not subject.lower().startswith("we"):
        return subject
    if strength in ("mandate", "support"):
        m = _ADDRESSEE.search(text)
        if m:
            return m.group("who").strip()
    return (document.issuer or "G7 members").replace(" (test fixture)", "")


def _words(text: str) -> str:
    return " ".join(text.split())
