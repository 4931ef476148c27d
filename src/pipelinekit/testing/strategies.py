"""Hypothesis strategies for pipelinekit's value objects and entities.

Every strategy generates only *valid* objects and takes its parts as
keyword-only strategies, so a suite can narrow what it needs::

    from hypothesis import given
    from pipelinekit.testing import strategies as pks

    @given(pks.opportunities(amounts=pks.money(currencies=st.just("EUR"))))
    def test_weighted_amount_never_exceeds_amount(opp): ...

The types are also registered for ``st.from_type`` through Hypothesis'
entry point, so ``st.from_type(pipelinekit.Lead)`` works in any suite that
has pipelinekit installed.
"""

from __future__ import annotations

import string
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from ..domain import (
    Channel,
    Company,
    EmailAddress,
    Event,
    FrozenMap,
    Lead,
    LeadId,
    Money,
    Opportunity,
    OpportunityId,
    Outcome,
    Person,
    PhoneNumber,
    ProbabilitySource,
    Prospect,
    ProspectId,
    Seniority,
    Source,
    StageChange,
)
from ..domain._iso import COUNTRIES, CURRENCIES
from ..domain.ids import uuid7
from ..domain.results import BreakdownLine, CriterionStatus, QualificationResult, Verdict

__all__ = [
    "aware_datetimes",
    "breakdown_lines",
    "companies",
    "countries",
    "currencies",
    "custom_fields",
    "email_addresses",
    "events",
    "ids",
    "leads",
    "money",
    "opportunities",
    "people",
    "phone_numbers",
    "prospects",
    "qualification_results",
    "sources",
    "stage_changes",
    "stage_keys",
]

_EPOCH_MIN = datetime(2000, 1, 1)
_EPOCH_MAX = datetime(2100, 1, 1)
_WORD = st.text(string.ascii_letters + string.digits, min_size=1, max_size=12)
_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40).filter(
    str.strip
)


def aware_datetimes(
    *,
    min_value: datetime = _EPOCH_MIN,
    max_value: datetime = _EPOCH_MAX,
    timezones: st.SearchStrategy[timezone] | None = None,
) -> st.SearchStrategy[datetime]:
    """Timezone-aware datetimes (fixed UTC offsets by default). ``min/max_value`` are naive."""
    zones = (
        timezones
        if timezones is not None
        else st.one_of(
            st.just(UTC),
            st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m))),
        )
    )
    return st.datetimes(min_value=min_value, max_value=max_value, timezones=zones)


def currencies() -> st.SearchStrategy[str]:
    """ISO 4217 currency codes."""
    return st.sampled_from(sorted(CURRENCIES))


def countries() -> st.SearchStrategy[str]:
    """ISO 3166-1 alpha-2 country codes."""
    return st.sampled_from(sorted(COUNTRIES))


def money(
    *,
    currencies: st.SearchStrategy[str] | None = None,
    min_amount: Decimal | int = -(10**9),
    max_amount: Decimal | int = 10**9,
    places: int = 2,
) -> st.SearchStrategy[Money]:
    """:class:`Money` with at most ``places`` decimal places."""
    amounts = st.decimals(
        min_value=min_amount,
        max_value=max_amount,
        places=places,
        allow_nan=False,
        allow_infinity=False,
    )
    return st.builds(Money, amounts, currencies if currencies is not None else _currencies())


_currencies = currencies


def _labels() -> st.SearchStrategy[str]:
    return st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)


def _domains() -> st.SearchStrategy[str]:
    tld = st.from_regex(r"[a-z]{2,6}", fullmatch=True)
    return st.builds(
        lambda parts, top: ".".join([*parts, top]), st.lists(_labels(), min_size=1, max_size=3), tld
    )


