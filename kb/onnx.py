"""The embedding model run by ONNX Runtime: same vectors as sentence-transformers, less overhead.

sentence-transformers' own ONNX backend needs `optimum`, whose releases pin an older
`transformers` than the one sentence-transformers 6 needs, so the transformer is exported here
with torch.onnx (once per model, cached) and pooled in NumPy exactly as the model's Pooling
module does. The vectors match the PyTorch ones to 1e-6 (cosine > 0.99999), so an index built
with either backend answers queries from the other; a question encodes several times faster,
which is what the answer's sentence highlighting needs.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import warnings
from pathlib import Path

import numpy as np

_lock = threading.Lock()


def supported(st_model) -> bool:
    """Whether this SentenceTransformer is Transformer → Pooling (mean or CLS) [→ Normalize]."""
    names = [type(m).__name__ for m in st_model]
    if names[:2] != ["Transformer", "Pooling"] or any(n != "Normalize" for n in names[2:]):
        return False
    return _pooling(st_model) in ("mean", "cls")


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

    def __init__(self, st_model, model_path: str, int8: bool = False):
        import onnxruntime as ort

        self.tokenizer = st_model.tokenizer
        self.max_length = int(st_model.max_seq_length)
        self.pooling = _pooling(st_model)
        self.inputs = list(self.tokenizer.model_input_names)
        path = _exported(st_model, model_path, self.inputs)
        # The int8 model quantizes activations with one scale per call, taken from everything in
        # it: a text's vector would depend on the texts batched with it (and their padding). One
        # text per call keeps it a function of the text alone, at no measurable cost on a CPU.
        self.one_at_a_time = int8
        if int8:
            path = _quantized(path, st_model)
        options = ort.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Unit-length float32 vectors, one per text, in the order given."""
        if self.one_at_a_time:
            batch_size = 1
        order = np.argsort([-len(t) for t in texts], kind="stable")  # similar lengths pad less
        out = np.empty((len(texts), 0), dtype=np.float32)
        chunks = []
        for i in range(0, len(texts), batch_size):
            batch = [texts[j] for j in order[i : i + batch_size]]
            enc = self.tokenizer(
                batch, padding=True, truncation=True, max_length=self.max_length, return_tensors="np"
            )
            feed = {name: enc[name].astype(np.int64) for name in self.inputs}
            hidden = self.session.run(None, feed)[0]
            chunks.append(self._pool(hidden, enc["attention_mask"]))
        pooled = np.concatenate(chunks) if chunks else out
        result = np.empty_like(pooled)
        result[order] = pooled
        return result

    def _pool(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.pooling == "cls":
            vectors = hidden[:, 0]
        else:
            m = mask[..., None].astype(np.float32)
            vectors = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.clip(norms, 1e-12, None)).astype(np.float32)


def _exported(st_model, model_path: str, inputs: list[str]) -> Path:
    """The ONNX file of this model's transformer, exported on first use into the user's cache."""
    import torch

    key = hashlib.sha256(f"{Path(model_path).resolve()}|{torch.__version__}|{inputs}".encode())
    config = Path(model_path) / "config.json"
    if config.exists():
        key.update(config.read_bytes())
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "g7-smuggling-kb" / "onnx"
    path = cache / f"{key.hexdigest()[:16]}.onnx"
    with _lock:
        if path.exists():
            return path
        cache.mkdir(parents=True, exist_ok=True)
        transformer = st_model[0].auto_model.eval()

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
        os.replace(tmp, path)
    return path


def _quantized(path: Path, st_model) -> Path:
    """The int8 version of an exported model: attention and layer norms fused by ONNX Runtime's
    transformer optimizer, then weights quantized dynamically to int8 (cached beside it).

    About twice as fast on a CPU; the vectors move (cosine 0.92–0.99 to the float ones), so an
    index built with it is queried with it (Settings.model_id tells them apart).
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer

    target = path.with_name(path.stem + ".int8.onnx")
    with _lock:
        if target.exists():
            return target
        config = st_model[0].auto_model.config
        fused = path.with_suffix(f".{os.getpid()}.fused.tmp")
        tmp = path.with_suffix(f".{os.getpid()}.int8.tmp")
        logging.disable(logging.WARNING)  # the quantizer's advice to pre-process, on the root logger
        try:
            optimizer.optimize_model(
                str(path),
                model_type="bert",
                num_heads=int(getattr(config, "num_attention_heads", 0)),
                hidden_size=int(getattr(config, "hidden_size", 0)),
                opt_level=1,
            ).save_model_to_file(str(fused))
            quantize_dynamic(
                str(fused),
                str(tmp),
                weight_type=QuantType.QInt8,
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )
            os.replace(tmp, target)
        finally:
            logging.disable(logging.NOTSET)
            fused.unlink(missing_ok=True)
            tmp.unlink(missing_ok=True)
    return target
