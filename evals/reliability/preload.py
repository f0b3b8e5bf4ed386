"""Imported once by the fork server of `evals.reliability.crash`: the libraries and the embedding
model that every `kb ingest` run would otherwise spend its first seconds loading. Nothing here
starts a thread or opens a store, so the processes forked from it start clean."""

import kb  # noqa: F401  (sets the offline environment first)

# isort: split
import chromadb  # noqa: F401
import onnxruntime  # noqa: F401

import ingest.pipeline  # noqa: F401
import kb.cli.index  # noqa: F401
from kb import embed
from kb.config import Settings

embed._load(Settings().model_path)
