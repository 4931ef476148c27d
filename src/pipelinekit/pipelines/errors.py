"""The errors pipelines raise, all rooted in :class:`pipelinekit.PipelinekitError`.

Each error carries the data a caller needs to react: the problems with their
paths, the entity and its stage, the event and the events allowed from there,
the guard that refused a move and why.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from ..errors import PipelinekitError, Problem

__all__ = [
    "BulkTransitionError",
    "ConversionError",
    "GuardFailed",
    "InvalidTransition",
    "PipelineDefinitionError",
    "PipelineMismatch",
    "StaleTime",
    "UnknownGuard",
]


class PipelineDefinitionError(PipelinekitError, ValueError):
    """A pipeline definition was refused; ``problems`` lists **every** problem with its path.

    Paths point into the definition as written, e.g. ``$.stages[2].probability``
    or ``$.transitions[0].target``.
    """

    def __init__(self, pipeline: str | None, problems: Iterable[Problem]) -> None:
        self.pipeline = pipeline
        self.problems = tuple(problems)
        if not self.problems:
            raise ValueError("PipelineDefinitionError needs at least one problem")
        count = len(self.problems)
        name = f"pipeline {pipeline!r}" if pipeline else "pipeline definition"
        head = f"{count} problem{'s' if count != 1 else ''} in {name}:"
        super().__init__("\n  ".join([head, *map(str, self.problems)]))

    @property
    def paths(self) -> tuple[str, ...]:
        """The paths of all problems, in the order they were found."""
        return tuple(p.path for p in self.problems)

    def __reduce__(
        self,
    ) -> tuple[type[PipelineDefinitionError], tuple[str | None, tuple[Problem, ...]]]:
        return (type(self), (self.pipeline, self.problems))


class UnknownGuard(PipelinekitError, LookupError):
    """A guard name is not registered; ``broken`` says why when its plugin failed to load."""

    def __init__(self, name: str, known: Iterable[str], broken: str | None = None) -> None:
        self.name = name
        self.known = tuple(sorted(known))
        self.broken = broken
        super().__init__(f"{self.describe()}; registered guards: {', '.join(self.known)}")

    def describe(self) -> str:
        """``unknown guard 'x'``, with the plugin's load error when there is one."""
        why = f" (its plugin could not be loaded: {self.broken})" if self.broken else ""
        return f"unknown guard {self.name!r}{why}"

    def __reduce__(self) -> tuple[type[UnknownGuard], tuple[str, tuple[str, ...], str | None]]:
        return (type(self), (self.name, self.known, self.broken))


class InvalidTransition(PipelinekitError, ValueError):
    """An event (or move) is not possible from the entity's current stage.

    ``allowed`` lists the events the pipeline allows from ``stage`` (guards
    not considered); ``reason`` says what exactly was refused.
    """

    def __init__(
        self,
        *,
        entity_kind: str,
        entity_id: str,
        pipeline: str,
        stage: str,
        event: str,
        allowed: Iterable[str],
        reason: str | None = None,
    ) -> None:
        self.entity_kind = entity_kind
        self.entity_id = entity_id
        self.pipeline = pipeline
        self.stage = stage
        self.event = event
        self.allowed = tuple(allowed)
        self.reason = reason
        allowed_text = ", ".join(self.allowed) if self.allowed else "none"
        detail = reason or f"no transition for {event!r} from stage {stage!r}"
        super().__init__(
            f"{entity_kind} {entity_id} in stage {stage!r} of pipeline {pipeline!r}: "
            f"cannot {event!r}: {detail}; allowed events from {stage!r}: {allowed_text}"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.__dict__.copy(), str(self)))


class GuardFailed(InvalidTransition):
    """A guard refused the move: ``guard`` names it and ``why`` says why."""

    def __init__(
        self,
        *,
        entity_kind: str,
        entity_id: str,
        pipeline: str,
        stage: str,
        event: str,
        allowed: Iterable[str],
        guard: str,
        why: str,
        target: str,
    ) -> None:
        self.guard = guard
        self.why = why
        self.target = target
        super().__init__(
            entity_kind=entity_kind,
            entity_id=entity_id,
            pipeline=pipeline,
            stage=stage,
            event=event,
            allowed=allowed,
            reason=f"guard {guard} refused the move to {target!r}: {why}",
        )


class PipelineMismatch(PipelinekitError, ValueError):
    """The entity belongs to another pipeline (or version) than the one asked to move it."""

    def __init__(self, *, entity_id: str, entity_pipeline: str, pipeline: str) -> None:
        self.entity_id = entity_id
        self.entity_pipeline = entity_pipeline
        self.pipeline = pipeline
        super().__init__(
            f"opportunity {entity_id} is in pipeline {entity_pipeline!r}, not {pipeline!r}; "
            "move it between pipelines with change_pipeline() and an explicit stage mapping"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.__dict__.copy(), str(self)))


class StaleTime(PipelinekitError, ValueError):
    """A change's time ``at`` is earlier than the last change recorded on the entity (``last``).

    Usually a race, not bad input: the time was taken before reading, and
    another request recorded a later change meanwhile.  Take the time inside
    the unit of work after reading (``clock=``); it is ``retryable``, so
    :meth:`~pipelinekit.storage.Storage.run` reads again and retries.
    """

    retryable = True

    def __init__(self, operation: str, at: datetime, last: datetime) -> None:
        self.operation = operation
        self.at = at
        self.last = last
        super().__init__(
            f"{operation}: $.at: {at.isoformat()} is before the last recorded change "
            f"({last.isoformat()}); take the time after reading the entity"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.operation, self.at, self.last))


class ConversionError(PipelinekitError, ValueError):
    """A lead could not be converted; ``lead_id`` and ``reason`` say which and why."""

    def __init__(self, lead_id: str, reason: str) -> None:
        self.lead_id = lead_id
        self.reason = reason
        super().__init__(f"cannot convert lead {lead_id}: {reason}")

    def __reduce__(self) -> tuple[type[ConversionError], tuple[str, str]]:
        return (type(self), (self.lead_id, self.reason))


class BulkTransitionError(PipelinekitError, ValueError):
    """A strict bulk move refused some entities; nothing was applied.

    ``failures`` holds ``(index, error)`` pairs, one per refused entity.
    """

    def __init__(
        self, failures: Iterable[tuple[int, InvalidTransition | PipelinekitError]]
    ) -> None:
        self.failures = tuple(failures)
        count = len(self.failures)
        lines = [f"[{index}] {error}" for index, error in self.failures[:10]]
        more = [f"... and {count - 10} more"] if count > 10 else []
        super().__init__(
            "\n  ".join([f"{count} entities refused; nothing was applied:", *lines, *more])
        )


def _rebuild(cls: type[Exception], state: dict[str, object], message: str) -> Exception:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, message)
    return error
