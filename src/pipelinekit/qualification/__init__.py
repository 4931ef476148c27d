"""Qualification: strategies that score leads and prospects and explain every point.

* :func:`bant` (the default) and the other checklist presets, or your own
  :func:`checklist`;
* :func:`icp_fit` with :func:`one_of`, :func:`bands`, :func:`pattern`,
  :func:`present`, :func:`predicate` and :func:`all_of` (AND-rule) criteria;
* :func:`engagement` with :func:`rule`, :func:`event_group` and a decay
  (:func:`half_life`, :func:`step_decay`, :func:`linear_decay`,
  :func:`window`, :func:`no_decay`);
* composites: :func:`weighted`, :func:`matrix` (A1..C3), :func:`combined`
  (fit points + engagement points), :func:`gate`;
* :func:`profile_grade` with :func:`graded` criteria: Pardot-style letter
  grades (F to A+, in thirds);
* :func:`rollup` scores a company from its contacts' results;
* :func:`predictive`, a naive Bayes model learnt from won and lost deals
  (Odoo-compatible numbers, explained in log-odds);
* :func:`preview` shows what a draft configuration would change,
  :func:`best_persona` / :func:`to_prospect` turn fitting leads into prospects;
* :func:`build` / :func:`from_toml` make strategies from configuration, and
  the registry (:func:`register_qualifier`, entry point group
  ``pipelinekit.qualifiers``) adds your own.

Turning a verdict into a lead lifecycle move (``propose``, ``apply_proposal``)
combines qualification with pipelines, so it lives a layer above both, in
:mod:`pipelinekit.lifecycle`.
"""

import importlib
import warnings
from typing import Any

from .base import (
    Band,
    Grade,
    Strategy,
    StrategyBase,
    band_for,
    config_hash,
    evaluate_many,
    grade_for,
)
from .checklist import (
    Item,
    anum,
    bant,
    champ,
    checklist,
    checklist_answers,
    faint,
    gpctba_ci,
    item,
    meddpicc,
)
from .composite import DEFAULT_GRID, combined, gate, matrix, normalized, weighted
from .config import build, from_toml
from .engagement import (
    Decay,
    EventGroup,
    Rule,
    engagement,
    event_group,
    half_life,
    linear_decay,
    no_decay,
    rule,
    step_decay,
    window,
)
from .errors import EvaluationError, PluginWarning, UnknownQualifier
from .grading import LETTERS, ProfileCriterion, graded, profile_grade
from .icp import (
    Criterion,
    MissingData,
    NumericBand,
    all_of,
    bands,
    icp_fit,
    one_of,
    pattern,
    predicate,
    present,
)
from .personas import PersonaMatch, best_persona, link_prospect, to_prospect
from .predictive import FrequencyRow, FrequencyTable, PredictiveStrategy, predictive
from .preview import Cause, Change, Preview, preview
from .registry import (
    GROUP,
    available_qualifiers,
    get_qualifier,
    register_qualifier,
    unregister_qualifier,
)
from .report import describe
from .results import BreakdownLine, CriterionStatus, QualificationResult, Verdict
from .rollup import rollup

__all__ = [
    "DEFAULT_GRID",
    "GROUP",
    "Band",
    "BreakdownLine",
    "Cause",
    "Change",
    "Criterion",
    "CriterionStatus",
    "Decay",
    "EvaluationError",
    "EventGroup",
    "FrequencyRow",
    "FrequencyTable",
    "Grade",
    "Item",
    "LETTERS",
    "MissingData",
    "NumericBand",
    "PersonaMatch",
    "PluginWarning",
    "PredictiveStrategy",
    "Preview",
    "ProfileCriterion",
    "QualificationResult",
    "Rule",
    "Strategy",
    "StrategyBase",
    "UnknownQualifier",
    "Verdict",
    "all_of",
    "anum",
    "available_qualifiers",
    "band_for",
    "bands",
    "bant",
    "best_persona",
    "build",
    "champ",
    "checklist",
    "checklist_answers",
    "combined",
    "config_hash",
    "describe",
    "engagement",
    "evaluate_many",
    "event_group",
    "faint",
    "from_toml",
    "gate",
    "get_qualifier",
    "gpctba_ci",
    "graded",
    "grade_for",
    "half_life",
    "icp_fit",
    "item",
    "link_prospect",
    "linear_decay",
    "matrix",
    "meddpicc",
    "no_decay",
    "normalized",
    "one_of",
    "pattern",
    "predicate",
    "predictive",
    "present",
    "preview",
    "profile_grade",
    "register_qualifier",
    "rollup",
    "rule",
    "step_decay",
    "to_prospect",
    "unregister_qualifier",
    "weighted",
    "window",
]

# Deprecated names that moved up a layer, to pipelinekit.lifecycle.  They are
# resolved by name when asked for (qualification never imports the layer above
# it) and go away in the next release.
_MOVED_TO_LIFECYCLE = frozenset(
    ["Hysteresis", "Proposal", "apply_proposal", "propose", "propose_many"]
)


def __getattr__(name: str) -> Any:
    if name in _MOVED_TO_LIFECYCLE:
        warnings.warn(
            f"pipelinekit.qualification.{name} moved to pipelinekit.lifecycle.{name}; "
            "the old name goes away in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module("pipelinekit.lifecycle"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
