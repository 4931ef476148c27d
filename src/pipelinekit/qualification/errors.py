"""Errors of the qualification engine, all rooted in :class:`~pipelinekit.PipelinekitError`."""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import PipelinekitError, PluginWarning

__all__ = ["EvaluationError", "PluginWarning", "UnknownQualifier"]


class UnknownQualifier(PipelinekitError, LookupError):
    """No qualifier is registered under ``name``; ``available`` lists the names that are.

    ``broken`` says why, when an installed plugin offers the name but could not
    be loaded.
    """

    def __init__(self, name: str, available: Iterable[str], broken: str | None = None) -> None:
        self.name = name
        self.available = tuple(sorted(available))
        self.broken = broken
        listed = ", ".join(self.available) or "none"
        why = f" (its plugin could not be loaded: {broken})" if broken else ""
        super().__init__(f"no qualifier named {name!r}{why}; available: {listed}")

    def __reduce__(
        self,
    ) -> tuple[type[UnknownQualifier], tuple[str, tuple[str, ...], str | None]]:
        return (type(self), (self.name, self.available, self.broken))


class EvaluationError(PipelinekitError, RuntimeError):
    """A strategy failed on one subject (an app-supplied predicate raised, for instance).

    ``strategy`` and ``subject_id`` say where; the original exception is ``__cause__``.
    """

    def __init__(self, strategy: str, subject_id: str | None, message: str) -> None:
        self.strategy = strategy
        self.subject_id = subject_id
        self.message = message
        super().__init__(f"{strategy} failed on subject {subject_id!r}: {message}")

    def __reduce__(self) -> tuple[type[EvaluationError], tuple[str, str | None, str]]:
        return (type(self), (self.strategy, self.subject_id, self.message))
