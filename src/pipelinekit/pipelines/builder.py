"""A small declarative builder for pipeline definitions in Python."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from ..domain.probability import Probability, ProbabilityUnit
from .guards import GuardRegistry
from .loading import pipeline_from_dict
from .spec import GuardSpec, PipelineSpec

__all__ = ["PipelineBuilder", "guard"]


def guard(name: str, /, **params: Any) -> GuardSpec:
    """Name a registered guard with its parameters: ``guard("min_score", min=9)``."""
    return GuardSpec.of(name, **params)


def _as_list(values: object) -> Any:
    """``values`` as a list, except a lone string or a non-iterable, passed on unchanged.

    :func:`pipeline_from_dict` then refuses those with the path of the
    parameter (``required_fields="amount"`` is not the list ``a, m, o, ...``).
    """
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        return values
    return list(values)


class PipelineBuilder:
    """Collect stages and transitions, then :meth:`build` a validated :class:`PipelineSpec`.

    It produces the same data a TOML file holds and goes through the same
    checks, so every problem is reported at once with the same paths::

        spec = (
            PipelineBuilder("deals")
            .stage("open", probability=20)
            .stage("won", kind="won")
            .stage("lost", kind="lost")
            .transition("win", "open", "won")
            .transition("lose", "*", "lost")
            .build()
        )
    """

    def __init__(
        self,
        key: str,
        *,
        label: str | None = None,
        description: str | None = None,
        probability_unit: ProbabilityUnit | str | None = None,
        require_lost_reason: bool = True,
        lost_reasons: Iterable[str] = (),
    ):
        self._data: dict[str, Any] = {"key": key, "stages": [], "transitions": []}
        if probability_unit is not None:
            self._data["probability_unit"] = probability_unit
        if require_lost_reason is not True:
            self._data["require_lost_reason"] = require_lost_reason
        if lost_reasons:
            self._data["lost_reasons"] = _as_list(lost_reasons)
        if label is not None:
            self._data["label"] = label
        if description is not None:
            self._data["description"] = description

    def stage(
        self,
        key: str,
        *,
        label: str | None = None,
        kind: str = "open",
        probability: Probability | int | Decimal | str | None = None,
        forecast: str | None = None,
        rotting_days: int | None = None,
        required_fields: Iterable[str] = (),
    ) -> PipelineBuilder:
        """Add a stage; stages are ordered as added.

        ``probability`` is a :class:`~pipelinekit.domain.Probability`, or a number
        in the builder's ``probability_unit`` (percent unless declared), exactly as
        a definition file reads it.

        ``required_fields`` is a list of field paths; a lone string is refused
        by :meth:`build` (as in :func:`pipeline_from_dict`)."""
        stage: dict[str, Any] = {"key": key, "kind": kind}
        for name, value in (
            ("label", label),
            ("probability", probability),
            ("forecast", forecast),
            ("rotting_days", rotting_days),
        ):
            if value is not None:
                stage[name] = value
        if required_fields:
            stage["required_fields"] = _as_list(required_fields)
        self._data["stages"].append(stage)
        return self

    def transition(
        self,
        event: str,
        source: str | Iterable[str],
        target: str,
        *,
        guards: Iterable[GuardSpec | str] = (),
    ) -> PipelineBuilder:
        """Add a transition; ``source`` is a stage key, several keys, or ``"*"`` (any open).

        ``guards`` is a list of guard names or :func:`guard` specs; a lone
        string is refused by :meth:`build` (as in :func:`pipeline_from_dict`)."""
        sources = [source] if isinstance(source, str) else _as_list(source)
        items = _as_list(guards)
        if isinstance(items, list):
            items = [g.as_dict() if isinstance(g, GuardSpec) else g for g in items]
        transition: dict[str, Any] = {"event": event, "source": sources, "target": target}
        if items:
            transition["guards"] = items
        self._data["transitions"].append(transition)
        return self

    def as_dict(self) -> dict[str, Any]:
        """The definition collected so far, as plain data."""
        return self._data

    def build(self, *, guards: GuardRegistry | None = None) -> PipelineSpec:
        """Validate and return the spec (raises :class:`PipelineDefinitionError`)."""
        return pipeline_from_dict(self._data, guards=guards)
