"""Compare ways of cutting Japanese into BM25 terms (issue 19): the character pairs that kb/index/lexical.py
indexes today against three morphological analysers that ship their dictionary as a Python package:
janome (IPADIC), SudachiPy with sudachidict_core (split modes C and A) and fugashi (MeCab) with
unidic-lite. For each: installed size, import and first-call time, throughput, memory, and retrieval
quality on the Japanese test fixture in evals/corpus-multilingual/ (its paragraphs; the questions
below). Write-up: evals/japanese-tokenizers.md.

None of these packages is a dependency of the project; install them in a venv of their own:

    python3 -m venv /tmp/jatok
    /tmp/jatok/bin/pip install janome sudachipy sudachidict_core fugashi unidic-lite PyStemmer bm25s numpy
    HF_HUB_OFFLINE=1 /tmp/jatok/bin/python evals/japanese_tokenizers.py

Prints Markdown tables. Timings run one tokenizer per new process, one at a time (medians of
`RUNS`), so an import does not warm the next; they are wall-clock times and move with the load
of the machine.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
import resource
import statistics
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a file from the repository root: kb/ is importable without installing

CORPUS = ROOT / "evals" / "corpus-multilingual"
RUNS = 3
THROUGHPUT_CHARS = 200_000
# The packages each analysis adds to the project's own dependencies (bigrams need none: PyStemmer and
# bm25s are there already).
PACKAGES = {
    "bigrams": (),
    "janome": ("janome",),
    "sudachi-C": ("SudachiPy", "sudachidict_core"),
    "sudachi-A": ("SudachiPy", "sudachidict_core"),
    "fugashi": ("fugashi", "unidic-lite"),
}

# Written before any tokenizer was run on them, and not changed after: an analyst's questions, each
# answered by one numbered paragraph of the fixture, in other words than the paragraph's, with the
# sentences of that paragraph (1-based) that answer it. The note says what makes the question hard
# for some way of cutting the text. The last two are the suite's own (evals/suites/multilingual.yaml,
# ja-ja-1 and ja-ja-2), written by someone else.
QUESTIONS = [
    ("この報告書はいつどの会議に出されたか", 1, (2,), "報告書 vs 報告; 出された vs 提出された"),
    ("密航を手助けしたとして起訴されたのは何人か", 2, (2,), "手助け vs 助長"),
    ("ブローカー組織の主犯格に下された判決の重さは", 2, (2,), "主犯格 vs 中心人物"),
    ("偽造パスポートを使った外国人は空港で何人見つかったか", 3, (1,), "偽造 vs 偽変造; パスポート vs 旅券"),
    ("顔認識で本人を確かめる仕組みはどこまで広がったか", 3, (2,), "顔認識 vs 顔認証; 確かめる vs 確認"),
    ("SNSで高収入をうたう勧誘の書き込みは何件消されたか", 4, (2,), "消された vs 削除された"),
    ("密航業者のお金の流れはどうやって調べているか", 5, (1,), "業者 vs 事業者 (par. 4); 流れ"),
    ("没収や追徴で取り上げた金額の合計はいくらか", 5, (2,), "合計 vs 総額"),
    ("航空会社の乗客予約データをどう活用しているか", 6, (2,), "乗客予約 inside 乗客予約記録; 活用 in par. 5"),
    ("船で集団密航を企てた事件は何件摘発されたか", 7, (2,), "船 vs 船舶; 集団密航 inside 集団密航事案"),
    ("悪質な仲介業者を締め出すため覚書を見直した相手国はどこか", 8, (1,), "見直した vs 改定"),
    ("強制送還された外国人は何人か", 9, (1,), "強制送還 vs 退去強制令書により送還"),
    ("人身売買の被害者と認められた人はどんな支援を受けられるか", 10, (2,), "人身売買 vs 人身取引"),
    ("研修を受けた職員は何人で、海外から招いた捜査官は何人か", 11, (1, 2), "受けた vs 受講; 招いた"),
    ("ビザ免除の国から来る人を事前にチェックする電子認証はいつ始まるか", 12, (1,), "ビザ (par. 4) vs 査証"),
    ("SNSの密航勧誘の書き込みはどのくらい削除されたのか", 4, (2,), "suite ja-ja-1"),
    ("密航の手引きをした者は何人起訴されたか", 2, (2,), "suite ja-ja-2"),
]

# Sentences whose segmentation the report shows: an inflected verb, long compounds, numbers.
SAMPLES = [
    "2025年に退去強制令書により送還された外国人は6,100人であった。",
    "送出機関が労働者から徴収する手数料に上限を設け、違反した機関は認定を取り消されることとなった。",
    "政府は、査証免除国からの渡航者を出発前に審査する電子渡航認証制度（JESTA）を2028年度までに導入する。",
]

# Parts of speech that carry no content, in both IPADIC (janome) and UniDic/Sudachi naming: particles,
# auxiliary verbs, punctuation and symbols, white space. Like the bigrams, which drop runs of hiragana.
_FUNCTION_POS = frozenset({"助詞", "助動詞", "補助記号", "記号", "空白", "フィラー"})
_HIRAGANA = re.compile(r"[\u3040-\u309f]+")
_HAN_OR_KATAKANA = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\u30a0-\u30ff]")
_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class Passage:
    paragraph: int  # the paragraph's own number in the document ("3." → 3)
    sentence: int  # 1-based within the paragraph; 0 for the whole paragraph
    heading: str
    text: str


def japanese_files() -> list[Path]:
    """The fixture documents whose language is Japanese, from the corpus's sources.toml."""
    sources = tomllib.loads((CORPUS / "sources.toml").read_text(encoding="utf-8"))
    return [CORPUS / d["file"] for d in sources["document"] if d["language"] == "ja"]


