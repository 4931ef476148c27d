"""Declarative pipelines on python-statemachine: stages, guards, history, conversion, diagrams.

Define a pipeline as data (:class:`PipelineBuilder`, :func:`pipeline_from_dict`,
:func:`load_pipeline` for TOML), compile it once into a strict state machine
(:func:`compile_pipeline`) and move leads and opportunities with the
:class:`Pipeline` methods (``fire``, ``move``, ``win``, ``lose``, ``reopen``,
``bulk``) or the functions in :mod:`pipelinekit.pipelines.operations`.
"""

from __future__ import annotations

from .builder import PipelineBuilder, guard
from .builtins import LEAD_LIFECYCLE, SALES, lead_lifecycle, sales_pipeline
from .bulk import BulkFailure, BulkResult, fire_many
from .compile import Candidate, Pipeline, compile_pipeline
from .diagrams import DiagramDependencyError, to_dot, to_markdown, to_mermaid, write_image
from .errors import (
    BulkTransitionError,
    ConversionError,
    GuardFailed,
    InvalidTransition,
    PipelineDefinitionError,
    PipelineMismatch,
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
from .operations import (
    Conversion,
    Moved,
    available_events,
    change_pipeline,
    convert,
    explain,
    fire,
    is_rotting,
    layered_probability,
    lose,
    move,
    open_opportunity,
    reopen,
    set_probability,
    stage_durations,
    time_in_stage,
    win,
)
from .registry import PipelineSet, UnknownPipeline
from .spec import ANY_OPEN, GuardSpec, PipelineSpec, StageKind, StageSpec, TransitionSpec

__all__ = [
    "ANY_OPEN",
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
    "available_events",
    "change_pipeline",
    "compile_pipeline",
    "convert",
    "default_guards",
    "explain",
    "fire",
    "fire_many",
    "guard",
    "is_rotting",
    "layered_probability",
    "lead_lifecycle",
    "load_pipeline",
    "loads_pipeline",
    "lose",
    "move",
    "open_opportunity",
    "pipeline_from_dict",
    "read_field",
    "reopen",
    "sales_pipeline",
    "set_probability",
    "stage_durations",
    "time_in_stage",
    "to_dot",
    "to_markdown",
    "to_mermaid",
    "win",
    "write_image",
]