def email_addresses(
    *, domains: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[EmailAddress]:
    """Valid :class:`EmailAddress` values (mixed-case local parts)."""
    local = st.from_regex(r"[A-Za-z0-9_+-]{1,20}(\.[A-Za-z0-9_+-]{1,10}){0,2}", fullmatch=True)
    return st.builds(
        lambda lo, dom: EmailAddress(f"{lo}@{dom}"),
        local,
        domains if domains is not None else _domains(),
    )


def phone_numbers() -> st.SearchStrategy[PhoneNumber]:
    """Valid :class:`PhoneNumber` values, written in a few common styles."""
    digits = st.from_regex(r"[1-9][0-9]{6,12}", fullmatch=True)
    styles = st.sampled_from(["+{}", "00{}", "{}", "+{} ext 12"])
    return st.builds(lambda fmt, d: PhoneNumber(fmt.format(d)), styles, digits)


@st.composite
def people(
    draw: st.DrawFn,
    *,
    names: st.SearchStrategy[str | None] | None = None,
    emails: st.SearchStrategy[EmailAddress | None] | None = None,
    phones: st.SearchStrategy[PhoneNumber | None] | None = None,
) -> Person:
    """Valid :class:`Person` values (always at least a name, an email or a phone)."""
    name = draw(names if names is not None else st.one_of(st.none(), _TEXT))
    email = draw(emails if emails is not None else st.one_of(st.none(), email_addresses()))
    phone = draw(phones if phones is not None else st.one_of(st.none(), phone_numbers()))
    if name is None and email is None and phone is None:
        name = draw(_TEXT)
    return Person(
        name=name,
        email=email,
        phone=phone,
        job_title=draw(st.one_of(st.none(), _TEXT)),
        seniority=draw(st.one_of(st.none(), st.sampled_from(Seniority))),
    )


def companies(
    *,
    employees: st.SearchStrategy[int | None] | None = None,
    revenues: st.SearchStrategy[Money | None] | None = None,
) -> st.SearchStrategy[Company]:
    """Valid :class:`Company` values."""
    return st.builds(
        Company,
        name=_TEXT,
        domain=st.one_of(st.none(), _domains()),
        industry=st.one_of(st.none(), st.sampled_from(["software", "retail", "finance", "health"])),
        employees=employees
        if employees is not None
        else st.one_of(st.none(), st.integers(0, 10**6)),
        annual_revenue=revenues
        if revenues is not None
        else st.one_of(st.none(), money(min_amount=0, max_amount=10**10)),
        country=st.one_of(st.none(), countries()),
        region=st.one_of(st.none(), _TEXT),
    )


def sources() -> st.SearchStrategy[Source]:
    """Valid :class:`Source` values."""
    return st.builds(Source, st.sampled_from(Channel), st.one_of(st.none(), _TEXT))


def custom_fields(*, max_size: int = 4) -> st.SearchStrategy[FrozenMap]:
    """Custom-field maps holding every supported value type."""
    values: st.SearchStrategy[Any] = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**12), 10**12),
        _TEXT,
        st.decimals(
            allow_nan=False, allow_infinity=False, places=4, min_value=-(10**9), max_value=10**9
        ),
        st.dates(),
        aware_datetimes(timezones=st.just(UTC)),
    )
    return st.dictionaries(_WORD, values, max_size=max_size).map(FrozenMap)


def events(
    *,
    kinds: st.SearchStrategy[str] | None = None,
    times: st.SearchStrategy[datetime] | None = None,
) -> st.SearchStrategy[Event]:
    """Valid engagement :class:`Event` values."""
    return st.builds(
        Event,
        kinds
        if kinds is not None
        else st.sampled_from(
            ["website_visit", "email_open", "email_click", "form_submit", "demo_request"]
        ),
        times if times is not None else aware_datetimes(),
        custom_fields(max_size=2),
    )


def stage_keys() -> st.SearchStrategy[str]:
    """Plausible stage keys (``stage_3``, ``proposal``...)."""
    return st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)