def paragraphs() -> list[Passage]:
    """The numbered paragraphs of the Japanese fixture documents, each with its section heading."""
    out, heading = [], ""
    for path in japanese_files():
        for block in path.read_text(encoding="utf-8").split("\n\n"):
            block = block.strip()
            if block.startswith("## "):
                heading = block[3:]
            elif m := re.match(r"(\d+)\.\s+", block):
                out.append(Passage(int(m.group(1)), 0, heading, block[m.end() :]))
    return out


def sentences(passages: list[Passage]) -> list[Passage]:
    """The sentences of the paragraphs (up to each 。), each with its paragraph's heading: a harder
    test than paragraphs, with about twice as many passages, some of them on the question's topic."""
    return [
        Passage(p.paragraph, i, p.heading, text)
        for p in passages
        for i, text in enumerate(re.findall(r"[^。]+。?", p.text), 1)
    ]


def _terms(words) -> list[str]:
    """Content terms from (form, surface, part of speech) triples: function words, punctuation, words
    written in hiragana only (as the bigrams drop hiragana: する, ある, こと, whose dictionary forms
    為る, 有る, 事 would otherwise pass) and single letters or digits dropped, lower-cased (single Han
    and Katakana characters are kept, as the bigram analysis keeps them)."""
    out = []
    for form, surface, pos in words:
        form = form.lower()
        if pos in _FUNCTION_POS or not _WORD.search(form) or _HIRAGANA.fullmatch(surface):
            continue
        if len(form) >= 2 or _HAN_OR_KATAKANA.fullmatch(form):
            out.append(form)
    return out


def bigrams(surface: bool = False) -> Callable[[str], list[str]]:
    """Today's analysis: kb.index.lexical.analyze for Japanese (overlapping pairs of Han or Katakana)."""
    from kb.text.analyzer import analyze

    return lambda text: analyze(text, "ja")


def janome(surface: bool = False) -> Callable[[str], list[str]]:
    """janome (IPADIC): each word's base form (辞書形), or its surface form with surface=True."""
    from janome.tokenizer import Tokenizer

    tokenizer = Tokenizer()

    def form(t) -> str:
        return t.surface if surface or t.base_form == "*" else t.base_form

    return lambda text: _terms(
        (form(t), t.surface, t.part_of_speech.split(",")[0]) for t in tokenizer.tokenize(text)
    )


