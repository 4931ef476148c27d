"""The pipelinekit exception tree.

Every error pipelinekit raises derives from :class:`PipelinekitError`, so an
application can catch one class at its boundary.  Subclasses are named for what
went wrong and carry the data a caller needs to react (field paths, the
currencies involved, ...).  Third-party errors are translated at the boundary
and kept as ``__cause__``.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

__all__ = [
    "CurrencyMismatch",
    "PipelinekitError",
    "PluginWarning",
    "Problem",
    "ValidationError",
]


class PipelinekitError(Exception):
    """Root of every error raised by pipelinekit.

    ``retryable`` says whether running the same unit of work again, from a
    fresh read, may succeed (:meth:`pipelinekit.storage.Storage.run` retries
    exactly those).
    """

    retryable: bool = False


@attrs.frozen
class Problem:
    """One thing wrong with some input.

    ``path`` is a JSON-path-like location relative to the object being built,
    such as ``$.company.employees`` or ``$.tags[2]``; ``message`` says what is
    wrong and, where it helps, what to do instead.
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"

    def under(self, prefix: str) -> Problem:
        """Return this problem re-rooted below ``prefix`` (``$.a`` under ``$.x`` is ``$.x.a``)."""
        if self.path == "$":
            return Problem(prefix, self.message)
        return Problem(prefix + self.path[1:], self.message)


class ValidationError(PipelinekitError, ValueError):
    """Input was refused; ``problems`` lists **every** problem found, each with its path.

    Raised by every constructor of a value object or entity and by
    :func:`pipelinekit.from_dict`.  ``str(error)`` gives one line per problem::

        2 problems in Company:
          $.name: must not be empty
          $.employees: must be >= 0, got -3
    """

    problems: tuple[Problem, ...]
    subject: str

    def __init__(self, subject: str, problems: Iterable[Problem]) -> None:
        self.subject = subject
        self.problems = tuple(problems)
        if not self.problems:
            raise ValueError("ValidationError needs at least one problem")
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in {subject}:"
        super().__init__("\n  ".join([head, *map(str, self.problems)]))

    @property
    def paths(self) -> tuple[str, ...]:
        """The paths of all problems, in the order they were found."""
        return tuple(p.path for p in self.problems)

    def __reduce__(self) -> tuple[type[ValidationError], tuple[str, tuple[Problem, ...]]]:
        return (type(self), (self.subject, self.problems))


class CurrencyMismatch(PipelinekitError, ValueError):
    """Two amounts in different currencies were combined.

    pipelinekit never converts currencies silently: convert explicitly with
    rates you trust, or keep per-currency totals.
    """

    def __init__(self, operation: str, left: str, right: str) -> None:
        self.operation = operation
        self.left = left
        self.right = right
        super().__init__(
            f"cannot {operation} {left} and {right}: amounts in different currencies are "
            "never combined silently; convert one of them first"
        )

    def __reduce__(self) -> tuple[type[CurrencyMismatch], tuple[str, str, str]]:
        return (type(self), (self.operation, self.left, self.right))


class PluginWarning(UserWarning):
    """A plugin (a qualifier or a guard from an installed package) could not be loaded.

    It is skipped and the others keep working; asking for it later raises an
    error that says why it could not be loaded.
    """
