"""Shared test fixtures.

Two kinds of outside resources are used in place, never copied: the real data in
`../shared` (Metal Archives pages, real photos) and the MariaDB server. Where one is
missing, tests skip with a clear reason on a developer's plain clone, but under CI
(`CI=true`) a missing resource is a failure, so CI can never go green by skipping.
"""

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = Path(os.environ.get("KYB_SHARED_DIR", REPO_ROOT.parent / "shared"))
MYSQL_URL = os.environ.get("KYB_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def skip_or_fail(reason: str):
    """Skip on a developer machine; fail under CI, where every resource must be present."""
    if under_ci():
        pytest.fail(f"{reason} (CI=true: this test must run, not skip)")
    pytest.skip(reason)


def shared_path(*parts: str) -> Path:
    """A path inside ../shared, or a skip (a fail under CI) when it is absent."""
    path = SHARED_DIR.joinpath(*parts)
    if not path.exists():
        skip_or_fail(f"{path} is absent (tests read ../shared in place)")
    return path


@pytest.fixture(scope="session")
def mysql_url() -> str:
    """URL of a reachable MariaDB/MySQL database, or a skip (a fail under CI)."""
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(MYSQL_URL)
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any connection failure means "no server here"
        skip_or_fail(f"MariaDB/MySQL not reachable at {MYSQL_URL}: {exc}")
    return MYSQL_URL


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory) -> Path:
    """A small generated dataset folder (12 bands, 16 photos), shared by the whole session."""
    from data.synth import SynthConfig, generate

    root = tmp_path_factory.mktemp("synth") / "dataset"
    generate(root, SynthConfig(bands=12, photos=16, seed=7, open_set=0.2, workers=2))
    return root


@pytest.fixture(scope="module")
def dataset(small_dataset):
    """The small dataset, loaded (test modules with a dataset of their own override it)."""
    from data.dataset import load_dataset

    return load_dataset(small_dataset)


@pytest.fixture(scope="module")
def built(dataset):
    """An index of the small dataset on the tiny paths of tests/index_support.py."""
    from matching.index import RetrievalIndex
    from tests.index_support import TINY

    return RetrievalIndex.build(dataset.references, dataset.root, "tiny", configs=TINY, progress=False)


@pytest.fixture
def fresh_library():
    """Photo library caches (and the marked-background list) cleared before and after: the
    test changes where photos come from."""
    from data import background_screen
    from data import photo_library as library_module

    caches = (library_module.photo_library, library_module.photo_windows, background_screen.marked_names)
    for cached in caches:
        cached.cache_clear()
    yield
    for cached in caches:
        cached.cache_clear()
