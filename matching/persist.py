"""Saving an index as a bundle generation, and opening one.

Bundle files (inside one generation, see matching/bundle.py):

```
manifest.json                preset, path parameters, versions, counts, build timing, checksums
refs.npy                     the id map (matching/refs.py)
calibration.json             the open-set rejector per kind (absent when not calibrated)
KIND/refs.npy                rows of refs.npy in this kind's vector order
KIND/encoder/NAME.npy        codebooks and PCA of the kind's global descriptor
KIND/ann.faiss               the faiss index (faiss paths), or
KIND/vectors.npy             the vectors the BallTree or the Qdrant collection is rebuilt from
KIND/keypoints/...           the lazily read keypoint store (verified paths only; its
                             codebook.npy where the codec is pq16, matching/keypoints.py)
KIND/ink/keypoints/...       the same for the ink-map features (paths whose extractor has `ink`)
```

An opened index uses the manifest's path parameters, never today's presets, so a
changed default does not change what an existing bundle does.
"""

from __future__ import annotations

import importlib.metadata
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from features.encode import GlobalEncoder
from matching.bundle import BundleError, Generation, GenerationWriter, open_generation
from matching.keypoints import codebook_name, save_codec, table_name, write_encoded_shard
from matching.openset import OpenSetRejector
from matching.path import KindPath, store_prefix
from matching.presets import KINDS, PathConfig
from matching.search import FaissSearch, make_searcher


@dataclass
class SavedIndex:
    """What a bundle generation holds, ready to become a `RetrievalIndex`."""

    preset_name: str
    refs: np.ndarray
    paths: dict[str, KindPath]
    rejectors: dict[str, OpenSetRejector]
    build_info: dict
    generation: Generation
    seed: int


