"""Compliance scores per commitment and country: suggested from the evidence, confirmed by an analyst.

Confirmed scores live in `<sources>/compliance.toml`, a plain file reviewed in git. Only
`kb commitments confirm` (or the app) writes it, one [[score]] table per commitment and country,
keeping the file's comments; ingest never touches it. Each entry records the commitment's words when
it was confirmed, so that a confirmation still finds its commitment if re-extraction renumbers the
document, and is flagged `stale` if the words themselves changed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import tomlkit

from kb import files
from kb.commitments.rules import ComplianceRules
from kb.commitments.types import NO_DOCUMENTS, Commitment, Evidence, Score
from kb.errors import UsageError
from kb.search import wanted

FILE_NAME = "compliance.toml"
SCALE = {1: "full compliance", 0: "work in progress", -1: "no evidence of implementation"}
HEADER = """\
Confirmed compliance scores for G7 commitments on migrant smuggling.

Written by `kb commitments confirm COMMITMENT COUNTRY SCORE --note "..."` (or the app's Commitments
tab); reviewed in git like the sources. `kb ingest` never changes this file.

One [[score]] table per commitment and country:
  commitment  <document id>:<commitment id>, e.g. g7-2026-leaders-declaration-migrant-smuggling:2026-7
  country     ISO 3166 alpha-3 code
  score       the G7 Research Group's scale: 1 full compliance, 0 work in progress,
              -1 no evidence of implementation
  note        the analyst's reasons and sources
  confirmed   the date of confirmation
  text        the commitment's words when confirmed (used to find it again after renumbering)
