"""Settings for the whole suite.

Hypothesis runs with a profile that suits a loaded machine (CI runners, a
laptop running other jobs): no deadline, and no health check that fails only
because generation was slow.  ``HYPOTHESIS_PROFILE`` picks another one.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "pipelinekit",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "pipelinekit"))
