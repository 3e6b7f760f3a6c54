"""The dataset folder contract of ARCHITECTURE.md: what `kyb synth` writes and evaluation reads.

```
DIR/bands.csv             the bands table's columns
DIR/albums.csv            the albums table's columns (an additive extension)
DIR/references.csv        ref_id,band_id,album_id,kind,path   (path relative to DIR)
DIR/logo_styles.csv       band_id,style: how each band's logo reads (what `kyb synth` drew;
                          an additive extension, absent from other tools' folders)
DIR/references/...        reference logos and covers
DIR/photos/NAME.jpg       "real-life" photos
DIR/annotations/NAME.xml  Pascal VOC XML, one per photo
DIR/splits/{train,val,test}.txt
```

Reading is strict about the columns the rest of the system relies on and tolerant of
extra ones, so folders made by other tools (``../shared/real``) load too.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

BAND_COLUMNS = (
    "band_id", "name", "url", "country", "location", "status", "formed_in", "genre",
    "themes", "label", "years_active", "logo_url", "photo_url", "comment",
)
ALBUM_COLUMNS = ("album_id", "band_id", "title", "type", "year", "url", "cover_url")
REFERENCE_COLUMNS = ("ref_id", "band_id", "album_id", "kind", "path")
REQUIRED_BAND_COLUMNS = ("band_id", "name")
LOGO_STYLES_FILE = "logo_styles.csv"
LOGO_STYLE_COLUMNS = ("band_id", "style")
KINDS = ("logo", "album")
SPLITS = ("train", "val", "test")
#: `band_id` of a VOC object whose band is deliberately absent from the references.
UNKNOWN_BAND_ID = 0


class DatasetError(ValueError):
    """A dataset folder or one of its files does not follow the contract."""


@dataclass(frozen=True)
class Reference:
    """One reference image: a band's logo or one of its album covers."""

    ref_id: int
    band_id: int
    album_id: int | None
    kind: str
    path: str


@dataclass
class Dataset:
    """A dataset folder loaded into plain data (annotations are read on demand)."""

    root: Path
    bands: list[dict[str, str]]
    albums: list[dict[str, str]]
    references: list[Reference]
    splits: dict[str, list[str]] = field(default_factory=dict)

    def photo_path(self, name: str) -> Path:
        return self.root / "photos" / f"{name}.jpg"

    def annotation_path(self, name: str) -> Path:
        return self.root / "annotations" / f"{name}.xml"

    def reference_path(self, reference: Reference) -> Path:
        return self.root / reference.path


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[dict]) -> None:
    """Write rows as CSV with exactly `columns`, atomically (temp file, then rename)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: "" if row.get(key) is None else row.get(key) for key in columns})
    tmp.replace(path)


def read_csv(path: Path, required: Sequence[str]) -> list[dict[str, str]]:
    """Read a CSV into dicts, refusing a file that lacks any `required` column."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                raise DatasetError(f"{path}: missing column(s) {', '.join(missing)}")
            return list(reader)
    except FileNotFoundError as exc:
        raise DatasetError(f"{path}: file not found") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{path}: not a readable UTF-8 CSV file ({exc})") from exc


def _parse_int(path: Path, line: int, column: str, value: str, optional: bool = False) -> int | None:
    if optional and value in ("", None):
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"{path}: line {line}: {column} {value!r} is not an integer") from exc


def read_references(path: Path) -> list[Reference]:
    """Read references.csv into `Reference` rows with validated ids and kinds."""
    references = []
    for line, row in enumerate(read_csv(path, REFERENCE_COLUMNS), start=2):
        kind = row["kind"].strip()
        if kind not in KINDS:
            raise DatasetError(f"{path}: line {line}: kind {kind!r} is not one of {KINDS}")
        references.append(Reference(
            ref_id=_parse_int(path, line, "ref_id", row["ref_id"]),
            band_id=_parse_int(path, line, "band_id", row["band_id"]),
            album_id=_parse_int(path, line, "album_id", row["album_id"], optional=True),
            kind=kind,
            path=row["path"],
        ))
    return references


def read_logo_styles(root: str | Path) -> dict[int, str]:
    """band_id -> the style its logo was drawn in (`legible`, `display`, `illegible`,
    `real`); empty for a folder without logo_styles.csv."""
    path = Path(root) / LOGO_STYLES_FILE
    if not path.exists():
        return {}
    return {_parse_int(path, line, "band_id", row["band_id"]): row["style"].strip()
            for line, row in enumerate(read_csv(path, LOGO_STYLE_COLUMNS), start=2)}


def read_split(path: Path) -> list[str]:
    """Photo names listed one a line; blank lines and surrounding spaces are ignored."""
    if not path.exists():
        return []
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_split(path: Path, names: Iterable[str]) -> None:
    path.write_text("".join(f"{name}\n" for name in names), encoding="utf-8")


def load_dataset(root: str | Path) -> Dataset:
    """Load a dataset folder's tables and splits (not its images or annotations)."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: not a directory")
    albums_path = root / "albums.csv"
    return Dataset(
        root=root,
        bands=read_csv(root / "bands.csv", REQUIRED_BAND_COLUMNS),
        albums=read_csv(albums_path, ("album_id", "band_id")) if albums_path.exists() else [],
        references=read_references(root / "references.csv"),
        splits={split: read_split(root / "splits" / f"{split}.txt") for split in SPLITS},
    )
