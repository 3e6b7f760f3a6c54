"""Detector model files: one ``.npz`` holding a JSON header and every weight by name.

Why not ``.keras``: the graph between the two networks (proposals, RoIAlign, NMS) is our
code, not layers, and the file must be checkable before anything is built. The header
names the format and its version, the `DetectorConfig`, and free-form metadata
(training command, figures); weights are keyed ``network/variable-path``. Models ship in
float16 (half the size, no measurable loss for inference) and are loaded as float32.

Writing and the first checks are `features.npz_file`'s, shared with the logo descriptor.
Every problem with a file is a `ModelFileError` whose message names the file and says
what is wrong: not there, not an npz (truncated or corrupt), another format, a version
this code does not read, or weights that do not fit the network the header describes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from detector.config import DetectorConfig
from detector.model import FasterRCNN
from features.npz_file import READ_ERRORS, open_npz, write_npz

FORMAT = "kyb-detector"
VERSION = 1
HEADER_KEY = "__header__"
EXTRA_PREFIX = "extra/"


class ModelFileError(ValueError):
    """A detector model file that cannot be loaded; the message says why."""


def _weight_key(network: str, variable) -> str:
    return f"{network}/{variable.path}"


def save_model(path: str | Path, model: FasterRCNN, *, dtype=np.float16, metadata: dict | None = None,
               extra_arrays: dict[str, np.ndarray] | None = None) -> Path:
    """Write `model` atomically. `extra_arrays` (e.g. optimizer state in a training
    checkpoint) are stored as they are under ``extra/``."""
    header = {"format": FORMAT, "version": VERSION, "config": model.config.to_dict(),
              "metadata": metadata or {}}
    arrays = {}
    for network, keras_model in model.networks.items():
        for variable in keras_model.weights:
            value = np.asarray(variable.numpy())
            arrays[_weight_key(network, variable)] = value.astype(dtype) if value.dtype.kind == "f" else value
    for key, value in (extra_arrays or {}).items():
        arrays[EXTRA_PREFIX + key] = value
    return write_npz(path, header, arrays, header_key=HEADER_KEY)


def read_header(path: str | Path) -> tuple[dict, np.lib.npyio.NpzFile]:
    """The checked header and the open archive; see the module docstring for the errors."""
    header, archive = open_npz(path, header_key=HEADER_KEY, error=ModelFileError, what="detector model")
    if header.get("format") != FORMAT:
        archive.close()
        raise ModelFileError(f"{path}: not a detector model file (format {header.get('format')!r}, "
                             f"expected {FORMAT!r})")
    version = header.get("version")
    if version != VERSION:
        archive.close()
        hint = "upgrade know-your-bands" if isinstance(version, int) and version > VERSION else \
            "re-export it with `kyb detector export`"
        raise ModelFileError(f"{path}: detector model file version {version!r}; this code reads "
                             f"version {VERSION} ({hint})")
    return header, archive


def load_model(path: str | Path) -> tuple[FasterRCNN, dict]:
    """The model in the file (float32) and its header's metadata.

    Raises `ModelFileError` for any problem with the file.
    """
    header, archive = read_header(path)
    try:
        config = DetectorConfig.from_dict(header["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: the model header's config is invalid ({exc})") from exc
    # The file holds every weight, so the backbone is built without reading ImageNet's.
    model = FasterRCNN(config, weights=None)
    expected = set()
    with archive:
        for network, keras_model in model.networks.items():
            for variable in keras_model.weights:
                key = _weight_key(network, variable)
                expected.add(key)
                if key not in archive.files:
                    raise ModelFileError(f"{path}: weight {key} is missing; the file does not match "
                                         f"its own config")
                try:
                    value = archive[key]
                except READ_ERRORS as exc:
                    raise ModelFileError(f"{path}: weight {key} is corrupt ({exc})") from exc
                if tuple(value.shape) != tuple(variable.shape):
                    raise ModelFileError(f"{path}: weight {key} has shape {value.shape}, the network "
                                         f"needs {tuple(variable.shape)}")
                if value.dtype.kind == "f" and not np.isfinite(value).all():
                    raise ModelFileError(f"{path}: weight {key} holds NaN or infinite values")
                variable.assign(value.astype(variable.dtype))
        unknown = sorted(k for k in archive.files if k not in expected and k != HEADER_KEY
                         and not k.startswith(EXTRA_PREFIX))
    if unknown:
        raise ModelFileError(f"{path}: unexpected weights {unknown[:3]}; the file does not match its config")
    return model, header.get("metadata", {})


def load_extra_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """The ``extra/`` arrays of a checkpoint (optimizer state), keyed without the prefix."""
    _, archive = read_header(path)
    with archive:
        return {key[len(EXTRA_PREFIX):]: archive[key] for key in archive.files
                if key.startswith(EXTRA_PREFIX)}
