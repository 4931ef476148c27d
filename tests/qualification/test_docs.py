"""The qualification docs pages run: every ```python block, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


@pytest.mark.parametrize("page", ["qualification.md", "plugins.md"])
def test_page_examples_run(page: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = (DOCS / page).read_text()
    namespace: dict[str, object] = {"__name__": f"docs_{page.removesuffix('.md')}"}
    blocks = BLOCK.findall(text)
    assert blocks
    for number, code in enumerate(blocks, 1):
        exec(compile(code, f"{page} block {number}", "exec"), namespace)
