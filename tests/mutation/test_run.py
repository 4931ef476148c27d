"""The mutation script's own logic: module names, test selection, skip list, docs table."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "mutation_run", Path(__file__).resolve().parent / "run.py"
)
assert _SPEC is not None
assert _SPEC.loader is not None
run = importlib.util.module_from_spec(_SPEC)
sys.modules["mutation_run"] = run  # dataclasses look their module up
_SPEC.loader.exec_module(run)


def test_module_names_and_files_agree() -> None:
    money = run.SRC / "pipelinekit" / "domain" / "money.py"
    assert run.module_of(money) == "pipelinekit.domain.money"
    assert run.module_of(run.SRC / "pipelinekit" / "domain" / "__init__.py") == "pipelinekit.domain"
    assert run.files_of("pipelinekit.domain.money") == [money]
    assert run.files_of("src/pipelinekit/domain/money.py") == [money]
    package = run.files_of("pipelinekit.domain")
    assert money in package
    assert all(path.suffix == ".py" for path in package)
    with pytest.raises(SystemExit):
        run.files_of("pipelinekit.nowhere")


def test_each_module_runs_its_layers_tests() -> None:
    assert run.tests_for(["pipelinekit.domain.money", "pipelinekit.domain.ids"]) == [
        "tests/domain/"
    ]
    assert run.tests_for(["pipelinekit.pipelines.bulk", "pipelinekit.errors"]) == [
        "tests/pipelines/",
        "tests/",
    ]


def test_the_skip_list_is_reviewed() -> None:
    skips = run.load_skips()
    for name, reason in skips.items():
        module = name.split(".x")[0]
        assert run.files_of(module), name
        assert len(reason) > 20, f"{name}: say why the mutant is equivalent"


def test_a_skip_entry_needs_a_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    skip = tmp_path / "skip.toml"
    skip.write_text('[[mutant]]\nname = "pipelinekit.x.y__mutmut_1"\n', encoding="utf-8")
    monkeypatch.setattr(run, "SKIP_FILE", skip)
    with pytest.raises(SystemExit, match="no reason"):
        run.load_skips()


def test_scores_count_timeouts_as_killed_and_leave_skips_out() -> None:
    score = run.Score("pipelinekit.domain.money", ["tests/domain/"])
    score.counts = Counter({"killed": 80, "timeout": 5, "survived": 10, "skipped": 5})
    assert score.total == 100
    assert score.score == pytest.approx(100 * 85 / 95)
    assert run.Score("m", []).score == 100.0


def test_the_docs_table_keeps_other_modules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = tmp_path / "mutation.md"
    page.write_text(f"# T\n\n{run.START}\nold\n{run.END}\nafter\n", encoding="utf-8")
    monkeypatch.setattr(run, "DOCS_PAGE", page)
    first = run.Score("pipelinekit.domain.money", ["tests/domain/"], Counter(killed=9, survived=1))
    second = run.Score("pipelinekit.domain.ids", ["tests/domain/"], Counter(killed=4))
    run.write_docs([first, second], "python tests/mutation/run.py pipelinekit.domain")
    run.write_docs([run.Score("pipelinekit.domain.ids", ["tests/domain/"], Counter(killed=2))], "c")
    text = page.read_text(encoding="utf-8")
    assert text.startswith("# T\n\n")
    assert text.endswith(f"{run.END}\nafter\n")
    assert "`pipelinekit.domain.money` | 10 | 9 | 0 | 1 | 0 | 0 | 90.0%" in text
    assert "`pipelinekit.domain.ids` | 2 | 2 |" in text
    assert "Last command: `c`" in text
    assert text.count("| `pipelinekit.domain.ids`") == 1
