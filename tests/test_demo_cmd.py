"""What `kyb demo` tells a newcomer to run next (the demo itself takes minutes: not run here)."""

from __future__ import annotations

import os
import sys

from click.testing import CliRunner

from kyb import demo_cmd
from kyb.cli import cli
from retrieval.config import DATABASE_URL_ENV
from server import gunicorn_app
from tests.test_server_serve import empty_bundle
from tests.test_server_support import make_store


def test_kyb_program_is_how_kyb_was_started(tmp_path, monkeypatch):
    program = tmp_path / ".venv" / "bin" / "kyb"
    monkeypatch.setattr(sys, "argv", [str(program), "demo"])
    monkeypatch.setenv("PATH", "/nonexistent")
    assert demo_cmd.kyb_program() == [str(program)]
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", str(program.parent))
    assert demo_cmd.kyb_program() == ["kyb"]  # the same program is on PATH
    monkeypatch.setattr(sys, "argv", ["/repo/kyb/__main__.py", "demo"])
    assert demo_cmd.kyb_program() == [sys.executable, "-m", "kyb"]


def test_the_printed_serve_command_opens_the_demos_index_and_database(tmp_path, monkeypatch):
    out = tmp_path / "kyb-demo"
    index = empty_bundle(out / "index")
    make_store(out).close()  # out/kyb.sqlite, as the demo writes it
    steps = demo_cmd.next_steps(out, out / "kyb.sqlite", out / "dataset" / "photos" / "p.jpg")
    serve = next(command for what, command in steps.items() if "web page" in what)
    started = []

    class Application:
        def __init__(self, factory, options):
            started.append(factory.args)

        def run(self):
            started.append(os.environ[DATABASE_URL_ENV])

    monkeypatch.setattr(gunicorn_app, "FactoryApplication", Application)
    monkeypatch.setenv(DATABASE_URL_ENV, "")  # restored after the test: serve sets it
    monkeypatch.delenv(DATABASE_URL_ENV)
    monkeypatch.setenv("KYB_DATA_DIR", str(tmp_path / "not-the-demos"))
    result = CliRunner().invoke(cli, serve[serve.index("serve"):])
    assert result.exit_code == 0, result.output
    assert started == [(index,), f"sqlite:///{(out / 'kyb.sqlite').resolve()}"]
    identify = next(command for what, command in steps.items() if "photo" in what)
    assert identify[identify.index("identify") + 1] == str(out / "dataset" / "photos" / "p.jpg")
    assert identify[-4:] == serve[-4:] == ["--index", str(index), "--database", started[1]]


def test_the_demo_table_names_the_object_a_box_covers_or_holds():
    from data.voc import VocObject

    names = {7: "Glacier of Sorrow", 8: "Ithur Winter"}
    logo = VocObject("logo", (405, 260, 629, 380), band_id=7)
    cover = VocObject("album", (0, 0, 100, 100), band_id=8)
    assert demo_cmd.truth_for((400, 255, 630, 385), [logo, cover], names) == "Glacier of Sorrow"
    # a loose box around the whole print: the logo inside it is what it shows
    assert demo_cmd.truth_for((359, 227, 664, 567), [logo, cover], names) == "Glacier of Sorrow"
    # a box cutting across a corner of the logo, holding none of it whole
    assert demo_cmd.truth_for((560, 330, 900, 700), [logo, cover], names) == "(nothing there)"
    assert demo_cmd.truth_for((560, 330, 900, 700), [], names) == "(nothing there)"
