"""Suite-wide Hypothesis profiles.

``suite`` (loaded here) suits a shared, loaded machine: no deadline, and no health
check that fails only because generating entities is slow under load.

``fuzz`` runs every property at 2,000 examples, for long runs of the fuzz suite
(``pytest tests/fuzz --hypothesis-profile=fuzz``).

``mutation`` is loaded only by mutation runs (``[tool.mutmut] pytest_add_cli_args``
passes ``--hypothesis-profile=mutation``; see ``tests/mutation/run.py``): fewer
examples, the same examples on every run so that a score is reproducible, and
``differing_executors`` suppressed, because mutmut's trampolines run a test body
through a different executor than the one Hypothesis first saw.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "suite",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "mutation",
    settings.get_profile("suite"),
    suppress_health_check=[
        HealthCheck.differing_executors,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
    max_examples=25,
    derandomize=True,
    database=None,
    print_blob=False,
)
# long runs of the fuzz properties (tests/fuzz/test_properties.py): 2,000 examples per test
settings.register_profile("fuzz", settings.get_profile("suite"), max_examples=2000)
# HYPOTHESIS_PROFILE or --hypothesis-profile=NAME (applied after this) picks another one.
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))

#: Mutation runs cap every test's examples here, even where a test asks for more.
MUTATION_MAX_EXAMPLES = 25


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In mutation runs: fastest tests first, and at most MUTATION_MAX_EXAMPLES examples.

    A mutant is killed by its first failing test, so running the cheap tests first
    (by the durations mutmut measured, in ``mutmut-stats.json`` of the mutants
    folder) makes killed mutants cheap; a survivor still runs every covering test.
    """
    if config.getoption("hypothesis_profile", None) != "mutation":
        return
    for item in items:
        test = getattr(item, "obj", None)
        chosen = getattr(test, "_hypothesis_internal_use_settings", None)
        if isinstance(chosen, settings) and chosen.max_examples > MUTATION_MAX_EXAMPLES:
            capped = settings(chosen, max_examples=MUTATION_MAX_EXAMPLES)
            test._hypothesis_internal_use_settings = capped  # type: ignore[union-attr]
    stats = Path("mutmut-stats.json")
    if stats.exists():
        durations = json.loads(stats.read_text(encoding="utf-8")).get("duration_by_test", {})
        items.sort(key=lambda item: durations.get(item.nodeid, 0.0))