def stage_changes(
    *, times: st.SearchStrategy[datetime] | None = None
) -> st.SearchStrategy[StageChange]:
    """Valid :class:`StageChange` records."""
    return st.builds(
        StageChange,
        from_stage=st.one_of(st.none(), stage_keys()),
        to_stage=stage_keys(),
        event=st.sampled_from(["advance", "win", "lose", "reopen", "move_to"]),
        at=times if times is not None else aware_datetimes(),
        actor=st.one_of(st.none(), _WORD),
        note=st.one_of(st.none(), _TEXT),
    )


def ids() -> st.SearchStrategy[str]:
    """UUIDv7 id strings."""
    return aware_datetimes(min_value=datetime(1971, 1, 1)).map(lambda at: str(uuid7(at)))


def breakdown_lines(
    *, points: st.SearchStrategy[Decimal] | None = None
) -> st.SearchStrategy[BreakdownLine]:
    """Valid :class:`BreakdownLine` values."""
    return st.builds(
        BreakdownLine,
        criterion=_WORD,
        status=st.sampled_from(CriterionStatus),
        points=points
        if points is not None
        else st.decimals(
            min_value=-50, max_value=50, places=2, allow_nan=False, allow_infinity=False
        ),
        reason=_TEXT,
        observed=st.one_of(st.none(), _TEXT, st.integers(0, 1000)),
    )


@st.composite
def qualification_results(draw: st.DrawFn, *, scored: bool | None = None) -> QualificationResult:
    """Valid :class:`QualificationResult` values whose breakdown sums exactly to the score."""
    lines = tuple(draw(st.lists(breakdown_lines(), max_size=5)))
    has_score = draw(st.booleans()) if scored is None else scored
    score = sum((line.points for line in lines), Decimal(0)) if has_score else None
    low = min(Decimal(0), score if score is not None else Decimal(0))
    high = max(Decimal(100), score if score is not None else Decimal(0))
    return QualificationResult(
        strategy=draw(st.sampled_from(["bant", "icp_fit", "engagement"])),
        strategy_version="1",
        config_hash=draw(st.from_regex(r"[0-9a-f]{16}", fullmatch=True)),
        as_of=draw(aware_datetimes()),
        score=score,
        scale_min=low,
        scale_max=high,
        verdict=draw(st.sampled_from(Verdict)) if has_score else Verdict.INSUFFICIENT_DATA,
        coverage=draw(st.decimals(min_value=0, max_value=1, places=2)),
        breakdown=lines,
        grade=draw(st.one_of(st.none(), st.sampled_from(["A", "B", "C"]))),
    )


def _times(draw: st.DrawFn) -> tuple[datetime, datetime]:
    created = draw(aware_datetimes())
    updated = created + draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=900)))
    return created, updated


_TAGS = st.frozensets(_WORD, max_size=3)


@st.composite
def leads(
    draw: st.DrawFn,
    *,
    contacts: st.SearchStrategy[Person | None] | None = None,
    companies: st.SearchStrategy[Company | None] | None = None,
    statuses: st.SearchStrategy[str] | None = None,
    engagement: st.SearchStrategy[tuple[Event, ...]] | None = None,
) -> Lead:
    """Valid :class:`Lead` entities."""
    created, updated = _times(draw)
    contact = draw(contacts if contacts is not None else st.one_of(st.none(), people()))
    company = draw(companies if companies is not None else st.one_of(st.none(), _companies()))
    if contact is None and company is None:
        company = draw(_companies())
    return Lead(
        id=LeadId(draw(ids())),
        created_at=created,
        updated_at=updated,
        contact=contact,
        company=company,
        source=draw(st.one_of(st.none(), sources())),
        status=draw(
            statuses
            if statuses is not None
            else st.sampled_from(["new", "contacted", "nurturing", "qualified", "disqualified"])
        ),
        owner=draw(st.one_of(st.none(), _WORD)),
        tags=draw(_TAGS),
        custom=draw(custom_fields()),
        external_id=draw(st.one_of(st.none(), _WORD)),
        engagement=draw(
            engagement if engagement is not None else st.lists(events(), max_size=3).map(tuple)
        ),
        qualification=draw(st.one_of(st.none(), qualification_results())),
        history=tuple(draw(st.lists(stage_changes(), max_size=2))),
        notes=draw(st.one_of(st.none(), _TEXT)),
        version=draw(st.integers(0, 50)),
    )


