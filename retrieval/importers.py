"""Fill the band database from files: Metal Archives browse JSON, a CSV band roster,
and a dataset folder (ARCHITECTURE.md's `bands.csv` / `albums.csv` / `references.csv`).

Every importer goes through `Store.upsert` in batches, inside one transaction, so an
import is all-or-nothing and running it twice changes nothing. Rows that cannot be used
(no id, no name, a reference whose image is missing) are skipped and reported with
their line, rather than aborting a 200,000-row import over one bad line.

CSV band roster
---------------
A header row, then one band a line, UTF-8 (a BOM is fine). The columns are those of the
public "every Metal Archives band" tables; each is optional except a name and an id
(the id may instead be read from the end of `url`). Accepted header names, any case:

    band_id       band_id, id, ma_id
    name          name, band_name, band
    url           url, link, ma_url
    country       country, origin, country_of_origin
    location      location
    status        status
    formed_in     formed_in, formed, year_formed
    genre         genre, genres, style
    themes        themes, theme, lyrical_themes
    label         label, current_label, last_label
    years_active  years_active, active
    logo_url, photo_url, comment

Other columns are ignored. Columns absent from the file keep their stored values.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from data.dataset import ALBUM_COLUMNS, BAND_COLUMNS, DatasetError, load_dataset
from retrieval.images import NotAnImage, describe_image
from retrieval.metal_archives import FormatError, id_from_url, parse_browse_json
from retrieval.store import BATCH_SIZE, Store

ROSTER_ALIASES = {
    "band_id": ("band_id", "id", "ma_id"),
    "name": ("name", "band_name", "band"),
    "url": ("url", "link", "ma_url"),
    "country": ("country", "origin", "country_of_origin"),
    "location": ("location",),
    "status": ("status",),
    "formed_in": ("formed_in", "formed", "year_formed"),
    "genre": ("genre", "genres", "style"),
    "themes": ("themes", "theme", "lyrical_themes"),
    "label": ("label", "current_label", "last_label"),
    "years_active": ("years_active", "active"),
    "logo_url": ("logo_url",),
    "photo_url": ("photo_url",),
    "comment": ("comment",),
}
FORMATS = ("browse", "roster", "dataset")
#: Called with the number of rows (or reference images) just processed, for progress bars.
Progress = Callable[[int], None]
#: How many skipped-row messages a report keeps (the count is always exact).
MAX_PROBLEMS = 20


class ImportFailed(RuntimeError):
    """A source that cannot be imported at all (unreadable, wrong format)."""


@dataclass
class ImportReport:
    """What one import wrote and what it skipped, and why."""

    source: str
    bands: int = 0
    albums: int = 0
    references: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def skip(self, message: str) -> None:
        self.skipped += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(message)


def detect_format(path: Path) -> str:
    """"dataset" for a folder, "browse" for .json, "roster" for .csv."""
    if path.is_dir():
        return "dataset"
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "browse"
    if suffix == ".csv":
        return "roster"
    raise ImportFailed(f"{path}: cannot tell its format from the name; pass --format")


def import_path(store: Store, path: Path, fmt: str | None = None,
                progress: Progress | None = None) -> ImportReport:
    """Import one file or folder in the given (or detected) format."""
    fmt = fmt or detect_format(path)
    started = time.perf_counter()
    if fmt == "browse":
        report = import_browse_json(store, path, progress)
    elif fmt == "roster":
        report = import_roster_csv(store, path, progress=progress)
    elif fmt == "dataset":
        report = import_dataset(store, path, progress)
    else:
        raise ImportFailed(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    report.seconds = time.perf_counter() - started
    return report


def import_browse_json(store: Store, path: Path, progress: Progress | None = None) -> ImportReport:
    """A saved browse-by-letter answer (`/browse/ajax-letter/l/{L}/json/1`)."""
    report = ImportReport(str(path))
    try:
        _total, bands = parse_browse_json(path.read_bytes())
    except OSError as exc:
        raise ImportFailed(f"{path}: {exc.strerror or exc}") from exc
    except FormatError as exc:
        raise ImportFailed(f"{path}: not a Metal Archives browse answer: {exc}") from exc
    report.bands = store.upsert("bands", bands)
    if progress:
        progress(report.bands)
    return report


def _roster_header(fieldnames: Iterable[str] | None, path: Path) -> dict[str, str]:
    """canonical column -> the file's header name, for the columns the file has."""
    by_alias = {alias: canonical for canonical, aliases in ROSTER_ALIASES.items()
                for alias in aliases}
    mapping: dict[str, str] = {}
    for header in fieldnames or ():
        canonical = by_alias.get(header.strip().lower().replace(" ", "_"))
        if canonical and canonical not in mapping:
            mapping[canonical] = header
    if "name" not in mapping or not ({"band_id", "url"} & mapping.keys()):
        raise ImportFailed(f"{path}: a band roster needs a name column and a band_id or url "
                           f"column; found {', '.join(fieldnames or ()) or 'no header'}")
    return mapping


