"""Pictures of a retrieval report: the reliability diagram of the calibrated confidence, and
the rejector's precision-recall curve."""

from __future__ import annotations

from pathlib import Path


def _panels(count: int):
    """A figure of `count` square panels side by side, drawn off-screen."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, count, figsize=(4.2 * count, 4.2), squeeze=False)
    return plt, figure, axes[0]


def _save(plt, figure, path: str | Path) -> None:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_reliability(report: dict, path: str | Path) -> None:
    """One panel per bundle of `kyb eval retrieval`'s report: per kind, the share of right
    answers against the probability stated for them (the diagonal is perfect calibration),
    with the expected calibration error in the legend."""
    results = report["results"]
    plt, figure, axes = _panels(len(results))
    for axis, (name, result) in zip(axes, results.items(), strict=True):
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
    _save(plt, figure, path)


def plot_rejector_curves(report: dict, path: str | Path) -> None:
    """One panel per bundle: per kind, the rejector's precision against recall
    (`matching.evaluate.rejector_curve`), the bundle's operating point marked, with the
    average precision in the legend."""
    results = report["results"]
    plt, figure, axes = _panels(len(results))
    for axis, (name, result) in zip(axes, results.items(), strict=True):
        for kind, metrics in result["metrics"].items():
            curve = metrics.get("rejector")
            if kind == "all" or not curve:
                continue
            recall, precision = zip(*curve["curve"], strict=True)
            line, = axis.plot(recall, precision, label=f"{kind} (AP {metrics['rejector_ap']:.3f})")
            point = curve["operating_point"]
            if point["precision"] is not None:
                axis.plot(point["recall"], point["precision"], marker="o", color=line.get_color())
        axis.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="right answers accepted (recall)",
                 ylabel="accepted answers right (precision)", title=f"{name}: {Path(report['dataset']).name}")
        axis.legend(loc="lower left", fontsize=8)
    _save(plt, figure, path)
