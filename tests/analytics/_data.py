"""Random opportunities with stage histories (skips, losses, reopenings) for analytics tests.

The generators ship with the analytics contract (so adapter authors get the same data).
"""

from __future__ import annotations

from pipelinekit.testing.contracts.analytics import (
    LEAD_IDS,
    PIPELINES,
    T0,
    deal_lists,
    lead_lists,
    moments,
    opportunities_with_history,
)

SALES, PARTNERS = PIPELINES

__all__ = [
    "LEAD_IDS",
    "PARTNERS",
    "PIPELINES",
    "SALES",
    "T0",
    "deal_lists",
    "lead_lists",
    "moments",
    "opportunities_with_history",
]
