"""The index on disk: generations, the registry and passage store (SQLite), the vectors (Chroma), the BM25 snapshot, and the citation format."""
