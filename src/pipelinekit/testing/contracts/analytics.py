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
    ProbabilityChange,
    ProbabilitySource,
    Source,
    StageChange,
    StageKind,
    analytics,
    compile_pipeline,
    sales_pipeline,
)
from pipelinekit.storage import Storage, UnitOfWork

from .samples import result as _result

__all__ = [
    "LEAD_IDS",
    "PIPELINES",
    "T0",
    "AnalyticsContract",
    "deal_lists",
    "lead_lists",
    "moments",
    "opportunities_with_history",
    "replayed_lead",
    "replayed_opportunity",
    "scored_lead_lists",
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
    """An opportunity of :data:`PIPELINES` with a random stage and probability history.

    The history moves between any stages (skipping, losing, reopening,
    winning; a quarter of the deals still open at the end are then won) and
    may move the deal to the other pipeline on the way (``change_pipeline``);
    with ``manual`` a person or a scorer may set, change or clear its manual
    and automated probabilities along the way (recorded in
    ``probability_history``), or a manual probability may be there without a
    record (as in data from before probability history).
    ``ident`` makes ids of one list distinct.
    """
    spec = draw(st.sampled_from(PIPELINES)).spec
    created = T0 + timedelta(hours=draw(st.integers(0, 24 * 60)))
    current = spec.first_stage.key
    at = created
    history = [StageChange(None, current, "open", at, pipeline=spec.key)]
    layers: dict[str, Decimal | None] = {"manual": None, "automated": None}
    chances: list[ProbabilityChange] = []

    def later() -> datetime:
        return at + timedelta(hours=draw(st.integers(0, 24 * 12)))

    for _ in range(draw(st.integers(0, 6))):
        if manual and draw(st.integers(0, 2)) == 0:  # a probability layer changes
            layer = draw(st.sampled_from(("manual", "automated")))
            value = draw(st.none() | st.integers(0, 1000).map(lambda n: Decimal(n).scaleb(-1)))
            at = later()
            if value != layers[layer]:
                chances.append(ProbabilityChange(layer, layers[layer], value, at, actor="ana"))
                layers[layer] = value
            continue
        if spec.stage(current).kind is StageKind.OPEN and draw(st.integers(0, 5)) == 0:
            other = next(p.spec for p in PIPELINES if p.key != spec.key)
            target = draw(
                st.sampled_from([s.key for s in other.stages if s.kind is StageKind.OPEN])
            )
            at = later()
            history.append(
                StageChange(
                    current,
                    target,
                    "change_pipeline",
                    at,
                    pipeline=other.key,
                    from_pipeline=spec.key,
                )
            )
            spec, current = other, target
            continue
        if spec.stage(current).kind is StageKind.OPEN:
            choices = [s.key for s in spec.stages if s.key != current]
        else:  # reopen into an open stage
            choices = [s.key for s in spec.stages if s.kind is StageKind.OPEN]
        target = draw(st.sampled_from(choices))
        at = later()
        history.append(StageChange(current, target, "move", at, pipeline=spec.key))
        current = target
    if spec.stage(current).kind is StageKind.OPEN and draw(st.integers(0, 3)) == 0:
        won = next(s.key for s in spec.stages if s.kind is StageKind.WON)  # deals get won too
        at = later()
        history.append(StageChange(current, won, "win", at, pipeline=spec.key))
        current = won
    stage = spec.stage(current)
    outcome = _OUTCOME[stage.kind]
    if manual and not chances and stage.kind is StageKind.OPEN and draw(st.booleans()):
        layers["manual"] = Decimal(draw(st.integers(0, 1000))).scaleb(-1)  # set without a record
    probability, source = stage.effective_probability(layers["manual"], layers["automated"])
    return Opportunity(
        id=OpportunityId(f"opp-{ident}-{draw(st.integers(0, 10**9))}"),
        created_at=created,
        updated_at=at,
        name="deal",
        pipeline=spec.key,
        stage=current,
        amount=draw(_amounts(currencies)),
        probability=probability,
        probability_source=source,
        manual_probability=layers["manual"],
        automated_probability=layers["automated"],
        expected_close=draw(st.none() | st.dates(date(2026, 1, 1), date(2026, 12, 31))),
        owner=draw(st.sampled_from((None, "ana", "bo"))),
        outcome=outcome,
        closed_at=history[-1].at if outcome != "open" else None,
        lost_reason="no budget" if outcome == "lost" else None,
        lead_id=draw(st.none() | st.sampled_from(LEAD_IDS)),
        history=tuple(history),
        probability_history=tuple(chances),
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
        # the entry into "new" is recorded (as Lead.create does), or not (older data)
        history = [StageChange(None, status, "create", at)] if draw(st.booleans()) else []
        if draw(st.integers(0, 4)):  # a random walk through the lifecycle, skipping and recycling
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


#: Lead scores that tie exactly, or only as floats (28 significant digits), or not at all.
_SCORES = (
    Decimal(90),
    Decimal(50),
    Decimal("33.33333333333333333333333334"),
    Decimal("33.33333333333333333333333333"),
    Decimal(0),
)


@st.composite
def scored_lead_lists(draw: st.DrawFn) -> list[Lead]:
    """:func:`lead_lists` whose leads carry a qualification result (or none, or an unscored one)
    with scores that tie, tie only as floats, or differ."""
    out = []
    for lead in draw(lead_lists()):
        kind = draw(st.sampled_from(("scored", "unscored", "none")))
        if kind == "none":
            out.append(lead)
            continue
        score = draw(st.sampled_from(_SCORES)) if kind == "scored" else None
        qualified = _result(score, as_of=lead.created_at)
        out.append(lead.evolve(qualification=qualified))
    return out


def replayed_opportunity(opportunity: Opportunity, moment: datetime) -> Opportunity | None:
    """The opportunity as it stood at ``moment`` (``None`` if it did not exist yet).

    An oracle written from the documented definitions, independent of the
    reports: the history and probability history up to the moment, the
    pipeline and stage of the last move by then (a history whose first move
    leaves a stage was in that stage since the creation), the outcome of that
    stage, and its probability then: the deal's own if nothing was recorded
    after the moment, else the stage's effective probability over the layers
    in force then (each layer's last change by the moment, else the value its
    first change replaced, else unset).  Amounts, owners and dates stay.
    """
    history = opportunity.history
    kept = tuple(c for c in history if c.at <= moment)
    since = opportunity.created_at
    if kept:
        pipeline = kept[-1].pipeline or opportunity.pipeline
        stage, since = kept[-1].to_stage, kept[-1].at
    elif history and history[0].from_stage is not None and opportunity.created_at <= moment:
        first = history[0]
        pipeline = first.from_pipeline or first.pipeline or opportunity.pipeline
        stage = first.from_stage or first.to_stage
    elif not history and opportunity.created_at <= moment:
        pipeline, stage = opportunity.pipeline, opportunity.stage
    else:
        return None
    chances = tuple(c for c in opportunity.probability_history if c.at <= moment)
    changed = len(kept) < len(history) or len(chances) < len(opportunity.probability_history)
    layers: dict[str, Decimal | None] = {}
    for layer in ("manual", "automated"):
        mine = [c for c in opportunity.probability_history if c.layer == layer]
        done = [c for c in mine if c.at <= moment]
        layers[layer] = done[-1].to_value if done else mine[0].from_value if mine else None
    spec = next((p.spec for p in PIPELINES if p.key == pipeline), None)
    known = spec is not None and stage in spec.stage_keys
    kind = spec.stage(stage).kind if spec is not None and known else StageKind.OPEN
    if not changed:
        probability, source = opportunity.probability, opportunity.probability_source
        manual, automated = opportunity.manual_probability, opportunity.automated_probability
    else:
        manual, automated = layers["manual"], layers["automated"]
        if spec is not None and known:
            probability, source = spec.stage(stage).effective_probability(manual, automated)
        else:
            probability, source = Decimal(0), ProbabilitySource.STAGE_DEFAULT
    outcome = _OUTCOME[kind]
    return opportunity.evolve(
        pipeline=pipeline,
        stage=stage,
        updated_at=max(since, opportunity.created_at),
        probability=probability,
        probability_source=source,
        manual_probability=manual,
        automated_probability=automated,
        outcome=outcome,
        closed_at=None if outcome == "open" else max(since, opportunity.created_at),
        lost_reason=(opportunity.lost_reason or "no budget") if outcome == "lost" else None,
        history=kept,
        probability_history=chances,
    )


def replayed_lead(lead: Lead, moment: datetime) -> Lead | None:
    """The lead as it stood at ``moment`` (``None`` if it was created later): its
    history up to the moment and the status of its last move by then (the first
    move's ``from_stage`` before it, its status without history)."""
    if lead.created_at > moment:
        return None
    kept = tuple(c for c in lead.history if c.at <= moment)
    if kept:
        status = kept[-1].to_stage
    elif lead.history:
        status = lead.history[0].from_stage or lead.history[0].to_stage
    else:
        status = lead.status
    return lead.evolve(status=status, history=kept, updated_at=lead.created_at)


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

    def test_the_pipeline_report_agrees_with_the_entities(self) -> None:
        """The whole pipeline report (counts, funnels, forecast, conversion, best leads and
        their ranking, the latest change) from a unit of work equals the in-memory one."""

        @self.analytics_settings
        @given(
            deals=deal_lists(currencies=("EUR", "USD")),
            leads=scored_lead_lists(),
            top=st.integers(0, 7),
        )
        def agree(deals: list[Opportunity], leads: list[Lead], top: int) -> None:
            def check(uow: UnitOfWork) -> None:
                for spec in PIPELINES:
                    _same(
                        f"pipeline_report(pipeline={spec.key!r}, top={top})",
                        analytics.pipeline_report(uow, pipeline=spec, top=top),
                        analytics.pipeline_report(leads, deals, pipeline=spec, top=top),
                    )

            self._with_stored(leads, deals, check)

        agree()

    def test_reports_as_of_a_moment_equal_reports_over_the_entities_replayed_to_it(self) -> None:
        """Any report as of t equals the report over the deals and leads as they stood at t
        (pipeline changes, backward moves, reopens and probability changes included)."""

        @self.analytics_settings
        @given(
            deals=deal_lists(currencies=("EUR", "USD")),
            leads=lead_lists(),
            moment=moments,
            slices=st.sampled_from([("category",), ("stage", "pipeline"), ("period", "owner")]),
        )
        def agree(
            deals: list[Opportunity],
            leads: list[Lead],
            moment: datetime,
            slices: tuple[str, ...],
        ) -> None:
            past = [d for d in (replayed_opportunity(x, moment) for x in deals) if d]
            earlier = [x for x in (replayed_lead(x, moment) for x in leads) if x]

            def check(uow: UnitOfWork) -> None:
                _as_of(uow, past, earlier, moment, slices)
                _as_of(deals, past, earlier, moment, slices, leads)

            self._with_stored(leads, deals, check)

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


def _as_of(
    source: Any,
    past: list[Opportunity],
    earlier: list[Lead],
    moment: datetime,
    slices: tuple[str, ...],
    leads: list[Lead] | None = None,
) -> None:
    """Each report of ``source`` as of ``moment`` equals it over the replayed entities."""
    where = "a unit of work" if leads is None else "the entities"
    given_leads = source if leads is None else leads

    def same(what: str, got: object, expected: object) -> None:
        assert got == expected, (
            f"{what} as of {moment} from {where} differs from the report over the entities "
            f"replayed to that moment:\n  as of:    {got!r}\n  replayed: {expected!r}"
        )

    same(
        f"forecast(by={slices})",
        analytics.forecast(source, PIPELINES, as_of=moment, by=slices).lines,
        analytics.forecast(past, PIPELINES, by=slices).lines,
    )
    same(
        "funnel",
        analytics.funnel(source, PIPELINES, as_of=moment).steps,
        analytics.funnel(past, PIPELINES).steps,
    )
    lead_funnel = analytics.lead_funnel(given_leads, as_of=moment)
    same("lead_funnel", lead_funnel.steps, analytics.lead_funnel(earlier).steps)
    if leads is None:
        conversion = analytics.lead_conversion(source, PIPELINES, as_of=moment)
    else:
        conversion = analytics.lead_conversion(leads, source, PIPELINES, as_of=moment)
    same(
        "lead_conversion",
        conversion.lines,
        analytics.lead_conversion(earlier, past, PIPELINES).lines,
    )
    counted = sum(line.leads for line in conversion.lines)
    assert lead_funnel.steps[0].entered == counted, (
        f"lead_funnel as of {moment} from {where} counts {lead_funnel.steps[0].entered} leads "
        f"in its first step, lead_conversion {counted}"
    )
    same(
        "stale_deals",
        analytics.stale_deals(source, PIPELINES, as_of=moment),
        analytics.stale_deals(past, PIPELINES, as_of=moment),
    )
    same(
        "time_in_stages",
        analytics.time_in_stages(source, PIPELINES, as_of=moment),
        analytics.time_in_stages(past, PIPELINES, as_of=moment),
    )
