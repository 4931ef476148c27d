"""The analytics contract: every report over your storage equals the report over the entities.

Subclass :class:`AnalyticsContract` in your test suite and implement
:meth:`~AnalyticsContract.make_storage` returning a *fresh, empty* storage::

    from pipelinekit.testing.contracts import AnalyticsContract

    class TestMyAdapterAnalytics(AnalyticsContract):
        def make_storage(self):
            return my_storage(...)

The contract saves random leads and opportunities (stage histories that skip
stages, lose, reopen and win; several currencies; amounts too precise or too
large for integer columns; manual probabilities) and checks that each report
of :mod:`pipelinekit.analytics` computed from a unit of work of your storage
equals the report computed from the same entities in memory.  For a storage
that implements :class:`~pipelinekit.analytics.ports.AnalyticsQueries` this
proves its pushdown; for any other, that the in-memory path reads back what
was saved.  A failure names the report and its arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelinekit import (
    Channel,
    Company,
    Lead,
    LeadId,
    Money,
    Opportunity,
    OpportunityId,
    PipelineBuilder,
    Source,
    StageChange,
    StageKind,
    analytics,
    compile_pipeline,
    sales_pipeline,
)
from pipelinekit.storage import Storage, UnitOfWork

__all__ = [
    "LEAD_IDS",
    "PIPELINES",
    "T0",
    "AnalyticsContract",
    "deal_lists",
    "lead_lists",
    "moments",
    "opportunities_with_history",
]

#: The base time of the generated data.
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
#: The pipelines the generated opportunities belong to: the built-in sales pipeline and a
#: small partner pipeline with rotting stages.
PIPELINES = (
    sales_pipeline(),
    compile_pipeline(
        PipelineBuilder("partners", label="Partner deals")
        .stage("intro", probability=10, rotting_days=3)
        .stage("pilot", probability=50, forecast="commit", rotting_days=5)
        .stage("signed", kind="won")
        .stage("dropped", kind="lost")
        .transition("start_pilot", "intro", "pilot")
        .transition("sign", "pilot", "signed")
        .transition("drop", "*", "dropped")
        .build()
    ),
)
#: The lead ids generated opportunities may refer to.
LEAD_IDS = tuple(LeadId(f"lead-{n}") for n in range(6))
_LIFECYCLE = ("new", "contacted", "nurturing", "qualified", "disqualified", "converted")
_OUTCOME = {StageKind.OPEN: "open", StageKind.WON: "won", StageKind.LOST: "lost"}

#: Report moments in the generated data's first 80 days.
moments = st.integers(0, 24 * 80).map(lambda h: T0 + timedelta(hours=h))


@st.composite
def _amounts(draw: st.DrawFn, currencies: tuple[str, ...]) -> Money | None:
    if draw(st.integers(0, 5)) == 0:
        return None
    cents = draw(st.integers(0, 5_000_000) | st.just(10**15 + 7))  # too large for integer units
    places = draw(st.sampled_from((0, 2, 2, 2, 7)))  # 7 places: more than integer units hold
    return Money(Decimal(cents).scaleb(-places), draw(st.sampled_from(currencies)))


@st.composite
def opportunities_with_history(
    draw: st.DrawFn,
    *,
    currencies: tuple[str, ...] = ("EUR",),
    manual: bool = True,
    ident: int = 0,
) -> Opportunity:
    """An opportunity of one of :data:`PIPELINES` with a random stage history.

    The history moves between any stages (skipping, losing, reopening,
    winning; a quarter of the deals still open at the end are then won); with
    ``manual`` an open deal may carry a manual probability.
    ``ident`` makes ids of one list distinct.
    """
    pipeline = draw(st.sampled_from(PIPELINES))
    spec = pipeline.spec
    created = T0 + timedelta(hours=draw(st.integers(0, 24 * 60)))
    current = spec.first_stage.key
    at = created
    history = [StageChange(None, current, "open", at, pipeline=spec.key)]
    for _ in range(draw(st.integers(0, 6))):
        if spec.stage(current).kind is StageKind.OPEN:
            choices = [s.key for s in spec.stages if s.key != current]
        else:  # reopen into an open stage
            choices = [s.key for s in spec.stages if s.kind is StageKind.OPEN]
        target = draw(st.sampled_from(choices))
        at = at + timedelta(hours=draw(st.integers(0, 24 * 12)))
        history.append(StageChange(current, target, "move", at, pipeline=spec.key))
        current = target
    if spec.stage(current).kind is StageKind.OPEN and draw(st.integers(0, 3)) == 0:
        won = next(s.key for s in spec.stages if s.kind is StageKind.WON)  # deals get won too
        at = at + timedelta(hours=draw(st.integers(0, 24 * 12)))
        history.append(StageChange(current, won, "win", at, pipeline=spec.key))
        current = won
    stage = spec.stage(current)
    outcome = _OUTCOME[stage.kind]
    probability = stage.probability
    manual_probability = None
    if manual and stage.kind is StageKind.OPEN and draw(st.booleans()):
        manual_probability = Decimal(draw(st.integers(0, 1000))).scaleb(-1)
        probability = manual_probability
    return Opportunity(
        id=OpportunityId(f"opp-{ident}-{draw(st.integers(0, 10**9))}"),
        created_at=created,
        updated_at=at,
        name="deal",
        pipeline=spec.key,
        stage=current,
        amount=draw(_amounts(currencies)),
        probability=probability,
        probability_source="manual" if manual_probability is not None else "stage_default",
        manual_probability=manual_probability,
        expected_close=draw(st.none() | st.dates(date(2026, 1, 1), date(2026, 12, 31))),
        owner=draw(st.sampled_from((None, "ana", "bo"))),
        outcome=outcome,
        closed_at=at if outcome != "open" else None,
        lost_reason="no budget" if outcome == "lost" else None,
        lead_id=draw(st.none() | st.sampled_from(LEAD_IDS)),
        history=tuple(history),
    )


@st.composite
def deal_lists(
    draw: st.DrawFn,
    *,
    currencies: tuple[str, ...] = ("EUR",),
    manual: bool = True,
    max_size: int = 12,
) -> list[Opportunity]:
    """A list of :func:`opportunities_with_history` with distinct ids."""
    n = draw(st.integers(0, max_size))
    return [
        draw(opportunities_with_history(currencies=currencies, manual=manual, ident=i))
        for i in range(n)
    ]


@st.composite
def lead_lists(draw: st.DrawFn) -> list[Lead]:
    """Leads with the ids opportunities refer to (some missing), sources, owners, histories."""
    out = []
    for lead_id in LEAD_IDS:
        if not draw(st.booleans()):
            continue
        channel = draw(st.none() | st.sampled_from((Channel.REFERRAL, Channel.PAID_AD)))
        created = T0 + timedelta(hours=draw(st.integers(-48, 24 * 60)))
        status, at = "new", created
        history = [StageChange(None, status, "create", at)] if draw(st.integers(0, 4)) else []
        if history:  # a random walk through the lifecycle, skipping and recycling
            for _ in range(draw(st.integers(0, 5))):
                target = draw(st.sampled_from([s for s in _LIFECYCLE if s != status]))
                at = at + timedelta(hours=draw(st.integers(0, 24 * 10)))
                history.append(StageChange(status, target, "move", at))
                status = target
        out.append(
            Lead(
                id=lead_id,
                created_at=created,
                updated_at=at,
                company=Company("Acme"),
                source=None if channel is None else Source(channel),
                owner=draw(st.sampled_from((None, "ana"))),
                status=status,
                history=tuple(history),
            )
        )
    return out


class AnalyticsContract:
    """Analytics over a unit of work of your storage must equal analytics over the entities."""

    #: Settings of the agreement test (raise ``max_examples`` in a nightly job).
    analytics_settings: ClassVar[settings] = settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )

    def make_storage(self) -> Storage:
        """Return a new, empty storage of the adapter under test (called once per example)."""
        raise NotImplementedError("subclasses return a fresh, empty storage")

    def release_storage(self, storage: Storage) -> None:
        """Clean up after one example (default: close the storage)."""
        storage.close()

    def test_every_report_agrees_with_the_entities(self) -> None:
        """Funnels, forecasts, conversion, metrics, time in stage and stale deals, at random."""

        @self.analytics_settings
        @given(
            deals=deal_lists(currencies=("EUR", "USD")),
            leads=lead_lists(),
            moment=st.none() | moments,
            by=st.sampled_from([(), ("owner",), ("cohort",), ("source",)]),
            slices=st.sampled_from([("category",), ("stage", "owner"), ("period", "pipeline")]),
        )
        def agree(
            deals: list[Opportunity],
            leads: list[Lead],
            moment: datetime | None,
            by: tuple[str, ...],
            slices: tuple[str, ...],
        ) -> None:
            self._with_stored(
                leads, deals, lambda uow: _check(uow, leads, deals, moment, by, slices)
            )

        agree()

    def test_empty_storage_and_an_early_moment(self) -> None:
        """Nothing stored, or nothing yet at the moment: the same empty reports as in memory."""

        def check(uow: UnitOfWork) -> None:
            for moment in (None, T0 - timedelta(days=365)):
                for by in ((), ("owner",)):
                    _same(
                        f"lead_conversion(as_of={moment}, by={by})",
                        analytics.lead_conversion(uow, PIPELINES, as_of=moment, by=by),
                        analytics.lead_conversion([], [], PIPELINES, as_of=moment, by=by),
                    )
                    _same(
                        f"funnel(as_of={moment}, by={by})",
                        analytics.funnel(uow, PIPELINES, as_of=moment, by=by),
                        analytics.funnel([], PIPELINES, as_of=moment, by=by),
                    )
                _same(
                    f"forecast(as_of={moment})",
                    analytics.forecast(uow, PIPELINES, as_of=moment),
                    analytics.forecast([], PIPELINES, as_of=moment),
                )

        self._with_stored([], [], check)

    def test_a_missing_rate_is_named_as_in_memory(self) -> None:
        """Converting currencies without a rate names the same currency as the in-memory report."""
        deals = [
            _priced(n, code) for n, code in enumerate(("USD", "JPY", "EUR", "GBP", "USD"), start=1)
        ]

        def check(uow: UnitOfWork) -> None:
            for rates in (None, {"GBP": "1.2"}):
                expected = _raised(analytics.forecast, deals, rates)
                got = _raised(analytics.forecast, uow, rates)
                assert got == expected, (
                    f"forecast(rates={rates}, currency='EUR') from a unit of work raised {got}, "
                    f"in memory {expected}"
                )

        self._with_stored([], deals, check)

    def _with_stored(
        self, leads: list[Lead], deals: list[Opportunity], check: Callable[[UnitOfWork], None]
    ) -> None:
        storage = self.make_storage()
        try:
            with storage.unit_of_work() as uow:
                uow.leads.save_all(leads)
                uow.opportunities.save_all(deals)
                uow.commit()
            with storage.unit_of_work(read_only=True) as uow:
                check(uow)
        finally:
            self.release_storage(storage)


def _priced(n: int, currency: str) -> Opportunity:
    sales = PIPELINES[0]
    opened = sales.open(name=f"deal {n}", amount=Money(100 + n, currency), at=T0).entity
    return opened.evolve(id=f"priced-{n}")


def _raised(report: Callable[..., object], source: object, rates: dict[str, str] | None) -> str:
    try:
        report(source, PIPELINES, rates=rates, currency="EUR")
    except analytics.MissingRate as error:
        return f"MissingRate({error.currency!r})"
    except analytics.MixedCurrencies as error:
        return f"MixedCurrencies({error.currencies!r})"
    return "nothing"


def _same(what: str, got: object, expected: object) -> None:
    assert got == expected, (
        f"{what} from a unit of work differs from the in-memory result:\n"
        f"  unit of work: {got!r}\n  in memory:    {expected!r}"
    )


def _check(
    uow: UnitOfWork,
    leads: list[Lead],
    deals: list[Opportunity],
    moment: datetime | None,
    by: tuple[str, ...],
    slices: tuple[str, ...],
) -> None:
    at = moment or T0 + timedelta(days=90)
    start = T0 - timedelta(days=1)
    rates: dict[str, Any] = {"rates": {"USD": "1.1"}, "currency": "EUR"}
    lead_by = by and (tuple(name for name in by if name != "cohort") or ("cohort",))
    _same(
        f"funnel(as_of={moment}, by={by}, period='week')",
        analytics.funnel(uow, PIPELINES, as_of=moment, by=by, period="week"),
        analytics.funnel(deals, PIPELINES, as_of=moment, by=by, period="week", leads=leads),
    )
    _same(
        f"forecast(as_of={moment}, by={slices}, period='quarter')",
        analytics.forecast(uow, PIPELINES, as_of=moment, by=slices, period="quarter"),
        analytics.forecast(deals, PIPELINES, as_of=moment, by=slices, period="quarter"),
    )
    _same(
        f"forecast(as_of={moment}, rates={{'USD': '0.9'}}, currency='EUR')",
        analytics.forecast(uow, PIPELINES, as_of=moment, rates={"USD": "0.9"}, currency="EUR"),
        analytics.forecast(deals, PIPELINES, as_of=moment, rates={"USD": "0.9"}, currency="EUR"),
    )
    _same(
        f"lead_funnel(as_of={moment}, by={by})",
        analytics.lead_funnel(uow, as_of=moment, by=by),
        analytics.lead_funnel(leads, as_of=moment, by=by),
    )
    _same(
        f"lead_conversion(as_of={moment}, by={lead_by})",
        analytics.lead_conversion(uow, PIPELINES, as_of=moment, by=lead_by),
        analytics.lead_conversion(leads, deals, PIPELINES, as_of=moment, by=lead_by),
    )
    _same(
        f"sales_metrics(start={start}, end={at}, by=('owner', 'pipeline'), rates=...)",
        analytics.sales_metrics(
            uow, PIPELINES, start=start, end=at, by=("owner", "pipeline"), **rates
        ),
        analytics.sales_metrics(
            deals, PIPELINES, start=start, end=at, by=("owner", "pipeline"), **rates
        ),
    )
    _same(
        f"time_in_stages(as_of={at})",
        analytics.time_in_stages(uow, PIPELINES, as_of=at),
        analytics.time_in_stages(deals, PIPELINES, as_of=at),
    )
    _same(
        f"stale_deals(as_of={at})",
        analytics.stale_deals(uow, PIPELINES, as_of=at),
        analytics.stale_deals(deals, PIPELINES, as_of=at),
    )
