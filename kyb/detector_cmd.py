"""`kyb detector train|export`: train the Faster R-CNN on VOC folders, ship a model file."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import click


def parse_class_map(pairs) -> dict[str, str]:
    """``--class-map theirs=ours`` options -> {theirs: ours}."""
    mapping = {}
    for pair in pairs:
        theirs, sep, ours = pair.partition("=")
        if not sep or not theirs or ours not in ("logo", "album"):
            raise click.BadParameter(f"{pair!r}: expected NAME=logo or NAME=album", param_hint="--class-map")
        mapping[theirs] = ours
    return mapping


@click.group()
def detector():
    """Train and export the logo/album detector (Faster R-CNN)."""


@detector.command()
@click.option("--dataset", "datasets", multiple=True, required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="VOC folder (annotations/, photos/, optional splits/); repeat for several.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Run folder: checkpoint.npz, best.npz, history.json, loss_curves.png.")
@click.option("--steps", type=click.IntRange(min=1), default=20000, show_default=True,
              help="Training steps (one photo each).")
@click.option("--lr", "learning_rate", type=float, default=1e-4, show_default=True,
              help="Peak learning rate (Adam).")
@click.option("--warmup", type=click.IntRange(min=0), default=200, show_default=True)
@click.option("--val-every", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--val-images", type=click.IntRange(min=1), default=150, show_default=True,
              help="Validation photos scored each time.")
@click.option("--checkpoint-minutes", type=float, default=5.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--backbone", type=click.Choice(["efficientnet-lite0", "resnet50"]),
              default="efficientnet-lite0", show_default=True,
              help="resnet50 (the thesis) downloads ImageNet weights from the Keras hub.")
@click.option("--short-side", type=click.IntRange(min=64), default=512, show_default=True)
@click.option("--max-side", type=click.IntRange(min=64), default=1024, show_default=True)
@click.option("--freeze-blocks", type=click.IntRange(min=0), default=8, show_default=True)
@click.option("--class-map", multiple=True, metavar="NAME=logo|album",
              help="Map a dataset's class name to ours; other classes are left out.")
@click.option("--no-augment", is_flag=True, help="Train on the photos as they are.")
@click.option("--fresh", is_flag=True, help="Start over even if OUT holds a checkpoint.")
@click.option("--search", "search_trials", type=click.IntRange(min=0), default=0, show_default=True,
              help="Random-search trials over learning rate and anchor scale before training.")
@click.option("--search-steps", type=click.IntRange(min=1), default=300, show_default=True)
@click.option("--init", "init", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Start a fresh run from this model's weights and configuration (a fine-tune, "
                   "e.g. of the shipped detector) instead of from ImageNet.")
def train(datasets, out, steps, learning_rate, warmup, val_every, val_images, checkpoint_minutes, seed,
          backbone, short_side, max_side, freeze_blocks, class_map, no_augment, fresh, search_trials,
          search_steps, init):
    """Train on VOC folders, keeping the best weights by validation mAP.

    Resumes from OUT/checkpoint.npz unless --fresh. Uses a GPU when TensorFlow sees one.
    """
    from data.progress import progress_bar, write_line
    from detector.config import DetectorConfig
    from detector.train import TrainSettings, random_search
    from detector.train import train as run_training

    settings = TrainSettings(datasets=list(datasets), out=out, steps=steps, learning_rate=learning_rate,
                             warmup=warmup, val_every=val_every, val_images=val_images,
                             checkpoint_minutes=checkpoint_minutes, seed=seed,
                             class_map=parse_class_map(class_map), augment=not no_augment,
                             search_trials=search_trials, search_steps=search_steps, init=init)
    config = DetectorConfig(backbone=backbone, short_side=short_side, max_side=max_side,
                            freeze_blocks=freeze_blocks)
    resume = not fresh
    if search_trials and not (resume and (out / "checkpoint.npz").exists()):
        learning_rate, config, trials = random_search(settings, config, log=write_line)
        out.mkdir(parents=True, exist_ok=True)
        (out / "search.json").write_text(json.dumps(trials, indent=1))
        settings = dataclasses.replace(settings, learning_rate=learning_rate)
        click.echo(f"search chose lr {learning_rate:.2e}, anchor scales {config.anchor_scales}")
    started = time.monotonic()
    with progress_bar(total=steps, unit="step", dynamic_ncols=True, leave=True) as bar:
        def progress(step, parts):
            bar.n = step
            bar.set_postfix({k: f"{v:.3f}" for k, v in parts.items()}, refresh=False)
            bar.refresh()

        history = run_training(settings, config, resume=resume, progress=progress, log=write_line)
    click.echo(f"done: best validation mAP@0.5 {history['best_map']:.4f}; "
               f"{time.monotonic() - started:.0f} s this run; best model {out / 'best.npz'}")


@detector.command()
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--float32", "full", is_flag=True, help="Keep float32 weights (default: float16).")
@click.option("--proposals", type=click.IntRange(min=1),
              help="RPN proposals per photo at inference (fewer is faster).")
@click.option("--score-threshold", type=click.FloatRange(0, 1), help="Lowest score reported.")
@click.option("--note", "notes", multiple=True, metavar="KEY=VALUE", help="Metadata to store in the file.")
def export(checkpoint, output, full, proposals, score_threshold, notes):
    """Write a checkpoint as a model file to ship: float16, no optimizer state.

    CHECKPOINT is usually RUN/best.npz; inference settings may be changed on the way."""
    import numpy as np

    from detector.io import load_model, save_model

    model, metadata = load_model(checkpoint)
    changes = {"rpn_post_nms_test": proposals, "score_threshold": score_threshold}
    model.config = dataclasses.replace(model.config, **{k: v for k, v in changes.items() if v is not None})
    metadata = {key: metadata[key] for key in ("step", "validation", "settings") if key in metadata}
    metadata.update(dict(note.partition("=")[::2] for note in notes))
    save_model(output, model, dtype=np.float32 if full else np.float16, metadata=metadata)
    click.echo(f"{output}: {output.stat().st_size / 1e6:.1f} MB")
