"""pipelinekit.toml is read like every other pipelinekit input: every problem, with its path."""

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
