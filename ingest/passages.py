"""Paragraphs into passages: one per paragraph, long paragraphs split at sentence boundaries."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Callable

from ingest.paragraphs import Paragraph
from kb.text.sentences import sentence_spans
from kb.types import Passage

# (start, end) character offsets of the model's word pieces in a text, special tokens excluded.
TokenSpans = Callable[[str], list[tuple[int, int]]]


def make_passages(
    doc_id: str, paragraphs: list[Paragraph], token_spans: TokenSpans, max_tokens: int, language: str = "en"
) -> list[Passage]:
    """Passages for a document; every passage text is an exact substring of its paragraph.

    A paragraph longer than `max_tokens` word pieces (the model would silently truncate it)
    is split between sentences (of the document's `language`, ISO 639-1) into parts that fit;
    a single sentence that is still too long is split between words.
    """
    passages: list[Passage] = []
    parts_per_label: Counter[str] = Counter()
    for para in paragraphs:
        # A table row is quoted whole, never cut into "sentences" at "Table 3." or "4.2".
        spans = [(0, len(para.text))] if para.table else sentence_spans(para.text, language=language)
        for a, b in fitting_ranges(para.text, spans, token_spans(para.text), max_tokens):
            part = parts_per_label[para.label]
            parts_per_label[para.label] += 1
            passages.append(
                Passage(
                    id=f"{doc_id}:{para.label}:{part}",
                    doc_id=doc_id,
                    text=para.text[a:b],
                    paragraph=para.label,
                    part=part,
                    heading=para.heading,
                    page=para.page,
                    page_end=para.page_end,
                    start=para.start + a,
                    end=para.start + b,
                    seq=len(passages),
                    sentences=tuple((s - a, e - a) for s, e in spans if s >= a and e <= b),
                    ocr=para.ocr,
                    table=para.table,
                    row=para.row,
                    cells=para.cells,
                )
            )
    return passages


def lead_ins(passages: list[Passage]) -> list[str]:
    """For each passage of a sub-paragraph ("3(a)"), the opening sentence of its paragraph ("3");
    "" for every other passage.

    A lettered item read alone often does not say what it is about: "By November 2025, 31
    individuals and 7 entities had been designated under the regime" is about the UK's sanctions
    against smugglers only through paragraph 3's opening sentence. That sentence is embedded with
    it as context (never quoted or cited as its text). Later parts of a long paragraph do not get
    it: tried, it changed nothing on either suite, and a long speech paragraph's opening sentence
    is often about something else (evals/README.md).
    """
    opening: dict[str, str] = {}
    leads = []
    for p in passages:
        top, sub, _ = p.paragraph.partition("(")
        if not sub and p.part == 0:
            end = len(p.text)
            for _, end in p.sentences:  # a stray "1." or "Ministers:" is not an opening sentence
                if len(p.text[:end].split()) >= 5:
                    break
            opening[top] = p.text[:end].strip()
        leads.append(opening.get(top, "") if sub else "")
    return leads


def fitting_ranges(
    text: str, sentences: list[tuple[int, int]], tokens: list[tuple[int, int]], max_tokens: int
) -> list[tuple[int, int]]:
    """Contiguous (start, end) ranges of `text` of at most `max_tokens` tokens each, cut between
    sentences where possible, else between words. Linear in the length of the text."""
    if len(tokens) <= max_tokens:
        return [(0, len(text))]
    starts = [s for s, _ in tokens]

    def count(a: int, b: int) -> int:
        return bisect_left(starts, b) - bisect_left(starts, a)

    ranges: list[tuple[int, int]] = []
    for s, e in sentences or [(0, len(text))]:
        if ranges and count(ranges[-1][0], e) <= max_tokens:
            ranges[-1] = (ranges[-1][0], e)
        elif count(s, e) <= max_tokens:
            ranges.append((s, e))
        else:
            ranges.extend(_cut_between_words(text, s, e, starts, max_tokens))
    return ranges


def _cut_between_words(
    text: str, a: int, end: int, starts: list[int], max_tokens: int
) -> list[tuple[int, int]]:
    """Split text[a:end] at the last space before each run of `max_tokens` tokens."""
    ranges = []
    while a < end:
        first = bisect_left(starts, a)
        if first + max_tokens >= len(starts) or starts[first + max_tokens] >= end:
            ranges.append((a, end))
            break
        limit = starts[first + max_tokens]  # the first token that no longer fits
        cut = text.rfind(" ", a, limit)
        if cut <= a:  # one enormous word: cut at the token boundary
            cut = limit
        ranges.append((a, cut))
        a = cut
        while a < end and text[a] == " ":
            a += 1
    return ranges
