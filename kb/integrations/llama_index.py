"""The knowledge base as a llama-index retriever: our hybrid, filtered, cross-language search
behind llama-index's `BaseRetriever`, so that `RetrieverQueryEngine`, `CitationQueryEngine` or an
agent built on llama-index cites exactly what `kb ask` and the app cite.

    from llama_index.core.query_engine import CitationQueryEngine
    from kb.integrations.llama_index import KnowledgeBaseRetriever

    retriever = KnowledgeBaseRetriever.from_index(".kb", k=5)
    engine = CitationQueryEngine(retriever, llm=my_llm)
    response = engine.query("Which commitments cover online platforms?")
    for source in response.source_nodes:
        print(source.node.metadata["citation"])

Each node's text is the passage's exact text (its id is the passage id); its metadata carries the
citation string, the document's fields and the passage's page, paragraph and heading. The language
model sees the citation beside each passage (the other metadata is kept from its prompt).
"""

from __future__ import annotations

from pathlib import Path

from llama_index.core.callbacks import CallbackManager
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeRelationship, NodeWithScore, QueryBundle, RelatedNodeInfo, TextNode

from kb.answer.ask import CitedPassage
from kb.api import AskRequest, Library
from kb.config import Settings
from kb.search.query import Filters

# What the language model reads beside a passage's text: the rest stays in the metadata for the
# application (and the citations it prints), out of the prompt.
SHOWN_TO_LLM = ("citation",)


class KnowledgeBaseRetriever(BaseRetriever):
    """Passages from the knowledge base as llama-index nodes, best first.

    answer=True (the default): the passages `kb ask` cites for the question, in its order (the
    passages it quotes first; a document that addresses the question gets a place); False: the
    plain ranking `kb search` shows. `filters` takes the app's and the API's keys (types,
    countries, issuers, doc_ids, languages, since, until); a bad value is a kb.errors.UsageError
    with the app's message."""

    def __init__(
        self,
        library: Library,
        k: int = 5,
        mode: str = "hybrid",
        filters: dict | None = None,
        answer: bool = True,
        callback_manager: CallbackManager | None = None,
    ) -> None:
        super().__init__(callback_manager=callback_manager)
        self.library = library
        self.k = k
        self.mode = mode
        self.filters = Filters.read(filters)
        self.answer = answer

    @classmethod
    def from_index(cls, index_dir: str | Path = ".kb", **kwargs) -> KnowledgeBaseRetriever:
        """A retriever over the index in `index_dir`, with the other settings from the `KB_*`
        environment. The knowledge base's own language model (KB_LLM_*) is left out: the passages
        are what a llama-index application wants, and its own LLM writes the answer."""
        settings = Settings.from_env(index_dir=Path(index_dir))
        settings = settings.with_(llm_base_url="", llm_model="", llm_class="")
        return cls(Library(settings), **kwargs)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        request = AskRequest(query_bundle.query_str, self.mode, self.k, self.filters, answer=self.answer)
        return [node_with_score(c) for c in self.library.answer(request).passages]


def node_with_score(cited: CitedPassage) -> NodeWithScore:
    """A passage of an answer as a llama-index node: exact text, passage id, citation and metadata."""
    hit, p, d = cited.hit, cited.hit.passage, cited.hit.document
    metadata = {
        "citation": hit.citation,
        "passage_id": p.id,
        "marker": cited.marker,
        "rank": hit.rank,
        "doc_id": d.id,
        "title": d.title,
        "issuer": d.issuer,
        "country": d.country,
        "date": d.date,
        "type": d.type,
        "language": d.language,
        "url": d.url,
        "page": p.page,
        "page_end": p.page_end,
        "paragraph": p.paragraph,
        "heading": p.heading,
        "ocr": p.ocr,
        "national_evidence": cited.national_evidence,
        "quoted": [x.text for x in cited.highlights],
    }
    hidden = [key for key in metadata if key not in SHOWN_TO_LLM]
    node = TextNode(
        id_=p.id,
        text=p.text,
        metadata=metadata,
        excluded_llm_metadata_keys=hidden,
        excluded_embed_metadata_keys=hidden,
        start_char_idx=p.start,
        end_char_idx=p.end,
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=d.id)},
    )
    return NodeWithScore(node=node, score=hit.score)
