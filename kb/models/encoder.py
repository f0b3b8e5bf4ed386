"""The one encoder: runs any converted model's folder (kb/models/convert.py) in ONNX Runtime.

Texts are sorted by length (similar lengths pad less), prefixed as the manifest says, tokenized by
the folder's tokenizer.json, run, pooled (mean over the mask, or the first token) and normalized.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path

import numpy as np

from kb.models import manifest as manifest_mod

# A process that answers one question (`warm(lasting=False)`) runs a job of up to this many
# characters on its all-core session rather than spend a quarter of a second loading the one-core
# sessions' (same vectors: measured on 310 texts). Jobs this small are tokenized, for up to
# SMALL_BUILDS calls, by a tokenizer holding only their pieces (kb/models/small_tokenizer.py) when
# the folder has one and its whole tokenizer is not loaded yet; then the whole one is loaded.
SMALL_JOB = 20_000
SMALL_BUILDS = 8


class OnnxEncoder:
    """Encodes texts with a converted model's folder. Its sessions and tokenizers load on first use."""

    def __init__(self, folder: Path):
        found = manifest_mod.read(folder)
        if found is None:
            raise ValueError(f"{folder}: not a complete converted model")
        self.folder = folder
        self.manifest = found
        self.dimension = found.dimension
        self.max_pieces = found.split.max_pieces
        # One session with every core for a single text (a question); for many texts, batches go to
        # one worker thread per core over a one-thread session, which ONNX Runtime runs without the
        # GIL: 1.3 times the passages per second on two cores, same vectors.
        self.threads = os.cpu_count() or 1
        self.brief = False  # this process answers one question and exits (`warm(lasting=False)`)
        self._lock = threading.Lock()
        self._small_builds = 0

    @cached_property
    def tokenizer(self):
        """The model's tokenizer, truncating at its max_length and padding a batch to its longest text
        (as the converters save it; set again here for folders converted elsewhere)."""
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.folder / manifest_mod.TOKENIZER))
        tokenizer.enable_truncation(self.manifest.max_length)
        padding = tokenizer.padding or {}
        pad_token = padding.get("pad_token", "[PAD]")
        pad_id = tokenizer.token_to_id(pad_token)
        tokenizer.enable_padding(
            pad_id=padding.get("pad_id", 0) if pad_id is None else pad_id, pad_token=pad_token
        )
        return tokenizer

    @cached_property
    def _splitting(self):
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.folder / self.manifest.split.tokenizer))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the word pieces that passages are cut by (the manifest's split
        tokenizer; no special tokens, no truncation)."""
        return [tuple(span) for span in self._splitting.encode(text, add_special_tokens=False).offsets]

    def token_ids(self, text: str, query: bool = False) -> list[int]:
        """The ids the model reads for `text`, prefix and special tokens included (truncated)."""
        text = self._prefixed(text, query)
        with self._lock:
            tokenizer, ids = self._tokenizer_for([text])
        found = tokenizer.encode(text).ids
        return found if ids is None else ids[found].tolist()

    @cached_property
    def _pieces(self):
        from kb.models.small_tokenizer import Pieces

        return Pieces(self.folder)

    def _tokenizer_for(self, texts: list[str]):
        """A tokenizer for `texts`, and the model's id for each of its ids (None: the same): the
        whole one once loaded or worth loading, else one holding only their pieces."""
        small = self.manifest.small_tokenizer and self._small_builds < SMALL_BUILDS
        if small and "tokenizer" not in self.__dict__ and sum(map(len, texts)) <= SMALL_JOB:
            self._small_builds += 1
            tokenizer, ids = self._pieces.tokenizer(texts)
            tokenizer.enable_truncation(self.manifest.max_length)
            return tokenizer, ids
        return self.tokenizer, None

    @cached_property
    def session(self):
        """The session with every core."""
        return self._session(self.threads)

    @cached_property
    def single(self):
        """A session on one core, which every core's thread runs for a batch of texts."""
        return self._session(1)

    def _session(self, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        # ONNX Runtime's fused SkipLayerNormalization kernel took 18 % of the int8 model's time on
        # this CPU; the Add and LayerNormalization it replaces take 4 %. Same sums in float; the
        # int8 vectors move a little with it (cosine 0.9997 on an e5 passage), so every session of
        # a folder, and tests/test_onnx.py's plain one, is made this way.
        options.add_session_config_entry("optimization.disable_specified_optimizers", "SkipLayerNormFusion")
        path = str(self.folder / manifest_mod.MODEL)
        return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])

    def warm(self, lasting: bool = True) -> None:
        """Load the model now: a `lasting` process (one answering many questions, or embedding
        many passages) loads the one-core session and the whole tokenizer too; a process
        answering one question does without both from now on (see `encode`, `_tokenizer_for`)."""
        with self._lock:
            self.brief = not lasting
            _ = (self.session, self.tokenizer, self.single) if lasting else self.session

    def _prefixed(self, text: str, query: bool) -> str:
        if self.manifest.ends_at_nul:
            text = text.split("\x00", 1)[0]
        return self.manifest.prefixes["query" if query else "passage"] + text

    def encode(self, texts: list[str], batch_size: int = 32, query: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one per text, in the order given. The int8 model runs one
        text per call: it quantizes activations with one scale per call, taken from everything in
        it, so in a batch a text's vector would depend on its neighbours (and their padding); one
        text per call keeps it a function of the text alone, at no measurable cost on a CPU."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        prefixed = [self._prefixed(t, query) for t in texts]
        size = 1 if self.manifest.int8 else max(1, batch_size)
        order = np.argsort([-len(t) for t in prefixed], kind="stable")  # similar lengths pad less
        batches = [order[i : i + size] for i in range(0, len(prefixed), size)]
        with self._lock:
            tokenizer, session = self._tokenizer_for(prefixed), self.session
            brief = self.brief and sum(map(len, prefixed)) <= SMALL_JOB
            single = self.single if len(batches) > 1 and self.threads > 1 and not brief else None
        if single is not None:
            with ThreadPoolExecutor(self.threads, thread_name_prefix="kb-encode") as pool:
                chunks = list(pool.map(lambda b: self._run(single, *tokenizer, prefixed, b), batches))
        else:
            chunks = [self._run(session, *tokenizer, prefixed, b) for b in batches]
        pooled = np.concatenate(chunks)
        result = np.empty_like(pooled)
        result[order] = pooled
        return result

    def _run(self, session, tokenizer, model_ids, texts: list[str], batch: np.ndarray) -> np.ndarray:
        encodings = tokenizer.encode_batch([texts[j] for j in batch])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        arrays = {
            "input_ids": ids if model_ids is None else model_ids[ids],
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        names = [i.name for i in session.get_inputs()]
        hidden = session.run(None, {name: arrays[name] for name in names})[0]
        mask = arrays["attention_mask"]
        if self.manifest.pooling == "cls":
            vectors = hidden[:, 0]
        else:
            m = mask[..., None].astype(np.float32)
            vectors = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.clip(norms, 1e-12, None)).astype(np.float32)

    def comparable(self, cosines):
        """Cosines on MiniLM's scale, which the tool's thresholds were calibrated on (the manifest's
        cosine_scale); same order, same ranking."""
        slope, intercept = self.manifest.cosine_scale
        return cosines if (slope, intercept) == (1.0, 0.0) else slope * cosines + intercept
