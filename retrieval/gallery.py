"""The band database's references as an index gallery: what `kyb scrape` stored, ready
for `kyb index build --from-db` and `kyb index add --from-db`."""

from __future__ import annotations

from pathlib import Path

from data.dataset import Reference
from retrieval.store import Store

#: Scraped references carry absolute paths into the image store; they resolve from here.
GALLERY_ROOT = Path("/")


def stored_references(store: Store) -> list[Reference]:
    """Every reference of the database whose image file exists, by ref_id; ValueError when
    there is none (nothing scraped yet, or the image store moved)."""
    rows = store.all_references()
    references = [Reference(int(row["ref_id"]), int(row["band_id"]),
                            None if row["album_id"] is None else int(row["album_id"]),
                            row["kind"], row["path"])
                  for row in rows if Path(row["path"]).is_file()]
    if not references:
        missing = f" ({len(rows)} rows whose image files are missing)" if rows else ""
        raise ValueError(f"{store.display_url}: no reference images to index{missing}; "
                         "fill the database with `kyb scrape` or `kyb db import` first")
    return references
