"""`kyb descriptor train`: fine-tune the learned logo descriptor on synthetic renditions."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group()
def descriptor():
    """Train the learned logo descriptor (EfficientNet-Lite0, contrastive metric loss)."""


@descriptor.command()
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Model file to write (.npz); a training report goes beside it (.json).")
@click.option("--designs", type=click.IntRange(min=2), default=2000, show_default=True,
              help="Synthetic logos to render (each its own class).")
@click.option("--val-designs", type=click.IntRange(min=1), default=200, show_default=True,
              help="Of those, logos held out to pick the best epoch.")
@click.option("--renditions", type=click.IntRange(min=1), default=8, show_default=True,
              help="Printed-and-photographed renditions per logo.")
@click.option("--partial-views", type=click.IntRange(min=0), default=0, show_default=True,
              help="Views per logo of part of it, or of it beside another mark (alternately).")
@click.option("--epochs", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--logos-per-batch", type=click.IntRange(min=2), default=64, show_default=True)
@click.option("--views-per-logo", type=click.IntRange(min=2), default=4, show_default=True,
              help="Views of each logo in a batch: its reference and others drawn at random.")
@click.option("--lr", "learning_rate", type=click.FloatRange(min=0, min_open=True), default=3e-4,
              show_default=True, help="Peak learning rate (Adam, cosine decay).")
@click.option("--temperature", type=click.FloatRange(min=0, min_open=True), default=0.05, show_default=True,
              help="Temperature of the contrastive softmax.")
@click.option("--dimension", type=click.IntRange(16, 1280), help="Descriptor length  [default: 256]")
@click.option("--trainable-from", type=click.IntRange(0, 16),
              help="First Lite0 block to fine-tune; earlier blocks keep ImageNet weights  [default: 11]")
@click.option("--init", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A trained model file to start from instead of ImageNet's weights; it keeps its "
                   "dimension and trainable blocks.")
@click.option("--real-designs", type=click.IntRange(min=0), default=0, show_default=True,
              help="Train on up to this many real band logos of train-real's train split beside the "
                   "generated ones, and score its validation split (held out by band) each epoch.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Processes rendering the training views.")
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path),
              help="Folder keeping the rendered set's trunk features, so that another run with "
                   "the same --seed/--designs/--renditions/--partial-views/--trainable-from (and "
                   "generator code) skips rendering.")
def train(out, designs, val_designs, renditions, partial_views, epochs, logos_per_batch, views_per_logo,
          learning_rate, temperature, dimension, trainable_from, init, real_designs, seed, workers, cache):
    """Render synthetic logos and their renditions, fine-tune the descriptor's top blocks,
    and write the best epoch's weights (picked on held-out logos) to OUT."""
    from features.descriptor_training import TrainingConfig, train_descriptor
    from features.logo_descriptor import DescriptorConfig

    try:
        config = TrainingConfig(designs=designs, val_designs=val_designs, renditions=renditions,
                                partial_views=partial_views, epochs=epochs, logos_per_batch=logos_per_batch,
                                views_per_logo=views_per_logo, learning_rate=learning_rate,
                                temperature=temperature, seed=seed, workers=workers,
                                real_designs=real_designs)
        if init is not None and (dimension is not None or trainable_from is not None):
            raise ValueError("--init keeps its model's dimension and trainable blocks: "
                             "leave out --dimension and --trainable-from")
        descriptor_config = None if init is not None else DescriptorConfig(
            dimension=dimension or 256, trainable_from=11 if trainable_from is None else trainable_from)
        model, report = train_descriptor(config, descriptor_config, cache=cache, log=click.echo, init=init)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    model.save(out)
    report_path = out.with_suffix(".json")
    report_path.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    real = report["real_designs"]
    real_line = (f"; real validation designs ({real['validation']}) top-1 {real['best_epoch_top1']:.3f} "
                 f"(untrained: {real['untrained_top1']:.3f})" if real["validation"] else "")
    click.echo(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB) and {report_path}; "
               f"held-out top-1 {report['best_val_top1']:.3f} "
               f"(untrained: {report['untrained_val_top1']:.3f}){real_line}")
