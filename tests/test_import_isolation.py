"""``import pipelinekit`` stays light: no optional library is loaded by it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

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
    "pyarrow",
    "dask",
    "pyspark",
    "rapidfuzz",
    "phonenumbers",
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


def test_dedupe_loads_its_optional_libraries_only_when_it_compares() -> None:
    loaded = _loaded_after("import pipelinekit.dedupe; pipelinekit.dedupe.default_rules()")
    assert loaded.isdisjoint({"rapidfuzz", "phonenumbers"}), loaded
    assert "rapidfuzz" in _loaded_after("import pipelinekit.dedupe as d; d.find([])")


def test_import_domain_loads_nothing_above_it() -> None:
    code = (
        "import sys, json; import pipelinekit.domain; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('pipelinekit'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    loaded = json.loads(out.stdout)
    above = ("qualification", "pipelines", "storage", "analytics", "cli", "lifecycle", "io")
    assert not [m for m in loaded if m.split(".")[1:2] and m.split(".")[1] in above], loaded
    assert "pipelinekit.domain.leads" in loaded


def test_the_public_face_loads_its_names_on_first_use() -> None:
    assert "pipelinekit.storage" not in _loaded_after_modules("import pipelinekit")
    names = _loaded_after_modules("import pipelinekit; pipelinekit.Lead")
    assert "pipelinekit.domain.leads" in names
    assert "pipelinekit.storage" not in names
    import pipelinekit

    assert set(pipelinekit.__all__) <= set(dir(pipelinekit))
    for name in pipelinekit.__all__:
        assert getattr(pipelinekit, name) is not None
    assert pipelinekit.build_qualifier is pipelinekit.qualification.build
    with pytest.raises(AttributeError):
        pipelinekit.no_such_name  # noqa: B018


def _loaded_after_modules(statement: str) -> set[str]:
    code = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return set(json.loads(out.stdout))


def test_the_check_would_notice_a_leak() -> None:
    # The same probe sees hypothesis once something imports it.
    assert "hypothesis" in _loaded_after("import pipelinekit.testing")


def test_version_comes_from_package_metadata() -> None:
    from importlib.metadata import version

    import pipelinekit

    assert pipelinekit.__version__ == version("pipelinekit")
