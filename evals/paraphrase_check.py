"""Check that a paraphrase suite's questions share no rare word with the passages that answer them.

    python -m evals.paraphrase_check evals/suites/un-paraphrase.yaml [--max-share 0.01] [--show-shared]

A paraphrase question is meant to be found by meaning, not by a word it happens to share with its
answer. The check reads the suite's corpus exactly as `kb ingest` splits it into passages (the
same readers, paragraphs and passage splitting, no embedding model), and analyses every passage
as BM25 does (kb.text.analyzer: lower-cased words of two or more letters, stopwords dropped, Snowball
stems). A stem is **rare** when at most `--max-share` of the corpus passages contain it (default
1 %, MAX_SHARE below). For every question, every stem it shares with one of its relevant passages
that is rare is an offence; the check prints each offence (query, stem, the words as written on
both sides, its document frequency) and exits 1 if there is any, 0 otherwise (2 for a usage error,
such as a judgment that matches no passage).

A question is analysed in its own language (the suite's `language:` field, else detected) and also
in English, the corpus' language, so that a name or a number written the same way in a French
question and an English passage still counts as shared.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from ingest import manifest as manifest_mod
from ingest.parse import parse
from ingest.passages import make_passages
from ingest.pipeline import opening
from kb.config import Settings
from kb.errors import UsageError
from kb.evaluate import corpus as corpus_mod
from kb.evaluate import suite as suite_mod
from kb.index.lexical import lexical_text
from kb.models import embed
from kb.text import analyzer, language
from kb.types import Document, Passage

# A stem found in at most 1 % of the passages (207 of the UN build's 20,712; BM25 IDF 4.6 and up)
# is rare. Measured on that build (2022-2024), its share of passages: at or under 1 %, the words
# that name what a passage is about ("smuggl" 0.07 %, "proceed" 0.22 %, "vaccin" 0.65 %,
# "peacekeep" 0.73 %, "migrat" 0.86 %, "refuge" 0.93 %) and most names ("rohingya" 0.08 %,
# "darien" 0.02 %; not "ukrain", 4.9 %); above it, the words a user cannot avoid ("sanction" 1.04 %, "illeg" 1.19 %,
# "debt" 1.45 %, "nuclear" 1.76 %, "border" 2.0 %, "pandem" 2.9 %, "climat" 10.0 %, "peopl" 16.9 %,
# "countri" 21.0 %). 95 % of the corpus' 12,728 stems are rare by this rule; the other 5 % are
# the common vocabulary of the statements (docs/paraphrase.md, "The check").
MAX_SHARE = 0.01


@dataclass(frozen=True)
class Offence:
    """A rare stem a question shares with one of its relevant passages."""

    query: str
    stem: str
    doc_freq: int
    in_question: tuple[str, ...]  # the words of the question that give the stem
    in_passage: tuple[str, ...]  # the words of the passage that give it
    passage: str  # its id


@dataclass(frozen=True)
class CorpusTerms:
    """The corpus' passages and each stem's document frequency (passages containing it)."""

    passages: list[tuple[Passage, Document]]
    doc_freq: Counter

    def rare(self, stem: str, max_share: float) -> bool:
        return self.doc_freq.get(stem, 0) <= max_share * len(self.passages)


def corpus_passages(
    suite: suite_mod.Suite, cache: Path = corpus_mod.DEFAULT_CACHE
) -> list[tuple[Passage, Document]]:
    """The passages `kb ingest` makes of the suite's corpus, with their documents, in reading order:
    the same paragraphs and splits (and so the same passage ids) as the suite's index."""
    sources_dir, manifest_path = corpus_mod.sources_for(suite.corpus, cache)
    manifest = manifest_mod.load(manifest_path or sources_dir / manifest_mod.MANIFEST_NAME)
    settings = Settings()
    max_tokens = embed.max_tokens(settings)
    out: list[tuple[Passage, Document]] = []
    for source in manifest_mod.discover(manifest, sources_dir):
        if source.path is None:
            continue
        parsed = parse(str(source.path))
        if parsed.error:
            continue
        doc = manifest_mod.with_title(source.document, parsed.title)
        if not doc.language:  # as ingest does: the manifest's language, else the detected one
            doc = replace(doc, language=language.of_document(opening(parsed.paragraphs)))
        spans = lambda text: embed.token_spans(settings, text)  # noqa: E731
        for p in make_passages(doc.id, parsed.paragraphs, spans, max_tokens, doc.language):
            out.append((p, doc))
    return out


def passage_stems(passage: Passage, document: Document) -> set[str]:
    """The BM25 terms of a passage (its text and heading, in its document's language)."""
    return set(analyzer.analyze(lexical_text(passage.text, passage.heading), document.language or "en"))


