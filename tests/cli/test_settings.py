"""Settings of the ``pipelinekit`` command: precedence, and every problem of a bad file."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelinekit.cli.settings import ConfigError, load_settings


def test_settings_precedence_and_errors(tmp_path: Path) -> None:
    (tmp_path / "pipelinekit.toml").write_text('db = "a.db"\ncurrency = "usd"\n')
    loaded = load_settings(environ={}, cwd=tmp_path)
    assert (loaded.db, loaded.currency) == ("a.db", "USD")
    assert load_settings(environ={"PIPELINEKIT_DB": "b.db"}, cwd=tmp_path).db == "b.db"
    assert load_settings(environ={}, cwd=tmp_path / "..").config_file != tmp_path
    with pytest.raises(ConfigError) as caught:
        load_settings(config=tmp_path / "missing.toml", environ={})
    assert "missing.toml" in caught.value.source
    (tmp_path / "bad.toml").write_text("db = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(config=tmp_path / "bad.toml", environ={})
    (tmp_path / "pw.toml").write_text('db = "postgresql://me:secret@host/db"\n')
    assert "secret" not in load_settings(config=tmp_path / "pw.toml", environ={}).describe_db()


def test_a_settings_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "latin.toml").write_bytes('db = "caf\xe9.db"\n'.encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_settings(config=tmp_path / "latin.toml", environ={})
    assert "not UTF-8 (line 1)" in caught.value.problems[0].message
