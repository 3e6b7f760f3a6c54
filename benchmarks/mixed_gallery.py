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
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.dataset import load_dataset  # noqa: E402

LINKED = ("references", "photos", "annotations")


def read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def write_rows(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def joined_table(sets: list[Path], name: str, key: str) -> list[dict]:
    """The rows of every set's `name`, refusing a `key` that two sets share."""
    rows, seen = [], set()
    for root in sets:
        for row in read_rows(root / name):
            if row[key] in seen:
                raise SystemExit(f"{root / name}: {key} {row[key]} is in another set too")
            seen.add(row[key])
            rows.append(row)
    return rows


def link_files(sets: list[Path], out: Path) -> None:
    for folder in LINKED:
        (out / folder).mkdir(parents=True, exist_ok=True)
        for root in sets:
            for source in sorted((root / folder).iterdir()):
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
    sets = [load_dataset(root).root for root in args.sets]
    test_from = load_dataset(args.test_from).root
    if test_from not in sets:
        raise SystemExit(f"--test-from {args.test_from} is not one of the sets")
    link_files(sets, args.out)
    references = [row for root in sets for row in read_rows(root / "references.csv")]
    for ref_id, row in enumerate(references, start=1):
        row["ref_id"] = str(ref_id)
    write_rows(args.out / "references.csv", references)
    write_rows(args.out / "bands.csv", joined_table(sets, "bands.csv", "band_id"))
    write_rows(args.out / "albums.csv", joined_table(sets, "albums.csv", "album_id"))
    (args.out / "splits").mkdir(exist_ok=True)
    for split in ("train", "val"):
        (args.out / "splits" / f"{split}.txt").write_text("")
    (args.out / "splits" / "test.txt").write_text((test_from / "splits" / "test.txt").read_text())
    print(f"{args.out}: {len(references)} references of {len(sets)} sets, "
          f"test split of {test_from.name}")


if __name__ == "__main__":
    main()
