"""The naive llama-index baseline that `kb bench` compares against.

`VectorStoreIndex.from_documents` with llama-index's defaults (SentenceSplitter, 1,024-token
chunks with 200 tokens of overlap, the document metadata embedded with each chunk, ten texts
per embedding call) into Chroma (llama-index-vector-stores-chroma), retrieved by the default
vector retriever. It embeds with the same local model as the project: llama-index's
HuggingFaceEmbedding lives in a package that is not installed (llama-index-embeddings-
huggingface), so `LocalEmbedding` hands llama-index the project's SentenceTransformer.

It reads documents with the project's own parser, so that both sides get the same text and
the comparison is about chunking, embedding and retrieval, not about file readers.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from llama_index.core import Document as LlamaDocument
from llama_index.core import StorageContext, VectorStoreIndex
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.embeddings import BaseEmbedding

from kb.config import Settings

COLLECTION = "baseline"


class LocalEmbedding(BaseEmbedding):
    """A llama-index embedding model backed by a loaded SentenceTransformer (unit-length vectors,
    like HuggingFaceEmbedding's defaults)."""

    _model: object = PrivateAttr()
    _embedded: list[str] = PrivateAttr()

    def __init__(self, model, model_name: str):
        super().__init__(model_name=model_name)
        self._model = model
        self._embedded = []  # every text given to embed (not questions), for `word_pieces`

    def _encode(self, texts: list[str]) -> list[list[float]]:
        vectors = self._model.encode(
            texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return vectors.tolist()

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._encode([query])[0]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        self._embedded.append(text)
        return self._encode([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        self._embedded += texts
        return self._encode(texts)


def word_pieces(model, texts: list[str]) -> int:
    """How many word pieces a SentenceTransformer reads of these texts: special tokens included,
    each text cut at the model's max_seq_length as `encode` cuts it."""
    limit = int(model.max_seq_length)
    return sum(
        len(ids)
        for i in range(0, len(texts), 4096)
        for ids in model.tokenizer(texts[i : i + 4096], truncation=True, max_length=limit)["input_ids"]
    )


def embedding(settings: Settings) -> LocalEmbedding:
    """The project's embedding model, as llama-index wants it."""
    from kb.config import MINILM
    from kb.models import e5, embed

    if e5.wanted(settings.embed_model):  # not a SentenceTransformer: the baseline embeds with MiniLM
        settings = settings.with_(embed_model=MINILM)
    return LocalEmbedding(embed.model(settings), settings.model_id)


def documents(sources: Path, manifest: Path | None) -> list[LlamaDocument]:
    """llama-index Documents of every file the manifest names: the parsed paragraphs joined by
    blank lines, with the document id and title as metadata."""
    from ingest import manifest as manifest_mod
    from ingest.parse import parse

    found = manifest_mod.discover(
        manifest_mod.load(manifest or sources / manifest_mod.MANIFEST_NAME), sources
    )
    docs = []
    for source in found:
        if source.path is None:
            continue
        parsed = parse(str(source.path))
        if parsed.error:
            continue
        doc = manifest_mod.with_title(source.document, parsed.title)
        docs.append(
            LlamaDocument(
                text="\n\n".join(p.text for p in parsed.paragraphs),
                id_=doc.id,
                metadata={"doc_id": doc.id, "title": doc.title},
            )
        )
    return docs


def build(sources: Path, manifest: Path | None, directory: Path, settings: Settings) -> dict:
    """Build the baseline index from scratch in `directory`; returns its timings and chunk count.

    The time covers what our ingest's time covers: loading the model, reading the files,
    chunking, embedding and writing to Chroma.
    """
    import chromadb

    shutil.rmtree(directory, ignore_errors=True)
    started = time.perf_counter()
    embed_model = embedding(settings)
    loaded = time.perf_counter()
    docs = documents(sources, manifest)
    read = time.perf_counter()
    client = chromadb.PersistentClient(path=str(directory), settings=_chroma_settings())
    store = _vector_store(client.get_or_create_collection(COLLECTION))
    VectorStoreIndex.from_documents(
        docs, storage_context=StorageContext.from_defaults(vector_store=store), embed_model=embed_model
    )
    done = time.perf_counter()
    return {
        "seconds": done - started,
        "word_pieces": word_pieces(embed_model._model, embed_model._embedded),
        "model_load_s": loaded - started,
        "read_s": read - loaded,
        "chunk_embed_write_s": done - read,
        "documents": len(docs),
        "chunks": client.get_collection(COLLECTION).count(),
    }


def open_index(directory: Path, settings: Settings) -> VectorStoreIndex:
    """The baseline index built in `directory`."""
    import chromadb

    client = chromadb.PersistentClient(path=str(directory), settings=_chroma_settings())
    store = _vector_store(client.get_collection(COLLECTION))
    return VectorStoreIndex.from_vector_store(store, embed_model=embedding(settings))


def covers(chunk: str, passage: str) -> bool:
    """Whether a chunk holds at least half of a passage: the whole passage, or its first or its
    second half, verbatim (case and white space ignored). Chunks overlap by 200 tokens, so a
    paragraph cut at one chunk's end is usually whole in the next."""
    chunk, words = _norm(chunk), _norm(passage).split()
    half = len(words) // 2
    whole = " ".join(words)
    return whole in chunk or (
        half >= 3 and (" ".join(words[:half]) in chunk or " ".join(words[half:]) in chunk)
    )


def units_of(
    chunks: list[tuple[str, str, str]], relevant: list[tuple[str, str, str, int]]
) -> tuple[list[str], set[str]]:
    """What a ranked list of chunks counts as on a suite's relevance judgments.

    `chunks` are (chunk id, doc id, text) best first; `relevant` are the query's relevant
    passages as (doc id, text, unit, grade). Each chunk counts as ONE result: the
    highest-graded relevant unit it covers (see `covers`) that no higher chunk has counted as,
    else as itself (not relevant); this is the ranking the metrics score. Also returns every
    relevant unit covered by any chunk (for the lenient recall).
    """
    ranking: list[str] = []
    credited: set[str] = set()
    covered: set[str] = set()
    for chunk_id, doc_id, text in chunks:
        mine = {unit: grade for d, p, unit, grade in relevant if d == doc_id and covers(text, p)}
        covered |= set(mine)
        fresh = sorted((u for u in mine if u not in credited), key=lambda u: -mine[u])
        unit = fresh[0] if fresh else f"baseline:{chunk_id}"
        credited.add(unit)
        ranking.append(unit)
    return ranking, covered


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def _vector_store(collection):
    from llama_index.vector_stores.chroma import ChromaVectorStore

    return ChromaVectorStore(chroma_collection=collection)


def _chroma_settings():
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=True)