def save_index(root: str | Path, preset_name: str, seed: int, refs: np.ndarray, paths: dict[str, KindPath],
               rejectors: dict[str, OpenSetRejector], build_info: dict,
               base: Generation | None) -> Generation:
    """Write the index as a new generation of the bundle at `root` (atomically); the
    keypoint shards of `base`, the generation it was opened from, are reused."""
    with GenerationWriter(Path(root)) as writer:
        writer.save_array("refs.npy", refs)
        manifest_paths = {}
        for kind, path in paths.items():
            writer.save_array(f"{kind}/refs.npy", path.rows)
            for name, array in path.encoder.state().items():
                writer.save_array(f"{kind}/encoder/{name}.npy", array)
            if isinstance(path.searcher, FaissSearch):
                writer.save_bytes(f"{kind}/ann.faiss", path.searcher.to_bytes())
            else:
                writer.save_array(f"{kind}/vectors.npy", path.vectors)
            if path.config.verifies:
                _save_keypoints(writer, kind, path, base)
            manifest_paths[kind] = {"config": path.config.to_dict(), "encoder": path.encoder.get_params(),
                                    "dimension": int(path.encoder.dimension_),
                                    "references": len(path.rows),
                                    "learned_sha256": path.extractor.learned_sha256()}
        if rejectors:
            writer.save_json("calibration.json", {k: r.to_json() for k, r in rejectors.items()})
        kinds = {kind: int((refs["kind"] == kind).sum()) for kind in KINDS}
        generation = writer.commit({
            "preset": preset_name, "seed": seed, "paths": manifest_paths,
            "counts": {"references": len(refs), **kinds, "bands": len(np.unique(refs["band_id"]))},
            "build": build_info, "versions": _versions(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        })
    for kind, path in paths.items():
        if path.config.verifies:
            path.open_stores(generation, kind)
    return generation


def _save_keypoints(writer: GenerationWriter, kind: str, path: KindPath, base: Generation | None) -> None:
    """Per view: reuse the shards already stored (and their codec), write the new
    features as one more shard in that codec, or in the path's for a new store."""
    for view in path.views:
        prefix = store_prefix(kind, view)
        table = np.zeros((0, 3), np.int64)
        codec = path.store_codec(view)
        if path.stores:
            table = path.stores[view].table
            for name in base.manifest["files"]:
                if name.startswith(f"{prefix}/keypoints/shard-") or name == codebook_name(prefix):
                    writer.reuse(name, base)
        else:
            save_codec(writer, prefix, codec)
        if path.new_keypoints or not path.stores:
            shard = int(table[:, 0].max()) + 1 if len(table) else 0
            encoded = [per_view[view] for per_view in path.new_codes]  # encoded once, when kept
            table = np.concatenate([table, write_encoded_shard(writer, prefix, shard, encoded, codec)])
        writer.save_array(table_name(prefix), table)


def open_index(root: str | Path, verify: bool = True, mapped: bool = False) -> SavedIndex:
    """The bundle's current generation; `BundleError` when it is unusable. `mapped`: the
    faiss indexes mapped read-only (`FaissSearch.from_file`), as a server opens them."""
    generation = open_generation(root, verify=verify)
    manifest = generation.manifest
    try:
        paths = {kind: _open_path(generation, kind, info, mapped) for kind, info in manifest["paths"].items()}
        rejectors = {}
        if "calibration.json" in manifest["files"]:
            rejectors = {kind: OpenSetRejector.from_json(values)
                         for kind, values in generation.json("calibration.json").items()}
        for kind, rejector in rejectors.items():
            expected = len(paths[kind].rank_feature_names)
            if rejector.n_features != expected:
                raise ValueError(f"the {kind} rejector reads {rejector.n_features} features, "
                                 f"this program gives it {expected}")
        refs = generation.array("refs.npy")
    except (KeyError, ValueError, TypeError, OSError, RuntimeError) as exc:  # RuntimeError: faiss
        raise BundleError(f"{generation.path}: cannot be loaded ({exc}); rebuild the index") from exc
    return SavedIndex(manifest["preset"], refs, paths, rejectors, manifest.get("build") or {}, generation,
                      manifest.get("seed", 0))


def _open_path(generation: Generation, kind: str, info: dict, mapped: bool) -> KindPath:
    config = PathConfig.from_dict(info["config"])
    prefix = f"{kind}/encoder/"
    arrays = {name[len(prefix):-4]: generation.array(name)
              for name in generation.manifest["files"] if name.startswith(prefix)}
    encoder = GlobalEncoder.from_state(info["encoder"], arrays)
    vectors = None
    if config.searcher == "faiss":
        nprobe = {k: v for k, v in config.searcher_params.items() if k == "nprobe"}
        searcher = FaissSearch.from_file(generation.file(f"{kind}/ann.faiss"), mapped=mapped, **nprobe)
    else:
        vectors = generation.array(f"{kind}/vectors.npy")
        searcher = make_searcher(config.searcher, config.searcher_params).fit(vectors)
    _check_learned_model(generation, kind, info, config)
    path = KindPath(config=config, encoder=encoder, searcher=searcher,
                    rows=generation.array(f"{kind}/refs.npy"), vectors=vectors)
    if config.verifies:
        path.open_stores(generation, kind)
    return path


def _check_learned_model(generation: Generation, kind: str, info: dict, config: PathConfig) -> None:
    """Refuse a path whose vectors came from another learned model than the one a query
    would use (a new shipped descriptor, or a model file replaced): its similarities
    would be meaningless, silently."""
    extractor = config.extractor
    if not extractor.learned:
        return
    recorded, current = info.get("learned_sha256"), extractor.learned_sha256()
    if recorded != current:
        built_with = f"model {recorded[:12]}" if recorded else "a model it did not record"
        raise BundleError(f"{generation.path}: the {kind} path was built with {built_with}, but "
                          f"{extractor.learned!r} is now model {current[:12]}; rebuild the index")


def _versions() -> dict:
    versions = {"python": platform.python_version()}
    for package in ("know-your-bands", "numpy", "scikit-learn", "faiss-cpu", "opencv-contrib-python",
                    "tensorflow", "keras"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return versions
