"""Draw the images of BENCHMARKS.md from benchmarks/report_figures.json.

The figures are not measured here: report_figures.json holds numbers copied from
docs/benchmark-history.md, each entry naming the section it came from. When a newer
run measures one of them, update the JSON and run again:

    .venv/bin/python benchmarks/plot_report.py

It writes two PNGs (matplotlib, Agg backend, no display needed):
- docs/benchmarks-latency.png: end-to-end p50 per stage (detect, features, match,
  verify, lookup) for each run in "latency_breakdown", with the total p50 marked;
  a stage whose p50 was not recorded (null) is left out of its bar.
- docs/benchmarks-accuracy.png: retrieval top-1 per set and preset, and end-to-end band
  precision against band recall with issue 6's target region.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

ROOT = Path(__file__).resolve().parent.parent
STAGE_COLOURS = {"detect": "#4c72b0", "features": "#dd8452", "match": "#55a868",
                 "verify": "#c44e52", "lookup": "#8172b3"}
PRESET_COLOURS = {"default": "#4c72b0", "thesis": "#dd8452", "imagenet-cnn": "#8c8c8c"}


def plot_latency(spec: dict, out: Path) -> None:
    """Horizontal stacked bars of stage p50s, one bar per run, newest at the top."""
    runs = spec["runs"]
    fig, ax = plt.subplots(figsize=(9, 0.75 * len(runs) + 1.6))
    labelled: set[str] = set()
    for row, run in enumerate(runs):
        y = len(runs) - 1 - row
        left = 0.0
        for stage in spec["stages"]:
            ms = run["stages"].get(stage)
            if not ms:  # not recorded (null) or zero
                continue
            ax.barh(y, ms, left=left, color=STAGE_COLOURS[stage], height=0.6,
                    label=None if stage in labelled else stage)
            labelled.add(stage)
            left += ms
        ax.plot([run["total_p50"]] * 2, [y - 0.38, y + 0.38], color="black", lw=2)
        ax.text(run["total_p50"] + 12, y, f"total {run['total_p50']:g}", va="center", fontsize=8)
    ax.set_yticks(range(len(runs)))
    ax.set_yticklabels([f"{r['label']}\n{r['detail']}" for r in reversed(runs)], fontsize=8)
    ax.set_xlabel("ms per photo (p50 of each stage; black tick: p50 of the whole photo)")
    ax.set_xlim(0, max(max(r["total_p50"], sum(v or 0 for v in r["stages"].values()))
                       for r in runs) * 1.18)
    ax.set_title(spec["title"], fontsize=11)
    handles, labels = ax.get_legend_handles_labels()
    order = [labels.index(s) for s in spec["stages"] if s in labels]
    ax.legend([handles[i] for i in order], [labels[i] for i in order], ncol=5, fontsize=8,
              loc="upper right")
    ax.grid(axis="x", alpha=0.3)
    fig.text(0.01, 0.01, spec.get("note", ""), fontsize=7, color="#555555")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(out, dpi=100)
    plt.close(fig)


def plot_accuracy(top1: dict, pr: dict, out: Path) -> None:
    """Left: grouped top-1 bars per set and preset. Right: e2e band P against R."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2),
                                      gridspec_kw={"width_ratios": [1.5, 1]})
    presets, sets = top1["presets"], top1["sets"]
    width = 0.8 / len(presets)
    for k, preset in enumerate(presets):
        xs = [i + (k - (len(presets) - 1) / 2) * width for i in range(len(sets))]
        values = [s["values"].get(preset) for s in sets]
        bars = left.bar([x for x, v in zip(xs, values, strict=True) if v is not None],
                        [v for v in values if v is not None], width,
                        label=preset, color=PRESET_COLOURS.get(preset))
        left.bar_label(bars, fmt="%.3f", fontsize=6.5, padding=1)
    left.set_xticks(range(len(sets)))
    left.set_xticklabels([s["label"] for s in sets], fontsize=8)
    left.set_ylim(0, 1.2)
    left.set_ylabel("top-1")
    left.set_title(top1["title"], fontsize=10)
    left.legend(fontsize=8, loc="upper center", ncol=3)
    left.grid(axis="y", alpha=0.3)

    target = pr["target"]
    right.axvspan(target["recall"], 1.0, ymin=target["precision"], ymax=1.0,
                  color="#55a868", alpha=0.2, label="issue 6 target")
    for point in pr["points"]:
        preset = point["label"].split(", ")[-1]
        right.scatter(point["recall"], point["precision"], s=40,
                      color=PRESET_COLOURS.get(preset, "black"), zorder=3)
        dx, dy = point.get("label_offset", (6, -14))  # points; set in the JSON where labels meet
        right.annotate(f"{point['label']}\n(P {point['precision']:.3f}, R {point['recall']:.3f})",
                       (point["recall"], point["precision"]), fontsize=7,
                       xytext=(dx, dy), textcoords="offset points",
                       ha="right" if dx < 0 else "left",
                       arrowprops={"arrowstyle": "-", "color": "#888888", "lw": 0.6})
    right.set_xlim(0, 1)
    right.set_ylim(0, 1)
    right.set_xlabel("band recall")
    right.set_ylabel("band precision")
    right.set_title(pr["title"], fontsize=10)
    right.legend(fontsize=8, loc="lower right")
    right.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--figures", type=Path, default=ROOT / "benchmarks" / "report_figures.json")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    figures = json.loads(args.figures.read_text())
    args.out_dir.mkdir(parents=True, exist_ok=True)
    plot_latency(figures["latency_breakdown"], args.out_dir / "benchmarks-latency.png")
    plot_accuracy(figures["retrieval_top1"], figures["e2e_precision_recall"],
                  args.out_dir / "benchmarks-accuracy.png")
    for name in ("benchmarks-latency.png", "benchmarks-accuracy.png"):
        path = args.out_dir / name
        print(f"{path} ({path.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