def sudachi(mode: str, surface: bool = False) -> Callable[[str], list[str]]:
    """SudachiPy with sudachidict_core in split mode "A" (short units) or "C" (named entities and
    compounds whole): each word's normalized form (表記正規化: 取消し → 取り消し, 附属 → 付属), or its surface."""
    from sudachipy import Dictionary

    tokenizer = Dictionary(dict="core").tokenizer(mode=mode)

    def analyse(text: str) -> list[str]:
        return _terms(
            (m.surface() if surface else m.normalized_form(), m.surface(), m.part_of_speech()[0])
            for m in tokenizer.tokenize(text)
        )

    return analyse


def fugashi(surface: bool = False) -> Callable[[str], list[str]]:
    """fugashi (MeCab) with unidic-lite: each word's UniDic lemma without its gloss ("ビザ-visa" →
    "ビザ"), or its surface; words the dictionary does not know have no lemma and keep their surface."""
    import fugashi as mecab

    tagger = mecab.Tagger()

    def form(w) -> str:
        return w.surface if surface or not w.feature.lemma else w.feature.lemma.split("-")[0]

    return lambda text: _terms((form(w), w.surface, w.feature.pos1) for w in tagger(text))


ANALYSES: dict[str, Callable[..., Callable[[str], list[str]]]] = {
    "bigrams": bigrams,
    "janome": janome,
    "sudachi-C": lambda surface=False: sudachi("C", surface),
    "sudachi-A": lambda surface=False: sudachi("A", surface),
    "fugashi": fugashi,
}


def installed_mb(packages: tuple[str, ...]) -> float:
    """MB on disk of the installed distributions' files (their RECORD, compiled .pyc included)."""
    total = 0
    for name in packages:
        dist = importlib.metadata.distribution(name)
        total += sum(Path(dist.locate_file(f)).stat().st_size for f in dist.files or ())
    return total / 1e6


