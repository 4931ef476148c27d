"""pipelinekit: typed, embeddable sales pipelines.

The public namespace re-exports the domain core (value objects and the Lead,
Prospect and Opportunity entities), declarative pipelines, the error tree,
clocks and serialization.
Capabilities with optional dependencies live in their own subpackages
(``pipelinekit.testing`` needs the ``test`` extra).
"""

from __future__ import annotations

from typing import Any

from .clock import Clock, FixedClock, SystemClock
from .domain import (
    Channel,
    Company,
    CustomValue,
    EmailAddress,
    Event,
    FrozenMap,
    Lead,
    LeadId,
    Money,
    Opportunity,
    OpportunityId,
    Outcome,
    Person,
    PhoneNumber,
    ProbabilitySource,
    Prospect,
    ProspectId,
    Seniority,
    Source,
    StageChange,
    custom_fields,
)
from .errors import CurrencyMismatch, PipelinekitError, Problem, ValidationError
from .pipelines import (
    BulkResult,
    BulkTransitionError,
    Conversion,
    ConversionError,
    DomainEvent,
    GuardFailed,
    GuardRegistry,
    InvalidTransition,
    Moved,
    Pipeline,
    PipelineBuilder,
    PipelineDefinitionError,
    PipelineMismatch,
    PipelineSet,
    PipelineSpec,
    StageChanged,
    StageKind,
    UnknownPipeline,
    compile_pipeline,
    default_guards,
    lead_lifecycle,
    load_pipeline,
    loads_pipeline,
    pipeline_from_dict,
    sales_pipeline,
)
from .qualification.results import BreakdownLine, CriterionStatus, QualificationResult, Verdict
from .serialization import SCHEMA_VERSION, from_dict, from_json, to_dict, to_json

__all__ = [
    "SCHEMA_VERSION",
    "BreakdownLine",
    "BulkResult",
    "BulkTransitionError",
    "Channel",
    "Clock",
    "Company",
    "Conversion",
    "ConversionError",
    "CriterionStatus",
    "CurrencyMismatch",
    "CustomValue",
    "DomainEvent",
    "EmailAddress",
    "Event",
    "FixedClock",
    "FrozenMap",
    "GuardFailed",
    "GuardRegistry",
    "InvalidTransition",
    "Lead",
    "LeadId",
    "Money",
    "Moved",
    "Opportunity",
    "OpportunityId",
    "Outcome",
    "Person",
    "PhoneNumber",
    "Pipeline",
    "PipelineBuilder",
    "PipelineDefinitionError",
    "PipelineMismatch",
    "PipelineSet",
    "PipelineSpec",
    "PipelinekitError",
    "ProbabilitySource",
    "Problem",
    "Prospect",
    "ProspectId",
    "QualificationResult",
    "Seniority",
    "Source",
    "StageChange",
    "StageChanged",
    "StageKind",
    "SystemClock",
    "UnknownPipeline",
    "ValidationError",
    "Verdict",
    "compile_pipeline",
    "custom_fields",
    "default_guards",
    "from_dict",
    "from_json",
    "lead_lifecycle",
    "load_pipeline",
    "loads_pipeline",
    "pipeline_from_dict",
    "sales_pipeline",
    "to_dict",
    "to_json",
]


def __getattr__(name: str) -> Any:
    # __version__ is read lazily from the installed package's metadata.
    if name == "__version__":
        from importlib.metadata import version

        return version("pipelinekit")
    raise AttributeError(f"module 'pipelinekit' has no attribute {name!r}")
