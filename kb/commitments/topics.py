"""The topic taxonomy (topics.toml) and the tagger: keywords plus embedding similarity, scores kept."""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.commitments.types import TopicScore
from kb.config import Settings
from kb.errors import UsageError
from kb.models import embed
from kb.text.sentences import sentence_spans
from kb.types import Passage

TOPICS_PATH = Path(__file__).with_name("topics.toml")


@dataclass(frozen=True)
class Topic:
    key: str
    label: str
    description: str
    examples: tuple[str, ...]
    keywords: tuple[re.Pattern, ...]


@dataclass(frozen=True)
class Taxonomy:
    topics: tuple[Topic, ...]
    keyword_bonus: float
    min_score: float
    second_min: float
    second_margin: float
    max_topics: int
    context_weight: float
    points_back: re.Pattern
    digest: str

    def label(self, key: str) -> str:
        return next((t.label for t in self.topics if t.key == key), key)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(t.key for t in self.topics)


def load(path: Path | None = None) -> Taxonomy:
    """The taxonomy in `path` (default: kb/commitments/topics.toml); a mistake names the file."""
    path = path or TOPICS_PATH
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
        tagging = data.get("tagging", {})
        topics = tuple(
            Topic(
                key=t["key"],
                label=t.get("label", t["key"]),
                description=t["description"],
                examples=tuple(t.get("examples", [])),
                keywords=tuple(re.compile(k, re.I) for k in t.get("keywords", [])),
            )
            for t in data["topic"]
        )
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: {exc}; fix the file and run the command again") from None
    except (KeyError, TypeError) as exc:
        raise UsageError(
            f"{path}: missing or malformed entry {exc}; compare with the comments in the file"
        ) from None
    except re.error as exc:
        raise UsageError(f"{path}: a keyword is not a valid regular expression ({exc})") from None
    keys = [t.key for t in topics]
    if len(set(keys)) != len(keys):
        raise UsageError(f"{path}: topic keys must be unique")
    return Taxonomy(
        topics=topics,
        keyword_bonus=float(tagging.get("keyword_bonus", 0.25)),
        min_score=float(tagging.get("min_score", 0.3)),
        second_min=float(tagging.get("second_min", 0.5)),
        second_margin=float(tagging.get("second_margin", 0.12)),
        max_topics=int(tagging.get("max_topics", 2)),
        context_weight=float(tagging.get("context_weight", 0.9)),
        points_back=re.compile(tagging.get("points_back", r"\b(these|such|those)\b"), re.I),
        digest=hashlib.sha256(raw).hexdigest()[:16],
    )


def tag(
    settings: Settings, taxonomy: Taxonomy, texts: list[str], contexts: list[str] | None = None
) -> list[tuple[TopicScore, ...]]:
    """The topics of each text, best first, with their scores (empty when nothing scores high enough).

    `contexts` (the sentence around each text, see `context_of`) count at `context_weight`.
    """
    if not texts:
        return []
    if contexts is None:
        return decide(taxonomy, texts, similarity(settings, taxonomy, texts))
    both = similarity(settings, taxonomy, texts + contexts)  # one encode call for both
    sims = np.maximum(both[: len(texts)], taxonomy.context_weight * both[len(texts) :])
    return decide(taxonomy, texts, sims)


def tag_embedded(
    settings: Settings, taxonomy: Taxonomy, texts: list[str], vectors: np.ndarray
) -> list[tuple[TopicScore, ...]]:
    """The topics of texts whose embeddings are already known (passages stored in the index)."""
    if not texts:
        return []
    return decide(taxonomy, texts, _against_topics(settings, taxonomy, np.asarray(vectors, dtype=np.float32)))


def decide(taxonomy: Taxonomy, texts: list[str], sims: np.ndarray) -> list[tuple[TopicScore, ...]]:
    """Topics from a texts × topics similarity matrix: keyword bonus, then the best (and a close second)."""
    out = []
    for text, row in zip(texts, sims):
        scored = []
        for topic, sim in zip(taxonomy.topics, row):
            hits = tuple(k.pattern for k in topic.keywords if k.search(text))
            bonus = taxonomy.keyword_bonus if hits else 0.0
            scored.append(TopicScore(topic.key, round(float(sim) + bonus, 4), hits))
        scored.sort(key=lambda t: -t.score)
        best = scored[0]
        if best.score < taxonomy.min_score:
            out.append(())
            continue
        kept = [best] + [
            t
            for t in scored[1 : taxonomy.max_topics]
            if t.score >= taxonomy.second_min and best.score - t.score <= taxonomy.second_margin
        ]
        out.append(tuple(kept))
    return out


def context_of(taxonomy: Taxonomy, passage: Passage, start: int, end: int) -> str:
    """The sentence(s) of `passage` holding text[start:end], with the sentence before when the text points back."""
    spans = list(passage.sentences) or sentence_spans(passage.text)
    inside = [i for i, (a, b) in enumerate(spans) if a < end and b > start] or [0]
    first, last = inside[0], inside[-1]
    if first > 0 and taxonomy.points_back.search(passage.text[start:end]):
        first -= 1
    return passage.text[spans[first][0] : spans[last][1]] if spans else passage.text


def similarity(settings: Settings, taxonomy: Taxonomy, texts: list[str]) -> np.ndarray:
    """Cosine similarity of each text (rows) to each topic (columns): the best over its description and examples."""
    return _against_topics(settings, taxonomy, embed.encode(settings, texts))


def _against_topics(settings: Settings, taxonomy: Taxonomy, vectors: np.ndarray) -> np.ndarray:
    topic_vectors, owners = _topic_vectors(settings, taxonomy)
    sims = embed.comparable(settings, vectors @ topic_vectors.T)
    out = np.full((len(vectors), len(taxonomy.topics)), -1.0, dtype=np.float32)
    for j in range(len(taxonomy.topics)):
        out[:, j] = sims[:, owners == j].max(axis=1)
    return out


# Topic vectors per (model, taxonomy version): computed once per process.
_VECTORS: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}


def _topic_vectors(settings: Settings, taxonomy: Taxonomy) -> tuple[np.ndarray, np.ndarray]:
    """The embeddings of every description and example, and the topic index each belongs to."""
    key = (settings.model_id, taxonomy.digest)
    if key not in _VECTORS:
        texts, owners = [], []
        for j, topic in enumerate(taxonomy.topics):
            for text in (topic.description, *topic.examples):
                texts.append(text)
                owners.append(j)
        _VECTORS[key] = (embed.encode(settings, texts), np.asarray(owners))
    return _VECTORS[key]
