"""Suite-wide test settings.

The ``mutation`` Hypothesis profile is registered here and loaded only by mutation
runs (``[tool.mutmut] pytest_add_cli_args`` passes ``--hypothesis-profile=mutation``;
see ``tests/mutation/run.py``).  Normal runs keep Hypothesis's default profile.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "mutation",
    # mutmut's trampolines run each test body through a different executor than
    # the one Hypothesis first saw, which trips this health check.
    suppress_health_check=[
        HealthCheck.differing_executors,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
    # One mutant after another on a loaded machine: fewer examples, no deadline,
    # and the same examples on every run so that a score is reproducible.
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
)
