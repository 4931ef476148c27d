"""The built-in pipelines: the classic five-stage sales pipeline and the lead lifecycle."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from .compile import Pipeline, compile_pipeline
from .loading import pipeline_from_dict
from .spec import PipelineSpec

__all__ = ["LEAD_LIFECYCLE", "SALES", "lead_lifecycle", "sales_pipeline"]

_OPEN_SALES = ("initial_contact", "qualification", "meeting", "proposal")

_SALES: dict[str, Any] = {
    "key": "sales",
    "label": "Sales",
    "description": "Initial contact, qualification, meeting, proposal, then closed won or lost.",
    "stages": [
        {
            "key": "initial_contact",
            "label": "Initial contact",
            "probability": 10,
            "rotting_days": 14,
        },
        {"key": "qualification", "label": "Qualification", "probability": 20, "rotting_days": 21},
        {
            "key": "meeting",
            "label": "Meeting",
            "probability": 40,
            "forecast": "best_case",
            "rotting_days": 21,
        },
        {
            "key": "proposal",
            "label": "Proposal",
            "probability": 60,
            "forecast": "commit",
            "rotting_days": 30,
        },
        {"key": "closed_won", "label": "Closed won", "kind": "won", "probability": 100},
        {"key": "closed_lost", "label": "Closed lost", "kind": "lost", "probability": 0},
    ],
    "transitions": [
        *({"event": "advance", "source": a, "target": b} for a, b in pairwise(_OPEN_SALES)),
        {"event": "win", "source": "proposal", "target": "closed_won"},
        {
            "event": "lose",
            "source": "*",
            "target": "closed_lost",
            "guards": [{"name": "lost_reason_given"}],
        },
        *(
            {"event": "reopen", "source": ["closed_won", "closed_lost"], "target": stage}
            for stage in _OPEN_SALES
        ),
    ],
}

_LIFECYCLE: dict[str, Any] = {
    "key": "lead_lifecycle",
    "label": "Lead lifecycle",
    "description": "New leads are contacted, nurtured, qualified or disqualified, then converted.",
    "stages": [
        {"key": "new", "label": "New"},
        {"key": "contacted", "label": "Contacted"},
        {"key": "nurturing", "label": "Nurturing"},
        {"key": "qualified", "label": "Qualified"},
        {"key": "disqualified", "label": "Disqualified", "kind": "lost"},
        {"key": "converted", "label": "Converted", "kind": "won"},
    ],
    "transitions": [
        {"event": "contact", "source": "new", "target": "contacted"},
        {"event": "nurture", "source": ["new", "contacted"], "target": "nurturing"},
        {"event": "qualify", "source": ["new", "contacted", "nurturing"], "target": "qualified"},
        {
            "event": "disqualify",
            "source": ["new", "contacted", "nurturing", "qualified"],
            "target": "disqualified",
        },
        {"event": "convert", "source": "qualified", "target": "converted"},
        {"event": "recycle", "source": "disqualified", "target": "nurturing"},
    ],
}

#: The classic five-stage sales pipeline (lost reachable from every open stage).
SALES: PipelineSpec = pipeline_from_dict(_SALES)
#: The lead lifecycle shared with qualification's verdict proposals.
LEAD_LIFECYCLE: PipelineSpec = pipeline_from_dict(_LIFECYCLE)


def sales_pipeline() -> Pipeline:
    """The compiled built-in sales pipeline."""
    return compile_pipeline(SALES)


def lead_lifecycle() -> Pipeline:
    """The compiled built-in lead lifecycle."""
    return compile_pipeline(LEAD_LIFECYCLE)
