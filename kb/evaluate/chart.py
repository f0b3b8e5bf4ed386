"""metrics.png: each run's mean metrics as grouped bars."""

from __future__ import annotations

from pathlib import Path

from kb.evaluate import metrics as m

CHART_FILE = "metrics.png"


def write_chart(report: dict, path: Path) -> None:
    """Grouped bars: one group per metric, one bar per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = report["runs"]
    names = list(runs)
    metric_names = [x for x in report["configuration"]["metrics"]] + (
        [m.CHECKS] if any(m.CHECKS in r["metrics"] for r in runs.values()) else []
    )
    width = 0.8 / max(1, len(names))
    fig, ax = plt.subplots(figsize=(max(8, 1.1 * len(metric_names) * max(1, len(names)) / 2.5), 4.5))
    for i, name in enumerate(names):
        values = [runs[name]["metrics"].get(x, 0.0) for x in metric_names]
        xs = [j + (i - (len(names) - 1) / 2) * width for j in range(len(metric_names))]
        ax.bar(xs, values, width, label=name)
    ax.set_xticks(range(len(metric_names)))
    ax.set_xticklabels(metric_names, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("mean over judged questions")
    ax.set_title(f"{report['suite']['name']}: k = {report['configuration']['k']}")
    ax.legend(fontsize="small", ncols=min(len(names), 4))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
