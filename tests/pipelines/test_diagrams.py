"""Diagrams: Mermaid and Markdown always; DOT with pydot; SVG/PNG with Graphviz too."""

from __future__ import annotations

import builtins
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelinekit.pipelines import Pipeline, to_dot, to_markdown, to_mermaid, write_image
from pipelinekit.pipelines.diagrams import DiagramDependencyError


def test_mermaid_shows_every_stage_and_transition_with_guards(sales: Pipeline) -> None:
    text = to_mermaid(sales)
    assert text.startswith("stateDiagram-v2")
    for stage in sales.spec.stages:
        assert f'state "{stage.label}" as st_{stage.key}' in text
    assert "st_proposal --> st_closed_won : win" in text
    assert "st_meeting --> st_closed_lost : lose [lost_reason_given]" in text
    assert "st_closed_lost --> st_meeting : reopen [to=meeting]" in text


def test_an_entitys_diagram_highlights_its_stage(sales: Pipeline) -> None:
    opp = sales.open(name="Deal", at=datetime(2026, 1, 1, tzinfo=UTC)).entity
    assert ":::active" not in to_mermaid(sales)
    assert to_mermaid(sales, opp).rstrip().endswith("st_initial_contact:::active")
    moved = sales.fire(opp, "advance", at=datetime(2026, 1, 2, tzinfo=UTC)).entity
    assert to_mermaid(sales, moved).rstrip().endswith("st_qualification:::active")


def test_markdown_table_lists_transitions(lifecycle: Pipeline) -> None:
    table = to_markdown(lifecycle)
    assert table.splitlines()[0].split("|")[1].strip() == "State"
    assert "| Disqualified | recycle    |       | Nurturing    |" in table


def test_dot_needs_pydot_and_says_what_to_install(
    sales: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pydot")
    assert to_dot(sales).startswith("digraph SalesPipeline")
    real_import = builtins.__import__

    def no_pydot(name: str, *args: object, **kwargs: object) -> object:
        if name == "pydot":
            raise ImportError("No module named 'pydot'")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_pydot)
    with pytest.raises(DiagramDependencyError, match=r"pip install 'pipelinekit\[diagrams\]'"):
        to_dot(sales)


def test_images_need_graphviz_and_say_what_to_install(
    sales: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pydot")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(DiagramDependencyError, match="apt-get install graphviz"):
        write_image(sales, tmp_path / "sales.svg")
    with pytest.raises(ValueError, match="svg, png"):
        write_image(sales, tmp_path / "sales.gif")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
@pytest.mark.parametrize("suffix", ["svg", "png"])
def test_images_render_with_graphviz(sales: Pipeline, tmp_path: Path, suffix: str) -> None:
    pytest.importorskip("pydot")
    out = write_image(sales, tmp_path / f"sales.{suffix}")
    data = out.read_bytes()
    if suffix == "svg":
        assert b"<svg" in data
        assert b"Proposal" in data
    else:
        assert data.startswith(b"\x89PNG")


def test_importing_pipelines_loads_no_optional_library() -> None:
    code = (
        "import sys, json, pipelinekit.pipelines; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    loaded = set(json.loads(out.stdout))
    assert loaded.isdisjoint({"hypothesis", "pydot", "sqlalchemy"})
    assert "statemachine" in loaded
