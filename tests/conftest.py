"""Suite-wide Hypothesis profiles.

``suite`` (loaded here) suits a shared, loaded machine: no deadline, and no health
check that fails only because generating entities is slow under load.

``mutation`` is loaded only by mutation runs (``[tool.mutmut] pytest_add_cli_args``
passes ``--hypothesis-profile=mutation``; see ``tests/mutation/run.py``): fewer
examples, the same examples on every run so that a score is reproducible, and
``differing_executors`` suppressed, because mutmut's trampolines run a test body
through a different executor than the one Hypothesis first saw.
"""

from __future__ import annotations

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
    max_examples=50,
    derandomize=True,
    database=None,
    print_blob=False,
)
settings.load_profile("suite")  # --hypothesis-profile=NAME, applied after this, wins
