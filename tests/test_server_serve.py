"""`kyb serve`: its options and one-line errors, the app factory in server.runtime, and a
real gunicorn with two workers.

`server.runtime` imports `retrieval.pipeline` when a worker builds its app; these tests
put a stand-in module under that name in `sys.modules`, so that they test the serving
machinery without loading TensorFlow or a detector.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import types
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from kyb.cli import cli
from matching.bundle import GenerationWriter
from retrieval.config import DATA_DIR_ENV, DATABASE_URL_ENV
from server import gunicorn_app, runtime
from tests.test_server_support import FixedIdentifier, jpeg_bytes, make_store

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def database(tmp_path) -> str:
    make_store(tmp_path).close()
    return f"sqlite:///{tmp_path / 'kyb.sqlite'}"


@pytest.fixture
def no_database(tmp_path, monkeypatch) -> None:
    """Neither $KYB_DATABASE_URL nor the user's own embedded database."""
    monkeypatch.setenv(DATABASE_URL_ENV, "")  # so that the test's end restores it, whatever serve sets
    monkeypatch.delenv(DATABASE_URL_ENV)
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data-dir"))


def empty_bundle(path: Path) -> Path:
    """An index bundle with nothing in it: enough for `kyb serve` to accept --index."""
    with GenerationWriter(path) as writer:
        writer.commit({})
    return path


def serve(*args: str):
    return CliRunner().invoke(cli, ["serve", *args])


def one_error_line(result) -> str:
    assert result.exit_code == 2, result.output  # kyb/cli.py: a clean stop exits 2
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def test_serve_is_registered_and_documents_its_options():
    result = serve("--help")
    assert result.exit_code == 0
    for option in ("--index", "--database", "--host", "--port", "--workers"):
        assert option in result.output


def test_serve_without_an_index_says_how_to_get_one(no_database):
    line = one_error_line(serve())
    assert "--index" in line and "kyb index build" in line and "kyb demo" in line


def test_serve_with_a_missing_or_wrong_index_folder_stops_with_one_line(tmp_path, no_database):
    assert "kyb index build" in one_error_line(serve("--index", str(tmp_path / "nowhere")))
    assert "not an index bundle" in one_error_line(serve("--index", str(tmp_path)))


def test_serve_without_a_database_names_the_database_option(tmp_path, no_database):
    line = one_error_line(serve("--index", str(empty_bundle(tmp_path / "index"))))
    assert "no Know Your Bands schema" in line and "--database" in line
    line = one_error_line(serve("--index", str(tmp_path / "index"), "--database", "no-such-scheme"))
    assert "--database" in line


def test_serve_hands_the_database_option_to_the_workers(tmp_path, database, no_database, monkeypatch):
    started = []

    class Application:
        def __init__(self, factory, options):
            started.append((factory, options))

        def run(self):
            started.append(os.environ.get(DATABASE_URL_ENV))

    monkeypatch.setattr(gunicorn_app, "FactoryApplication", Application)
    monkeypatch.setenv(DATABASE_URL_ENV, "sqlite:///not-this-one.sqlite")  # the option wins over it
    index = empty_bundle(tmp_path / "index")
    result = serve("--index", str(index), "--database", database, "--port", "8123", "--workers", "3")
    assert result.exit_code == 0, result.output
    (factory, options), url = started
    assert url == database  # the workers, forked from this process, open this database
    assert factory.func is runtime.production_app and factory.args == (index,)
    assert options["bind"] == "127.0.0.1:8123" and options["workers"] == 3


def stand_in_pipeline(load_identifier) -> types.ModuleType:
    """A module to put in `sys.modules` as `retrieval.pipeline`."""
    pipeline = types.ModuleType("retrieval.pipeline")
    pipeline.load_identifier = load_identifier
    return pipeline


def test_production_app_builds_the_identifier_from_the_index(tmp_path, database, monkeypatch):
    calls = []

    def load_identifier(index_path):
        calls.append(index_path)
        return FixedIdentifier()

    monkeypatch.setitem(sys.modules, "retrieval.pipeline", stand_in_pipeline(load_identifier))
    monkeypatch.setenv(DATABASE_URL_ENV, database)
    app = runtime.production_app(tmp_path / "index")
    assert calls == [tmp_path / "index"]
    response = app.test_client().post("/api/v1/identify", data=jpeg_bytes(), content_type="image/jpeg")
    assert response.status_code == 200


def test_importing_the_server_does_not_import_the_pipeline():
    code = "import sys, server.runtime, kyb.serve_cmd; print('retrieval.pipeline' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                            check=True).stdout
    assert output.strip() == "False"


# The stand-in pipeline for the gunicorn run: it records which process built an identifier.
LAUNCHER = textwrap.dedent("""
    import os, sys

    from tests.test_server_serve import stand_in_pipeline
    from tests.test_server_support import FixedIdentifier

    def load_identifier(index_path):
        with open(os.environ["PIDS_FILE"], "a") as pids:
            pids.write(f"{os.getpid()}\\n")
        return FixedIdentifier()

    sys.modules["retrieval.pipeline"] = stand_in_pipeline(load_identifier)

    from kyb.cli import main
    sys.argv = ["kyb", *sys.argv[1:]]
    main()
""")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(base: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"kyb serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail("kyb serve did not answer /healthz in time")


@pytest.mark.slow
def test_kyb_serve_runs_gunicorn_with_one_identifier_per_worker(tmp_path, database, no_database):
    port = free_port()
    pids_file = tmp_path / "pids.txt"
    env = {**os.environ, "PIDS_FILE": str(pids_file), "PYTHONPATH": str(REPO_ROOT)}
    index = empty_bundle(tmp_path / "index")
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, "serve", "--index", str(index), "--database", database,
         "--port", str(port), "--workers", "2"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, process)
        request = urllib.request.Request(f"{base}/api/v1/identify", data=jpeg_bytes(200, 100),
                                         headers={"Content-Type": "image/jpeg"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.load(response)["image"] == {"width": 200, "height": 100}
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"{base}/api/v1/bands/999", timeout=10)
        assert json.load(caught.value)["error"]["code"] == "band_not_found"
        deadline = time.monotonic() + 20  # the second worker may still be booting
        while len(pids_file.read_text().split()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        pids = pids_file.read_text().split()
        assert len(pids) == 2 and len(set(pids)) == 2, pids
        assert str(process.pid) not in pids  # built in the workers, not in the master
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert "Booting worker" in output, output
