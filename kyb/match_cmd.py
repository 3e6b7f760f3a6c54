"""`kyb match CROP --index INDEX`: the best references for one crop (step 3 alone)."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command()
@click.argument("crop", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--index", "root", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(["logo", "album", "any"]), default="any", show_default=True,
              help="What the crop shows; 'any' tries each kind in the index and keeps the surer answer.")
@click.option("--top-k", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def match(crop, root, kind, top_k, as_json):
    """Rank the indexed bands for a cropped logo or cover, answering 'unknown' when the band
    is probably not in the index."""
    from data.image_io import read_image
    from matching.bundle import BundleError
    from matching.index import RetrievalIndex

    try:
        index = RetrievalIndex.open(root)
        image = read_image(crop)
    except (BundleError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    kinds = list(index.paths) if kind == "any" else [kind]
    if not set(kinds) <= set(index.paths):
        raise click.ClickException(f"{root} has no {kind} references")
    results = [index.query(image, k, top_k) for k in kinds]
    result = max(results, key=_sureness)
    if as_json:
        click.echo(json.dumps({"crop": str(crop), **result.to_json()}, indent=1))
        return
    confidence = "" if result.confidence is None else f" (confidence {result.confidence:.3f})"
    click.echo(f"{crop}: {result.kind}, verdict {result.verdict}{confidence}")
    click.echo(f"{'rank':>4} {'band_id':>12} {'ref_id':>8} {'album_id':>10} {'score':>7} {'inliers':>7}")
    for rank, candidate in enumerate(result.candidates, start=1):
        album = "" if candidate.album_id is None else candidate.album_id
        inliers = "" if candidate.inliers is None else candidate.inliers
        click.echo(f"{rank:>4} {candidate.band_id:>12} {candidate.ref_id:>8} {album:>10} "
                   f"{candidate.similarity:>7.3f} {inliers:>7}")
    click.echo("timings: " + ", ".join(f"{k} {v:.1f} ms" for k, v in result.timings_ms.items()))


def _sureness(result) -> tuple:
    """Accepted answers first, then the more confident (or, uncalibrated, more similar) one."""
    top = result.candidates[0].similarity if result.candidates else -1.0
    return (result.verdict == "match", result.confidence if result.confidence is not None else top)
