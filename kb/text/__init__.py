"""How text becomes words, sentences and a language: the analysers shared by the index, the search and ingest."""