"""


@dataclass(frozen=True)
class Confirmation:
    commitment: str
    country: str
    score: int
    note: str
    confirmed: str
    text: str


def path_for(sources_dir: Path) -> Path:
    return sources_dir / FILE_NAME


def load(sources_dir: Path) -> list[Confirmation]:
    """The confirmed scores in `<sources>/compliance.toml` (none when the file does not exist)."""
    path = path_for(sources_dir)
    if not path.exists():
        return []
    try:
        data = tomlkit.parse(path.read_text(encoding="utf-8")).unwrap()
    except tomlkit.exceptions.TOMLKitError as exc:
        raise UsageError(
            f"{path}: {exc}; fix the file (it is reviewed in git) and run the command again"
        ) from None
    out = []
    for i, entry in enumerate(data.get("score", []), start=1):
        try:
            out.append(
                Confirmation(
                    str(entry["commitment"]),
                    str(entry["country"]).upper(),
                    _valid_score(entry["score"]),
                    str(entry.get("note", "")),
                    str(entry.get("confirmed", "")),
                    str(entry.get("text", "")),
                )
            )
        except (KeyError, UsageError) as exc:
            raise UsageError(f"{path}: [[score]] number {i}: {exc}") from None
    return out


def confirm(
    sources_dir: Path, commitment: Commitment, country: str, score: int | str, note: str = ""
) -> Confirmation:
    """Record (or replace) the confirmed score of `commitment` for `country`; returns what was written."""
    value = _valid_score(score)
    country = country.strip().upper()
    if len(country) != 3 or not country.isalpha():
        raise UsageError(f"country {country!r} is not an ISO 3166 alpha-3 code (e.g. ITA, GBR, USA)")
    if not commitment.is_commitment:
        raise UsageError(
            f"{commitment.key} is an acknowledgement, not a commitment; it has no compliance score"
        )
    path = path_for(sources_dir)
    doc = tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else _new_document()
    scores = doc.get("score")
    if scores is None:
        scores = tomlkit.aot()
        doc.append("score", scores)
    entry = tomlkit.table()
    today = dt.date.today().isoformat()
    for key, val in (
        ("commitment", commitment.key),
        ("country", country),
        ("score", value),
        ("note", note),
        ("confirmed", today),
        ("text", commitment.text),
    ):
        entry.add(key, val)
    for i, existing in enumerate(scores):
        if (
            existing.get("commitment") == commitment.key
            and str(existing.get("country", "")).upper() == country
        ):
            scores[i] = entry
            break
    else:
        scores.append(entry)
    _write_atomically(path, tomlkit.dumps(doc))
    return Confirmation(commitment.key, country, value, note, today, commitment.text)


def suggest(
    commitment: Commitment,
    country: str,
    evidence: list[Evidence],
    rules: ComplianceRules,
    documented: bool = True,
) -> Score:
    """A suggested score for one commitment and country from its evidence passages.

    +1 when a passage of a report of completed action scores at least `full_score` (`figure_score`
    when it states a figure); 0 when there is
    evidence but it describes plans or matches less closely; -1 when there is none. When the country
    has no indexed document at all, nothing can be said: status NO_DOCUMENTS (shown grey, not −1).
    """
    mine = [e for e in evidence if e.country == country]
    if not mine and not documented:
        return Score(commitment.key, country, -1, NO_DOCUMENTS, reason=f"no documents from {country} indexed")
    if not mine:
        return Score(
            commitment.key,
            country,
            -1,
            "suggested",
            reason=f"no passage of a document from {country} dated after {commitment.date} matches",
        )
    done = [
        e
        for e in mine
        if (e.score >= rules.full_score and _reports_done(e.text, rules))
        or (e.score >= rules.figure_score and _reports_figures(e.text, rules))
    ]
    if done:
        best = done[0]
        return Score(
            commitment.key,
            country,
            1,
            "suggested",
            reason=f"completed action reported in {best.citation} (score {best.score:.2f})",
        )
    best = mine[0]
    return Score(
        commitment.key,
        country,
        0,
        "suggested",
        reason=f"related plans or partial action in {best.citation} (score {best.score:.2f})",
    )


def resolve(confirmations: list[Confirmation], commitments: list[Commitment]) -> dict[tuple[str, str], Score]:
    """Confirmed scores by (commitment key, country), matched to the current commitments.

    A confirmation whose key now holds other words is moved to the commitment of the same document
    with those exact words if there is one; otherwise it is kept on its key and marked stale.
    """
    by_key = {c.key: c for c in commitments}
    by_text = {(c.doc_id, c.text): c for c in commitments}
    out: dict[tuple[str, str], Score] = {}
    for conf in confirmations:
        target = by_key.get(conf.commitment)
        stale = False
        if conf.text and (target is None or target.text != conf.text):
            moved = by_text.get((conf.commitment.split(":", 1)[0], conf.text))
            target, stale = (moved, False) if moved else (target, True)
        key = target.key if target else conf.commitment
        out[(key, conf.country)] = Score(
            key,
            conf.country,
            conf.score,
            "confirmed",
            note=conf.note,
            confirmed_on=conf.confirmed,
            stale=stale or target is None,
        )
    return out


def _reports_done(text: str, rules: ComplianceRules) -> bool:
    done = sum(len(p.findall(text)) for p in rules.done)
    planned = sum(len(p.findall(text)) for p in rules.planned)
    return done > planned


def _reports_figures(text: str, rules: ComplianceRules) -> bool:
    """Completed action stated with figures: a figure, and no word of action still planned ("37 urgent
    requests answered within ten days", "froze 312 accounts": verbs no list of words holds)."""
    return wanted.states_figure(text) and not any(p.search(text) for p in rules.planned)


def _valid_score(value: object) -> int:
    try:
        score = int(str(value).strip().replace("+", ""))
    except ValueError:
        score = None
    if score not in SCALE:
        raise UsageError(
            f"score {value!r} is not on the scale: 1 (full compliance), 0 (work in progress), "
            "-1 (no evidence of implementation)"
        )
    return score


def _new_document() -> tomlkit.TOMLDocument:
    doc = tomlkit.document()
    for line in HEADER.splitlines():
        doc.add(tomlkit.comment(line))
    doc.add(tomlkit.nl())
    return doc


_write_atomically = files.write_text
