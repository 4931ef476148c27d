"""pipelinekit: typed, embeddable sales pipelines.

The public namespace re-exports the domain core (value objects and the Lead,
Prospect and Opportunity entities), declarative pipelines, qualification
strategies, the storage ports with the in-memory adapter, the error tree,
clocks and serialization.  Database adapters live in ``pipelinekit.storage.sql``
(the ``sql`` / ``postgres`` extras).
Capabilities with optional dependencies live in their own subpackages
(``pipelinekit.testing`` needs the ``test`` extra).
"""

from __future__ import annotations

from typing import Any

from .analytics.errors import MixedCurrencies
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
from .qualification import (
    EvaluationError,
    Hysteresis,
    PluginWarning,
    Proposal,
    UnknownQualifier,
    apply_proposal,
    available_qualifiers,
    bant,
    best_persona,
    describe,
    engagement,
    gate,
    icp_fit,
    matrix,
    preview,
    propose,
    register_qualifier,
    to_prospect,
    weighted,
)
from .qualification import build as build_qualifier
from .qualification.results import BreakdownLine, CriterionStatus, QualificationResult, Verdict
from .serialization import SCHEMA_VERSION, from_dict, from_json, to_dict, to_json
from .storage import (
    ConcurrencyConflict,
    DuplicateExternalId,
    NotFound,
    StorageError,
    memory_storage,
)

__all__ = [
    "SCHEMA_VERSION",
    "BreakdownLine",
    "BulkResult",
    "BulkTransitionError",
    "Channel",
    "Clock",
    "Company",
    "ConcurrencyConflict",
    "Conversion",
    "ConversionError",
    "CriterionStatus",
    "CurrencyMismatch",
    "CustomValue",
    "DomainEvent",
    "DuplicateExternalId",
    "EmailAddress",
    "EvaluationError",
    "Event",
    "FixedClock",
    "FrozenMap",
    "GuardFailed",
    "GuardRegistry",
    "Hysteresis",
    "InvalidTransition",
    "Lead",
    "LeadId",
    "MixedCurrencies",
    "Money",
    "Moved",
    "NotFound",
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
    "PluginWarning",
    "ProbabilitySource",
    "Problem",
    "Proposal",
    "Prospect",
    "ProspectId",
    "QualificationResult",
    "Seniority",
    "Source",
    "StageChange",
    "StageChanged",
    "StageKind",
    "StorageError",
    "SystemClock",
    "UnknownPipeline",
    "UnknownQualifier",
    "ValidationError",
    "Verdict",
    "apply_proposal",
    "available_qualifiers",
    "bant",
    "best_persona",
    "build_qualifier",
    "compile_pipeline",
    "custom_fields",
    "default_guards",
    "describe",
    "engagement",
    "from_dict",
    "from_json",
    "gate",
    "icp_fit",
    "lead_lifecycle",
    "load_pipeline",
    "loads_pipeline",
    "matrix",
    "memory_storage",
    "pipeline_from_dict",
    "preview",
    "propose",
    "register_qualifier",
    "sales_pipeline",
    "to_dict",
    "to_json",
    "to_prospect",
    "weighted",
]


def __getattr__(name: str) -> Any:
    # __version__ is read lazily from the installed package's metadata.
    if name == "__version__":
        from importlib.metadata import version

        return version("pipelinekit")
    raise AttributeError(f"module 'pipelinekit' has no attribute {name!r}")
