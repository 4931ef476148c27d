"""Replay every kept fuzz input through its target: only a PipelinekitError may come out.

The corpus (``tests/fuzz/corpus/<target>/``) holds the seeds, the inputs that gave
the atheris runs new coverage (merged down to a small set), and every crash found,
so a fixed crash stays fixed.  No atheris is needed here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import targets

CORPUS = Path(__file__).resolve().parent / "corpus"
CASES = sorted(
    (folder.name, file)
    for folder in CORPUS.iterdir()
    if folder.is_dir()
    for file in folder.iterdir()
    if file.is_file()
)


def test_every_target_has_a_corpus() -> None:
    assert {name for name, _ in CASES} == set(targets.TARGETS)


def _replay(name: str, file: Path) -> targets.KnownCrash | None:
    """Run one kept input; return the known crash it reproduces, if it does."""
    try:
        targets.run(name, file.read_bytes())
    except Exception as error:
        known = targets.known_crash(name, error)
        if known is None:
            raise
        return known
    return None


@pytest.mark.parametrize(("name", "file"), CASES, ids=[f"{n}/{f.name[:16]}" for n, f in CASES])
def test_corpus_input_raises_nothing_but_library_errors(name: str, file: Path) -> None:
    known = _replay(name, file)
    if known is not None:
        pytest.xfail(f"known crash {known.key}: {known.reason}")


def test_every_known_crash_is_still_reproduced() -> None:
    """Once a known crash is fixed, its entry must go (and its input stays as a test)."""
    reproduced = {known.key for name, file in CASES if (known := _replay(name, file))}
    stale = [k.key for k in targets.KNOWN_CRASHES if k.key not in reproduced]
    assert not stale, f"fixed, remove from targets.KNOWN_CRASHES: {stale}"


@pytest.mark.parametrize("name", sorted(targets.TARGETS))
def test_seeds_reach_the_loader(name: str) -> None:
    for data in targets.seed_inputs()[name]:
        targets.run(name, data)
