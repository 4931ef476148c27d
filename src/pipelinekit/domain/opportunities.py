"""The Opportunity entity: a qualified lead moving through meeting, proposal and close."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from ..clock import Clock, resolve_time
from ._checks import (
    Checks,
    lenient_decimal,
    lenient_optional_decimal,
    set_attr,
    to_decimal,
)
from ._entity import check_common, check_tuple
from .companies import Company
from .contacts import Person
from .custom import EMPTY, FrozenMap
from .history import StageChange
from .ids import LeadId, OpportunityId, ProspectId, new_id
from .money import Money

__all__ = ["Opportunity", "Outcome", "ProbabilitySource"]

_E = TypeVar("_E", bound=enum.Enum)
_HUNDRED = Decimal(100)
_ZERO = Decimal(0)


class Outcome(enum.StrEnum):
    """Whether an opportunity is still open or closed won / closed lost."""

    OPEN = "open"
    WON = "won"
    LOST = "lost"


class ProbabilitySource(enum.StrEnum):
    """Where the current probability came from, highest precedence first.

    ``closed`` (won is 100, lost is 0) beats ``manual`` (set by a person),
    which beats ``automated`` (set by a scorer), which beats ``stage_default``.
    """

    CLOSED = "closed"
    MANUAL = "manual"
    AUTOMATED = "automated"
    STAGE_DEFAULT = "stage_default"


def _lenient_enum(kind: type[_E], value: _E | str) -> _E:
    try:
        return kind(value)
    except ValueError:
        return value  # type: ignore[return-value]  # reported by __attrs_post_init__


def _outcome(value: Outcome | str) -> Outcome:
    return _lenient_enum(Outcome, value)


def _probability_source(value: ProbabilitySource | str) -> ProbabilitySource:
    return _lenient_enum(ProbabilitySource, value)


@attrs.frozen
class Opportunity:
    """A qualified deal in a pipeline stage.

    ``pipeline`` and ``stage`` are keys of a pipeline definition (with the
    definition's ``pipeline_version`` recorded when known).  ``probability`` is
    the effective win probability in percent (0-100) and
    ``probability_source`` says which layer supplied it; the manual and
    automated layers are kept so a stage change can recompute the effective
    value without losing a person's input.
    """

    id: OpportunityId
    created_at: datetime
    updated_at: datetime
    name: str
    pipeline: str
    stage: str
    pipeline_version: str | None = None
    lead_id: LeadId | None = None
    prospect_id: ProspectId | None = None
    contact: Person | None = None
    company: Company | None = None
    amount: Money | None = None
    probability: Decimal = attrs.field(default=_ZERO, converter=lenient_decimal)
    probability_source: ProbabilitySource = attrs.field(
        default=ProbabilitySource.STAGE_DEFAULT, converter=_probability_source
    )
    manual_probability: Decimal | None = attrs.field(
        default=None, converter=lenient_optional_decimal
    )
    automated_probability: Decimal | None = attrs.field(
        default=None, converter=lenient_optional_decimal
    )
    expected_close: date | None = None
    owner: str | None = None
    outcome: Outcome = attrs.field(default=Outcome.OPEN, converter=_outcome)
    closed_at: datetime | None = None
    lost_reason: str | None = None
    competitor: str | None = None
    history: tuple[StageChange, ...] = ()
    tags: frozenset[str] = frozenset()
    custom: FrozenMap = EMPTY
    external_id: str | None = None
    notes: str | None = attrs.field(default=None, repr=False)
    version: int = 0

    def __attrs_post_init__(self) -> None:
        checks = Checks()
        check_common(self, checks)
        checks.text("$.name", self.name, required=True, max_length=300)
        checks.text("$.pipeline", self.pipeline, required=True, max_length=100)
        checks.text("$.stage", self.stage, required=True, max_length=100)
        checks.text("$.pipeline_version", self.pipeline_version, required=False, max_length=128)
        checks.text("$.lead_id", self.lead_id, required=False, max_length=128)
        checks.text("$.prospect_id", self.prospect_id, required=False, max_length=128)
        checks.instance("$.contact", self.contact, Person, optional=True)
        checks.instance("$.company", self.company, Company, optional=True)
        checks.instance("$.amount", self.amount, Money, optional=True)
        updates: dict[str, Any] = {}
        for name in ("probability", "manual_probability", "automated_probability"):
            raw = getattr(self, name)
            if raw is None and name != "probability":
                continue
            value = to_decimal(checks, f"$.{name}", raw)
            if value is not None and not _ZERO <= value <= _HUNDRED:
                checks.add(f"$.{name}", f"must be between 0 and 100, got {value}")
            if value is not raw:
                updates[name] = value
        # The converters took every valid value: anything else left here is invalid.
        for name, kind in (("probability_source", ProbabilitySource), ("outcome", Outcome)):
            raw = getattr(self, name)
            if not isinstance(raw, kind):
                choices = ", ".join(k.value for k in kind)
                checks.add(f"$.{name}", f"must be one of {choices}; got {raw!r}")
        if self.expected_close is not None and (
            not isinstance(self.expected_close, date) or isinstance(self.expected_close, datetime)
        ):
            checks.add("$.expected_close", "must be a date (not a datetime)")
        closed_at = checks.aware("$.closed_at", self.closed_at, optional=True)
        checks.text("$.lost_reason", self.lost_reason, required=False, max_length=500)
        checks.text("$.competitor", self.competitor, required=False, max_length=200)
        history = check_tuple(checks, "$.history", self.history, StageChange)
        outcome = self.outcome
        probability = updates.get("probability", self.probability)
        if outcome == Outcome.OPEN:
            if self.closed_at is not None:
                checks.add("$.closed_at", "must be empty while the opportunity is open")
            if self.lost_reason is not None:
                checks.add("$.lost_reason", "only a lost opportunity has a lost reason")
        elif outcome in (Outcome.WON, Outcome.LOST):
            if self.closed_at is None:
                checks.add("$.closed_at", f"a {outcome.value} opportunity needs closed_at")
            expected = _HUNDRED if outcome == Outcome.WON else _ZERO
            if isinstance(probability, Decimal) and probability != expected:
                checks.add(
                    "$.probability", f"a {outcome.value} opportunity has probability {expected}"
                )
            if outcome == Outcome.WON and self.lost_reason is not None:
                checks.add("$.lost_reason", "only a lost opportunity has a lost reason")
            # A closed outcome fixes the probability: its source is always "closed".
            updates["probability_source"] = ProbabilitySource.CLOSED
            created = self.created_at
            if closed_at is not None and isinstance(created, datetime) and closed_at < created:
                checks.add("$.closed_at", "must not be before created_at")
        checks.done(self)
        if closed_at is not self.closed_at:
            updates["closed_at"] = closed_at
        if history is not self.history:
            updates["history"] = history
        for name, value in updates.items():
            set_attr(self, name, value)

    @property
    def is_open(self) -> bool:
        """True until the opportunity is closed won or closed lost."""
        return self.outcome == Outcome.OPEN

    @property
    def weighted_amount(self) -> Money | None:
        """``amount x probability / 100`` (``None`` without an amount)."""
        if self.amount is None:
            return None
        return Money(self.amount.amount * self.probability / _HUNDRED, self.amount.currency)

    @classmethod
    def create(
        cls,
        *,
        name: str,
        pipeline: str,
        stage: str,
        pipeline_version: str | None = None,
        lead_id: LeadId | None = None,
        prospect_id: ProspectId | None = None,
        contact: Person | None = None,
        company: Company | None = None,
        amount: Money | None = None,
        probability: Decimal | int | str = 0,
        expected_close: date | None = None,
        owner: str | None = None,
        tags: Iterable[str] = (),
        custom: FrozenMap | dict[str, Any] | None = None,
        external_id: str | None = None,
        at: datetime | None = None,
        clock: Clock | None = None,
    ) -> Opportunity:
        """Create a new open opportunity with a fresh id and both times set to ``at``.

        Pipelines normally create opportunities for you (conversion, or
        ``Pipeline.open``), filling in the stage default probability.
        """
        now = resolve_time(at, clock)
        return cls(
            id=OpportunityId(new_id(now)),
            created_at=now,
            updated_at=now,
            name=name,
            pipeline=pipeline,
            stage=stage,
            pipeline_version=pipeline_version,
            lead_id=lead_id,
            prospect_id=prospect_id,
            contact=contact,
            company=company,
            amount=amount,
            probability=probability,
            expected_close=expected_close,
            owner=owner,
            tags=tags,  # type: ignore[arg-type]  # validated and frozen by the constructor
            custom=custom,  # type: ignore[arg-type]
            external_id=external_id,
        )

    def evolve(self, **changes: Any) -> Opportunity:
        """Return a copy with ``changes`` applied and validated."""
        return attrs.evolve(self, **changes)
