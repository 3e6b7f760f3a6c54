"""`kyb demo`: a self-contained run on the embedded defaults.

Until the identification pipeline lands, the demo generates a small synthetic dataset,
validates it against the contract, writes a contact sheet, and prints the ground truth
of a few photos: the bands each one shows, as the pipeline will have to find them.
"""

from __future__ import annotations

from pathlib import Path

import click

from kyb.synth_cmd import print_check, print_summary


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("kyb-demo"),
              show_default=True, help="Folder for the demo's dataset and pictures.")
@click.option("--bands", type=click.IntRange(min=1), default=24, show_default=True)
@click.option("--photos", type=click.IntRange(min=1), default=24, show_default=True)
@click.option("--seed", type=int, default=2018, show_default=True)
def demo(out, bands, photos, seed):
    """Generate a small synthetic dataset, validate it and show what its photos contain."""
    from data.check import check_dataset
    from data.dataset import UNKNOWN_BAND_ID, load_dataset
    from data.preview import contact_sheet
    from data.synth import SynthConfig, generate
    from data.voc import read_voc

    dataset_dir = out / "dataset"
    click.echo(f"generating {bands} bands and {photos} photos in {dataset_dir} ...")
    print_summary(generate(dataset_dir, SynthConfig(bands=bands, photos=photos, seed=seed), force=True))
    print_check(check_dataset(dataset_dir))

    dataset = load_dataset(dataset_dir)
    band_names = {int(band["band_id"]): band["name"] for band in dataset.bands}
    click.echo("\nphoto              what it shows")
    for name in dataset.splits["test"][:8]:
        shown = []
        for obj in read_voc(dataset.annotation_path(name)).objects:
            band = band_names.get(obj.band_id, "?") if obj.band_id != UNKNOWN_BAND_ID else "(unknown band)"
            shown.append(f"{obj.name}: {band}")
        click.echo(f"{name:<18} {'; '.join(shown)}")
    sheet = contact_sheet(dataset_dir, out / "contact-sheet.png", count=12)
    click.echo(f"\ncontact sheet with the ground-truth boxes: {sheet}")
