"""`kyb identify`: name the bands in photos on disk (retrieval/pipeline.py)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from kyb.db_cmd import database_option

#: Limits for photos read from disk: far above any camera's, low enough to refuse a
#: decompression bomb (the same checks as the server's, through the same decoder).
MAX_BYTES = 100 * 1024 * 1024
MAX_PIXELS = 120_000_000


def read_photo(path: Path):
    """The photo as RGB pixels; ValueError with a reason a person can act on."""
    from retrieval.identify_api import ImageRejected, decode_image

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read the file ({exc.strerror or exc})") from exc
    try:
        return decode_image(data, MAX_BYTES, MAX_PIXELS)
    except ImageRejected as exc:
        raise ValueError(str(exc)) from exc


def result_rows(result: dict) -> list[tuple]:
    """(kind, detector score, band, album, verdict, match score, inliers) per detection."""
    rows = []
    for detection in result["detections"]:
        best = detection["matches"][0] if detection["matches"] else None
        rows.append((detection["kind"], detection["score"],
                     best["name"] if best and detection["verdict"] == "match" else "-",
                     (best or {}).get("album") or "", detection["verdict"],
                     best["score"] if best else None, best["inliers"] if best else None))
    return rows


def print_result(path: Path, result: dict) -> None:
    timings = result["timings_ms"]
    bands = ", ".join(band["name"] for band in result["bands"]) or "no known band"
    click.echo(f"{path}: {bands}  ({sum(timings.values()):.0f} ms: "
               + ", ".join(f"{stage} {ms:.0f}" for stage, ms in timings.items()) + ")")
    if not result["detections"]:
        click.echo("  nothing detected")
    for detection, (kind, score, band, album, verdict, match_score, inliers) in zip(
            result["detections"], result_rows(result), strict=True):
        shown = f"{band} - {album}" if album and band != "-" else band
        match = "" if match_score is None else f"{match_score:.3f}"
        confidence = detection.get("confidence")
        click.echo(f"  {kind:<6} det {score:.2f}  {shown:<40} {verdict:<8} {match:>6}"
                   + (f"  {confidence:.0%} sure" if confidence is not None else "")
                   + (f"  {inliers} inliers" if inliers is not None else "")
                   + witnesses(detection))


def witnesses(detection: dict) -> str:
    """Who named the detection's band (`by logo+text`) and the text read, for the table."""
    evidence = detection["matches"][0].get("evidence") if detection["matches"] else None
    named = f"  by {'+'.join(evidence)}" if evidence and detection["verdict"] == "match" else ""
    read = (detection.get("text") or {}).get("read")
    return named + (f"  read {read!r} ({detection['text']['score']:.2f})" if read else "")


@click.command()
@click.argument("photos", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--index", "index_path", required=True, type=click.Path(exists=True, path_type=Path),
              help="The index bundle written by `kyb index build`.")
@click.option("--model", "model_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Detector model file (default: $KYB_DETECTOR_MODEL, else the shipped model).")
@click.option("--json", "as_json", is_flag=True, help="Print the result JSON instead of a table.")
@click.option("--annotate", "annotate_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write each photo with its boxes and band names into this folder.")
@click.option("--top-k", type=click.IntRange(min=1), default=5, show_default=True,
              help="Bands listed per detection.")
@click.option("--text/--no-text", "read_text", default=True, show_default=True,
              help="Read the text on the photo as a second witness, over every band name in the "
                   "database (where the OCR model is installed).")
@database_option
def identify(photos, index_path, model_path, as_json, annotate_dir, top_k, read_text, url):
    """Detect logos and album covers in PHOTOS and name their bands.

    A photo that cannot be read is reported and skipped; the exit status is 1 if any was.
    """
    from matching.bundle import BundleError
    from retrieval.annotate import write_annotated
    from retrieval.pipeline import Pipeline, PipelineConfig
    from retrieval.store import StoreError

    try:
        pipeline = Pipeline.load(index_path, model_path, database_url=url,
                                 config=PipelineConfig(top_k=top_k, text=read_text))
    except StoreError as exc:
        raise click.ClickException(f"{exc}, or name another with --database URL") from exc
    except (BundleError, OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    outcomes, failed = [], 0
    try:
        for path in photos:
            try:
                image = read_photo(path)
            except ValueError as exc:
                failed += 1
                click.echo(f"{path}: error: {exc}", err=True)
                outcomes.append({"photo": str(path), "error": str(exc)})
                continue
            result = pipeline.identify(image)
            outcomes.append({"photo": str(path), "result": result})
            if annotate_dir is not None:
                written = write_annotated(image, result, annotate_dir / f"{path.stem}.jpg")
                if not as_json:
                    click.echo(f"  annotated: {written}")
            if not as_json:
                print_result(path, result)
    finally:
        pipeline.close()
    if as_json:
        click.echo(json.dumps(outcomes, indent=1))
    if failed:
        raise SystemExit(1)
