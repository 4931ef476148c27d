"""The Opportunity entity: a qualified lead moving through meeting, proposal and close."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import attrs

from ..clock import Clock, resolve_time
from ..errors import Problem, ValidationError
from ._checks import Checks, to_decimal
from ._entity import check_common, check_tuple
from .companies import Company
from .contacts import Person
from .custom import EMPTY, FrozenMap
from .history import ProbabilityChange, StageChange
from .ids import LeadId, OpportunityId, ProspectId, new_id
from .money import Money
from .probability import Probability, check_probability

__all__ = ["Opportunity", "Outcome", "ProbabilitySource"]

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


@attrs.frozen(init=False)
class Opportunity:
    """A qualified deal in a pipeline stage.

    ``pipeline`` and ``stage`` are keys of a pipeline definition (with the
    definition's ``pipeline_version`` recorded when known).  ``probability`` is
    the effective win probability, kept in its canonical form, exact percent
    (0-100); the constructor takes a :class:`~pipelinekit.domain.Probability`
    or that stored percent form (what storage and ``from_dict`` hand back) and
    ``probability_source`` says which layer supplied it; the manual and
    automated layers (same forms) are kept so a stage change can recompute the
    effective value without losing a person's input.  ``probability_history``
    records every change of those two layers (when, by whom, from and to), as
    ``history`` records the stage moves.  A lost opportunity needs a
    ``lost_reason`` when made through :meth:`evolve` (see there).
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
    probability: Decimal = _ZERO
    probability_source: ProbabilitySource = ProbabilitySource.STAGE_DEFAULT
    manual_probability: Decimal | None = None
    automated_probability: Decimal | None = None
    expected_close: date | None = None
    owner: str | None = None
    outcome: Outcome = Outcome.OPEN
    closed_at: datetime | None = None
    lost_reason: str | None = None
    competitor: str | None = None
    history: tuple[StageChange, ...] = ()
    probability_history: tuple[ProbabilityChange, ...] = ()
    tags: frozenset[str] = frozenset()
    custom: FrozenMap = EMPTY
    external_id: str | None = None
    notes: str | None = attrs.field(default=None, repr=False)
    version: int = 0

    def __init__(
        self,
        id: OpportunityId,
        created_at: datetime,
        updated_at: datetime,
        name: str,
        pipeline: str,
        stage: str,
        pipeline_version: str | None = None,
        lead_id: LeadId | None = None,
        prospect_id: ProspectId | None = None,
        contact: Person | None = None,
        company: Company | None = None,
        amount: Money | None = None,
        probability: Probability | Decimal | int | str = _ZERO,
        probability_source: ProbabilitySource | str = ProbabilitySource.STAGE_DEFAULT,
        manual_probability: Probability | Decimal | int | str | None = None,
        automated_probability: Probability | Decimal | int | str | None = None,
        expected_close: date | None = None,
        owner: str | None = None,
        outcome: Outcome | str = Outcome.OPEN,
        closed_at: datetime | None = None,
        lost_reason: str | None = None,
        competitor: str | None = None,
        history: tuple[StageChange, ...] | list[StageChange] = (),
        probability_history: tuple[ProbabilityChange, ...] | list[ProbabilityChange] = (),
        tags: Iterable[str] = frozenset(),
        custom: Mapping[str, object] | None = EMPTY,
        external_id: str | None = None,
        notes: str | None = None,
        version: int = 0,
    ) -> None:
        checks = Checks()
        common = check_common(
            checks, id, created_at, updated_at, version, owner, external_id, notes, tags, custom
        )
        checks.text("$.name", name, required=True, max_length=300)
        checks.text("$.pipeline", pipeline, required=True, max_length=100)
        checks.text("$.stage", stage, required=True, max_length=255)
        checks.text("$.pipeline_version", pipeline_version, required=False, max_length=128)
        checks.text("$.lead_id", lead_id, required=False, max_length=128)
        checks.text("$.prospect_id", prospect_id, required=False, max_length=128)
        checks.instance("$.contact", contact, Person, optional=True)
        checks.instance("$.company", company, Company, optional=True)
        checks.instance("$.amount", amount, Money, optional=True)
        chance = _percent(checks, "$.probability", probability)
        manual = (
            None
            if manual_probability is None
            else _percent(checks, "$.manual_probability", manual_probability)
        )
        automated = (
            None
            if automated_probability is None
            else _percent(checks, "$.automated_probability", automated_probability)
        )
        origin = checks.choice("$.probability_source", ProbabilitySource, probability_source)
        result = checks.choice("$.outcome", Outcome, outcome)
        if expected_close is not None and (
            not isinstance(expected_close, date) or isinstance(expected_close, datetime)
        ):
            checks.add("$.expected_close", "must be a date (not a datetime)")
        closed = checks.aware("$.closed_at", closed_at, optional=True)
        checks.text("$.lost_reason", lost_reason, required=False, max_length=500)
        checks.text("$.competitor", competitor, required=False, max_length=200)
        moves = check_tuple(checks, "$.history", history, StageChange)
        chances = check_tuple(
            checks, "$.probability_history", probability_history, ProbabilityChange
        )
        for i, change in enumerate(chances):
            if isinstance(change, ProbabilityChange):
                for name in ("from_value", "to_value"):
                    value = getattr(change, name)
                    if value is not None:
                        _percent(checks, f"$.probability_history[{i}].{name}", value)
        if result is Outcome.OPEN:
            if closed_at is not None:
                checks.add("$.closed_at", "must be empty while the opportunity is open")
            if lost_reason is not None:
                checks.add("$.lost_reason", "only a lost opportunity has a lost reason")
        elif result is not None:
            if closed_at is None:
                checks.add("$.closed_at", f"a {result.value} opportunity needs closed_at")
            expected = _HUNDRED if result is Outcome.WON else _ZERO
            if chance is not None and chance != expected:
                checks.add(
                    "$.probability", f"a {result.value} opportunity has probability {expected}"
                )
            if result is Outcome.WON and lost_reason is not None:
                checks.add("$.lost_reason", "only a lost opportunity has a lost reason")
            # A closed outcome fixes the probability: its source is always "closed".
            origin = ProbabilitySource.CLOSED
            created = created_at
            if closed is not None and isinstance(created, datetime) and closed < created:
                checks.add("$.closed_at", "must not be before created_at")
        checks.done(type(self))
        assert chance is not None
        assert origin is not None
        assert result is not None
        self.__attrs_init__(
            id, common.created_at, common.updated_at, name, pipeline, stage, pipeline_version,
            lead_id, prospect_id, contact, company, amount, chance, origin, manual, automated,
            expected_close, owner, result, closed, lost_reason, competitor, moves, chances,
            common.tags, common.custom, external_id, notes, version,
        )  # fmt: skip

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
        probability: Probability | None = None,
        expected_close: date | None = None,
        owner: str | None = None,
        tags: Iterable[str] = (),
        custom: Mapping[str, object] | None = None,
        external_id: str | None = None,
        at: datetime | None = None,
        clock: Clock | None = None,
    ) -> Opportunity:
        """Create a new open opportunity with a fresh id and both times set to ``at``.

        Pipelines normally create opportunities for you (conversion, or
        ``Pipeline.open``), filling in the stage default probability.
        ``probability`` is a :class:`~pipelinekit.domain.Probability`
        (``Probability.percent(20)``); a bare number is refused, since its unit
        cannot be known.
        """
        checks = Checks()
        chance = check_probability(checks, "$.probability", probability)
        checks.done(cls)
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
            probability=_ZERO if chance is None else chance.as_percent,
            expected_close=expected_close,
            owner=owner,
            tags=tags,
            custom=custom,
            external_id=external_id,
        )

    def evolve(self, *, lost_reason_optional: bool = False, **changes: Any) -> Opportunity:
        """Return a copy with ``changes`` applied and validated.

        A change that leaves the opportunity lost without a ``lost_reason`` is
        refused (the entity's invariant: a deal is lost *for a reason*), unless
        ``lost_reason_optional=True``, which a pipeline passes when its
        definition opts out (``require_lost_reason = false``).  A record that
        was stored lost without a reason can still be changed otherwise.
        """
        evolved = attrs.evolve(self, **changes)
        if (
            not lost_reason_optional
            and evolved.outcome is Outcome.LOST
            and evolved.lost_reason is None
            and not (self.outcome is Outcome.LOST and self.lost_reason is None)
        ):
            raise ValidationError(
                "Opportunity",
                [
                    Problem(
                        "$.lost_reason",
                        "a lost opportunity needs a lost reason (pass lost_reason=, or "
                        "lost_reason_optional=True where the pipeline opts out)",
                    )
                ],
            )
        return evolved


def _percent(checks: Checks, path: str, value: object) -> Decimal | None:
    if isinstance(value, Probability):
        return value.as_percent
    number = to_decimal(checks, path, value)
    if number is not None and not _ZERO <= number <= _HUNDRED:
        checks.add(path, f"must be between 0 and 100, got {number}")
    return number
