"""pipelinekit: typed, embeddable sales pipelines.

The public namespace re-exports the domain core (value objects and the Lead,
Prospect and Opportunity entities), declarative pipelines, qualification
strategies, the storage ports with the in-memory adapter, the error tree,
clocks and serialization.  Database adapters live in ``pipelinekit.storage.sql``
(the ``sql`` / ``postgres`` extras).
Capabilities with optional dependencies live in their own subpackages
(``pipelinekit.testing`` needs the ``test`` extra).

The names are loaded when first used: ``import pipelinekit`` (or
``import pipelinekit.domain``) loads nothing it does not need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .analytics.errors import MixedCurrencies
    from .clock import Clock, FixedClock, SystemClock
    from .domain import (
        BreakdownLine,
        Channel,
        Company,
        CriterionStatus,
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
        Probability,
        ProbabilityChange,
        ProbabilitySource,
        ProbabilityUnit,
        Prospect,
        ProspectId,
        QualificationResult,
        Seniority,
        Source,
        StageChange,
        Verdict,
        custom_fields,
    )
    from .errors import CurrencyMismatch, PipelinekitError, PluginWarning, Problem, ValidationError
    from .lifecycle import Hysteresis, Proposal, apply_proposal, propose
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
        UnknownQualifier,
        available_qualifiers,
        bant,
        best_persona,
        describe,
        engagement,
        gate,
        icp_fit,
        matrix,
        preview,
        register_qualifier,
        to_prospect,
        weighted,
    )
    from .qualification import build as build_qualifier
    from .serialization import SCHEMA_VERSION, from_dict, from_input, from_json, to_dict, to_json
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
    "Probability",
    "ProbabilityChange",
    "ProbabilitySource",
    "ProbabilityUnit",
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
    "from_input",
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

# Where each public name lives: loaded on first use (PEP 562).
_HOMES: dict[str, tuple[str, ...]] = {
    "analytics.errors": ("MixedCurrencies",),
    "clock": ("Clock", "FixedClock", "SystemClock"),
    "domain": (
        "BreakdownLine", "Channel", "Company", "CriterionStatus", "CustomValue",
        "EmailAddress", "Event", "FrozenMap", "Lead", "LeadId", "Money", "Opportunity",
        "OpportunityId", "Outcome", "Person", "PhoneNumber", "Probability",
        "ProbabilityChange", "ProbabilitySource", "ProbabilityUnit", "Prospect", "ProspectId",
        "QualificationResult", "Seniority", "Source", "StageChange", "Verdict",
        "custom_fields",
    ),
    "errors": (
        "CurrencyMismatch", "PipelinekitError", "PluginWarning", "Problem", "ValidationError",
    ),
    "lifecycle": ("Hysteresis", "Proposal", "apply_proposal", "propose"),
    "pipelines": (
        "BulkResult", "BulkTransitionError", "Conversion", "ConversionError", "DomainEvent",
        "GuardFailed", "GuardRegistry", "InvalidTransition", "Moved", "Pipeline",
        "PipelineBuilder", "PipelineDefinitionError", "PipelineMismatch", "PipelineSet",
        "PipelineSpec", "StageChanged", "StageKind", "UnknownPipeline", "compile_pipeline",
        "default_guards", "lead_lifecycle", "load_pipeline", "loads_pipeline",
        "pipeline_from_dict", "sales_pipeline",
    ),
    "qualification": (
        "EvaluationError", "UnknownQualifier", "available_qualifiers", "bant", "best_persona",
        "describe", "engagement", "gate", "icp_fit", "matrix", "preview", "register_qualifier",
        "to_prospect", "weighted",
    ),
    "serialization": (
        "SCHEMA_VERSION", "from_dict", "from_input", "from_json", "to_dict", "to_json",
    ),
    "storage": (
        "ConcurrencyConflict", "DuplicateExternalId", "NotFound", "StorageError",
        "memory_storage",
    ),
}  # fmt: skip
_RENAMED = {"build_qualifier": ("qualification", "build")}
_WHERE = {name: (home, name) for home, names in _HOMES.items() for name in names} | _RENAMED
# Subpackages reachable as attributes after a plain ``import pipelinekit``.
_SUBPACKAGES = frozenset(
    ["analytics", "clock", "domain", "errors", "lifecycle", "pipelines", "qualification",
     "serialization", "storage"]
)  # fmt: skip


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is not None:
        home, attribute = where
        value = getattr(importlib.import_module(f"{__name__}.{home}"), attribute)
        globals()[name] = value  # later lookups skip this function
        return value
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    if name == "__version__":
        # read lazily from the installed package's metadata
        from importlib.metadata import version

        return version("pipelinekit")
    raise AttributeError(f"module 'pipelinekit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_SUBPACKAGES})
