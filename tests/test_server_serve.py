"""`kyb serve`: the pipeline seam in server.runtime, and a real gunicorn with two workers.

The real pipeline is swapped for a stand-in module through `server.runtime.PIPELINE_MODULE`,
so these tests keep testing the serving machinery whether or not retrieval/pipeline.py
exists yet.
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
from importlib.machinery import ModuleSpec
from pathlib import Path

import pytest
from click.testing import CliRunner

from kyb.cli import cli
from server import runtime
from tests.test_server_support import FixedIdentifier, jpeg_bytes, make_store

REPO_ROOT = Path(__file__).resolve().parent.parent
MISSING_MODULE = "retrieval.no_such_pipeline_module"


@pytest.fixture
def database(tmp_path, monkeypatch) -> str:
    make_store(tmp_path).close()
    url = f"sqlite:///{tmp_path / 'kyb.sqlite'}"
    monkeypatch.setenv("KYB_DATABASE_URL", url)
    return url


def test_serve_is_registered_and_documents_its_options():
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--index", "--host", "--port", "--workers"):
        assert option in result.output


def test_serve_without_the_pipeline_stops_with_one_clear_message(tmp_path, database, monkeypatch):
    monkeypatch.setattr(runtime, "PIPELINE_MODULE", MISSING_MODULE)
    result = CliRunner().invoke(cli, ["serve", "--index", str(tmp_path)])
    assert result.exit_code == 1
    assert "identification pipeline" in result.output and "not available" in result.output
    assert "Traceback" not in result.output


def test_serve_without_a_database_stops_with_one_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("KYB_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite'}")
    monkeypatch.setattr(runtime, "check_pipeline", lambda: None)
    result = CliRunner().invoke(cli, ["serve", "--index", str(tmp_path)])
    assert result.exit_code == 1 and "Error:" in result.output
    assert "Traceback" not in result.output


def test_load_identifier_reports_a_missing_factory(monkeypatch):
    monkeypatch.setattr(runtime, "PIPELINE_MODULE", "retrieval.identify_api")
    with pytest.raises(runtime.PipelineUnavailable, match="load_identifier"):
        runtime.load_identifier(Path("index"))


def test_production_app_builds_the_identifier_from_the_index(tmp_path, database, monkeypatch):
    calls = []

    def load_identifier(index_path):
        calls.append(index_path)
        return FixedIdentifier()

    pipeline = types.ModuleType("kyb_stand_in_pipeline")
    pipeline.__spec__ = ModuleSpec(pipeline.__name__, loader=None)
    pipeline.load_identifier = load_identifier
    monkeypatch.setitem(sys.modules, pipeline.__name__, pipeline)
    monkeypatch.setattr(runtime, "PIPELINE_MODULE", pipeline.__name__)
    app = runtime.production_app(tmp_path / "index")
    assert calls == [tmp_path / "index"]
    response = app.test_client().post("/api/v1/identify", data=jpeg_bytes(), content_type="image/jpeg")
    assert response.status_code == 200


# The stand-in pipeline for the gunicorn run: it records which process built an identifier.
LAUNCHER = textwrap.dedent("""
    import os, sys, types
    from importlib.machinery import ModuleSpec
    from pathlib import Path

    from tests.test_server_support import FixedIdentifier
    from server import runtime

    def load_identifier(index_path):
        with open(os.environ["PIDS_FILE"], "a") as pids:
            pids.write(f"{os.getpid()}\\n")
        return FixedIdentifier()

    pipeline = types.ModuleType("kyb_stand_in_pipeline")
    pipeline.__spec__ = ModuleSpec("kyb_stand_in_pipeline", loader=None)
    pipeline.load_identifier = load_identifier
    sys.modules["kyb_stand_in_pipeline"] = pipeline
    runtime.PIPELINE_MODULE = "kyb_stand_in_pipeline"

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
def test_kyb_serve_runs_gunicorn_with_one_identifier_per_worker(tmp_path, database):
    port = free_port()
    pids_file = tmp_path / "pids.txt"
    env = {**os.environ, "PIDS_FILE": str(pids_file), "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, "serve", "--index", str(tmp_path), "--port", str(port),
         "--workers", "2"],
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
