"""Imported once by the fork server of `evals.reliability.crash`: the libraries that every
`kb ingest` run would otherwise spend its first seconds importing, and the model's ONNX export
(made here if the user's cache lacks it, so that runs only open it). Nothing here keeps a thread or
a store open, so the processes forked from it start clean."""

import kb  # noqa: F401  (sets the offline environment first)

# isort: split
import chromadb  # noqa: F401
import onnxruntime  # noqa: F401
import tokenizers  # noqa: F401

import ingest.pipeline  # noqa: F401
import kb.cli.index  # noqa: F401
from evals.reliability.crash import BACKEND  # noqa: E402
from kb.config import Settings
from kb.models import e5, onnx

if e5.wanted(Settings().embed_model):  # the default model: converted once into the cache
    from kb.models import e5_onnx

    e5_onnx.onnx_file()
elif not onnx.is_cached(Settings().model_path, int8=BACKEND == "onnx-int8"):  # export once (takes PyTorch)
    from kb.models import embed

    onnx.build(embed._load(Settings().model_path), Settings().model_path, int8=BACKEND == "onnx-int8")
