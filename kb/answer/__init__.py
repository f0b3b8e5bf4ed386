"""A cited answer: which sentences it quotes, how it is composed, shown (HTML) and exported (Word, Markdown)."""
