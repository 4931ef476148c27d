"""Declarative pipelines on python-statemachine: stages, guards, history, conversion, diagrams.

Define a pipeline as data (:class:`PipelineBuilder`, :func:`pipeline_from_dict`,
:func:`load_pipeline` for TOML), compile it once into a strict state machine
(:func:`compile_pipeline`) and move leads and opportunities with the
:class:`Pipeline` methods: ``fire``, ``move``, ``win``, ``lose``, ``reopen``,
``open``, ``convert``, ``set_probability``, ``change_pipeline``, ``bulk``,
``explain``, ``available_events`` and ``is_rotting``.

The free functions that used to repeat those methods (``fire``, ``fire_many``,
``convert``, ...) are deprecated aliases for one release.
"""

from __future__ import annotations

from typing import Any

from ..domain.timing import stage_durations, time_in_stage
from .builder import PipelineBuilder, guard
from .builtins import LEAD_LIFECYCLE, SALES, lead_lifecycle, sales_pipeline
from .compile import compile_pipeline
from .diagrams import DiagramDependencyError, to_dot, to_markdown, to_mermaid, write_image
from .errors import (
    BulkTransitionError,
    ConversionError,
    GuardFailed,
    InvalidTransition,
    PipelineDefinitionError,
    PipelineMismatch,
    StaleTime,
    UnknownGuard,
)
from .events import (
    DomainEvent,
    LeadConverted,
    OpportunityLost,
    OpportunityOpened,
    OpportunityReopened,
    OpportunityWon,
    PipelineChanged,
    ProbabilityChanged,
    StageChanged,
)
from .guards import (
    MISSING,
    Guard,
    GuardParameterError,
    GuardRegistry,
    Subject,
    default_guards,
    read_field,
)
from .loading import load_pipeline, loads_pipeline, pipeline_from_dict
from .machine import Candidate
from .operations import deprecated as _deprecated
from .outcomes import BulkFailure, BulkResult, Conversion, Moved
from .pipeline import Pipeline
from .registry import PipelineSet, UnknownPipeline
from .spec import (
    ANY_OPEN,
    BUILTIN_FORECAST_CATEGORIES,
    ForecastCategory,
    GuardSpec,
    PipelineSpec,
    StageKind,
    StageSpec,
    TransitionSpec,
    forecast_category,
)
from .writing import dumps_pipeline, write_pipeline

__all__ = [
    "ANY_OPEN",
    "BUILTIN_FORECAST_CATEGORIES",
    "LEAD_LIFECYCLE",
    "MISSING",
    "SALES",
    "BulkFailure",
    "BulkResult",
    "BulkTransitionError",
    "Candidate",
    "Conversion",
    "ConversionError",
    "DiagramDependencyError",
    "DomainEvent",
    "ForecastCategory",
    "Guard",
    "GuardFailed",
    "GuardParameterError",
    "GuardRegistry",
    "GuardSpec",
    "InvalidTransition",
    "LeadConverted",
    "Moved",
    "OpportunityLost",
    "OpportunityOpened",
    "OpportunityReopened",
    "OpportunityWon",
    "Pipeline",
    "PipelineBuilder",
    "PipelineChanged",
    "PipelineDefinitionError",
    "PipelineMismatch",
    "StaleTime",
    "PipelineSet",
    "PipelineSpec",
    "ProbabilityChanged",
    "StageChanged",
    "StageKind",
    "StageSpec",
    "Subject",
    "TransitionSpec",
    "UnknownGuard",
    "UnknownPipeline",
    "compile_pipeline",
    "default_guards",
    "dumps_pipeline",
    "forecast_category",
    "guard",
    "lead_lifecycle",
    "load_pipeline",
    "loads_pipeline",
    "pipeline_from_dict",
    "read_field",
    "sales_pipeline",
    "stage_durations",
    "time_in_stage",
    "to_dot",
    "to_markdown",
    "to_mermaid",
    "write_image",
    "write_pipeline",
]


def __getattr__(name: str) -> Any:
    # The free functions that repeated Pipeline's methods, for one more release.
    alias = _deprecated(name, __name__)
    if alias is not None:
        return alias
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
