"""Random opportunities with stage histories (skips, losses, reopenings) for analytics tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from pipelinekit import Channel, Company, Lead, Money, Opportunity, Source, StageChange
from pipelinekit.pipelines import PipelineBuilder, compile_pipeline, sales_pipeline
from pipelinekit.pipelines.spec import StageKind

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SALES = sales_pipeline()
PARTNERS = compile_pipeline(
    PipelineBuilder("partners", label="Partner deals")
    .stage("intro", probability=10, rotting_days=3)
    .stage("pilot", probability=50, forecast="commit", rotting_days=5)
    .stage("signed", kind="won")
    .stage("dropped", kind="lost")
    .transition("start_pilot", "intro", "pilot")
    .transition("sign", "pilot", "signed")
    .transition("drop", "*", "dropped")
    .build()
)
PIPELINES = (SALES, PARTNERS)
LEAD_IDS = tuple(f"lead-{n}" for n in range(6))
LIFECYCLE_STAGES = ("new", "contacted", "nurturing", "qualified", "disqualified", "converted")


@st.composite
def _amounts(draw: st.DrawFn, currencies: tuple[str, ...]) -> Money | None:
    if draw(st.integers(0, 5)) == 0:
        return None
    cents = draw(st.integers(0, 5_000_000) | st.just(10**15 + 7))  # huge: kept as text in SQL
    places = draw(st.sampled_from((0, 2, 2, 2, 7)))  # 7 places: more than SQL's integer units
    value = Decimal(cents).scaleb(-places)
    return Money(value, draw(st.sampled_from(currencies)))


@st.composite
def opportunities(
    draw: st.DrawFn,
    *,
    currencies: tuple[str, ...] = ("EUR",),
    manual: bool = True,
    ident: int = 0,
) -> Opportunity:
    """An opportunity of one of :data:`PIPELINES` with a random history."""
    pipeline = draw(st.sampled_from(PIPELINES))
    spec = pipeline.spec
    created = T0 + timedelta(hours=draw(st.integers(0, 24 * 60)))
    stages = spec.stages
    current = spec.first_stage.key
    at = created
    history = [StageChange(None, current, "open", at, pipeline=spec.key)]
    for _ in range(draw(st.integers(0, 6))):
        kind = spec.stage(current).kind
        if kind is StageKind.OPEN:
            choices = [s.key for s in stages if s.key != current]
        else:  # reopen into an open stage
            choices = [s.key for s in stages if s.kind is StageKind.OPEN]
        target = draw(st.sampled_from(choices))
        at = at + timedelta(hours=draw(st.integers(0, 24 * 12)))
        history.append(StageChange(current, target, "move", at, pipeline=spec.key))
        current = target
    stage = spec.stage(current)
    outcome = {StageKind.OPEN: "open", StageKind.WON: "won", StageKind.LOST: "lost"}[stage.kind]
    probability = stage.probability
    manual_probability = None
    if manual and stage.kind is StageKind.OPEN and draw(st.booleans()):
        manual_probability = Decimal(draw(st.integers(0, 1000))).scaleb(-1)
        probability = manual_probability
    expected = draw(st.none() | st.dates(date(2026, 1, 1), date(2026, 12, 31)))
    return Opportunity(
        id=f"opp-{ident}-{draw(st.integers(0, 10**9))}",
        created_at=created,
        updated_at=at,
        name="deal",
        pipeline=spec.key,
        stage=current,
        amount=draw(_amounts(currencies)),
        probability=probability,
        probability_source="manual" if manual_probability is not None else "stage_default",
        manual_probability=manual_probability,
        expected_close=expected,
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
    """A list of opportunities with distinct ids."""
    n = draw(st.integers(0, max_size))
    return [draw(opportunities(currencies=currencies, manual=manual, ident=i)) for i in range(n)]


@st.composite
def lead_lists(draw: st.DrawFn) -> list[Lead]:
    """Leads with the ids opportunities refer to (some missing), sources and owners."""
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
                target = draw(st.sampled_from([s for s in LIFECYCLE_STAGES if s != status]))
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


moments = st.integers(0, 24 * 80).map(lambda h: T0 + timedelta(hours=h))
