"""Plain data of the commitment tracker: commitments, their topics, lineage, evidence and scores."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class TopicScore:
    """A topic given to a commitment, with the score that decided it."""

    key: str
    score: float  # cosine similarity to the topic's description/examples, plus the keyword bonus
    keywords: tuple[str, ...] = ()  # the keyword patterns that matched


@dataclass(frozen=True)
class Commitment:
    """One commitment (or acknowledgement) of a G7 document, quoted exactly.

    `text == passage_text[start:end]`: the span is an exact substring of its passage.
    `id` follows the G7 Research Group's style, numbered within its document (`2026-3`);
    acknowledgements are numbered apart (`2026-a1`). `key` (`<doc_id>:<id>`) is unique in the index.
    """

    id: str
    doc_id: str
    passage_id: str
    paragraph: str
    start: int
    end: int
    text: str
    strength: str  # pledge | mandate | support | acknowledgement (see rules.toml)
    cue: str  # the words that made it a commitment ("we remain committed to")
    actor: str  # who is to act ("G7 members", "our relevant Ministers", "our financial intelligence units")
    date: str  # the document's date
    citation: str
    topics: tuple[TopicScore, ...] = ()
    sentence: tuple[int, int] = (0, 0)  # the sentence holding the span, as offsets in the passage

    @property
    def key(self) -> str:
        return f"{self.doc_id}:{self.id}"

    @property
    def is_commitment(self) -> bool:
        """False for acknowledgements, which are kept visible but never counted."""
        return self.strength != "acknowledgement"

    @property
    def topic_keys(self) -> tuple[str, ...]:
        return tuple(t.key for t in self.topics)

    def to_dict(self) -> dict:
        return {**asdict(self), "key": self.key}

    @classmethod
    def from_dict(cls, data: dict) -> Commitment:
        data = {k: v for k, v in data.items() if k != "key"}
        topics = tuple(TopicScore(t["key"], t["score"], tuple(t.get("keywords", ()))) for t in data["topics"])
        return cls(**{**data, "topics": topics, "sentence": tuple(data.get("sentence", (0, 0)))})


@dataclass(frozen=True)
class Link:
    """A similar commitment in another G7 document."""

    key: str  # the other commitment's key
    direction: str  # earlier | later
    similarity: float
    strength_change: str  # same | stronger | weaker (the later text compared with the earlier)


# The status of a commitment of the earliest G7 document indexed: not "new", since the earlier
# summits' texts may say the same but are not in the index.
NO_EARLIER_TEXT = "no earlier G7 text"
NO_EARLIER_TEXT_EXPLAINED = (
    "no earlier G7 text indexed: the earlier summits' documents are not in the index, so whether this "
    "commitment is new cannot be told (add them to sources/ to compare)"
)


@dataclass(frozen=True)
class Lineage:
    """Where a commitment comes from and where it goes."""

    key: str
    status: str  # new | renewed | strengthened | weakened | NO_EARLIER_TEXT
    links: tuple[Link, ...] = ()
    chain: tuple[str, ...] = ()  # keys from the oldest ancestor to this commitment (best link each step)

    @property
    def explained(self) -> str:
        """The status for a reader: NO_EARLIER_TEXT with what it means."""
        return NO_EARLIER_TEXT_EXPLAINED if self.status == NO_EARLIER_TEXT else self.status

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Evidence:
    """A passage of a national document that may show a commitment being implemented."""

    commitment: str  # commitment key
    passage_id: str
    doc_id: str
    country: str
    doc_type: str
    date: str
    score: float  # cosine similarity between the commitment and the passage
    rank: int  # rank in the hybrid retrieval for this commitment
    citation: str
    text: str
    topics: tuple[str, ...] = ()  # the passage's topics (one at least is the commitment's)

    def to_dict(self) -> dict:
        return asdict(self)


NO_DOCUMENTS = "no documents"  # a Score's status where the country has no indexed document at all


@dataclass(frozen=True)
class Score:
    """A compliance score for one commitment and one country on the G7 Research Group's scale."""

    commitment: str
    country: str
    score: int  # +1 full compliance, 0 work in progress, -1 no evidence of implementation
    status: str  # confirmed | suggested | no documents (the country has no indexed document at all)
    note: str = ""
    reason: str = ""  # why it was suggested (for suggested scores)
    confirmed_on: str = ""
    stale: bool = False  # confirmed for a text that is no longer the commitment's text

    @property
    def no_documents(self) -> bool:
        """No document of the country is indexed: there is nothing to score (shown grey, not −1)."""
        return self.status == NO_DOCUMENTS

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Cell:
    """One cell of the commitment × country matrix."""

    commitment: str
    country: str
    evidence: int
    best: float  # best evidence score, 0 when there is none
    score: Score


@dataclass
class Tracker:
    """Everything the commitment views need, computed from one index generation."""

    commitments: list[Commitment] = field(default_factory=list)
    lineage: dict[str, Lineage] = field(default_factory=dict)
    evidence: dict[str, list[Evidence]] = field(default_factory=dict)
    countries: list[str] = field(default_factory=list)
    documented: frozenset[str] = frozenset()  # countries with at least one indexed document

    def get(self, key: str) -> Commitment | None:
        return next((c for c in self.commitments if c.key == key), None)

    def find(self, ref: str) -> list[Commitment]:
        """Commitments named by `ref`: a full key (`<doc_id>:2026-3`) or a bare id (`2026-3`)."""
        ref = ref.strip()
        exact = [c for c in self.commitments if c.key == ref]
        return exact or [c for c in self.commitments if c.id == ref]
