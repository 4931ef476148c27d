"""Stages a pipeline does not know: refused (every one, with its path) or skipped and counted.

An opportunity of one of a report's pipelines whose current stage, or a stage
in its history, is not a stage of that pipeline (a stage renamed or removed
from the definition, data written by another system) cannot be placed in the
report.  Every opportunity report (``funnel``, ``forecast``, ``sales_metrics``,
``time_in_stages``, ``stale_deals``) checks its opportunities first, the same
way whether it aggregates in memory or a storage pushes the work down:

- ``unknown_stages="raise"`` (the default): a :class:`~pipelinekit.ValidationError`
  with one problem per unknown stage, its path naming the opportunity
  (``$.opportunities[3].history[1].to_stage`` for entities given as a list,
  ``$.opportunities['<id>'].stage`` for a unit of work's stored ones);
- ``unknown_stages="skip"``: those opportunities are left out of the report
  and counted in its ``skipped``.

Opportunities of pipelines the report was not asked about are never looked at.
A storage can find the unknown stages itself with the optional
``unknown_stage_rows(pipelines)`` method of its unit of work (see
:class:`UnknownStageRow`); otherwise its opportunities are read and checked here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, NamedTuple, TypeAlias

from ..domain import Opportunity
from ..errors import Problem, ValidationError
from ..pipelines import PipelineSpec
from .ports import AnalyticsQueries, AnalyticsSource

__all__ = ["UnknownStageRow", "UnknownStages", "screen_stages", "unknown_stages_of"]

#: What a report does with an opportunity naming a stage its pipeline does not know.
UnknownStages: TypeAlias = Literal["raise", "skip"]


class UnknownStageRow(NamedTuple):
    """One stage an opportunity names that its pipeline does not know.

    ``where`` is ``"stage"`` (the current stage), ``"history[N].to_stage"`` or
    ``"history[0].from_stage"`` (the stage a first recorded move left).
    """

    opportunity_id: str
    where: str
    pipeline: str
    stage: str


def _check_mode(mode: object) -> None:
    if mode not in ("raise", "skip"):
        raise ValidationError(
            "analytics",
            [Problem("$.unknown_stages", f"must be 'raise' or 'skip', got {mode!r}")],
        )


def unknown_stages_of(
    opportunity: Opportunity, specs: Mapping[str, PipelineSpec]
) -> list[UnknownStageRow]:
    """The stages ``opportunity`` names that its pipeline (one of ``specs``) does not know."""
    found: list[UnknownStageRow] = []

    def check(pipeline: str | None, stage: str, where: str) -> None:
        spec = specs.get(pipeline) if pipeline is not None else None
        if spec is not None and stage not in spec.stage_keys:
            found.append(UnknownStageRow(opportunity.id, where, spec.key, stage))

    check(opportunity.pipeline, opportunity.stage, "stage")
    history = opportunity.history
    for i, change in enumerate(history):
        pipeline = change.pipeline or opportunity.pipeline
        if i == 0 and change.from_stage is not None:
            check(change.from_pipeline or pipeline, change.from_stage, "history[0].from_stage")
        check(pipeline, change.to_stage, f"history[{i}].to_stage")
    return found


def _problems(rows: Iterable[UnknownStageRow], path_of: Mapping[str, str]) -> list[Problem]:
    out = []
    for row in rows:
        out.append(
            Problem(
                f"{path_of[row.opportunity_id]}.{row.where}",
                f"stage {row.stage!r} is not a stage of pipeline {row.pipeline!r} "
                f"(opportunity {row.opportunity_id}); pass unknown_stages='skip' to leave "
                "such opportunities out and count them",
            )
        )
    out.sort(key=lambda p: p.path)
    return out


def screen_stages(
    source: object, specs: Mapping[str, PipelineSpec], mode: UnknownStages
) -> tuple[object, int]:
    """``source`` checked for unknown stages: itself (or a list of its opportunities
    without the skipped ones) and how many opportunities were skipped.

    A one-shot iterable of entities is read once, into a list.  Raises
    :class:`~pipelinekit.ValidationError` in ``"raise"`` mode if any stage is unknown.
    """
    _check_mode(mode)
    if isinstance(source, AnalyticsSource):
        finder = getattr(source, "unknown_stage_rows", None)
        rows: list[UnknownStageRow] | None = finder(specs) if callable(finder) else None
        if rows is None and not isinstance(source, AnalyticsQueries):
            # The report reads every opportunity anyway: read them once, here.
            return _screen_list(list(source.opportunities.iterate()), specs, mode, by_id=True)
        if rows is None:
            rows = []
            for opp in source.opportunities.iterate():
                rows += unknown_stages_of(opp, specs)
        if not rows:
            return source, 0
        paths = {row.opportunity_id: f"$.opportunities[{row.opportunity_id!r}]" for row in rows}
        if mode == "raise":
            raise ValidationError("analytics", _problems(rows, paths))
        bad = {row.opportunity_id for row in rows}
        return [o for o in source.opportunities.iterate() if o.id not in bad], len(bad)
    if not isinstance(source, Iterable) or isinstance(source, str | bytes):
        return source, 0  # refused with its path where the report reads it
    return _screen_list(list(source), specs, mode, by_id=False)


def _screen_list(
    entities: list[Any], specs: Mapping[str, PipelineSpec], mode: UnknownStages, *, by_id: bool
) -> tuple[list[Any], int]:
    rows: list[UnknownStageRow] = []
    paths: dict[str, str] = {}
    for i, opp in enumerate(entities):
        if isinstance(opp, Opportunity):
            found = unknown_stages_of(opp, specs)
            if found:
                paths[opp.id] = f"$.opportunities[{opp.id!r}]" if by_id else f"$.opportunities[{i}]"
                rows += found
    if not rows:
        return entities, 0
    if mode == "raise":
        raise ValidationError("analytics", _problems(rows, paths))
    bad = {row.opportunity_id for row in rows}
    return [o for o in entities if not (isinstance(o, Opportunity) and o.id in bad)], len(bad)
