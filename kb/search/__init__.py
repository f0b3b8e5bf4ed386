"""Searching the index: the question read into filters and constraints, spelling, retrieval and fusion, and how well a passage supports an answer."""
