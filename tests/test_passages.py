"""Paragraph numbering, passage splitting and citation strings."""

from __future__ import annotations

import subprocess
import sys

from ingest.blocks import Block
from ingest.paragraphs import document_text, number_paragraphs
from ingest.passages import fitting_ranges, lead_ins, make_passages
from kb.index.cite import citation


def test_documents_own_numbering_is_kept_and_headings_are_not_counted():
    blocks = [
        Block("Preamble", heading=True, level=1),
        Block("We, the Ministers, met in Rome."),
        Block("Pillar 1", heading=True, level=2),
        Block("1. We will act."),
        Block("(a) by sanctions;"),
        Block("(b) with platforms."),
        Block("This continues paragraph 1."),
        Block("2. We task our officials."),
    ]
    paras = number_paragraphs(blocks)
    assert [(p.label, p.text, p.heading) for p in paras] == [
        ("preamble 1", "We, the Ministers, met in Rome.", "Preamble"),
        ("1", "We will act.", "Pillar 1"),
        ("1(a)", "by sanctions;", "Pillar 1"),
        ("1(b)", "with platforms.", "Pillar 1"),
        ("1", "This continues paragraph 1.", "Pillar 1"),
        ("2", "We task our officials.", "Pillar 1"),
    ]
    text = document_text(blocks)
    assert all(text[p.start : p.end] == p.text for p in paras)


def test_sub_paragraphs_are_embedded_with_their_paragraphs_opening_sentence():
    blocks = [
        Block("Sanctions", heading=True, level=2),
        Block("3. Short. In 2025 the United Kingdom introduced a sanctions regime. It allows freezes."),
        Block("(a) By November, 31 individuals had been designated under the regime."),
        Block("(b) Designations are coordinated with partners."),
        Block("This continues paragraph 3."),
        Block("4. Returns rose by a fifth. " + " ".join(f"Sentence number {i} is here." for i in range(60))),
    ]

    passages = make_passages("doc", number_paragraphs(blocks), word_spans, 64)
    lead = "Short. In 2025 the United Kingdom introduced a sanctions regime."  # five words at least
    assert [(p.paragraph, p.part, x) for p, x in zip(passages, lead_ins(passages), strict=True)] == [
        ("3", 0, ""),
        ("3(a)", 0, lead),
        ("3(b)", 0, lead),
        ("3", 1, ""),  # an unlettered continuation and the later parts of a long paragraph: none
    ] + [("4", i, "") for i in range(len(passages) - 4)]
    assert len(passages) > 5


def word_spans(t: str) -> list[tuple[int, int]]:
    """One token per word: enough to exercise the splitting."""
    spans, start = [], None
    for i, ch in enumerate(t + " "):
        if ch != " " and start is None:
            start = i
        elif ch == " " and start is not None:
            spans.append((start, i))
            start = None
    return spans


def test_unnumbered_documents_number_body_paragraphs_in_order():
    blocks = [
        Block("Title", heading=True),
        Block("First."),
        Block("Second."),
        Block("Part", heading=True),
        Block("Third."),
    ]
    assert [(p.label, p.heading) for p in number_paragraphs(blocks)] == [
        ("1", "Title"),
        ("2", "Title"),
        ("3", "Part"),
    ]


def test_long_paragraph_is_split_between_sentences_and_parts_are_exact():
    sentence = "Member states will share information on smuggling networks with each other. "
    text = (sentence * 40).strip()

    paras = number_paragraphs([Block(text)])
    passages = make_passages("doc", paras, word_spans, max_tokens=50)
    assert len(passages) > 1
    assert [p.id for p in passages[:3]] == ["doc:1:0", "doc:1:1", "doc:1:2"]
    for p in passages:
        assert text[p.start : p.end] == p.text
        assert len(word_spans(p.text)) <= 50
        assert p.text.startswith("Member") and p.text.endswith("other.")  # cut between sentences


def test_one_enormous_sentence_is_cut_between_words_in_linear_time():
    text = "word " * 200_000
    tokens = [(i * 5, i * 5 + 4) for i in range(200_000)]
    ranges = fitting_ranges(text, [(0, len(text) - 1)], tokens, 254)
    assert len(ranges) == 788
    assert all(text[a:b].count("word") <= 254 for a, b in ranges)


def test_citation_strings():
    assert citation("G7 Leaders' Declaration on Tackling Migrant Smuggling (2026)", "4") == (
        "G7 Leaders' Declaration on Tackling Migrant Smuggling (2026), para. 4"
    )
    assert citation("Action Plan", "12(a)", page=3) == "Action Plan, p. 3, para. 12(a)"
    assert citation("Action Plan", "12", page=3, page_end=4) == "Action Plan, pp. 3–4, para. 12"
    assert citation("Action Plan", "preamble 2", page=1) == "Action Plan, p. 1, preamble, para. 2"


def test_sentence_splitter_loads_without_scipy_while_another_thread_imports_it():
    # NLTK's import skips SciPy and scikit-learn in its own thread only (kb/imports.py): the
    # main thread, importing them at the same moment as sentence-transformers does, gets them.
    code = """
import sys
from kb.text import sentences
sentences.preload()  # a thread
import scipy.stats, sklearn.preprocessing
print(sentences.sentences("Mr. Smith met the U.K. delegation. Then he left."))
print(scipy.stats.norm.cdf(0), "sklearn.preprocessing" in sys.modules)
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.splitlines() == [
        "['Mr. Smith met the U.K. delegation.', 'Then he left.']",
        "0.5 True",
    ]
    alone = (
        "import sys; from kb.text import analyzer, sentences; sentences.sentences('A. B.'); analyzer.terms('smugglers');"
        "print(sorted({'numba', 'scipy', 'sklearn'} & set(sys.modules)))"
    )
    assert (
        subprocess.run([sys.executable, "-c", alone], capture_output=True, text=True, check=True).stdout
        == "[]\n"
    )