def import_roster_csv(store: Store, path: Path, batch_size: int = BATCH_SIZE,
                      progress: Progress | None = None) -> ImportReport:
    """A CSV band roster (columns in this module's docstring), streamed in batches."""
    report = ImportReport(str(path))
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle, store.begin() as conn:
            reader = csv.DictReader(handle)
            mapping = _roster_header(reader.fieldnames, path)
            batch: list[dict] = []
            for line, raw in enumerate(reader, start=2):
                row = {column: raw.get(header) for column, header in mapping.items()}
                row["band_id"] = _band_id(row.get("band_id"), row.get("url"))
                if row["band_id"] is None or not (row.get("name") or "").strip():
                    report.skip(f"{path.name}:{line}: no usable band id or name")
                    continue
                batch.append(row)
                if len(batch) >= batch_size:
                    report.bands += store.upsert("bands", batch, conn=conn)
                    if progress:
                        progress(len(batch))
                    batch = []
            report.bands += store.upsert("bands", batch, conn=conn)
            if progress:
                progress(len(batch))
    except FileNotFoundError as exc:
        raise ImportFailed(f"{path}: file not found") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ImportFailed(f"{path}: not a readable UTF-8 CSV file ({exc})") from exc
    return report


def _band_id(value, url) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return id_from_url(url)


def _int_or_none(value) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def import_dataset(store: Store, root: Path, progress: Progress | None = None) -> ImportReport:
    """A dataset folder: bands, albums, then references with their images' sha256 and size.

    Reference paths are stored absolute, so the database stays usable from any working
    directory. A reference whose band is in neither the folder nor the database, or whose
    image is missing or is not an image (judged by its header), is skipped.
    """
    report = ImportReport(str(root))
    try:
        dataset = load_dataset(root)
    except DatasetError as exc:
        raise ImportFailed(str(exc)) from exc

    bands = []
    for line, row in enumerate(dataset.bands, start=2):
        band = {c: row[c] for c in BAND_COLUMNS if c in row}
        band["band_id"] = _int_or_none(row.get("band_id"))
        if band["band_id"] is None or not (row.get("name") or "").strip():
            report.skip(f"bands.csv:{line}: no usable band_id or name")
            continue
        bands.append(band)
    known = {band["band_id"] for band in bands}

    candidates = [_int_or_none(row.get("band_id")) for row in dataset.albums]
    candidates += [reference.band_id for reference in dataset.references]
    known |= set(store.get_bands({i for i in candidates if i is not None} - known))

    albums = []
    for line, row in enumerate(dataset.albums, start=2):
        album = {c: row[c] for c in ALBUM_COLUMNS if c in row}
        album["album_id"] = _int_or_none(row.get("album_id"))
        album["band_id"] = _int_or_none(row.get("band_id"))
        album["year"] = _int_or_none(row.get("year"))
        if album["album_id"] is None or album["band_id"] not in known:
            report.skip(f"albums.csv:{line}: no usable album_id or unknown band_id")
            continue
        albums.append(album)

    references = []
    for reference in dataset.references:  # reading and hashing the images is the slow part
        row = _reference_row(dataset.root, reference, known, report)
        if row:
            references.append(row)
        if progress:
            progress(1)
    _refuse_scraped_collisions(store, references)
    with store.begin() as conn:
        report.bands = store.upsert("bands", bands, conn=conn)
        report.albums = store.upsert("albums", albums, conn=conn)
        report.references = store.upsert("references", references, conn=conn)
    return report


def _reference_row(root: Path, reference, known: set[int], report: ImportReport) -> dict | None:
    where = f"references.csv: ref_id {reference.ref_id}"
    if reference.band_id not in known:
        report.skip(f"{where}: band_id {reference.band_id} is in neither bands.csv nor the "
                    "database")
        return None
    path = (root / reference.path).resolve()
    try:
        facts = describe_image(path.read_bytes(), decode=False)
    except OSError as exc:
        report.skip(f"{where}: cannot read {path} ({exc.strerror or exc})")
        return None
    except NotAnImage as exc:
        report.skip(f"{where}: {path}: {exc}")
        return None
    return {
        "ref_id": reference.ref_id, "band_id": reference.band_id,
        "album_id": reference.album_id, "kind": reference.kind, "path": str(path),
        "sha256": facts.sha256, "width": facts.width, "height": facts.height,
    }


def _refuse_scraped_collisions(store: Store, references: list[dict]) -> None:
    """Dataset ref_ids are explicit; never let one overwrite a scraped reference's row."""
    existing = store.get_references(row["ref_id"] for row in references)
    clashes = sorted(ref_id for ref_id, row in existing.items() if row["source_key"])
    if clashes:
        raise ImportFailed(f"ref_id(s) {', '.join(map(str, clashes[:10]))} already belong to "
                         "scraped references; import this dataset into another database")
