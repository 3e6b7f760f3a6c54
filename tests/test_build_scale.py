"""Builds at scale (issue 25): a build killed with SIGKILL resumes to the very bundle an
uninterrupted one writes, losing and re-extracting nothing; shards extracted apart and a
2-worker Dask cluster give that bundle too; the work folder refuses another build's
chunks; the command line's --shard and --work run the same path."""

import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from click.testing import CliRunner

from data.dataset import load_dataset
from features.extraction_file import ExtractionFileError, load_chunk
from matching.build import extract_shard
from matching.build_work import WorkFolder, fingerprint, parse_shard, plan_chunks
from matching.bundle import open_generation
from matching.extraction import ExtractionSetup
from matching.index import RetrievalIndex
from matching.runners import run_here
from tests.conftest import REPO_ROOT
from tests.index_support import TINY

CHUNK = 3


def data_files(root) -> dict[str, str]:
    """The sha256 of every file of the bundle's current generation (the manifest's own
    differs by the build's timing and date only)."""
    return {name: info["sha256"] for name, info in open_generation(root).manifest["files"].items()}


def build(dataset, out, setup=None):
    index = RetrievalIndex.build(dataset.references, dataset.root, "tiny", configs=TINY, progress=False,
                                 extraction=setup)
    index.save(out)
    return data_files(out)


@pytest.fixture(scope="module")
def single(dataset, tmp_path_factory):
    """The bundle one uninterrupted process builds, all in memory."""
    return build(dataset, tmp_path_factory.mktemp("single") / "index")


def counting(seen):
    """`run_here`, noting each chunk it is given."""
    def run(tasks, root, seed):
        seen.extend(chunk.name for chunk, _ in tasks)
        return run_here(tasks, root, seed)
    return run


KILLED_BUILD = """
import sys, time
from data.dataset import load_dataset
from matching.extraction import ExtractionSetup
from matching.index import RetrievalIndex
from matching.runners import run_here
from tests.index_support import TINY

def slow(tasks, root, seed):
    for done in run_here(tasks, root, seed):
        yield done
        time.sleep(0.3)

dataset = load_dataset(sys.argv[1])
setup = ExtractionSetup(folders=[sys.argv[2]], runner=slow, chunk_size=int(sys.argv[3]))
RetrievalIndex.build(dataset.references, dataset.root, "tiny", configs=TINY, progress=False, extraction=setup)
"""