def corpus_terms(suite: suite_mod.Suite, cache: Path = corpus_mod.DEFAULT_CACHE) -> CorpusTerms:
    """The suite's corpus passages and their stems' document frequencies."""
    passages = corpus_passages(suite, cache)
    df: Counter = Counter()
    for p, d in passages:
        df.update(passage_stems(p, d))
    return CorpusTerms(passages, df)


def relevant_passages(
    query: suite_mod.Query, passages: list[tuple[Passage, Document]]
) -> list[tuple[Passage, Document]]:
    """The passages a query's judgments name (as kb.evaluate.suite.resolve finds them)."""
    found = []
    for j in query.relevant:
        fragment = suite_mod.normalise(j.contains) if j.contains else ""
        matched = [
            (p, d)
            for p, d in passages
            if (not j.doc or p.doc_id == j.doc)
            and (not j.paragraph or p.paragraph == j.paragraph)
            and (not fragment or fragment in suite_mod.normalise(p.text))
        ]
        if not matched:
            raise UsageError(f"query {query.id}: {j.describe()} matches no passage of the corpus")
        found += matched
    return found


def question_stems(query: suite_mod.Query) -> dict[str, set[str]]:
    """A question's stems (in its own language and in English) → the words that give each."""
    own = query.language or analyzer.question_language(query.question)
    stems: dict[str, set[str]] = {}
    for lang in dict.fromkeys((own, "en")):
        for word in analyzer.written_words(query.question) | set(_numbers(query.question)):
            for stem in analyzer.analyze(word, lang):
                stems.setdefault(stem, set()).add(word)
    return stems


def _numbers(text: str) -> list[str]:
    import re

    return re.findall(r"\b\d\d+\b", text)


def offences(suite: suite_mod.Suite, terms: CorpusTerms, max_share: float = MAX_SHARE) -> list[Offence]:
    """Every rare stem a question of the suite shares with one of its relevant passages."""
    found: list[Offence] = []
    for q in suite.queries:
        asked = question_stems(q)
        seen: set[str] = set()
        for p, d in relevant_passages(q, terms.passages):
            shared = set(asked) & passage_stems(p, d)
            for stem in sorted(shared):
                if stem in seen or not terms.rare(stem, max_share):
                    continue
                seen.add(stem)
                lang = d.language or "en"
                words = analyzer.written_words(p.text) | set(_numbers(p.text))
                written = tuple(sorted(w for w in words if stem in analyzer.analyze(w, lang)))
                found.append(
                    Offence(
                        q.id, stem, terms.doc_freq.get(stem, 0), tuple(sorted(asked[stem])), written, p.id
                    )
                )
    return found


def shared_terms(suite: suite_mod.Suite, terms: CorpusTerms) -> dict[str, list[tuple[str, float]]]:
    """Per query, every stem it shares with a relevant passage and that stem's share of passages."""
    out: dict[str, list[tuple[str, float]]] = {}
    n = len(terms.passages)
    for q in suite.queries:
        asked = set(question_stems(q))
        have: set[str] = set()
        for p, d in relevant_passages(q, terms.passages):
            have |= asked & passage_stems(p, d)
        out[q.id] = sorted(((s, terms.doc_freq.get(s, 0) / n) for s in have), key=lambda x: x[1])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("suite", type=Path)
    ap.add_argument(
        "--max-share",
        type=float,
        default=MAX_SHARE,
        help=f"a stem in at most this share of the passages is rare (default {MAX_SHARE})",
    )
    ap.add_argument("--show-shared", action="store_true", help="also list every shared stem, rare or not")
    ap.add_argument(
        "--cache", type=Path, default=corpus_mod.DEFAULT_CACHE, help="where kb eval keeps merged corpora"
    )
    args = ap.parse_args(argv)
    try:
        suite = suite_mod.load(args.suite)
        terms = corpus_terms(suite, args.cache)
        found = offences(suite, terms, args.max_share)
    except UsageError as exc:
        print(f"paraphrase_check: {exc}", file=sys.stderr)
        return 2
    n = len(terms.passages)
    limit = int(args.max_share * n)
    if args.show_shared:
        for qid, shared in shared_terms(suite, terms).items():
            print(f"{qid}: " + ", ".join(f"{s} {share:.1%}" for s, share in shared))
    for o in found:
        print(
            f"{o.query}: shares the rare stem {o.stem!r} (in {o.doc_freq} of {n} passages) with {o.passage}: "
            f"question {', '.join(o.in_question)!s}; passage {', '.join(o.in_passage) or '?'}"
        )
    queries = {o.query for o in found}
    print(
        f"{args.suite}: {len(suite.queries)} questions, {n} passages, rare = in at most {args.max_share:.1%} "
        f"({limit}) of them; {len(found)} rare stems shared by {len(queries)} questions",
        file=sys.stderr,
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
