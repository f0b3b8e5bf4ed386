"""Cross-lingual retrieval on XQuAD (English and German): the same 240 paragraphs and 1,190 questions
in four pairings, each scored by `kb eval --beir`.

    python -m evals.xquad                          # all four pairings, reports in evals/reports/xquad-*/
    python -m evals.xquad --pairs en-de,de-en --mode hybrid

A pairing is QUESTIONS-PARAGRAPHS: en-de (English questions, German paragraphs) and de-en are the
cross-lingual ones; en-en and de-de, over the same paragraphs, are their monolingual baselines.
Each is assembled as a BEIR directory of links to the dataset's files under the `kb eval` cache
(the dataset stays in ../shared/xling/xquad-en-de; see its README for origin and licence).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from kb.evaluate import corpus

DATASET = Path(__file__).resolve().parents[1].parent / "shared" / "xling" / "xquad-en-de"
# questions file, paragraphs file, per pairing
PAIRS = {
    "en-de": ("queries.jsonl", "corpus.jsonl"),
    "de-en": ("queries_de.jsonl", "corpus_en.jsonl"),
    "en-en": ("queries.jsonl", "corpus_en.jsonl"),
    "de-de": ("queries_de.jsonl", "corpus.jsonl"),
}


def assemble(dataset: Path, pair: str, cache: Path) -> Path:
    """A BEIR directory for one pairing: links to its questions, paragraphs and qrels."""
    questions, paragraphs = PAIRS[pair]
    target = cache / "xquad" / f"xquad-{pair}"
    (target / "qrels").mkdir(parents=True, exist_ok=True)
    for link, source in (
        ("queries.jsonl", questions),
        ("corpus.jsonl", paragraphs),
        ("qrels/test.tsv", "qrels/test.tsv"),
    ):
        path = target / link
        path.unlink(missing_ok=True)
        path.symlink_to((dataset / source).resolve())
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.xquad", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=DATASET, help=f"the dataset (default {DATASET})")
    parser.add_argument(
        "--pairs", default=",".join(PAIRS), help="comma-separated pairings (default all four)"
    )
    parser.add_argument("--mode", default="dense,bm25,hybrid", help="retrieval modes (default all three)")
    parser.add_argument("--cache", type=Path, default=corpus.DEFAULT_CACHE, help="the kb eval cache")
    args = parser.parse_args(argv)
    pairs = [p.strip() for p in args.pairs.split(",") if p.strip()]
    unknown = [p for p in pairs if p not in PAIRS]
    if unknown:
        parser.error(f"unknown pairing {', '.join(unknown)}; choose from {', '.join(PAIRS)}")
    if not (args.dataset / "qrels" / "test.tsv").is_file():
        parser.error(f"{args.dataset} is not the XQuAD retrieval set (no qrels/test.tsv)")
    for pair in pairs:
        directory = assemble(args.dataset, pair, args.cache)
        out = Path("evals") / "reports" / f"xquad-{pair}"
        command = ["kb", "eval", "--beir", str(directory), "--mode", args.mode, "--out", str(out)]
        print("$ " + " ".join(command), file=sys.stderr, flush=True)
        command[:1] = [sys.executable, "-m", "kb.cli"]
        if subprocess.run(command, check=False).returncode != 0:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
