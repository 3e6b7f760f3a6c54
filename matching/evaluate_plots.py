"""Pictures of a retrieval report: the reliability diagram of the calibrated confidence."""

from __future__ import annotations

from pathlib import Path


def plot_reliability(report: dict, path: str | Path) -> None:
    """One panel per bundle of `kyb eval retrieval`'s report: per kind, the share of right
    answers against the probability stated for them (the diagonal is perfect calibration),
    with the expected calibration error in the legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = report["results"]
    figure, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 4.2), squeeze=False)
    for axis, (name, result) in zip(axes[0], results.items(), strict=True):
        axis.plot([0, 1], [0, 1], color="0.7", linestyle="--", linewidth=1)
        for kind, metrics in result["metrics"].items():
            if kind == "all" or "reliability" not in metrics:
                continue
            stated, right, counts = zip(*metrics["reliability"], strict=True)
            axis.plot(stated, right, marker="o", label=f"{kind} (ECE {metrics['ece']:.3f})")
            for x, y, count in zip(stated, right, counts, strict=True):
                axis.annotate(str(count), (x, y), textcoords="offset points", xytext=(3, -9), fontsize=6)
        axis.set(xlim=(0, 1), ylim=(0, 1), xlabel="stated probability of a right answer",
                 ylabel="share of right answers", title=f"{name}: {Path(report['dataset']).name}")
        axis.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
