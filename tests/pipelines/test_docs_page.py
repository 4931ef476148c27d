"""docs/pipelines.md stays true: its diagrams and printed outputs come from the code."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from pipelinekit.pipelines import lead_lifecycle, sales_pipeline, to_mermaid

PAGE = Path(__file__).resolve().parents[2] / "docs" / "pipelines.md"
_FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _fences() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in _FENCE.finditer(PAGE.read_text(encoding="utf-8"))]


def test_the_built_in_diagrams_on_the_page_are_current() -> None:
    diagrams = [body.rstrip() for lang, body in _fences() if lang == "mermaid"]
    assert diagrams == [
        to_mermaid(sales_pipeline()).rstrip(),
        to_mermaid(lead_lifecycle()).rstrip(),
    ]


def test_printed_output_matches_the_text_block_after_each_example(tmp_path: Path) -> None:
    fences = _fences()
    namespace: dict[str, object] = {"__name__": "docs_pipelines"}
    checked = 0
    for index, (lang, body) in enumerate(fences):
        if lang != "python":
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(body, f"{PAGE.name}[{index}]", "exec"), namespace)
        following = fences[index + 1] if index + 1 < len(fences) else None
        if out.getvalue():
            assert following is not None
            assert following[0] == "text"
            assert out.getvalue() == following[1], body
            checked += 1
    assert checked >= 5
