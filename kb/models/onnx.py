"""The embedding model run by ONNX Runtime: same vectors as sentence-transformers, less overhead.

sentence-transformers' own ONNX backend needs `optimum`, whose releases pin an older
`transformers` than the one sentence-transformers 6 needs, so the transformer is exported here
with torch.onnx (once per model, cached) and pooled in NumPy exactly as the model's Pooling
module does. The vectors match the PyTorch ones to 1e-6 (cosine > 0.99999), so an index built
with either backend answers queries from the other; a question encodes several times faster,
which is what the answer's sentence highlighting needs.

Once a model's export is cached, later processes build the encoder from files alone (the ONNX
file, the model's tokenizer.json and its pooling settings) without importing PyTorch or
sentence-transformers, which took about five of the eight seconds a `kb ask` spent starting.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import logging
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from kb import files

_lock = threading.Lock()
# Changes whenever the export or the quantization would give other files: cached ones are redone.
EXPORT_VERSION = 2


def supported(st_model, model_path: str) -> bool:
    """Whether this SentenceTransformer is Transformer → Pooling (mean or CLS) [→ Normalize] with a
    fast tokenizer file (tokenizer.json) that the encoder can read without transformers."""
    names = [type(m).__name__ for m in st_model]
    if names[:2] != ["Transformer", "Pooling"] or any(n != "Normalize" for n in names[2:]):
        return False
    return _pooling(st_model) in ("mean", "cls") and (Path(model_path) / "tokenizer.json").exists()


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


class OnnxEncoder:
    """Encodes texts with an ONNX export of a SentenceTransformer's transformer."""

    def __init__(self, onnx_path: Path, model_path: str, max_length: int, pooling: str, int8: bool = False):
        from tokenizers import Tokenizer

        self.max_length = max_length
        self.pooling = pooling
        # The model's own tokenizer file, as transformers' fast tokenizer reads it (same ids and
        # offsets, checked by tests/test_onnx.py), with our truncation and padding.
        self._plain = Tokenizer.from_file(str(Path(model_path) / "tokenizer.json"))
        self._plain.no_truncation()
        self._plain.no_padding()
        self._batch = Tokenizer.from_file(str(Path(model_path) / "tokenizer.json"))
        self._batch.enable_truncation(max_length)
        padding = self._plain.padding or {}
        pad_token = padding.get("pad_token", "[PAD]")
        pad_id = self._plain.token_to_id(pad_token)
        self._batch.enable_padding(
            pad_id=padding.get("pad_id", 0) if pad_id is None else pad_id, pad_token=pad_token
        )
        # The int8 model quantizes activations with one scale per call, taken from everything in
        # it: a text's vector would depend on the texts batched with it (and their padding). One
        # text per call keeps it a function of the text alone, at no measurable cost on a CPU.
        self.one_at_a_time = int8
        # One session per process with every core for a single text (a question); for many texts,
        # batches go to one worker thread per core over a one-thread session, which ONNX Runtime
        # runs without the GIL: 1.3 times the passages per second on two cores, same vectors.
        self.threads = os.cpu_count() or 1
        self.session = self._session(onnx_path, self.threads)
        self._onnx_path = onnx_path
        self._single: object | None = None
        self._single_lock = threading.Lock()
        self.inputs = [i.name for i in self.session.get_inputs()]
        size = self.session.get_outputs()[0].shape[-1]
        self.dimension = size if isinstance(size, int) else int(self.encode(["dimension"], 1).shape[1])

    @staticmethod
    def _session(onnx_path: Path, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        # ONNX Runtime's fused SkipLayerNormalization kernel took 18 % of the int8 model's time on
        # this CPU; the Add and LayerNormalization it replaces take 4 % (same sums, same vectors).
        options.add_session_config_entry("optimization.disable_specified_optimizers", "SkipLayerNormFusion")
        return ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the model's word pieces in `text` (no special tokens, no truncation)."""
        return [tuple(span) for span in self._plain.encode(text, add_special_tokens=False).offsets]

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Unit-length float32 vectors, one per text, in the order given."""
        if self.one_at_a_time:
            batch_size = 1
        order = np.argsort([-len(t) for t in texts], kind="stable")  # similar lengths pad less
        batches = [order[i : i + batch_size] for i in range(0, len(texts), batch_size)]
        if len(batches) > 1 and self.threads > 1:
            with self._single_lock:
                if self._single is None:
                    self._single = self._session(self._onnx_path, 1)
            with ThreadPoolExecutor(self.threads, thread_name_prefix="kb-encode") as pool:
                chunks = list(pool.map(lambda b: self._run(self._single, texts, b), batches))
        else:
            chunks = [self._run(self.session, texts, b) for b in batches]
        pooled = np.concatenate(chunks) if chunks else np.empty((0, self.dimension), dtype=np.float32)
        result = np.empty_like(pooled)
        result[order] = pooled
        return result

    def _run(self, session, texts: list[str], batch: np.ndarray) -> np.ndarray:
        encodings = self._batch.encode_batch([texts[j] for j in batch])
        arrays = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        hidden = session.run(None, {name: arrays[name] for name in self.inputs})[0]
        return self._pool(hidden, arrays["attention_mask"])

    def _pool(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.pooling == "cls":
            vectors = hidden[:, 0]
        else:
            m = mask[..., None].astype(np.float32)
            vectors = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.clip(norms, 1e-12, None)).astype(np.float32)


def cached(model_path: str, int8: bool) -> OnnxEncoder | None:
    """The encoder built from cached files alone, or None when this model has not been exported
    (by this PyTorch release, with this configuration) yet."""
    if (found := _cached_file(model_path, int8)) is None:
        return None
    path, info = found
    return OnnxEncoder(path, model_path, int(info["max_length"]), str(info["pooling"]), int8=int8)


def is_cached(model_path: str, int8: bool) -> bool:
    """Whether `cached` would find this model's export (without opening it)."""
    return _cached_file(model_path, int8) is not None


def _cached_file(model_path: str, int8: bool) -> tuple[Path, dict] | None:
    """The export's file and what `build` recorded about it, when both are there."""
    info = _record(model_path)
    name = info.get("int8" if int8 else "onnx") if info else None
    if not name or "max_length" not in info or "pooling" not in info:
        return None
    path = _cache_dir() / name
    if not path.exists() or not (Path(model_path) / "tokenizer.json").exists():
        return None
    return path, info


def _record(model_path: str) -> dict | None:
    """What `build` wrote down about this model's export, if anything."""
    key = _model_key(model_path)
    if key is None:
        return None
    try:
        info = json.loads((_cache_dir() / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def build(st_model, model_path: str, int8: bool) -> OnnxEncoder:
    """Export (and for int8 quantize) a loaded SentenceTransformer, record the files for `cached`,
    and return its encoder."""
    inputs = list(st_model.tokenizer.model_input_names)
    path = _exported(st_model, model_path, inputs)
    info = {"onnx": path.name, "max_length": int(st_model.max_seq_length), "pooling": _pooling(st_model)}
    if int8:
        info["int8"] = _quantized(path).name
    if (key := _model_key(model_path)) is not None:
        record = _cache_dir() / f"{key}.json"
        with _lock:
            with contextlib.suppress(OSError, ValueError):
                info = json.loads(record.read_text(encoding="utf-8")) | info
            files.write_text(record, json.dumps(info))
    return OnnxEncoder(
        _cache_dir() / info["int8" if int8 else "onnx"], model_path, info["max_length"], info["pooling"], int8
    )


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "g7-smuggling-kb" / "onnx"


def _model_key(model_path: str) -> str | None:
    """What names a model's cached export without loading the model: its resolved path, the
    PyTorch release that exported it, and the model's configuration and tokenizer files."""
    try:
        torch_version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return None
    root = Path(model_path)
    key = hashlib.sha256(f"model|{EXPORT_VERSION}|{root.resolve()}|{torch_version}".encode())
    for name in (
        "config.json",
        "modules.json",
        "sentence_bert_config.json",
        "1_Pooling/config.json",
        "tokenizer.json",
    ):
        key.update(name.encode())
        try:
            key.update((root / name).read_bytes())
        except OSError:
            key.update(b"-")
    return key.hexdigest()[:16]


def _exported(st_model, model_path: str, inputs: list[str]) -> Path:
    """The ONNX file of this model's transformer, exported on first use into the user's cache."""
    import torch

    key = hashlib.sha256(
        f"{EXPORT_VERSION}|{Path(model_path).resolve()}|{torch.__version__}|{inputs}".encode()
    )
    config = Path(model_path) / "config.json"
    if config.exists():
        key.update(config.read_bytes())
    cache = _cache_dir()
    path = cache / f"{key.hexdigest()[:16]}.onnx"
    with _lock:
        if path.exists():
            return path
        cache.mkdir(parents=True, exist_ok=True)
        transformer = st_model[0].auto_model.eval()
        # Attention written out as matrix products: PyTorch's fused attention exports as a graph
        # that masks every score matrix with Where and IsNaN (8 % of the int8 model's time).
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

        sample = st_model.tokenizer(
            ["an example", "a second, longer example"], padding=True, return_tensors="pt"
        )
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        axes = {name: {0: "batch", 1: "tokens"} for name in inputs} | {"hidden": {0: "batch", 1: "tokens"}}
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tracer chatter about Python control flow in the model
                torch.onnx.export(
                    Hidden(),
                    tuple(sample[name] for name in inputs),
                    str(tmp),
                    input_names=inputs,
                    output_names=["hidden"],
                    dynamic_axes=axes,
                    opset_version=17,
                    dynamo=False,
                )
        finally:
            if switch:  # the loaded model encodes with PyTorch's own choice again
                transformer.set_attn_implementation(attention)
        os.replace(tmp, path)
    return path


def _quantized(path: Path) -> Path:
    """The int8 version of an exported model (cached beside it): weights quantized dynamically to
    int8 with one scale per output channel, activations quantized at run time.

    About 2.4 times as fast as the float model on this CPU. (ONNX Runtime's transformer optimizer,
    which fuses attention and layer norms, made it slower here, so it is not used.) The vectors
    move a little (cosine 0.97–1.00 to the float ones, 0.993 on average, by `kb bench`; one scale
    per weight matrix gave 0.95 on average), so an index built with it is queried with it
    (Settings.model_id tells them apart).
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = path.with_name(path.stem + ".int8.onnx")
    with _lock:
        if target.exists():
            return target
        tmp = path.with_suffix(f".{os.getpid()}.int8.tmp")
        logging.disable(logging.WARNING)  # the quantizer's advice to pre-process, on the root logger
        try:
            quantize_dynamic(
                str(path),
                str(tmp),
                weight_type=QuantType.QInt8,
                per_channel=True,
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )
            os.replace(tmp, target)
        finally:
            logging.disable(logging.NOTSET)
            tmp.unlink(missing_ok=True)
    return target
