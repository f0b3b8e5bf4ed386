"""Write a suite of misspelled variants of another suite's questions, to measure spelling correction.

    python -m evals.misspell evals/suites/g7-smuggling.yaml evals/suites/misspelled.yaml
    python -m evals.ablate evals/suites/misspelled.yaml correct_spelling=False

Each question (answerable or not; the source suite's checks are left out) gets typing slips in one
or two of its words of five letters or more, picked at random (seeded): a letter left out, doubled,
swapped with the next, or replaced by a neighbouring key. Capitalised words, acronyms and quoted
text are left alone, and so is a slip that makes another real word. Judgments, filters and
`answerable` are copied unchanged, so the figures compare with the source suite's.
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

import yaml

_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEAR = {
    c: "".join(row[j] for j in (i - 1, i + 1) if 0 <= j < len(row))
    for row in _ROWS
    for i, c in enumerate(row)
}
_WORD = re.compile(r"\b[a-z]{5,}\b")


def slip(word: str, rng: random.Random) -> str:
    """The word with one typing slip inside it (never its first letter)."""
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("drop", "double", "swap", "near"))
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    if kind == "swap" and word[i] != word[i + 1]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    near = _NEAR.get(word[i], "")
    return word[:i] + rng.choice(near) + word[i + 1 :] if near else word[:i] + word[i + 1 :]


def misspell(question: str, rng: random.Random, known: set[str]) -> str:
    """The question with slips in one or two of its longer lower-case words outside quotes."""
    quoted = [m.span() for m in re.finditer(r'"[^"]*"', question)]
    spots = [m for m in _WORD.finditer(question) if not any(a <= m.start() < b for a, b in quoted)]
    out = question
    for m in sorted(rng.sample(spots, min(len(spots), rng.choice((1, 2)))), key=lambda m: -m.start()):
        typed = slip(m.group(), rng)
        if typed.lower() not in known:  # a slip that makes a real word is not a misspelling
            out = out[: m.start()] + typed + out[m.end() :]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="the suite whose questions are misspelled")
    parser.add_argument("out", type=Path, help="the suite to write")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    from spellchecker import SpellChecker

    known = set(SpellChecker(language="en").word_frequency.dictionary)
    suite = yaml.safe_load(args.source.read_text(encoding="utf-8"))
    rng = random.Random(args.seed)
    queries = []
    for q in suite["queries"]:
        typed = misspell(q["question"], rng, known)
        queries.append({**q, "question": typed, "note": f"as written: {q['question']}"})
    out = {
        "name": f"{suite['name']}-misspelled",
        "description": (
            f"The questions of {args.source.as_posix()} with one or two typing slips each (a letter left out, "
            "doubled, swapped or replaced by a neighbouring key), written by `python -m evals.misspell "
            f"{args.source.as_posix()} {args.out.as_posix()} --seed {args.seed}`; judgments unchanged. Measures "
            "spelling correction (kb/search/spelling.py): compare with python -m evals.ablate "
            f"{args.out.as_posix()} correct_spelling=False."
        ),
        "corpus": suite["corpus"],
        "k": suite.get("k", 10),
        "queries": queries,
    }
    args.out.write_text(yaml.safe_dump(out, allow_unicode=True, sort_keys=False, width=120), encoding="utf-8")
    changed = sum(q["question"] != q["note"][len("as written: ") :] for q in queries)
    print(f"{args.out}: {len(queries)} questions, {changed} misspelled")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
