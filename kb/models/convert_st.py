"""Converting a SentenceTransformer (MiniLM, or any local model made of Transformer → Pooling
[→ Normalize] with a tokenizer.json) into a folder that kb/models/encoder.py runs.

sentence-transformers' own ONNX backend needs `optimum`, whose releases pin an older
`transformers` than the one sentence-transformers 6 needs, so the transformer is exported here with
torch.onnx and pooled in NumPy by the encoder exactly as the model's Pooling module does. The float
export's vectors match PyTorch's to 1e-6 (cosine > 0.99999), so an index built with either backend
answers queries from the other. Once converted, a process runs the folder without importing PyTorch
or sentence-transformers (which took about five of the eight seconds a `kb ask` spent starting).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
from pathlib import Path

from kb.models import convert
from kb.models.manifest import MODEL, TOKENIZER, Manifest, Split

# Changes whenever the conversion would give other files: folders converted before are redone.
VERSION = 4


def supported(st_model, model_path: str) -> bool:
    """Whether this SentenceTransformer is Transformer → Pooling (mean or CLS) [→ Normalize] with a
    fast tokenizer file (tokenizer.json) that the encoder can read without transformers."""
    names = [type(m).__name__ for m in st_model]
    if names[:2] != ["Transformer", "Pooling"] or any(n != "Normalize" for n in names[2:]):
        return False
    return _pooling(st_model) in ("mean", "cls") and (Path(model_path) / TOKENIZER).exists()


def _pooling(st_model) -> str:
    config = st_model[1].get_config_dict()
    if "pooling_mode" in config:
        return str(config["pooling_mode"])
    modes = [
        k.removeprefix("pooling_mode_").removesuffix("_tokens")
        for k, v in config.items()
        if k.startswith("pooling_mode_") and v
    ]
    return modes[0] if len(modes) == 1 else "unsupported"


def folder_name(model_path: str, model_id: str, int8: bool) -> str | None:
    """The cache folder's name for this model, found without loading it: its resolved path, its id,
    the PyTorch release that exports it, this conversion, and the model's configuration and
    tokenizer files. None without PyTorch (nothing could convert it)."""
    try:
        torch_version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return None
    root = Path(model_path)
    key = hashlib.sha256(f"st|{VERSION}|{root.resolve()}|{model_id}|{int8}|{torch_version}".encode())
    for name in (
        "config.json",
        "modules.json",
        "sentence_bert_config.json",
        "1_Pooling/config.json",
        TOKENIZER,
    ):
        key.update(name.encode())
        try:
            key.update((root / name).read_bytes())
        except OSError:
            key.update(b"-")
    readable = re.sub(r"[^A-Za-z0-9.]+", "-", model_id.split("+")[0])[-40:].strip("-")
    return f"st-{readable}-{'int8' if int8 else 'float'}-{key.hexdigest()[:12]}"


def cached(model_path: str, model_id: str, int8: bool) -> Path | None:
    """The converted folder of this model, when it is in the cache."""
    name = folder_name(model_path, model_id, int8)
    return convert.found(name) if name else None


def converted(st_model, model_path: str, model_id: str, int8: bool) -> Path:
    """The folder of a loaded SentenceTransformer, converted first when not in the cache."""
    name = folder_name(model_path, model_id, int8)
    if name is None:
        raise RuntimeError("PyTorch is not installed")
    return convert.converted(name, lambda folder: _write(folder, st_model, model_path, model_id, int8))


def _write(folder: Path, st_model, model_path: str, model_id: str, int8: bool) -> Manifest:
    import torch

    inputs = list(st_model.tokenizer.model_input_names)
    transformer = st_model[0].auto_model.eval()
    # Attention written out as matrix products: PyTorch's fused attention exports as a graph that
    # masks every score matrix with Where and IsNaN (8 % of the int8 model's time).
    attention = getattr(transformer.config, "_attn_implementation", "eager")
    switch = attention != "eager" and hasattr(transformer, "set_attn_implementation")
    if switch:
        transformer.set_attn_implementation("eager")

    class Hidden(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = transformer

        def forward(self, *args):
            return self.model(**dict(zip(inputs, args, strict=True))).last_hidden_state

    sample = st_model.tokenizer(["an example", "a second, longer example"], padding=True, return_tensors="pt")
    exported = folder / ("float.onnx" if int8 else MODEL)
    try:
        convert.export(Hidden(), {name: sample[name] for name in inputs}, exported)
    finally:
        if switch:  # the loaded model encodes with PyTorch's own choice again
            transformer.set_attn_implementation(attention)
    if int8:
        convert.quantize(exported, folder / MODEL)
        exported.unlink()
    max_length = int(st_model.max_seq_length)
    _save_tokenizer(Path(model_path) / TOKENIZER, folder / TOKENIZER, max_length)
    return Manifest(
        model_id=model_id,
        dimension=int(
            (
                getattr(st_model, "get_embedding_dimension", None)
                or st_model.get_sentence_embedding_dimension
            )()
        ),
        max_length=max_length,
        pooling=_pooling(st_model),
        int8=int8,
        split=Split(TOKENIZER, max_pieces=max_length - 2),  # its own pieces, [CLS] and [SEP] aside
    )


def _save_tokenizer(source: Path, target: Path, max_length: int) -> None:
    """The model's tokenizer.json, truncating where the model does (sentence-transformers' max_seq_length,
    not the file's own) and padding a batch to its longest text only (an int8 model's activations are
    quantized with one scale per call, padding included), so that it reads texts as the encoder does."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(source))
    pad_token = (tokenizer.padding or {}).get("pad_token", "[PAD]")
    pad_id = tokenizer.token_to_id(pad_token)
    tokenizer.enable_truncation(max_length)
    tokenizer.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token=pad_token)
    tokenizer.save(str(target))