def measure(name: str) -> dict:
    """In this process, which must be new: seconds to import and load `name`, seconds of its first
    call, characters per second over about THROUGHPUT_CHARS of the fixture, peak memory (MB), and
    the number of BM25 terms it makes of 100 characters (the index's postings grow with it)."""
    texts = [p.text for p in paragraphs()]
    start = time.perf_counter()
    analyse = ANALYSES[name]()
    loaded = time.perf_counter()
    analyse(texts[0])
    first = time.perf_counter()
    repeated = texts * (THROUGHPUT_CHARS // sum(map(len, texts)) + 1)
    start_all = time.perf_counter()
    for text in repeated:  # one call per passage, as an ingest analyses them
        analyse(text)
    elapsed = time.perf_counter() - start_all
    return {
        "load_s": loaded - start,
        "first_call_s": first - loaded,
        "chars_per_s": sum(map(len, repeated)) / elapsed,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "terms_per_100": 100 * sum(len(analyse(t)) for t in texts) / sum(map(len, texts)),
    }


def measured(name: str) -> dict:
    """Medians over RUNS new processes of `measure(name)`."""
    runs = []
    for _ in range(RUNS):
        out = subprocess.run(
            [sys.executable, __file__, "--measure", name], capture_output=True, text=True, check=True
        )
        runs.append(json.loads(out.stdout))
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def rank(scores: list[float], relevant: list[int]) -> float:
    """The rank of the best-scored relevant passage, counting ties with irrelevant ones against it;
    infinite when no relevant passage scored above 0."""
    best = max(scores[i] for i in relevant)
    if best <= 0:
        return float("inf")
    return 1 + sum(1 for i, s in enumerate(scores) if s >= best and i not in relevant)


def ranks(analyse: Callable[[str], list[str]], passages: list[Passage]) -> list[float]:
    """The rank of each question's answer under BM25 with the project's k1 and b, over `passages`
    (paragraphs or sentences) analysed with `analyse` (text and heading, as kb.index.lexical indexes them)."""
    import bm25s

    from kb.index.lexical import BM25_B, BM25_K1, lexical_text

    vocab: dict[str, int] = {}
    corpus = [
        [vocab.setdefault(t, len(vocab)) for t in analyse(lexical_text(p.text, p.heading)) or [""]]
        for p in passages
    ]
    retriever = bm25s.BM25(k1=BM25_K1, b=BM25_B)
    retriever.index((corpus, vocab), show_progress=False)
    out = []
    for question, paragraph, answering, _ in QUESTIONS:
        relevant = [
            i
            for i, p in enumerate(passages)
            if p.paragraph == paragraph and (p.sentence == 0 or p.sentence in answering)
        ]
        known = [t for t in analyse(question) if t in vocab]
        scores = retriever.get_scores(known) if known else [0.0] * len(passages)
        out.append(rank([float(x) for x in scores], relevant))
    return out


def _shown(r: float) -> str:
    return "–" if r == float("inf") else f"{r:.0f}"


def metrics(found: list[float]) -> dict[str, float]:
    """recall@1, recall@3 and MRR of the ranks (standard names, as ranx spells them)."""
    n = len(found)
    return {
        "recall@1": sum(r <= 1 for r in found) / n,
        "recall@3": sum(r <= 3 for r in found) / n,
        "mrr": sum(1 / r for r in found) / n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--measure", choices=ANALYSES, help="time one analysis in this process (internal)")
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return

    passages = paragraphs()
    chars = sum(len(p.text) for p in passages)
    print(
        f"{len(passages)} paragraphs ({chars} characters) of {len(japanese_files())} Japanese document(s)\n"
    )

    print(
        "| analysis | added packages | installed MB | import + load ms | first call ms | chars/s "
        "| peak RSS MB | terms / 100 chars |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, packages in PACKAGES.items():
        m = measured(name)
        print(
            f"| {name} | {' + '.join(packages) or '(none)'} | {installed_mb(packages):.0f} | "
            f"{1000 * m['load_s']:.0f} | {1000 * m['first_call_s']:.1f} | {m['chars_per_s']:,.0f} | "
            f"{m['peak_mb']:.0f} | {m['terms_per_100']:.0f} |"
        )

    units = {"paragraphs": passages, "sentences": sentences(passages)}
    analyses = {name: make() for name, make in ANALYSES.items()}
    found = {(name, u): ranks(analyse, units[u]) for name, analyse in analyses.items() for u in units}
    plain = {name: ANALYSES[name](surface=True) for name in ANALYSES if name != "bigrams"}
    plain_mrr = {(n, u): metrics(ranks(a, units[u]))["mrr"] for n, a in plain.items() for u in units}
    print(
        f"\n{len(QUESTIONS)} questions over {len(units['paragraphs'])} paragraphs or "
        f"{len(units['sentences'])} sentences; BM25 k1 and b as kb/index/lexical.py\n"
    )
    print("| analysis | passages | recall@1 | recall@3 | MRR | MRR, surface forms |")
    print("|---|---|---:|---:|---:|---:|")
    for (name, u), ranked in found.items():
        m = metrics(ranked)
        other = f"{plain_mrr[name, u]:.3f}" if (name, u) in plain_mrr else "n/a"
        print(f"| {name} | {u} | {m['recall@1']:.2f} | {m['recall@3']:.2f} | {m['mrr']:.3f} | {other} |")

    print("\nRank of the answer, among paragraphs / among sentences (–: scored 0)\n")
    print("| question | par. | hard because | " + " | ".join(analyses) + " |")
    print("|---|---:|---|" + "---:|" * len(analyses))
    for i, (question, paragraph, _, note) in enumerate(QUESTIONS):
        cells = " | ".join("/".join(_shown(found[n, u][i]) for u in units) for n in analyses)
        print(f"| {question} | {paragraph} | {note} | {cells} |")

    print("\nBM25 terms of three sentences of the fixture\n")
    for sentence in SAMPLES:
        print(f"{sentence}\n")
        for name, analyse in analyses.items():
            print(f"- {name}: {' '.join(analyse(sentence))}")
        print()


if __name__ == "__main__":
    main()
