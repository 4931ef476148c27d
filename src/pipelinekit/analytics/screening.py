"""Stages a pipeline does not know: refused (every one, with its path) or skipped and counted.

An opportunity of one of a report's pipelines whose current stage, or a stage
in its history, is not a stage of that pipeline (a stage renamed or removed
from the definition, data written by another system) cannot be placed in the
report.  Every opportunity report (``funnel``, ``forecast``, ``sales_metrics``,
``time_in_stages``, ``stale_deals``) checks its opportunities (every one of
its pipelines', current stage and whole history), the same way whether it
aggregates in memory or a storage pushes the work down:

- ``unknown_stages="raise"`` (the default): a :class:`~pipelinekit.ValidationError`
  with one problem per unknown stage, its path naming the opportunity
  (``$.opportunities[3].history[1].to_stage`` for entities given as a list,
  ``$.opportunities['<id>'].stage`` for a unit of work's stored ones);
- ``unknown_stages="skip"``: those opportunities are left out of the report
  and counted in its ``skipped``.

Opportunities of pipelines the report was not asked about are never looked at.
A report computed in memory checks each opportunity while it reads it, in its
own pass (:class:`Screen`), so the check costs no second reading.  A storage
can find the unknown stages itself with the optional
``unknown_stage_rows(pipelines)`` method of its unit of work (see
:class:`UnknownStageRow`), and may answer a report and its check in one query
(the SQL storages' funnel of now); otherwise its opportunities are read and
checked here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import tzinfo
from typing import Any, Literal, NamedTuple, TypeAlias

from ..domain import Opportunity
from ..errors import Problem, ValidationError
from ..pipelines import PipelineSpec
from ._common import opportunities_of
from .ports import AnalyticsQueries, AnalyticsSource

__all__ = [
    "Screen",
    "UnknownStageRow",
    "UnknownStages",
    "admitted",
    "check_mode",
    "raise_unknown",
    "screen_stages",
    "screening_for",
    "unknown_stages_of",
]

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


def check_mode(mode: object) -> None:
    """Refuse an ``unknown_stages`` argument other than ``"raise"`` and ``"skip"``."""
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


class Screen:
    """The check of one report, made while the report reads its opportunities.

    :meth:`admitted` yields the opportunities to count (in ``"skip"`` mode
    without those naming an unknown stage; in ``"raise"`` mode also without
    them, noting every problem); :meth:`finish`, called after the report's
    pass, raises the :class:`~pipelinekit.ValidationError` with every problem,
    or returns how many opportunities were skipped.  Objects that are not
    opportunities are passed through (the report refuses them where it reads
    them).  Paths name an opportunity by its position (``by_id=False``, for
    entities given as a list) or its id (a unit of work's stored ones).
    """

    def __init__(
        self, specs: Mapping[str, PipelineSpec], mode: UnknownStages, *, by_id: bool
    ) -> None:
        check_mode(mode)
        self.specs = specs
        self.mode = mode
        self.by_id = by_id
        #: Every ``(pipeline, stage)`` the report's pipelines know.
        self.known = frozenset(
            (key, stage.key) for key, spec in specs.items() for stage in spec.stages
        )
        self.rows: list[UnknownStageRow] = []
        self.paths: dict[str, str] = {}

    def admitted(self, opportunities: Iterable[Any]) -> Iterator[Any]:
        """``opportunities`` without those naming a stage their pipeline does not know."""
        known, specs, kind = self.known, self.specs, Opportunity
        for i, opp in enumerate(opportunities):
            if opp.__class__ is not kind and not isinstance(opp, kind):
                yield opp
                continue
            pipeline = opp.pipeline
            history = opp.history
            if (pipeline, opp.stage) in known or pipeline not in specs:
                if not history:
                    yield opp
                    continue
                for change in history:
                    moved = change.pipeline or pipeline
                    if (moved, change.to_stage) not in known and moved in specs:
                        break
                else:
                    first = history[0]
                    left = first.from_stage
                    if left is None:
                        yield opp
                        continue
                    leaving = first.from_pipeline or first.pipeline or pipeline
                    if (leaving, left) in known or leaving not in specs:
                        yield opp
                        continue
            if not self.reject(opp, i):  # pragma: no cover - the two checks agree
                yield opp

    def history_known(self, opp: Opportunity) -> bool:
        """Whether every stage ``opp``'s history names is known to its pipeline
        (or belongs to a pipeline the report does not ask about)."""
        known, specs = self.known, self.specs
        history = opp.history
        if not history:
            return True
        pipeline = opp.pipeline
        for change in history:
            moved = change.pipeline or pipeline
            if (moved, change.to_stage) not in known and moved in specs:
                return False
        first = history[0]
        left = first.from_stage
        if left is None:
            return True
        leaving = first.from_pipeline or first.pipeline or pipeline
        return (leaving, left) in known or leaving not in specs

    def reject(self, opp: Opportunity, position: int) -> bool:
        """Note ``opp`` (at ``position`` of the report's input) if it names an unknown
        stage; whether it does."""
        found = unknown_stages_of(opp, self.specs)
        if not found:
            return False
        self.rows += found
        self.paths[opp.id] = (
            f"$.opportunities[{opp.id!r}]" if self.by_id else f"$.opportunities[{position}]"
        )
        return True

    def finish(self) -> int:
        """After the report's pass: raise in ``"raise"`` mode if a stage was unknown,
        else the number of opportunities skipped."""
        if self.rows and self.mode == "raise":
            raise ValidationError("analytics", _problems(self.rows, self.paths))
        return len(self.paths)


def raise_unknown(rows: Iterable[UnknownStageRow]) -> None:
    """Raise the :class:`~pipelinekit.ValidationError` for a storage's unknown stages
    (opportunities named by id), if there are any."""
    found = list(rows)
    if found:
        paths = {row.opportunity_id: f"$.opportunities[{row.opportunity_id!r}]" for row in found}
        raise ValidationError("analytics", _problems(found, paths))


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
    check_mode(mode)
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
    screen = Screen(specs, mode, by_id=by_id)
    kept = list(screen.admitted(entities))
    skipped = screen.finish()
    if not skipped:
        return entities, 0
    bad = set(screen.paths)
    return [o for o in kept if not (isinstance(o, Opportunity) and o.id in bad)], skipped


def screening_for(
    source: object,
    specs: Mapping[str, PipelineSpec],
    mode: UnknownStages,
    *,
    zone: tzinfo | None = None,
) -> tuple[Screen | None, object, int]:
    """How a report checks ``source``: ``(screen, source, skipped)``.

    A report the storage aggregates itself (it offers
    :class:`~pipelinekit.analytics.ports.AnalyticsQueries` and no time zone
    forces the work into memory) is checked first (:func:`screen_stages`:
    ``screen`` is ``None``, ``source`` may become the list of the opportunities
    left); any other report checks each opportunity in its own pass through
    ``screen`` (see :func:`admitted`) and calls :meth:`Screen.finish` after it.
    """
    if isinstance(source, AnalyticsQueries) and zone is None:
        screened, skipped = screen_stages(source, specs, mode)
        return None, screened, skipped
    return Screen(specs, mode, by_id=isinstance(source, AnalyticsSource)), source, 0


def admitted(screen: Screen | None, source: object) -> Iterable[Opportunity]:
    """The opportunities of ``source`` a report counts, checked by ``screen`` as they are read."""
    opportunities = opportunities_of(source)
    return opportunities if screen is None else screen.admitted(opportunities)
