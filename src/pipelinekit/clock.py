"""Time as an argument.

Domain logic never reads the wall clock itself: operations take ``at=`` (or
``as_of=``) and fall back to a :class:`Clock`.  The default clock reads the
system time in UTC; tests and batch jobs pass a :class:`FixedClock`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "FixedClock", "SystemClock", "ensure_aware", "system_clock"]


@runtime_checkable
class Clock(Protocol):
    """Anything with a ``now()`` returning a timezone-aware datetime."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware."""
        ...


class SystemClock:
    """The real clock, in UTC."""

    __slots__ = ()

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)  # clock: the one default wall-clock read

    def __repr__(self) -> str:
        return "SystemClock()"


class FixedClock:
    """A clock that stands still until told to move; for tests and replays."""

    __slots__ = ("_now",)

    def __init__(self, now: datetime) -> None:
        self._now = ensure_aware(now, "now")

    def now(self) -> datetime:
        """Return the fixed time."""
        return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by ``delta`` (or ``timedelta(**kwargs)``); return the new time."""
        step = delta if delta is not None else timedelta(**kwargs)
        self._now = self._now + step
        return self._now

    def set(self, now: datetime) -> None:
        """Jump to ``now``."""
        self._now = ensure_aware(now, "now")

    def __repr__(self) -> str:
        return f"FixedClock({self._now.isoformat()})"


system_clock: Clock = SystemClock()


def ensure_aware(value: datetime, name: str = "at") -> datetime:
    """Return ``value`` in UTC; refuse a naive datetime with a clear error."""
    from .errors import Problem, ValidationError

    if not isinstance(value, datetime):
        raise ValidationError(
            name, [Problem("$", f"expected a datetime, got {type(value).__name__}")]
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            name,
            [Problem("$", "naive datetime refused: pass a timezone-aware one, e.g. tzinfo=UTC")],
        )
    return value.astimezone(UTC)


def resolve_time(at: datetime | None, clock: Clock | None) -> datetime:
    """``at`` if given (made UTC), else ``clock.now()`` (else the system clock)."""
    if at is not None:
        return ensure_aware(at)
    if clock is not None and not isinstance(clock, Clock):
        from .errors import Problem, ValidationError

        raise ValidationError(
            "clock",
            [
                Problem(
                    "$",
                    f"must have a now() method (a pipelinekit.Clock), got {type(clock).__name__}",
                )
            ],
        )
    return ensure_aware((clock or system_clock).now())
