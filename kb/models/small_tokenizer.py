"""A tokenizer holding only the pieces of the texts at hand, for a process that answers one question
and exits: the same ids and offsets as the folder's whole Unigram tokenizer.json, built in
milliseconds instead of the 0.6 s that loading 250,002 pieces takes.

Measured (`kb ask` in a new process, e5, farm-bench pairs, 2 shared cores): loading the whole
tokenizer.json made it 1.27 times as slow as before (median 2.54 s against 1.89 s; +0.58 s of CPU,
+217 MiB peak), so the converter writes the vocabulary beside it in a form read in about 0.1 s:
pieces.txt (the pieces by id, NUL-separated), scores.npy, and small_tokenizer.json (tokenizer.json
with an empty vocabulary). tests/test_e5_onnx.py checks that both give the same ids and offsets.
"""

from __future__ import annotations

import copy
import json
from functools import cached_property
from pathlib import Path

import numpy as np

PARTS = "small_tokenizer.json"
PIECES = "pieces.txt"
SCORES = "scores.npy"
FILES = (PARTS, PIECES, SCORES)


def write(tokenizer_json: Path, folder: Path) -> None:
    """The small tokenizer's files for a Unigram tokenizer.json, into `folder`."""
    data = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    vocab = data["model"]["vocab"]
    if any("\0" in piece for piece, _ in vocab):
        raise ValueError(f"{tokenizer_json}: a piece holds a NUL character")
    (folder / PIECES).write_text("\0".join(piece for piece, _ in vocab), encoding="utf-8")
    np.save(folder / SCORES, np.array([score for _, score in vocab], dtype=np.float64))
    data["model"]["vocab"] = []
    (folder / PARTS).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


class Pieces:
    """A folder's vocabulary, read once; `tokenizer` builds a small tokenizer from it."""

    def __init__(self, folder: Path):
        self.parts = json.loads((folder / PARTS).read_text(encoding="utf-8"))
        self.pieces = (folder / PIECES).read_text(encoding="utf-8").split("\0")
        self.scores = np.load(folder / SCORES)
        model = self.parts["model"]
        self.unk = int(model["unk_id"])
        specials = {i for t in self.parts["post_processor"]["special_tokens"].values() for i in t["ids"]}
        self.always = specials | {self.unk, int(self.parts["padding"]["pad_id"]), int(self.scores.argmin())}

    @cached_property
    def ids(self) -> dict[str, int]:
        return dict(zip(self.pieces, range(len(self.pieces))))

    @cached_property
    def longest(self) -> int:
        return max(map(len, self.pieces))

    @cached_property
    def _normalizer(self):
        from tokenizers import Tokenizer

        data = copy.deepcopy(self.parts)
        data["model"] |= {"vocab": [[self.pieces[self.unk], 0.0]], "unk_id": 0}
        data["post_processor"] = data["padding"] = None
        return Tokenizer.from_str(json.dumps(data)).normalizer

    def found(self, texts: list[str]) -> set[int]:
        """The ids of the pieces that can match in `texts` once normalized. Pieces hold "▁" (a
        space) only as their first character, so each piece that matches lies within one word:
        one of the substrings of "▁word"."""
        words = {w for t in texts for w in self._normalizer.normalize_str(t).split(" ")}
        ids, longest, found = self.ids, self.longest, set()
        for word in words:
            word = "▁" + word
            for i in range(len(word)):
                for j in range(i + 1, min(len(word), i + longest) + 1):
                    if (piece := word[i:j]) in ids:
                        found.add(ids[piece])
        return found

    def tokenizer(self, texts: list[str]):
        """A tokenizer for `texts`, and for each of its ids the whole tokenizer's (a NumPy array)."""
        from tokenizers import Tokenizer

        kept = sorted(self.found(texts) | self.always)
        local = {piece: i for i, piece in enumerate(kept)}
        data = copy.deepcopy(self.parts)
        data["model"] |= {
            "vocab": [[self.pieces[i], float(self.scores[i])] for i in kept],
            "unk_id": local[self.unk],
        }
        for token in data["post_processor"]["special_tokens"].values():
            token["ids"] = [local[i] for i in token["ids"]]
        data["padding"]["pad_id"] = local[int(data["padding"]["pad_id"])]
        return Tokenizer.from_str(json.dumps(data)), np.array(kept, dtype=np.int64)
