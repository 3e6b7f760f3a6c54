"""One dataset folder whose gallery joins several sets: a scrape's gallery of both kinds
(BENCHMARKS.md, "End to end": FlickrLogos-27's logos and SMVS's covers indexed together).

Every set's references, photos and annotations are linked (not copied) into OUT; the
references are renumbered one after another, bands.csv and albums.csv are joined (band
and album ids must not clash), and the test split is the one of the set named by
`--test-from`, so `kyb eval e2e` asks that set's photos of the joined gallery.

    .venv/bin/python benchmarks/mixed_gallery.py OUT --test-from A A B [C ...]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.dataset import (  # noqa: E402
    ALBUM_COLUMNS,
    BAND_COLUMNS,
    REFERENCE_COLUMNS,
    Dataset,
    load_dataset,
    write_csv,
)

LINKED = ("references", "photos", "annotations")


def joined_rows(datasets: list[Dataset], table: str, key: str) -> list[dict]:
    """The rows of every set's `table` (``bands`` or ``albums``), refusing a `key` that
    two sets share."""
    rows, seen = [], set()
    for dataset in datasets:
        for row in getattr(dataset, table):
            if row[key] in seen:
                raise SystemExit(f"{dataset.root}: {table} {key} {row[key]} is in another set too")
            seen.add(row[key])
            rows.append(row)
    return rows


def link_files(datasets: list[Dataset], out: Path) -> None:
    for folder in LINKED:
        (out / folder).mkdir(parents=True, exist_ok=True)
        for dataset in datasets:
            for source in sorted((dataset.root / folder).iterdir()):
                target = out / folder / source.name
                if target.is_symlink() and target.resolve() == source.resolve():
                    continue
                if target.exists() or target.is_symlink():
                    raise SystemExit(f"{source}: {target} already holds another file")
                target.symlink_to(source.resolve())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("sets", type=Path, nargs="+")
    parser.add_argument("--test-from", type=Path, required=True)
    args = parser.parse_args()
    datasets = [load_dataset(root) for root in args.sets]
    test_from = next((d for d in datasets if d.root == load_dataset(args.test_from).root), None)
    if test_from is None:
        raise SystemExit(f"--test-from {args.test_from} is not one of the sets")
    link_files(datasets, args.out)
    references = [replace(reference, ref_id=ref_id) for ref_id, reference in
                  enumerate((r for d in datasets for r in d.references), start=1)]
    write_csv(args.out / "references.csv", REFERENCE_COLUMNS, map(asdict, references))
    write_csv(args.out / "bands.csv", BAND_COLUMNS, joined_rows(datasets, "bands", "band_id"))
    write_csv(args.out / "albums.csv", ALBUM_COLUMNS, joined_rows(datasets, "albums", "album_id"))
    (args.out / "splits").mkdir(exist_ok=True)
    for split in ("train", "val"):
        (args.out / "splits" / f"{split}.txt").write_text("")
    (args.out / "splits" / "test.txt").write_text("".join(f"{name}\n" for name in test_from.splits["test"]))
    print(f"{args.out}: {len(references)} references of {len(datasets)} sets, "
          f"test split of {test_from.root.name}")


if __name__ == "__main__":
    main()
