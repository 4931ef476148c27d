"""``import pipelinekit`` stays light: no optional library is loaded by it."""

from __future__ import annotations

import json
import subprocess
import sys

OPTIONAL = (
    "sqlalchemy",
    "psycopg",
    "psycopg2",
    "hypothesis",
    "typer",
    "click",
    "rich",
    "matplotlib",
    "pydot",
    "pandas",
)


def _loaded_after(statement: str) -> set[str]:
    code = (
        f"import sys, json; {statement}; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return set(json.loads(out.stdout))


def test_import_pipelinekit_loads_no_optional_library() -> None:
    loaded = _loaded_after("import pipelinekit")
    assert "pipelinekit" in loaded
    assert loaded.isdisjoint(OPTIONAL), sorted(loaded & set(OPTIONAL))


def test_the_check_would_notice_a_leak() -> None:
    # The same probe sees hypothesis once something imports it.
    assert "hypothesis" in _loaded_after("import pipelinekit.testing")


def test_version_comes_from_package_metadata() -> None:
    from importlib.metadata import version

    import pipelinekit

    assert pipelinekit.__version__ == version("pipelinekit")
