"""`kyb synth`: generate, check or preview a synthetic dataset folder."""

from __future__ import annotations

from pathlib import Path

import click


def print_summary(summary) -> None:
    click.echo(f"bands        {summary.bands}")
    click.echo(f"references   {summary.references['logo']} logos, {summary.references['album']} covers")
    click.echo(f"photos       {summary.photos}")
    click.echo(f"objects      {summary.objects['logo']} logos, {summary.objects['album']} albums "
               f"({summary.unknown_objects} of bands not in the references)")
    click.echo(f"time         {summary.seconds:.1f} s")


def print_check(report) -> None:
    for key in sorted(report.counts):
        click.echo(f"  {key:<22} {report.counts[key]}")
    if report.ok:
        click.echo(f"{report.root}: valid dataset folder")
        return
    for problem in report.problems[:50]:
        click.echo(f"  problem: {problem}", err=True)
    more = len(report.problems) - 50
    if more > 0:
        click.echo(f"  ... and {more} more", err=True)
    raise click.ClickException(f"{report.root}: {len(report.problems)} problem(s)")


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Folder to write.")
@click.option("--bands", type=click.IntRange(min=1), default=300, show_default=True,
              help="Bands in the reference set.")
@click.option("--photos", type=click.IntRange(min=1), default=1500, show_default=True,
              help="Real-life photos to generate.")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same dataset.")
@click.option("--open-set", type=click.FloatRange(0, 1, max_open=True), default=0.1, show_default=True,
              help="Share of photo items showing bands that are not in the references (band_id 0).")
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="Worker processes; 0 means one per CPU core.")
@click.option("--scenes", default=None, metavar="NAME,...",
              help="Draw only these scenes (comma-separated), e.g. vest for a patch-jacket test set. "
                   "Default: every scene, by its weight.")
@click.option("--real-logos", type=click.FloatRange(0, 1), default=None,
              help="Share of bands wearing a real logo design from train-real "
                   "[default: 0.4 where train-real has logos, else 0].")
@click.option("--real-split", type=click.Choice(["train", "validation", "all"]), default="train",
              show_default=True, help="Which real logo designs the bands may wear.")
@click.option("--legible-logos", type=click.FloatRange(0, 1), default=None,
              help="Share of the generated logos drawn legible: a plain face on one line, which text "
                   "reading can name [default: 0.35].")
@click.option("--illegible-logos", type=click.FloatRange(0, 1), default=None,
              help="Share of the generated logos drawn illegible: mirrored, overgrown sigils "
                   "[default: 0.25].")
@click.option("--real-photos/--no-real-photos", default=None,
              help="Add train-real's photographs to the photo library [default: where they exist].")
@click.option("--force", is_flag=True, help="Replace --out if it already holds a dataset.")
@click.option("--check", "check_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Validate this dataset folder against the contract instead of generating.")
@click.option("--preview", nargs=2, type=click.Path(path_type=Path), metavar="DIR OUT.png",
              help="Write a contact sheet of DIR's photos with their boxes instead of generating.")
@click.option("--preview-logos", nargs=2, type=click.Path(path_type=Path), metavar="DIR OUT.png",
              help="Write a contact sheet of DIR's reference logos, a row per logo style, "
                   "instead of generating.")
def synth(out, bands, photos, seed, open_set, workers, scenes, real_logos, real_split, legible_logos,
          illegible_logos, real_photos, force, check_dir, preview, preview_logos):
    """Generate a synthetic dataset of bands, references and annotated real-life photos.

    The folder follows the dataset contract of ARCHITECTURE.md (bands.csv, references.csv,
    references/, photos/, annotations/ in Pascal VOC, splits/). Real photographs and logo
    designs are read from ../shared/train-real (or $KYB_TRAIN_REAL_DIR) where it exists.
    """
    from data.check import check_dataset

    if check_dir is not None:
        print_check(check_dataset(check_dir))
        return
    if preview or preview_logos:
        from data.preview import contact_sheet, logo_sheet

        (source, target), draw = (preview, contact_sheet) if preview else (preview_logos, logo_sheet)
        try:
            click.echo(f"wrote {draw(source, target)}")
        except (ValueError, OSError) as exc:
            raise click.ClickException(str(exc)) from exc
        return
    if out is None:
        raise click.UsageError("give --out DIR to generate (or --check DIR, or --preview[-logos] DIR OUT)")

    from data.synth import SynthConfig, generate

    chosen = tuple(name.strip() for name in scenes.split(",") if name.strip()) if scenes else None
    styles = {key: share for key, share in (("legible_logos", legible_logos),
                                            ("illegible_logos", illegible_logos)) if share is not None}
    try:
        config = SynthConfig(bands=bands, photos=photos, seed=seed, open_set=open_set, workers=workers,
                             scenes=chosen, real_logos=real_logos, real_split=real_split,
                             real_photos=real_photos, **styles)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    try:
        summary = generate(out, config, force=force)
    except FileExistsError as exc:
        raise click.ClickException(str(exc)) from exc
    print_summary(summary)
    click.echo(f"wrote {out}")
