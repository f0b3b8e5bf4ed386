"""A llama-index query engine over the knowledge base, citing what `kb ask` cites.

    python docs/examples/llama_index_query.py [--index .kb] "Which commitments cover online platforms?"

The answer is written by the language model of KB_LLM_BASE_URL and KB_LLM_MODEL (or KB_LLM_CLASS,
see docs/integrations.md) when one is configured; without one, by llama-index's MockLLM, which
answers with the prompt it was given, so that the example runs offline and shows what the model reads.
"""

from __future__ import annotations

import argparse

from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import CitationQueryEngine

from kb.config import Settings
from kb.integrations.llama_index import KnowledgeBaseRetriever
from kb.models import llm_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("question")
    parser.add_argument("--index", default=".kb", help="the index directory (default .kb)")
    parser.add_argument("-k", type=int, default=5, help="passages to retrieve (default 5)")
    args = parser.parse_args()

    settings = Settings.from_env()
    configured = llm_config.configured(settings)
    llm = llm_config.model(settings) if configured else MockLLM()
    retriever = KnowledgeBaseRetriever.from_index(args.index, k=args.k)
    engine = CitationQueryEngine(retriever, llm=llm)
    response = engine.query(args.question)

    if configured:
        print(str(response).strip(), end="\n\n")
    else:
        lines = str(response).strip().splitlines()
        print("No language model configured (KB_LLM_*): MockLLM answers with its prompt, which begins")
        ours = max(i for i, line in enumerate(lines) if line == "Source 1:")  # after the template's examples
        print("\n".join(f"    {line}" for line in lines[ours - 2 : ours + 2]), end="\n\n")
    for n, source in enumerate(response.source_nodes, start=1):
        meta = source.node.metadata
        print(f"[{n}] {meta['citation']}  ({meta['passage_id']}, score {source.score:.3f})")


if __name__ == "__main__":
    main()
