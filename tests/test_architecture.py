"""The house keeps its shape: imports run down the layers, and nothing imports in a circle.

Every import in ``src/pipelinekit`` is read with ``ast`` (module level, inside
functions, under ``TYPE_CHECKING``, and ``importlib.import_module("...")``
calls), resolved to the module it names, and checked against the layers of
``docs/architecture.md``.  A new top-level package fails here until it is
given its place in :data:`RANKS`.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "pipelinekit"

#: Each top-level part of pipelinekit and its layer: a part may import parts of its
#: own layer or below, never above.  ``(root)`` is the public face, ``__init__.py``.
RANKS: dict[str, int] = {
    # ground: the error tree, clocks, and internal machinery needing nothing else
    "errors": 0,
    "clock": 0,
    "_slots": 0,
    "_plugins": 0,
    "_decoding": 0,
    "_jsontext": 0,
    # the domain: entities, values, qualification results
    "domain": 1,
    # structuring plain data (every loader's validation)
    "validation": 2,
    # siblings over the domain
    "pipelines": 3,
    "qualification": 3,
    "serialization": 3,
    # what combines them
    "lifecycle": 4,
    "analytics": 4,
    # storage ports and adapters
    "storage": 5,
    # capabilities over storage, and the public face
    "io": 6,
    "demo": 6,
    "dedupe": 6,
    "arrow": 6,
    "backtest": 6,
    "aio": 6,
    "(root)": 6,
    # front ends and kits over the public API
    "cli": 7,
    "testing": 7,
    "spark": 7,
    "dask": 7,
    "__main__": 8,
}

#: Parts of one layer that must not import each other either.
SIBLINGS_APART = {frozenset({"pipelines", "qualification"})}

#: Deprecated names resolved by ``import_module`` in a lower layer, pointing to where
#: they moved; allowed for one release only (see CHANGELOG.md, Deprecated).
REDIRECTS = {("pipelinekit.qualification", "pipelinekit.lifecycle")}

#: Loops a change under way removes (storage ports <-> erasure); each entry must still be
#: a loop, so the entry goes as soon as its loop does, and then no loop is left at all.
PENDING_LOOPS: set[frozenset[str]] = set()

#: Third-party libraries the domain may use (besides the standard library).
DOMAIN_MAY_IMPORT = {"attrs"}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for file in PACKAGE.rglob("*.py"):
        parts = list(file.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = file
    return found


MODULES = _modules()


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if MODULES[module].name != "__init__.py":
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str) -> Iterator[tuple[str, int, bool]]:
    """``(imported name, line, by import_module)`` for every import in ``module``."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno, False
        elif isinstance(node, ast.ImportFrom):
            if node.module == "__future__":
                continue
            name = _resolve(module, node)
            for alias in node.names:
                # ``from pkg import sub`` imports the submodule when there is one
                sub = f"{name}.{alias.name}"
                yield (sub if sub in MODULES else name), node.lineno, False
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.args[0].value, node.lineno, True


def _internal(name: str) -> str | None:
    """The pipelinekit module ``name`` is (or is in), or ``None`` for other libraries."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "(root)"


EDGES: dict[str, set[str]] = {}
DYNAMIC: set[tuple[str, str]] = set()
EXTERNAL: dict[str, set[str]] = {}
for _module in MODULES:
    EDGES[_module] = set()
    EXTERNAL[_module] = set()
    for _name, _line, _dynamic in _imports(_module):
        _target = _internal(_name)
        if _target is None:
            EXTERNAL[_module].add(_name.partition(".")[0])
        elif _target != _module:
            EDGES[_module].add(_target)
            if _dynamic:
                DYNAMIC.add((_module, _target))


def test_every_part_has_its_place_in_the_layers() -> None:
    unplaced = sorted({_part(m) for m in MODULES} - RANKS.keys())
    assert not unplaced, (
        f"new top-level parts {unplaced}: give each its layer in RANKS (tests/test_architecture.py)"
        " and docs/architecture.md"
    )


def test_no_part_imports_a_higher_layer_or_a_sibling_kept_apart() -> None:
    wrong = []
    for module, targets in EDGES.items():
        for target in targets:
            a, b = _part(module), _part(target)
            if a == b or (
                (module, target) in DYNAMIC and (_package(module), _package(target)) in (REDIRECTS)
            ):
                continue
            if RANKS[b] > RANKS[a] or frozenset({a, b}) in SIBLINGS_APART:
                wrong.append(
                    f"{module} ({a}, layer {RANKS[a]}) -> {target} ({b}, layer {RANKS[b]})"
                )
    assert not wrong, "imports against the layers:\n  " + "\n  ".join(sorted(wrong))


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_module_imports_itself_through_others() -> None:
    static = {m: {t for t in ts if (m, t) not in DYNAMIC} for m, ts in EDGES.items()}
    loops = [c for c in _cycles(static) if frozenset(c) not in PENDING_LOOPS]
    assert not loops, "import loops:\n  " + "\n  ".join(" <-> ".join(c) for c in loops)
    gone = PENDING_LOOPS - {frozenset(c) for c in _cycles(static)}
    assert not gone, f"these loops are gone: remove them from PENDING_LOOPS: {gone}"


def test_no_part_imports_itself_through_others() -> None:
    parts: dict[str, set[str]] = {}
    for module, targets in EDGES.items():
        for target in targets:
            if _part(module) != _part(target) and (module, target) not in DYNAMIC:
                parts.setdefault(_part(module), set()).add(_part(target))
    loops = _cycles(parts)
    assert not loops, "loops between parts:\n  " + "\n  ".join(" <-> ".join(c) for c in loops)


def test_the_domain_imports_only_the_standard_library_attrs_errors_and_clock() -> None:
    allowed_parts = {"domain", "errors", "clock"}
    wrong = []
    for module in MODULES:
        if _part(module) != "domain":
            continue
        wrong += [f"{module} -> {t}" for t in EDGES[module] if _part(t) not in allowed_parts]
        wrong += [
            f"{module} -> {lib}"
            for lib in EXTERNAL[module]
            if lib not in DOMAIN_MAY_IMPORT and lib not in sys.stdlib_module_names
        ]
    assert not wrong, wrong


def test_redirects_are_the_listed_deprecations_only() -> None:
    assert {(_package(m), _package(t)) for m, t in DYNAMIC} <= REDIRECTS


# -- the checker itself catches what it is for -----------------------------------------------


def test_the_checks_would_notice_an_upward_import_and_a_loop() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    node = ast.parse("from ..pipelines import guards\n").body[0]
    assert isinstance(node, ast.ImportFrom)
    assert _resolve("pipelinekit.qualification.base", node) == "pipelinekit.pipelines"
    assert RANKS["pipelines"] > RANKS["domain"]


@pytest.mark.parametrize("module", ["pipelinekit.domain", "pipelinekit.domain.leads"])
def test_every_import_of_the_sample_is_seen(module: str) -> None:
    # a module's imports (incl. inside functions) are all found by the reader
    assert EDGES[module]
    assert all(t.startswith("pipelinekit.") for t in EDGES[module])
