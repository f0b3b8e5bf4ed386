"""The analyst-editable rule set (rules.toml): commitment cues, strengths, openers and split settings."""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from kb.errors import UsageError

RULES_PATH = Path(__file__).with_name("rules.toml")


@dataclass(frozen=True)
class Strength:
    key: str
    label: str
    description: str
    commitment: bool


@dataclass(frozen=True)
class Cue:
    """One verb phrase of commitment (or acknowledgement) language, compiled with its subject."""

    strength: str
    verb: str  # the pattern as written in rules.toml
    regex: re.Pattern


@dataclass(frozen=True)
class LineageRules:
    min_similarity: float = 0.55
    max_links: int = 3


@dataclass(frozen=True)
class EvidenceRules:
    min_score: float = 0.30
    candidates: int = 30
    per_document: int = 2
    min_words: int = 8
    subject: re.Pattern | None = None  # the passage or its document title must match it


@dataclass(frozen=True)
class ComplianceRules:
    members: tuple[str, ...] = ("CAN", "FRA", "DEU", "ITA", "JPN", "GBR", "USA")
    full_score: float = 0.55
    figure_score: float = 0.55  # completed action stated with a figure: +1 from this score on
    done: tuple[re.Pattern, ...] = ()
    planned: tuple[re.Pattern, ...] = ()


@dataclass(frozen=True)
class Rules:
    strengths: tuple[Strength, ...]
    cues: tuple[Cue, ...]
    openers: tuple[Cue, ...]
    ignore: re.Pattern | None
    connectors: tuple[str, ...]
    target_verbs: tuple[str, ...]  # a complement led by one of these names a new target
    measure_verbs: tuple[str, ...]  # a complement led by one of these is a further measure
    lineage: LineageRules
    evidence: EvidenceRules
    compliance: ComplianceRules
    digest: str  # hash of the file: stored results made with other rules are recomputed

    def rank(self, strength: str) -> int:
        """0 for the firmest strength; larger is softer."""
        keys = [s.key for s in self.strengths]
        return keys.index(strength) if strength in keys else len(keys)

    def is_commitment(self, strength: str) -> bool:
        return any(s.key == strength and s.commitment for s in self.strengths)


def phrase(pattern: str) -> str:
    """A rules.toml pattern as a regular expression: a space matches any run of whitespace."""
    return pattern.strip().replace(" ", r"\s+")


def load(path: Path | None = None) -> Rules:
    """The rules in `path` (default: kb/commitments/rules.toml), compiled; a mistake names the file."""
    path = path or RULES_PATH
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: {exc}; fix the file and run the command again") from None
    try:
        strengths = tuple(
            Strength(s["key"], s.get("label", s["key"]), s.get("description", ""), bool(s["commitment"]))
            for s in data["strength"]
        )
        known = {s.key for s in strengths}
        subjects = "|".join(phrase(p) for p in data["subject"]["patterns"])
        adverbs = "|".join(phrase(p) for p in data["subject"].get("adverbs", []))
        # "we" may carry an apposition in commas ("We, the Leaders of the G7, reaffirm").
        head = rf"(?P<subject>we(?:,[^,;.]{{1,100}}){{1,3}},|{subjects})" + (
            rf"(?:\s+(?:{adverbs}))*\s+" if adverbs else r"\s+"
        )
        cues = []
        for table in data["cue"]:
            if table["strength"] not in known:
                raise UsageError(f"{path}: [[cue]] strength {table['strength']!r} is not a [[strength]] key")
            for verb in table["verbs"]:
                cues.append(
                    Cue(table["strength"], verb, re.compile(rf"\b{head}(?P<verb>{phrase(verb)})\b", re.I))
                )
        openers = tuple(
            Cue(table["strength"], p, re.compile(rf"\b(?P<verb>{phrase(p)})\b", re.I))
            for table in data.get("opener", [])
            for p in table["patterns"]
        )
        ignore_verbs = data.get("ignore", {}).get("verbs", [])
        ignore = (
            re.compile(rf"\b{head}(?P<verb>{'|'.join(phrase(v) for v in ignore_verbs)})\b", re.I)
            if ignore_verbs
            else None
        )
        split = data.get("split", {})
        return Rules(
            strengths=strengths,
            cues=tuple(cues),
            openers=openers,
            ignore=ignore,
            connectors=tuple(split.get("connectors", [])),
            target_verbs=tuple(split.get("target_verbs", [])),
            measure_verbs=tuple(split.get("measure_verbs", [])),
            lineage=LineageRules(**data.get("lineage", {})),
            evidence=_evidence(data.get("evidence", {})),
            compliance=_compliance(data.get("compliance", {})),
            digest=hashlib.sha256(raw).hexdigest()[:16],
        )
    except (KeyError, TypeError) as exc:
        raise UsageError(
            f"{path}: missing or malformed entry {exc}; compare with the comments in the file"
        ) from None
    except re.error as exc:
        raise UsageError(f"{path}: a pattern is not a valid regular expression ({exc})") from None


_CLAUSE_BEFORE = re.compile(r"(?:^|[,;:(\u2013\u2014-]|\b(?:and|but|that|which|where|while|so))\W*$", re.I)


def opens_clause(text: str, pos: int) -> bool:
    """Whether a subject at `pos` opens a clause: at the start, or after punctuation or a conjunction.

    This keeps "the G7" in "Partner countries of the G7, Kenya …" from counting as a speaker.
    """
    return bool(_CLAUSE_BEFORE.search(text[max(0, pos - 12) : pos])) or pos == 0


def _evidence(table: dict) -> EvidenceRules:
    table = dict(table)
    subject = table.pop("subject", [])
    pattern = re.compile("|".join(f"(?:{p})" for p in subject), re.I) if subject else None
    return EvidenceRules(**table, subject=pattern)


def _compliance(table: dict) -> ComplianceRules:
    return ComplianceRules(
        members=tuple(table.get("members", ComplianceRules.members)),
        full_score=float(table.get("full_score", ComplianceRules.full_score)),
        figure_score=float(table.get("figure_score", table.get("full_score", ComplianceRules.figure_score))),
        done=tuple(re.compile(p, re.I) for p in table.get("done", [])),
        planned=tuple(re.compile(p, re.I) for p in table.get("planned", [])),
    )


def stem(word: str) -> str:
    """A crude stem for matching verb forms: "disrupting", "disrupts", "disrupted" → "disrupt"."""
    w = word.lower()
    for suffix in ("ing", "ed", "es", "s", "e"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            return w[: -len(suffix)]
    return w
