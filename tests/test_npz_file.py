"""The shared model-file format: atomic writes and one clear error per unreadable file."""

import json

import numpy as np
import pytest

from features.npz_file import open_npz, write_npz


class FileError(ValueError):
    pass


def read(path):
    return open_npz(path, header_key="head", error=FileError, what="test model")


def test_round_trip_keeps_header_and_arrays(tmp_path):
    path = write_npz(tmp_path / "sub" / "m.npz", {"format": 3, "names": ["a"]},
                     {"a": np.arange(6, dtype=np.float16).reshape(2, 3)}, header_key="head", compressed=True)
    header, archive = read(path)
    with archive:
        assert header == {"format": 3, "names": ["a"]}
        np.testing.assert_array_equal(archive["a"], np.arange(6).reshape(2, 3))
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.npz"]  # no partial file left


def test_a_failed_write_leaves_the_old_file(tmp_path):
    path = write_npz(tmp_path / "m.npz", {"v": 1}, {"a": np.zeros(2)}, header_key="head")
    with pytest.raises(TypeError):
        write_npz(path, {"v": object()}, {"a": np.ones(2)}, header_key="head")  # header not JSON
    header, archive = read(path)
    archive.close()
    assert header == {"v": 1}


def test_unreadable_files_raise_the_callers_error_naming_the_file(tmp_path):
    good = write_npz(tmp_path / "good.npz", {"v": 1}, {"a": np.zeros(2)}, header_key="head")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:40])
    headless = tmp_path / "headless.npz"
    np.savez(headless, a=np.zeros(2))
    listed = tmp_path / "listed.npz"
    np.savez(listed, head=np.frombuffer(json.dumps([1, 2]).encode(), np.uint8))
    garbled = tmp_path / "garbled.npz"
    np.savez(garbled, head=np.frombuffer(b"\xff{not json", np.uint8))
    cases = {tmp_path / "absent.npz": "not found", truncated: "not a readable .npz",
             headless: "no head entry", listed: "not a JSON object", garbled: "header is corrupt"}
    for path, message in cases.items():
        with pytest.raises(FileError, match=message) as error:
            read(path)
        assert str(path) in str(error.value)
