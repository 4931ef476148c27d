"""Docs are executed: every ```python block in README.md and docs/, and every docstring example.

All blocks of one Markdown page run in order in one namespace, so a page
reads like a session.  Use ```text, ```toml or ```console for anything
that is not meant to run.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import pipelinekit

ROOT = Path(__file__).resolve().parent.parent
_BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _blocks(page: Path) -> list[tuple[int, str]]:
    text = page.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in _BLOCK.finditer(text)]


ALL_PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
PAGES = [page for page in ALL_PAGES if _blocks(page)]


def test_the_collector_finds_the_examples() -> None:
    assert ROOT / "README.md" in PAGES
    assert len(PAGES) >= 10


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_markdown_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = _blocks(page)
    monkeypatch.chdir(tmp_path)  # examples may write files
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for line, source in blocks:
        # as a reader runs it: without this module's ``from __future__`` imports
        code = compile(source, f"{page.relative_to(ROOT)}:{line}", "exec", dont_inherit=True)
        exec(code, namespace)


def _modules() -> list[str]:
    names = [pipelinekit.__name__]
    for info in pkgutil.walk_packages(pipelinekit.__path__, prefix="pipelinekit."):
        names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_run(name: str) -> None:
    try:
        module = importlib.import_module(name)
    except ImportError as error:  # an optional extra that is not installed
        pytest.skip(f"{name} needs an optional dependency: {error}")
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    public = {n: getattr(pipelinekit, n) for n in pipelinekit.__all__}
    tests = finder.find(module, name, extraglobs={"pipelinekit": pipelinekit, **public})
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"


_LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize(
    "page", sorted((ROOT / "docs").rglob("*.md")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_relative_links_name_files_the_site_can_resolve(page: Path) -> None:
    """A link to a folder is left as is by MkDocs (a warning, and a broken link on the site)."""
    bad = []
    for target in _LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:|#", target):
            continue
        path = (page.parent / target.split("#", 1)[0]).resolve()
        if not path.is_file():
            bad.append(target)
    assert bad == []


def test_the_docs_speak_without_project_internal_words() -> None:
    """Readers do not know the project's source articles: "the seeds'" explains nothing."""
    pages = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]
    assert [p.name for p in pages if "seeds'" in p.read_text(encoding="utf-8")] == []


def _settings_calls(source: str) -> list[ast.Call]:
    """The ``settings(...)`` calls of some code (not ``settings.register_profile`` and such)."""
    calls = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name == "settings" and not (
                isinstance(func, ast.Attribute) and not isinstance(func.value, ast.Name)
            ):
                calls.append(node)
    return calls


def _keyword(call: ast.Call, name: str) -> str | None:
    found = next((k for k in call.keywords if k.arg == name), None)
    return None if found is None else ast.unparse(found.value)


def _suppressed(call: ast.Call) -> str:
    return _keyword(call, "suppress_health_check") or ""


def test_doc_examples_settings_suit_a_loaded_machine() -> None:
    """Examples readers copy generate entities, which is slow on a busy machine: they say so."""
    unsuited = []
    for page in PAGES:
        named: dict[str, ast.Call] = {}  # NAME = settings(...) earlier on the page
        for line, source in _blocks(page):
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            named[target.id] = node.value
            for call in _settings_calls(source):
                parent = call.args[0] if call.args else None
                chain = [call]
                if isinstance(parent, ast.Name) and parent.id in named:
                    chain.append(named[parent.id])
                deadline = next(filter(None, (_keyword(c, "deadline") for c in chain)), None)
                suppressed = next(filter(None, (_suppressed(c) for c in chain)), "")
                if deadline != "None" or "too_slow" not in suppressed:
                    unsuited.append(f"{page.relative_to(ROOT)}:{line + call.lineno}")
    assert unsuited == []


def test_explicit_health_check_lists_keep_too_slow_suppressed() -> None:
    """An explicit ``suppress_health_check`` replaces the suite profile's: it must keep too_slow.

    The kits (``pipelinekit.testing``) run in other projects' suites, without this
    suite's profile: their settings turn the deadline off and suppress too_slow.
    """
    unsuited = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for call in _settings_calls(path.read_text(encoding="utf-8")):
            if _keyword(call, "suppress_health_check") and "too_slow" not in _suppressed(call):
                unsuited.append(f"{path.relative_to(ROOT)}:{call.lineno}")
    for path in sorted((ROOT / "src" / "pipelinekit" / "testing").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        for call in _settings_calls(source):
            suppressed = _suppressed(call)
            constant = re.search(rf"^{re.escape(suppressed)} = (.*)$", source, re.MULTILINE)
            if constant:
                suppressed = constant.group(1)
            if _keyword(call, "deadline") != "None" or "too_slow" not in suppressed:
                unsuited.append(f"{path.relative_to(ROOT)}:{call.lineno}")
    assert unsuited == []


def test_the_cli_page_shows_the_report_screenshot_and_how_it_is_taken() -> None:
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    shown = re.search(r"!\[[^\]]+\]\((images/[^)]+\.png)\)", page)
    assert shown, "docs/cli.md shows a picture of the HTML report"
    picture = ROOT / "docs" / shown.group(1)
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "python tests/screenshots/report.py" in page
    assert (ROOT / "tests" / "screenshots" / "report.py").is_file()
