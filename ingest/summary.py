"""What an ingest run did: an outcome for each document, and the summary `kb ingest` prints."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Outcome:
    """What happened to one document."""

    doc_id: str
    file: str
    status: str  # added | updated | unchanged | removed | failed
    passages: int = 0
    reason: str = ""
    language: str = ""  # of an added or updated document: the manifest's, or detected
    warnings: tuple[str, ...] = ()  # parts of the file not read ("page 3: OCR read nothing ...")


@dataclass
class Summary:
    """The result of an ingest run."""

    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    passages_embedded: int = 0

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def changed(self) -> bool:
        return any(o.status in ("added", "updated", "removed") for o in self.outcomes)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def to_dict(self) -> dict:
        counts = {s: self.count(s) for s in ("added", "updated", "unchanged", "removed", "failed")}
        return {
            **counts,
            "seconds": round(self.seconds, 2),
            "passages_embedded": self.passages_embedded,
            "documents": [asdict(o) for o in self.outcomes],
        }
