from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta

import pytest

from pipelinekit import (
    Clock,
    CurrencyMismatch,
    FixedClock,
    Problem,
    SystemClock,
    ValidationError,
)
from pipelinekit.clock import resolve_time


def test_fixed_clock_moves_only_when_told() -> None:
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.now() == clock.now()
    assert clock.advance(days=1) == datetime(2026, 1, 2, tzinfo=UTC)
    assert clock.advance(timedelta(hours=1)) == datetime(2026, 1, 2, 1, tzinfo=UTC)
    assert isinstance(clock, Clock)
    assert isinstance(SystemClock(), Clock)


def test_fixed_clock_refuses_naive_times() -> None:
    with pytest.raises(ValidationError):
        FixedClock(datetime(2026, 1, 1))


def test_resolve_time_prefers_at_then_clock() -> None:
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    at = datetime(2025, 1, 1, tzinfo=UTC)
    assert resolve_time(at, clock) == at
    assert resolve_time(None, clock) == clock.now()
    assert resolve_time(None, None).tzinfo is UTC


def test_validation_error_lists_problems_and_pickles() -> None:
    error = ValidationError("Thing", [Problem("$.a", "bad"), Problem("$.b.c", "worse")])
    assert str(error) == "2 problems in Thing:\n  $.a: bad\n  $.b.c: worse"
    assert error.paths == ("$.a", "$.b.c")
    again = pickle.loads(pickle.dumps(error))
    assert again.problems == error.problems
    with pytest.raises(ValueError, match="at least one"):
        ValidationError("Thing", [])


def test_problem_under_re_roots_paths() -> None:
    assert Problem("$.employees", "x").under("$.company").path == "$.company.employees"
    assert Problem("$", "x").under("$.company").path == "$.company"


def test_currency_mismatch_pickles() -> None:
    error = pickle.loads(pickle.dumps(CurrencyMismatch("add", "EUR", "USD")))
    assert (error.left, error.right) == ("EUR", "USD")


def test_a_clock_without_now_is_refused() -> None:
    with pytest.raises(ValidationError, match="now"):
        resolve_time(None, 5)  # type: ignore[arg-type]
