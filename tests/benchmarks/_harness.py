"""The benchmark registry: each benchmark times pipelinekit and a named baseline in one run.

A benchmark module (``tests/benchmarks/bench_*.py``) registers functions with
:func:`benchmark`.  The function receives the problem size and returns a
:class:`Pair`: a zero-argument callable doing the work through pipelinekit, one
doing the same observable work the baseline way, and optional extra figures.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Pair:
    """The two sides of one benchmark, plus extra figures to report."""

    pipelinekit: Callable[[], object]
    baseline: Callable[[], object]
    extra: Callable[[], dict[str, Any]] | None = None


@dataclass
class Benchmark:
    """A registered benchmark."""

    name: str
    target: float
    size: int
    quick_size: int
    baseline: str
    build: Callable[[int], Pair]
    rounds: int = 5


REGISTRY: dict[str, Benchmark] = {}


def benchmark(
    name: str, *, target: float, size: int, quick_size: int, baseline: str, rounds: int = 5
) -> Callable[[Callable[[int], Pair]], Callable[[int], Pair]]:
    """Register a benchmark: ``target`` is the ratio (pipelinekit / baseline) to stay under."""

    def decorator(build: Callable[[int], Pair]) -> Callable[[int], Pair]:
        REGISTRY[name] = Benchmark(name, target, size, quick_size, baseline, build, rounds)
        return build

    return decorator


@dataclass
class Result:
    """Median seconds of each side and their ratio."""

    name: str
    value: float
    baseline: float
    target: float
    size: int
    baseline_name: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("inf")

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "value": self.value,
            "baseline": self.baseline,
            "ratio": self.ratio,
            "target": self.target,
        }
        if self.extra:
            out["extra"] = self.extra
        return out


def _time(func: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    result = func()
    # Settle the young generation inside the timer: a side that paused the cyclic
    # collector leaves its scan for the next allocation, which would otherwise
    # fall outside the timed region. A side that ran with the collector on pays
    # almost nothing here.
    gc.collect(0)
    elapsed = time.perf_counter() - start
    del result
    return elapsed


def run(bench: Benchmark, *, quick: bool) -> Result:
    """Run ``bench``, alternating the two sides each round, and return medians."""
    size = bench.quick_size if quick else bench.size
    pair = bench.build(size)
    rounds = 3 if quick else bench.rounds
    ours: list[float] = []
    theirs: list[float] = []
    for index in range(rounds):
        # Alternate which side goes first so drift on a noisy machine hits both.
        if index % 2:
            theirs.append(_time(pair.baseline))
            ours.append(_time(pair.pipelinekit))
        else:
            ours.append(_time(pair.pipelinekit))
            theirs.append(_time(pair.baseline))
    extra = pair.extra() if pair.extra else {}
    return Result(
        bench.name,
        statistics.median(ours),
        statistics.median(theirs),
        bench.target,
        size,
        bench.baseline,
        extra,
    )
