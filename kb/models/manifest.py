"""What a converted model's folder says about the model: manifest.json beside its model.onnx and
tokenizer.json (kb/models/convert.py writes the folder; kb/models/encoder.py runs it).

Everything that differs between models lives here, with the model, and nowhere else: how its
vectors are pooled, the prefixes it was trained with, the id stored in an index it embedded, the
linear map that puts its cosines on the scale the tool's thresholds were calibrated on, and the
word pieces passages are cut by for it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

MANIFEST = "manifest.json"
MODEL = "model.onnx"
TOKENIZER = "tokenizer.json"
FORMAT = 1  # changes when a field's meaning changes: folders of another format are converted again


@dataclass(frozen=True)
class Split:
    """How long paragraphs are cut into passages for this model: into runs of at most `max_pieces`
    word pieces of the tokenizer file `tokenizer` (in the folder; special tokens not counted)."""

    tokenizer: str = TOKENIZER
    max_pieces: int = 254


@dataclass(frozen=True)
class Manifest:
    """A converted model, as manifest.json records it."""

    model_id: str  # stored with an index: an index embedded by another model is re-embedded
    dimension: int
    max_length: int  # tokens the model reads, special ones included; the rest is truncated
    pooling: str  # "mean" (over every token the mask keeps) or "cls"
    int8: bool  # model.onnx quantized to int8: it then runs one text per call (kb/models/encoder.py)
    prefixes: dict[str, str] = field(default_factory=lambda: {"query": "", "passage": ""})
    # slope and intercept onto MiniLM's cosines, which every threshold of the tool was calibrated on
    cosine_scale: tuple[float, float] = (1.0, 0.0)
    split: Split = Split()
    ends_at_nul: bool = False  # the model's reference engine read a C string: text after a NUL is not read
    small_tokenizer: bool = False  # the folder holds kb/models/small_tokenizer.py's files too
    format: int = FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n"


def read(folder: Path) -> Manifest | None:
    """The folder's manifest, or None when the folder is not a complete converted model of this
    format (no manifest, a file it names missing, another format)."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    manifest = Manifest(
        **{k: v for k, v in data.items() if k not in ("split", "cosine_scale")},
        cosine_scale=tuple(data["cosine_scale"]),
        split=Split(**data["split"]),
    )
    names = [MODEL, TOKENIZER, manifest.split.tokenizer]
    if manifest.small_tokenizer:
        from kb.models import small_tokenizer

        names += small_tokenizer.FILES
    if not all((folder / name).is_file() for name in names):
        return None
    return manifest
