"""The commitment × country matrix: evidence count, best evidence score and compliance score per cell,
as rows for a table, as CSV, and as a heatmap image."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from kb.commitments import compliance
from kb.commitments.rules import Rules
from kb.commitments.types import Cell, Commitment, Tracker

CSV_COLUMNS = [
    "commitment",
    "id",
    "document",
    "paragraph",
    "strength",
    "topics",
    "country",
    "evidence",
    "best_score",
    "compliance",
    "status",
    "stale",
    "note",
    "reason",
    "text",
]


@dataclass
class Matrix:
    rows: list[Commitment]
    countries: list[str]
    cells: dict[tuple[str, str], Cell]

    def cell(self, key: str, country: str) -> Cell:
        return self.cells[(key, country)]


def build(tracker: Tracker, confirmations: list[compliance.Confirmation], rules: Rules) -> Matrix:
    """Every commitment (not acknowledgements) against every matrix country; confirmed scores win
    over suggested ones."""
    rows = [c for c in tracker.commitments if c.is_commitment]
    confirmed = compliance.resolve(confirmations, tracker.commitments)
    cells = {}
    for c in rows:
        evidence = tracker.evidence.get(c.key, [])
        for country in tracker.countries:
            mine = [e for e in evidence if e.country == country]
            score = confirmed.get((c.key, country)) or compliance.suggest(
                c, country, evidence, rules.compliance, country in tracker.documented
            )
            cells[(c.key, country)] = Cell(
                c.key, country, len(mine), max((e.score for e in mine), default=0.0), score
            )
    return Matrix(rows, list(tracker.countries), cells)


LEGEND = (
    "Compliance by commitment and country: green +1 full, amber 0 in progress, red −1 no evidence. "
    "Grey: no document of that country indexed. Suggested scores until confirmed (✓) by an analyst."
)


def to_csv(matrix: Matrix, short_titles: dict[str, str]) -> str:
    """One line per commitment and country (a tidy table: pivot it in a spreadsheet)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for c in matrix.rows:
        for country in matrix.countries:
            cell = matrix.cell(c.key, country)
            writer.writerow(
                {
                    "commitment": c.key,
                    "id": c.id,
                    "document": short_titles.get(c.doc_id, c.doc_id),
                    "paragraph": c.paragraph,
                    "strength": c.strength,
                    "topics": " ".join(c.topic_keys),
                    "country": country,
                    "evidence": cell.evidence,
                    "best_score": f"{cell.best:.3f}",
                    "compliance": "" if cell.score.no_documents else cell.score.score,
                    "status": cell.score.status,
                    "stale": "yes" if cell.score.stale else "",
                    "note": cell.score.note,
                    "reason": cell.score.reason,
                    "text": c.text,
                }
            )
    return out.getvalue()


def heatmap(matrix: Matrix, path: Path, short_titles: dict[str, str]) -> Path:
    """A PNG heatmap of compliance scores (red −1, amber 0, green +1, grey: no document of that country
    indexed); each cell shows the score, ✓ when confirmed, and the number of evidence passages."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    n_rows, n_cols = len(matrix.rows), len(matrix.countries)
    values = [
        [
            float("nan") if (s := matrix.cell(c.key, k).score).no_documents else s.score
            for k in matrix.countries
        ]
        for c in matrix.rows
    ]
    fig_h = max(2.5, 0.38 * n_rows + 1.4)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.0 * n_cols + 6.5), fig_h), dpi=110)
    # red, amber, green; grey where no document of the country is indexed
    cmap = ListedColormap(["#d9534f", "#f0ad4e", "#5cb85c"]).with_extremes(bad="#d0d0d0")
    ax.imshow(values or [[0]], cmap=cmap, vmin=-1.5, vmax=1.5, aspect="auto")
    ax.set_xticks(range(n_cols), matrix.countries)
    ax.set_yticks(
        range(n_rows),
        [f"{_short(short_titles.get(c.doc_id, c.doc_id))} {c.id}: {_clip(c.text, 48)}" for c in matrix.rows],
        fontsize=7,
    )
    ax.xaxis.tick_top()
    for i, c in enumerate(matrix.rows):
        for j, k in enumerate(matrix.countries):
            cell = matrix.cell(c.key, k)
            mark = "✓" if cell.score.status == "confirmed" else ""
            shown = "no docs" if cell.score.no_documents else f"{cell.score.score:+d}{mark}"
            ax.text(
                j,
                i,
                f"{shown}\n{cell.evidence} ev.",
                ha="center",
                va="center",
                fontsize=6,
            )
    ax.set_title(
        LEGEND.replace(" Grey", "\nGrey"),
        fontsize=9,
        pad=22,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def _short(title: str) -> str:
    return _clip(title.replace("Test fixture: ", "Fixture: "), 28)


def _clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"
