"""Refit kb.models.e5.COSINE_SCALE: the linear map that puts multilingual-e5-small's cosines on the
scale of all-MiniLM-L6-v2's, by matching their 5th and 95th percentiles over the same pairs.

    python -m evals.cosine_scale

Pairs: the main suite's questions against the paragraphs of its corpus (sources/ and evals/corpus/),
and those paragraphs against each other. Prints both fits; COSINE_SCALE is their mean.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from kb.config import MINILM, Settings
from kb.models import embed

ROOT = Path(__file__).resolve().parents[1]


def paragraphs() -> list[str]:
    files = sorted((ROOT / "sources").glob("*.md")) + sorted((ROOT / "evals" / "corpus").glob("*.md"))
    out = []
    for f in files:
        for p in f.read_text(encoding="utf-8").split("\n\n"):
            p = p.strip()
            if len(p) > 80 and not p.startswith("#"):
                out.append(p)
    return out


def fit(e5_cos: np.ndarray, minilm_cos: np.ndarray) -> tuple[float, float]:
    """Slope and intercept mapping e5's 5th/95th percentiles onto MiniLM's."""
    lo_e, hi_e = np.percentile(e5_cos, [5, 95])
    lo_m, hi_m = np.percentile(minilm_cos, [5, 95])
    slope = (hi_m - lo_m) / (hi_e - lo_e)
    return float(slope), float(lo_m - slope * lo_e)


def main() -> None:
    texts = paragraphs()
    suite = yaml.safe_load((ROOT / "evals" / "suites" / "g7-smuggling.yaml").read_text(encoding="utf-8"))
    questions = [q["question"] for q in suite["queries"]]
    e5s, mini = Settings(), Settings(embed_model=MINILM)
    pe, pm = embed.encode(e5s, texts), embed.encode(mini, texts)
    qe, qm = embed.encode(e5s, questions, query=True), embed.encode(mini, questions, query=True)
    upper = np.triu_indices(len(texts), 1)
    fits = {
        "question-passage": fit((qe @ pe.T).ravel(), (qm @ pm.T).ravel()),
        "passage-passage": fit((pe @ pe.T)[upper], (pm @ pm.T)[upper]),
    }
    print(f"{len(questions)} questions, {len(texts)} paragraphs")
    for name, (slope, intercept) in fits.items():
        print(f"  {name:17} slope {slope:.2f}  intercept {intercept:.2f}")
    slopes, intercepts = zip(*fits.values(), strict=True)
    print(f"COSINE_SCALE = ({np.mean(slopes):.2f}, {np.mean(intercepts):.2f})")


if __name__ == "__main__":
    main()
