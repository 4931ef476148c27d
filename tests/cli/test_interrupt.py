"""Ctrl-C on the command: a real SIGINT to a real process says what was committed, exit 130."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelinekit.cli import ExitCode, main
from pipelinekit.storage.sql import sqlite_storage

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

ROWS = 40_000


def _stored(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite_storage(db) as storage, storage.unit_of_work(read_only=True) as uow:
            return uow.leads.count()
    except Exception:  # the schema is being created by the import: try again
        return 0


def _default_sigint() -> None:  # in the child: Ctrl-C raises, even under a runner ignoring it
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_during_an_import_says_what_was_committed_and_rerunning_resumes(
    tmp_path: Path,
) -> None:
    leads = tmp_path / "leads.csv"
    with leads.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["external_id", "name", "email", "company"])
        writer.writerows(
            [f"crm-{i}", f"Contact {i}", f"c{i}@acme.example", "Acme"] for i in range(ROWS)
        )
    db = tmp_path / "crm.sqlite3"
    command = [sys.executable, "-m", "pipelinekit", "--db", str(db), "import", str(leads)]
    env = {**os.environ, "COLUMNS": "200"}
    child = subprocess.Popen(
        [*command, "--batch-size", "50"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )
    try:
        deadline = time.monotonic() + 120
        while _stored(db) == 0 and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert child.poll() is None, "the import ended before it could be interrupted"
        child.send_signal(signal.SIGINT)
        _out, printed = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == ExitCode.INTERRUPTED
    err = " ".join(printed.split())  # the message may wrap at the console width
    assert "Traceback" not in err
    found = re.search(r"interrupted \(Ctrl-C\): the first ([\d,]+) of ([\d,]+) rows", err)
    assert found, err
    read, total = (int(g.replace(",", "")) for g in found.groups())
    assert total == ROWS
    assert 0 < read < ROWS
    assert "run the same command again to resume" in err
    stored = _stored(db)
    assert read <= stored < ROWS  # what was said to be committed was committed
    again = subprocess.run(
        [*command, "--json"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert again.returncode == 0, again.stderr
    assert f'"inserted": {ROWS - stored}' in again.stdout
    assert f'"unchanged": {stored}' in again.stdout
    assert _stored(db) == ROWS


def test_ctrl_c_in_a_command_without_its_own_note_still_says_interrupted(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipelinekit.cli.commands.pipeline as pipeline_command

    def interrupted(source: str) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline_command, "_pipeline", interrupted)
    code = main(["pipeline", "show", "sales"])
    assert code == ExitCode.INTERRUPTED
    assert "interrupted (Ctrl-C)" in capsys.readouterr().err
