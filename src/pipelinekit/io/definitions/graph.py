"""From a CRM's list of stages to a :class:`PipelineSpec`: the default graph of transitions.

A CRM exports its stages (ids, labels, order, probabilities, closed / won
flags, forecast categories) but not which moves are allowed: HubSpot and
Salesforce let a person drag a deal anywhere.  An imported pipeline gets the
documented default graph of :class:`ImportGraph`:

* ``advance`` from each open stage to the next open one, and ``back`` from
  each open stage to the previous one (``back=False`` leaves these out);
* ``lose`` from any open stage to each lost stage;
* ``win`` from the last open stage to each won stage (``win_from="any"``:
  from every open stage);
* ``reopen`` from each closed stage to the first open one (``reopen=True``).

Every imported stage keeps the source's id as its key and its label, order,
probability, kind and forecast category.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Literal

import attrs

from ...errors import Problem
from ...pipelines import PipelineDefinitionError, PipelineSpec, StageKind, pipeline_from_dict

__all__ = ["ImportGraph", "ImportedStage", "build_spec"]


@attrs.frozen(kw_only=True)
class ImportGraph:
    """Which transitions an imported pipeline gets (see the module docs)."""

    back: bool = True
    win_from: Literal["last", "any"] = "last"
    reopen: bool = False
    require_lost_reason: bool = True


@attrs.frozen(kw_only=True)
class ImportedStage:
    """One stage as a CRM describes it, with ``path``: where it sits in the source file."""

    path: str
    key: str
    label: str
    kind: StageKind
    probability: Decimal  # percent
    forecast: str | None = None


def build_spec(
    key: str,
    label: str,
    stages: Sequence[ImportedStage],
    *,
    graph: ImportGraph,
    description: str | None,
    source_path: str,
    lost_reasons: tuple[str, ...] = (),
) -> PipelineSpec:
    """A :class:`PipelineSpec` of ``stages`` (in order) with ``graph``'s transitions.

    Problems of the whole (no won stage, a duplicate id) are reported at the
    source's paths: a stage's at its own, the rest at ``source_path``.
    """
    open_keys = [s.key for s in stages if s.kind is StageKind.OPEN]
    won = [s.key for s in stages if s.kind is StageKind.WON]
    lost = [s.key for s in stages if s.kind is StageKind.LOST]
    transitions: list[dict[str, Any]] = []
    for here, after in itertools.pairwise(open_keys):
        transitions.append({"event": "advance", "source": here, "target": after})
        if graph.back:
            transitions.append({"event": "back", "source": after, "target": here})
    if open_keys:
        winners = open_keys if graph.win_from == "any" else open_keys[-1:]
        transitions += [{"event": "win", "source": winners, "target": w} for w in won]
        transitions += [{"event": "lose", "source": "*", "target": t} for t in lost]
        if graph.reopen:
            transitions += [
                {"event": "reopen", "source": closed, "target": open_keys[0]}
                for closed in won + lost
            ]
    data: dict[str, Any] = {
        "key": key,
        "label": label,
        "probability_unit": "percent",  # converted from the source's unit above
        "require_lost_reason": graph.require_lost_reason,
        "stages": [
            {
                "key": s.key,
                "label": s.label,
                "kind": s.kind.value,
                "probability": s.probability,
                "order": order,
                **({"forecast": s.forecast} if s.forecast else {}),
            }
            for order, s in enumerate(stages)
        ],
        "transitions": transitions,
    }
    if description is not None:
        data["description"] = description
    if lost_reasons:
        data["lost_reasons"] = list(lost_reasons)
    try:
        return pipeline_from_dict(data)
    except PipelineDefinitionError as error:
        raise PipelineDefinitionError(
            key, [_at_source(p, stages, source_path) for p in error.problems]
        ) from None


def _at_source(problem: Problem, stages: Sequence[ImportedStage], source_path: str) -> Problem:
    """A problem of the built definition, at the place in the source file it comes from:
    ``$.stages[2].key`` at the third stage's path (naming the field), anything of the
    whole (no won stage; the transitions, which are built from the stages) at
    ``source_path``."""
    if problem.path.startswith("$.stages["):
        index, _, rest = problem.path.removeprefix("$.stages[").partition("]")
        if index.isdigit() and int(index) < len(stages):
            field = rest.lstrip(".")
            message = f"{field}: {problem.message}" if field else problem.message
            return Problem(stages[int(index)].path, message)
    return Problem(source_path, problem.message)
