"""Imported once by the fork server of `evals.reliability.crash`: the libraries that every
`kb ingest` run would otherwise spend its first seconds importing, and the model's converted folder
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
from kb.models import embed

embed.encoder(
    Settings().with_(embed_backend=BACKEND)
)  # converted once into the cache (MiniLM: takes PyTorch)
