"""Calibrating `unknown` on the gallery itself, for an index built without annotated photos.

A scrape gives logos and covers, not photos with answers. The rejector's examples are
then made from the references: each sampled reference is rendered as a photo would show
it (a logo printed and photographed, whole, in part or beside another mark,
`data.renditions.render_as_seen`; a cover photographed in a scene,
`data.cover_renditions.render_cover_photo`) and queried. Its answer is a
known example; the same ranking with the reference's band left out is what the index
would answer for a band it does not hold, an unknown example. Windows of photographs
showing no logo or cover (train-real's photographs where present, else the machine's)
are unknown examples too: a detector box on a face or a wall must not name a band.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from data.cover_renditions import render_cover_photo
from data.crops import GroundTruthCrop
from data.dataset import UNKNOWN_BAND_ID, Reference
from data.image_io import read_image
from data.imaging import to_uint8
from data.photo_library import photo_crop
from data.progress import progress_bar
from data.renditions import render_as_seen
from matching.calibration import fit_rejectors
from matching.index import RetrievalIndex
from matching.outcomes import Outcome

#: The last entry of the seed of a reference's calibration renditions (others than the
#: renditions averaged into its vector, `features.reference_vector.RENDITION_STREAM`).
CALIBRATION_STREAM = 2
#: The share of queries showing an indexed band that a self-calibrated probability assumes.
#: Why half: the examples' own share is set by how many windows of no object are drawn,
#: and nothing tells how many of a user's photos show bands the gallery lacks.
KNOWN_SHARE = 0.5
RENDERERS = {"logo": render_as_seen, "album": render_cover_photo}


def rendition_outcomes(index: RetrievalIndex, references: Sequence[Reference], root: str | Path, *,
                       known_examples: int = 300, max_references: int = 500, no_object: int = 150,
                       seed: int = 0, progress: bool = True) -> dict[str, list[Outcome]]:
    """Per kind, the outcomes of about `known_examples` renditions of (at most
    `max_references` of) its references, 2 to 16 renditions each, and `no_object` windows
    of photographs, queried with whole rankings. Why a count of examples rather than of
    renditions per reference: a 14-brand gallery needs many views of each brand to place
    a threshold, a 100,000-band gallery a few views of a sample."""
    outcomes = {}
    for kind in index.kinds:
        chosen = _sample([r for r in references if r.kind == kind], max_references, seed)
        renditions = int(np.clip(-(-known_examples // max(1, len(chosen))), 2, 16))
        whole_ranking = index.paths[kind].config.shortlist
        crops, images = [], []
        for ref in progress_bar(chosen, progress, desc=f"{kind} renditions", unit="ref"):
            image = read_image(Path(root) / ref.path)
            for number in range(renditions):
                rng = np.random.default_rng([seed, ref.ref_id, CALIBRATION_STREAM, number])
                images.append(RENDERERS[kind](image, rng))
                crops.append(_crop(f"rendition {ref.ref_id}.{number}", kind, ref.band_id, ref.album_id))
        rng = np.random.default_rng([seed, CALIBRATION_STREAM, len(kind)])
        for number in range(no_object):
            images.append(_no_object_window(rng))
            crops.append(_crop(f"no object {number}", kind, UNKNOWN_BAND_ID, None))
        outcomes[kind] = _query(index, kind, crops, images, whole_ranking, progress)
    return outcomes


def self_calibrate(index: RetrievalIndex, references: Sequence[Reference], root: str | Path, *,
                   max_wrong_acceptance: float = 0.02, seed: int = 0,
                   progress: bool = True) -> dict[str, dict]:
    """Fit and install each kind's rejector on `rendition_outcomes`; returns per kind what
    happened, as `matching.calibration.calibrate` does. Known and unknown examples weigh
    alike in the stated probability (`KNOWN_SHARE`)."""
    outcomes = rendition_outcomes(index, references, root, seed=seed, progress=progress)
    return fit_rejectors(index, outcomes, max_wrong_acceptance, source="gallery renditions",
                         known_share=KNOWN_SHARE)


def _query(index: RetrievalIndex, kind: str, crops: list[GroundTruthCrop], images: list[np.ndarray],
           top_k: int, progress: bool, batch: int = 32) -> list[Outcome]:
    """Each image queried as a crop of `kind`, a batch of them described together."""
    outcomes = []
    for start in progress_bar(range(0, len(images), batch), progress, desc=f"{kind} calibration",
                              unit="batch"):
        results = index.query_many(images[start:start + batch], kind, top_k)
        outcomes += [Outcome(crop, result, 0.0) for crop, result in zip(crops[start:start + batch], results,
                                                                         strict=True)]
    return outcomes


def _sample(references: list[Reference], count: int, seed: int) -> list[Reference]:
    if len(references) <= count:
        return references
    order = np.random.default_rng([seed, CALIBRATION_STREAM]).permutation(len(references))[:count]
    return [references[i] for i in sorted(order)]


def _crop(name: str, kind: str, band_id: int, album_id: int | None) -> GroundTruthCrop:
    return GroundTruthCrop(name, kind, (0, 0, 0, 0), band_id, album_id, False)


def _no_object_window(rng: np.random.Generator) -> np.ndarray:
    """A window of a photograph of no logo or cover, shaped like a detector box."""
    long_side = int(rng.integers(80, 400))
    aspect = float(np.exp(rng.uniform(np.log(0.3), np.log(3.5))))
    width, height = (long_side, max(16, int(long_side / aspect))) if aspect >= 1 else \
        (max(16, int(long_side * aspect)), long_side)
    return to_uint8(np.clip(photo_crop(rng, width, height), 0, 1))

