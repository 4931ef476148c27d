"""The qualifier kit catches plugins written the way real authors get them wrong.

``SeatsFit`` is a plugin as the docs teach it: it declares what it reads and
passes :class:`StrategyContract`.  Each mutant below is that plugin with one
mistake; the kit must fail it with a message naming the mistake.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, Phase, settings

from pipelinekit import BreakdownLine, CriterionStatus, QualificationResult, Verdict, to_dict
from pipelinekit.qualification import StrategyBase
from pipelinekit.testing.qualification import StrategyContract

PLANS = {"free": 0, "team": 10, "enterprise": 20}


class SeatsFit(StrategyBase):
    """Scores accounts by plan (``custom.plan``) and seats (``custom.seats``)."""

    name = "seats"
    version = "1"
    seats_key = "seats"

    def config(self) -> dict[str, Any]:
        return {"kind": "seats", "plans": PLANS}

    def reads(self) -> Mapping[str, tuple[Any, ...]]:
        return {"custom.plan": tuple(PLANS), "custom.seats": (0, 3, 12, 49, 50, 400)}

    def _read(self, subject: Any) -> tuple[str | None, int | None]:
        plan = subject.custom.get("plan")
        seats = subject.custom.get(self.seats_key)
        return (
            plan if plan in PLANS else None,
            seats if type(seats) is int and seats >= 0 else None,
        )

    def _lines(self, plan: str | None, seats: int | None) -> list[BreakdownLine]:
        lines = []
        if plan is not None:
            lines.append(_line("plan", PLANS[plan], plan))
        if seats is not None:
            lines.append(_line("seats", min(seats // 5, 10), str(seats)))
        return lines

    def _evaluate(self, subject: Any, as_of: datetime, explain: bool) -> QualificationResult:
        plan, seats = self._read(subject)
        lines = self._lines(plan, seats)
        known = sum(x is not None for x in (plan, seats))
        return self._result(subject, as_of, explain, lines, known)

    def _result(
        self,
        subject: Any,
        as_of: datetime,
        explain: bool,
        lines: list[BreakdownLine],
        known: int,
        score: Decimal | None = None,
    ) -> QualificationResult:
        if known and score is None:
            score = sum((line.points for line in lines), Decimal(0))
        verdict = Verdict.INSUFFICIENT_DATA
        if score is not None:
            verdict = Verdict.QUALIFIED if score >= 20 else Verdict.NURTURE
        return QualificationResult(
            strategy=self.name,
            strategy_version=self.version,
            config_hash=self.config_hash,
            as_of=as_of,
            score=score,
            scale_min=0,
            scale_max=30,
            verdict=verdict,
            coverage=Decimal(known) / 2,
            breakdown=tuple(lines) if explain and score is not None else (),
            subject_id=str(subject.id),
        )


def _line(criterion: str, points: int, observed: str) -> BreakdownLine:
    status = CriterionStatus.MATCH if points else CriterionStatus.NO_MATCH
    return BreakdownLine(criterion, status, Decimal(points), f"{criterion} {observed}")


class BreakdownOffByOne(SeatsFit):
    def _evaluate(self, subject: Any, as_of: datetime, explain: bool) -> QualificationResult:
        plan, seats = self._read(subject)
        lines = self._lines(plan, seats)
        known = sum(x is not None for x in (plan, seats))
        bonus = sum((x.points for x in lines), Decimal(1)) if known else None
        return self._result(subject, as_of, explain, lines, known, score=bonus)


class ReturnsADict(SeatsFit):
    def evaluate(self, subject: Any, *, as_of: datetime, explain: bool = True) -> Any:
        return to_dict(super().evaluate(subject, as_of=as_of, explain=explain))


class RaisesOnMissingFields(SeatsFit):
    def _read(self, subject: Any) -> tuple[str | None, int | None]:
        plan = subject.custom["plan"]
        seats = subject.custom["seats"]
        return (plan if plan in PLANS else None, seats if type(seats) is int else None)


class NoneAsZero(SeatsFit):
    def _evaluate(self, subject: Any, as_of: datetime, explain: bool) -> QualificationResult:
        plan, seats = self._read(subject)
        lines = self._lines(plan or "free", seats or 0)
        return self._result(subject, as_of, explain, lines, known=2)


class NotDeterministic(SeatsFit):
    def _lines(self, plan: str | None, seats: int | None) -> list[BreakdownLine]:
        lines = super()._lines(plan, seats)
        if lines and random.random() < 0.5:  # "a little noise breaks ties"
            lines.append(_line("tiebreak", 1, "noise"))
        return lines


class MutatesItsSubject(SeatsFit):
    def _evaluate(self, subject: Any, as_of: datetime, explain: bool) -> QualificationResult:
        result = super()._evaluate(subject, as_of, explain)
        object.__setattr__(subject, "custom", subject.custom.set("seats_scored", True))
        return result


class IgnoresAsOf(SeatsFit):
    def _evaluate(self, subject: Any, as_of: datetime, explain: bool) -> QualificationResult:
        return super()._evaluate(subject, datetime.now(UTC), explain)


class ReadsAnUndeclaredField(SeatsFit):
    seats_key = "seat_count"  # declares custom.seats, reads custom.seat_count

    def _evaluate(self, subject: Any, as_of: datetime, explain: bool) -> QualificationResult:
        _, seats = self._read(subject)
        if seats is None:  # "no seat count: cannot size the account"
            return self._result(subject, as_of, explain, [], known=0)
        return super()._evaluate(subject, as_of, explain)


MUTANTS: dict[str, tuple[type[SeatsFit], str]] = {
    "breakdown not adding up": (BreakdownOffByOne, "a breakdown must explain the score"),
    "wrong return type": (ReturnsADict, "returned a dict .* not a QualificationResult"),
    "raising on missing fields": (RaisesOnMissingFields, "on a subject with missing fields"),
    "None treated as 0": (NoneAsZero, r"missing data is treated as a value \(None as 0\?\)"),
    "non-deterministic score": (NotDeterministic, "not deterministic"),
    "mutating its input": (MutatesItsSubject, "evaluating changed its subject"),
    "ignoring as_of": (IgnoresAsOf, "it ignores as_of"),
    "reading undeclared fields": (
        ReadsAnUndeclaredField,
        r"scored only \d+ of \d+ subjects whose declared fields all hold valid",
    ),
}

# Mutant runs stop at the first failing example (no shrinking) and are reproducible.
_FAST = settings(
    max_examples=40,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
)


def _kit_for(plugin: type[SeatsFit]) -> StrategyContract:
    class Kit(StrategyContract):
        kit_settings: ClassVar[settings] = _FAST

        def make_strategy(self) -> SeatsFit:
            return plugin()

    return Kit()


def _failures(kit: StrategyContract) -> dict[str, str]:
    """Run every test of the kit; the message of each that fails, by test name."""
    failed: dict[str, str] = {}
    for name in sorted(dir(kit)):
        test: Callable[[], None] | None = getattr(kit, name) if name.startswith("test_") else None
        if test is None:
            continue
        try:
            test()
        except (Exception, pytest.fail.Exception) as error:
            failed[name] = f"{type(error).__name__}: {error}"
    return failed


def test_the_correct_plugin_passes_the_whole_kit() -> None:
    assert _failures(_kit_for(SeatsFit)) == {}


@pytest.mark.parametrize("defect", list(MUTANTS))
def test_the_kit_catches_a_broken_plugin(defect: str) -> None:
    plugin, message = MUTANTS[defect]
    failed = _failures(_kit_for(plugin))
    assert failed, f"the kit passed a plugin with this defect: {defect}"
    named = [test for test, text in failed.items() if re.search(message, text)]
    assert named, f"no failure names the defect {defect!r} ({message!r}): {failed}"