_companies = companies


@st.composite
def prospects(draw: st.DrawFn, *, personas: st.SearchStrategy[str] | None = None) -> Prospect:
    """Valid :class:`Prospect` entities."""
    created, updated = _times(draw)
    person = draw(st.one_of(st.none(), people()))
    company = draw(st.one_of(st.none(), _companies()))
    if person is None and company is None:
        company = draw(_companies())
    return Prospect(
        id=ProspectId(draw(ids())),
        created_at=created,
        updated_at=updated,
        persona=draw(personas if personas is not None else st.sampled_from(["smb", "enterprise"])),
        person=person,
        company=company,
        fit=draw(st.one_of(st.none(), qualification_results())),
        owner=draw(st.one_of(st.none(), _WORD)),
        tags=draw(_TAGS),
        custom=draw(custom_fields()),
        external_id=draw(st.one_of(st.none(), _WORD)),
        version=draw(st.integers(0, 50)),
    )


_PROB = st.decimals(min_value=0, max_value=100, places=2)


@st.composite
def opportunities(
    draw: st.DrawFn,
    *,
    amounts: st.SearchStrategy[Money | None] | None = None,
    outcomes: st.SearchStrategy[Outcome] | None = None,
    pipelines: st.SearchStrategy[str] | None = None,
    stages: st.SearchStrategy[str] | None = None,
) -> Opportunity:
    """Valid :class:`Opportunity` entities (won ones at 100 %, lost ones at 0 %)."""
    created, updated = _times(draw)
    outcome = draw(outcomes if outcomes is not None else st.sampled_from(Outcome))
    closed_at = None if outcome == Outcome.OPEN else updated
    if outcome == Outcome.OPEN:
        source = draw(
            st.sampled_from(
                [
                    ProbabilitySource.STAGE_DEFAULT,
                    ProbabilitySource.AUTOMATED,
                    ProbabilitySource.MANUAL,
                ]
            )
        )
        probability = draw(_PROB)
    else:
        source = ProbabilitySource.CLOSED
        probability = Decimal(100 if outcome == Outcome.WON else 0)
    return Opportunity(
        id=OpportunityId(draw(ids())),
        created_at=created,
        updated_at=updated,
        name=draw(_TEXT),
        pipeline=draw(pipelines if pipelines is not None else st.just("sales")),
        stage=draw(stages if stages is not None else stage_keys()),
        pipeline_version=draw(st.one_of(st.none(), st.from_regex(r"[0-9a-f]{12}", fullmatch=True))),
        lead_id=draw(st.one_of(st.none(), ids().map(LeadId))),
        contact=draw(st.one_of(st.none(), people())),
        company=draw(st.one_of(st.none(), _companies())),
        amount=draw(
            amounts
            if amounts is not None
            else st.one_of(st.none(), money(min_amount=0, max_amount=10**8))
        ),
        probability=probability,
        probability_source=source,
        manual_probability=draw(st.one_of(st.none(), _PROB)),
        automated_probability=draw(st.one_of(st.none(), _PROB)),
        expected_close=draw(st.one_of(st.none(), st.dates(date(2000, 1, 1), date(2100, 1, 1)))),
        owner=draw(st.one_of(st.none(), _WORD)),
        outcome=outcome,
        closed_at=closed_at,
        lost_reason=draw(st.one_of(st.none(), _TEXT)) if outcome == Outcome.LOST else None,
        competitor=draw(st.one_of(st.none(), _WORD)) if outcome == Outcome.LOST else None,
        history=tuple(draw(st.lists(stage_changes(), max_size=3))),
        tags=draw(_TAGS),
        custom=draw(custom_fields()),
        external_id=draw(st.one_of(st.none(), _WORD)),
        notes=draw(st.one_of(st.none(), _TEXT)),
        version=draw(st.integers(0, 50)),
    )
