"""Settings of the ``pipelinekit`` command: precedence, and every problem of a bad file."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelinekit.cli.settings import ConfigError, load_settings


def _problems(tmp_path: Path, text: str) -> dict[str, str]:
    (tmp_path / "pipelinekit.toml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={}, cwd=tmp_path)
    assert str(tmp_path / "pipelinekit.toml") in caught.value.source
    return {p.path: p.message for p in caught.value.problems}


def test_every_problem_in_the_file_is_reported_at_once(tmp_path: Path) -> None:
    found = _problems(
        tmp_path,
        'currency = 3\n[import]\nbatchsize = 10\nunmapped = "drop"\n'
        '[import.columns]\nemial = "E-Mail"\ncompany = 5\n[qualifyy]\nstrategy = "s.toml"\n',
    )
    assert found == {
        "$.currency": "must be a string, got a number",
        "$.import.batchsize": "unknown field 'batchsize'; did you mean 'batch_size'?",
        "$.import.columns.emial": "unknown field 'emial'; did you mean 'email'?",
        "$.import.columns.company": "must be the column name in quotes, got a number",
        "$.qualifyy": "unknown field 'qualifyy'; did you mean 'qualify'?",
    }


def test_values_are_checked_once_the_shape_is_right(tmp_path: Path) -> None:
    found = _problems(tmp_path, '[import]\nbatch_size = 0\nunmapped = "drop"\n')
    assert found == {
        "$.import.batch_size": "must be >= 1, got 0",
        "$.import.unmapped": 'must be "custom" or "ignore"',
    }


def test_a_good_file_gives_its_settings(tmp_path: Path) -> None:
    (tmp_path / "pipelinekit.toml").write_text(
        'db = "x.db"\n[import]\nbatch_size = 50\nformat = "csv"\n'
        '[import.columns]\nemail = "E-Mail"\n[qualify]\nstrategy = "s.toml"\n'
    )
    settings = load_settings(environ={}, cwd=tmp_path)
    assert (settings.db, settings.batch_size, settings.import_format) == ("x.db", 50, "csv")
    assert dict(settings.columns) == {"email": "E-Mail"}
    assert settings.strategy == str(tmp_path / "s.toml")


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
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings(config=tmp_path / "bad.toml", environ={})
    (tmp_path / "pw.toml").write_text('db = "postgresql://me:secret@host/db"\n')
    assert "secret" not in load_settings(config=tmp_path / "pw.toml", environ={}).describe_db()


def test_a_settings_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "latin.toml").write_bytes('db = "caf\xe9.db"\n'.encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_settings(config=tmp_path / "latin.toml", environ={})
    assert "not UTF-8 (line 1)" in caught.value.problems[0].message
