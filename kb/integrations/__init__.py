"""The knowledge base inside what its users already run: a llama-index retriever
(`llama_index.py`) and a Model Context Protocol server (`mcp_server.py`). Each asks kb.api.Library,
the one service boundary, and converts its plain objects at this edge (docs/integrations.md)."""
