"""The moves :class:`~pipelinekit.pipelines.Pipeline` is made of, one module per job.

:mod:`.transitions` (fire, move, win, lose, reopen, explain),
:mod:`.conversion`, :mod:`.probability`, :mod:`.opening` (opening an
opportunity, moving it to another pipeline), :mod:`.timing` (rotting) and
:mod:`.bulk`.  Each module adds its methods to the compiled
:class:`~pipelinekit.pipelines.machine.PipelineMachine` and never imports the
``Pipeline`` facade, which is made of them.

Call the ``Pipeline`` methods.  The free functions that used to be importable
from here (and from :mod:`pipelinekit.pipelines`) still work for one release as
deprecated aliases that warn with :class:`DeprecationWarning`.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar

from ...domain import timing as history
from ...domain.opportunities import Opportunity, ProbabilitySource
from .. import outcomes
from ..machine import PipelineMachine
from ..spec import StageSpec
from .bulk import Bulk
from .conversion import Conversions
from .opening import Opening
from .probability import Probabilities
from .timing import Timing
from .transitions import Transitions

__all__: list[str] = []

P = ParamSpec("P")
R = TypeVar("R")


def _layered_probability(
    stage: StageSpec, manual: Decimal | None, automated: Decimal | None
) -> tuple[Decimal, ProbabilitySource]:
    return stage.effective_probability(manual, automated)


def _change_pipeline(
    source: PipelineMachine, target: PipelineMachine, opportunity: Opportunity, **kwargs: Any
) -> outcomes.Moved[Opportunity]:
    return Opening.change_pipeline(source, opportunity, target, **kwargs)


# old name -> (what it does now, what to call instead)
_MOVED: dict[str, tuple[Callable[..., Any], str]] = {
    "fire": (Transitions.fire, "pipeline.fire(entity, event, ...)"),
    "explain": (Transitions.explain, "pipeline.explain(entity, event, ...)"),
    "available_events": (Transitions.available_events, "pipeline.available_events(entity)"),
    "move": (Transitions.move, "pipeline.move(entity, to, ...)"),
    "win": (Transitions.win, "pipeline.win(entity, ...)"),
    "lose": (Transitions.lose, "pipeline.lose(entity, reason=..., ...)"),
    "reopen": (Transitions.reopen, "pipeline.reopen(entity, to=..., ...)"),
    "convert": (Conversions.convert, "lifecycle.convert(lead, pipeline=..., ...)"),
    "open_opportunity": (Opening.open, "pipeline.open(name=..., ...)"),
    "change_pipeline": (
        _change_pipeline,
        "source.change_pipeline(opportunity, target, mapping=...)",
    ),
    "set_probability": (Probabilities.set_probability, "pipeline.set_probability(...)"),
    "fire_many": (Bulk.bulk, "pipeline.bulk(entities, event, ...)"),
    "is_rotting": (Timing.is_rotting, "pipeline.is_rotting(entity, as_of=...)"),
    "layered_probability": (_layered_probability, "stage.effective_probability(manual, ...)"),
}


def _alias(name: str, target: Callable[P, R], instead: str, where: str) -> Callable[P, R]:
    @functools.wraps(target)
    def alias(*args: P.args, **kwargs: P.kwargs) -> R:
        warnings.warn(
            f"{where}.{name}() is deprecated and goes away in the next release: call {instead}",
            DeprecationWarning,
            stacklevel=2,
        )
        return target(*args, **kwargs)

    alias.__name__ = alias.__qualname__ = name
    return alias


@functools.cache
def deprecated(name: str, where: str) -> Callable[..., Any] | None:
    """The deprecated alias for the old free function ``name`` reached through ``where``."""
    found = _MOVED.get(name)
    if found is None:
        return None
    target, instead = found
    return _alias(name, target, instead, where)


# Names the old module also offered, now imported from pipelinekit.pipelines.
_RENAMED = frozenset(["Conversion", "Moved", "stage_durations", "time_in_stage"])


def __getattr__(name: str) -> Any:
    alias = deprecated(name, "pipelinekit.pipelines.operations")
    if alias is not None:
        return alias
    if name in _RENAMED:
        warnings.warn(
            f"import {name} from pipelinekit.pipelines, not pipelinekit.pipelines.operations "
            "(the old path goes away in the next release)",
            DeprecationWarning,
            stacklevel=2,
        )
        home = outcomes if name in ("Conversion", "Moved") else history
        return getattr(home, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