def test_a_killed_build_resumes_to_the_same_bundle(dataset, single, tmp_path):
    work = tmp_path / "work"
    chunks_dir = work / "chunks"
    script = [sys.executable, "-c", textwrap.dedent(KILLED_BUILD), str(dataset.root), str(work), str(CHUNK)]
    child = subprocess.Popen(script, cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and child.poll() is None:
        if chunks_dir.is_dir() and len(list(chunks_dir.glob("*.npz"))) >= 2:
            os.kill(child.pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    assert child.wait(60) == -signal.SIGKILL, "the build was to be killed half-way"
    total = len(plan_chunks(dataset.references, CHUNK))
    kept = sorted(path.stem for path in chunks_dir.glob("*.npz"))
    assert 2 <= len(kept) < total
    seen = []
    resumed = build(dataset, tmp_path / "index",
                    ExtractionSetup(folders=[work], runner=counting(seen), chunk_size=CHUNK))
    assert sorted(seen) == sorted(set(seen)) and not set(seen) & set(kept)  # nothing extracted twice
    assert len(seen) + len(kept) == total  # nothing lost
    assert resumed == single


def test_shards_extracted_apart_fit_to_the_same_bundle(dataset, single, tmp_path):
    folders = [tmp_path / "shard-1", tmp_path / "shard-2"]
    for number, folder in enumerate(folders, 1):
        setup = ExtractionSetup(folders=[folder], shard=(number, 2), chunk_size=CHUNK)
        extracted = extract_shard(dataset.references, dataset.root, configs=TINY, progress=False,
                                  extraction=setup)
        assert extracted.missing()  # the other shard's chunks
    seen = []
    merged = build(dataset, tmp_path / "index",
                   ExtractionSetup(folders=[tmp_path / "gathered", *folders], runner=counting(seen),
                                   chunk_size=CHUNK))
    assert seen == [] and merged == single


def test_a_local_dask_cluster_of_two_workers_gives_the_same_bundle(dataset, single, tmp_path):
    from matching.dask_runner import connect, dask_runner

    with connect("local", 2) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        distributed = build(dataset, tmp_path / "index",
                            ExtractionSetup(folders=[tmp_path / "work"], runner=dask_runner(client),
                                            chunk_size=CHUNK))
    assert distributed == single


def test_a_work_folder_refuses_another_builds_chunks(dataset, tmp_path):
    chunks = plan_chunks(dataset.references, CHUNK)
    tag = fingerprint(chunks, TINY, seed=0)
    folder = WorkFolder(tmp_path, tag, len(chunks))
    folder.save(chunks[0], next(run_here([(chunks[0], TINY[chunks[0].kind])], dataset.root, 0))[1])
    with pytest.raises(ValueError, match="another build"):
        WorkFolder(tmp_path, fingerprint(chunks, TINY, seed=1), len(chunks))
    with pytest.raises(ExtractionFileError, match="another build"):
        load_chunk(folder.chunk_path(chunks[0]), "0" * 64)
    assert len(folder.load(chunks[0]).extractions) == len(chunks[0].references)


def test_the_fingerprint_knows_how_many_keypoints_a_chunk_keeps(dataset):
    """A path whose vector reads no SIFT keeps only verification's keypoints in a chunk, so
    a build that would keep more must not reuse those chunks; one that reads SIFT keeps
    them all whatever verification takes."""
    chunks = plan_chunks(dataset.references, CHUNK)
    global_only = {kind: dataclasses.replace(config, encoder={"parts": ["gem"], "projection": None},
                                             extractor={"gem_sizes": [224], "sift": "rootsift"})
                   for kind, config in TINY.items()}
    for configs, differs in ((global_only, True), (TINY, False)):
        more = {kind: dataclasses.replace(config, verify_keypoints=500) for kind, config in configs.items()}
        assert (fingerprint(chunks, configs, 0) != fingerprint(chunks, more, 0)) == differs


def test_shards_are_parsed_and_checked():
    assert parse_shard("2/4") == (2, 4)
    for wrong in ("0/4", "5/4", "1-4", "a/b"):
        with pytest.raises(ValueError):
            parse_shard(wrong)


def test_the_command_line_builds_from_shards(small_dataset, tmp_path, monkeypatch):
    from kyb.cli import cli

    monkeypatch.setenv("KYB_NO_PROGRESS", "1")
    preset = tmp_path / "tiny.json"
    preset.write_text(__import__("json").dumps(
        {"name": "tiny", **{kind: config.to_dict() for kind, config in TINY.items()}}))
    common = ["index", "build", "--dataset", str(small_dataset), "--preset-file", str(preset),
              "--out", str(tmp_path / "index")]
    for shard in ("1/2", "2/2"):
        result = CliRunner().invoke(cli, [*common, "--shard", shard, "--work", str(tmp_path / shard[0])])
        assert result.exit_code == 0, result.output
        assert not (tmp_path / "index").exists()
    result = CliRunner().invoke(cli, [*common, "--work", str(tmp_path / "1"), "--work", str(tmp_path / "2")])
    assert result.exit_code == 0, result.output
    count = len(load_dataset(small_dataset).references)
    assert f"resuming: {count} of {count} references already extracted" in result.output  # none again
    assert "references/s" in result.output and (tmp_path / "index" / "CURRENT").is_file()


def test_a_failed_build_keeps_its_extractions_for_the_next_run(dataset, tmp_path, monkeypatch):
    """`kyb index build`'s own work folder (OUT/.build): kept when a later step fails, read
    by the next run instead of extracting again, removed once the bundle is saved."""
    from matching import build as build_module
    from matching import runners

    extracted = []
    extract = runners.extract_chunk
    monkeypatch.setattr(runners, "extract_chunk", lambda chunk, *args: extracted.append(chunk.name)
                        or extract(chunk, *args))

    def fail(*args, **kwargs):
        raise OSError("calibration interrupted (simulated)")

    out = tmp_path / "index"

    def build_it():
        build_module.build_gallery_bundle(dataset.references, dataset.root, out, "tiny", configs=TINY,
                                          progress=False)

    monkeypatch.setattr(build_module, "self_calibrate", fail)
    with pytest.raises(OSError, match="simulated"):
        build_it()
    assert (out / build_module.WORK / "chunks").is_dir() and not (out / "CURRENT").exists()
    first = len(extracted)
    monkeypatch.setattr(build_module, "self_calibrate", lambda *args, **kwargs: {})
    build_it()
    assert first == len(plan_chunks(dataset.references)) and len(extracted) == first  # none extracted again
    assert (out / "CURRENT").is_file() and not (out / build_module.WORK).exists()
