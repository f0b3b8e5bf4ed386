"""Reading source documents into paragraphs with provenance, and writing them to the index."""
