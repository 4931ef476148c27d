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
from collections.abc import Mapping
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
    "custom_values",
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


# Entities take their times from a cheaper strategy than st.datetimes: whole
# seconds from 2000 to 2100 at a fixed UTC offset (a few integer draws each).
_ZONES = st.one_of(
    st.just(UTC), st.integers(-14 * 4, 14 * 4).map(lambda q: timezone(timedelta(minutes=15 * q)))
)
_AWARE = st.builds(
    lambda seconds, zone: (_EPOCH_MIN.replace(tzinfo=UTC) + timedelta(seconds=seconds)).astimezone(
        zone
    ),
    st.integers(0, int((_EPOCH_MAX - _EPOCH_MIN).total_seconds())),
    _ZONES,
)


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


# Alphabets drawn with st.text, not st.from_regex: regex strategies are many times
# slower to draw from, and these strategies sit inside every entity.
_LOWER = string.ascii_lowercase
_LABEL_CHARS = _LOWER + string.digits
_LABELS = st.builds(
    lambda head, middle, tail: head + middle + tail if middle or tail else head,
    st.sampled_from(_LABEL_CHARS),
    st.text(_LABEL_CHARS + "-", max_size=10),
    st.text(_LABEL_CHARS, max_size=1),
).filter(lambda label: not label.endswith("-"))
_DOMAINS = st.builds(
    lambda parts, top: ".".join([*parts, top]),
    st.lists(_LABELS, min_size=1, max_size=3),
    st.text(_LOWER, min_size=2, max_size=6),
)


def _domains() -> st.SearchStrategy[str]:
    return _DOMAINS


def email_addresses(
    *, domains: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[EmailAddress]:
    """Valid :class:`EmailAddress` values (mixed-case local parts)."""
    if domains is None:
        return _EMAILS
    return st.builds(lambda lo, dom: EmailAddress(f"{lo}@{dom}"), _LOCAL_PARTS, domains)


_LOCAL_CHARS = string.ascii_letters + string.digits + "_+-"
_LOCAL_PARTS = st.builds(
    lambda first, rest: ".".join([first, *rest]),
    st.text(_LOCAL_CHARS, min_size=1, max_size=20),
    st.lists(st.text(_LOCAL_CHARS, min_size=1, max_size=10), max_size=2),
)
_EMAILS = st.builds(lambda lo, dom: EmailAddress(f"{lo}@{dom}"), _LOCAL_PARTS, _DOMAINS)


def phone_numbers() -> st.SearchStrategy[PhoneNumber]:
    """Valid :class:`PhoneNumber` values, written in a few common styles."""
    return _PHONES


_PHONES = st.builds(
    lambda fmt, d: PhoneNumber(fmt.format(d)),
    st.sampled_from(["+{}", "00{}", "{}", "+{} ext 12"]),
    st.integers(10**6, 10**13 - 1).map(str),
)


def _or_none(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


# Strategies are built once and reused: building one inside a composite's body
# makes Hypothesis validate it again for every example, which dominates the cost
# of generating entities.
_NAMES = _or_none(_TEXT)
_OPTIONAL_EMAILS = _or_none(_EMAILS)
_OPTIONAL_PHONES = _or_none(_PHONES)
_SENIORITIES = _or_none(st.sampled_from(Seniority))


@st.composite
def _people(
    draw: st.DrawFn,
    names: st.SearchStrategy[str | None],
    emails: st.SearchStrategy[EmailAddress | None],
    phones: st.SearchStrategy[PhoneNumber | None],
) -> Person:
    name = draw(names)
    email = draw(emails)
    phone = draw(phones)
    if name is None and email is None and phone is None:
        name = draw(_TEXT)
    return Person(
        name=name,
        email=email,
        phone=phone,
        job_title=draw(_NAMES),
        seniority=draw(_SENIORITIES),
    )


_PEOPLE = _people(_NAMES, _OPTIONAL_EMAILS, _OPTIONAL_PHONES)


def people(
    *,
    names: st.SearchStrategy[str | None] | None = None,
    emails: st.SearchStrategy[EmailAddress | None] | None = None,
    phones: st.SearchStrategy[PhoneNumber | None] | None = None,
) -> st.SearchStrategy[Person]:
    """Valid :class:`Person` values (always at least a name, an email or a phone)."""
    if names is None and emails is None and phones is None:
        return _PEOPLE
    return _people(
        names if names is not None else _NAMES,
        emails if emails is not None else _OPTIONAL_EMAILS,
        phones if phones is not None else _OPTIONAL_PHONES,
    )


_EMPLOYEES = _or_none(st.integers(0, 10**6))
_REVENUES = _or_none(money(min_amount=0, max_amount=10**10))


def companies(
    *,
    employees: st.SearchStrategy[int | None] | None = None,
    revenues: st.SearchStrategy[Money | None] | None = None,
) -> st.SearchStrategy[Company]:
    """Valid :class:`Company` values."""
    if employees is None and revenues is None:
        return _COMPANIES
    return _companies_of(
        employees if employees is not None else _EMPLOYEES,
        revenues if revenues is not None else _REVENUES,
    )


def _companies_of(
    employees: st.SearchStrategy[int | None], revenues: st.SearchStrategy[Money | None]
) -> st.SearchStrategy[Company]:
    return st.builds(
        Company,
        name=_TEXT,
        domain=_or_none(_DOMAINS),
        industry=_or_none(st.sampled_from(["software", "retail", "finance", "health"])),
        employees=employees,
        annual_revenue=revenues,
        country=_or_none(countries()),
        region=_or_none(_TEXT),
    )


_COMPANIES = _companies_of(_EMPLOYEES, _REVENUES)

_SOURCES = st.builds(Source, st.sampled_from(Channel), _or_none(_TEXT))


def sources() -> st.SearchStrategy[Source]:
    """Valid :class:`Source` values."""
    return _SOURCES


#: Every value type a custom field may hold (:data:`pipelinekit.CustomValue`).
_CUSTOM_VALUES: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    _TEXT,
    st.decimals(
        allow_nan=False, allow_infinity=False, places=4, min_value=-(10**9), max_value=10**9
    ),
    st.dates(),
    _AWARE.map(lambda at: at.astimezone(UTC)),
)


def custom_values() -> st.SearchStrategy[Any]:
    """Any value a custom field may hold (``None``, bool, int, text, Decimal, date, datetime)."""
    return _CUSTOM_VALUES


def custom_fields(
    *,
    max_size: int = 4,
    fields: Mapping[str, st.SearchStrategy[Any]] | None = None,
    optional: bool = True,
) -> st.SearchStrategy[FrozenMap]:
    """Custom-field maps.

    Without ``fields``: random keys holding every supported value type.  With
    ``fields`` (key -> strategy of its values), those keys are filled from
    their strategies (each left out at random when ``optional``) and up to
    ``max_size`` other random keys are added around them, so a plugin that
    reads ``custom.<key>`` sees its keys among others.
    """
    if fields is None:
        if max_size == 4:
            return _CUSTOM
        return st.dictionaries(_WORD, _CUSTOM_VALUES, max_size=max_size).map(FrozenMap)
    wanted = dict(fields)
    chosen = (
        st.fixed_dictionaries({}, optional=wanted) if optional else st.fixed_dictionaries(wanted)
    )
    others = st.dictionaries(
        _WORD.filter(lambda key: key not in wanted), _CUSTOM_VALUES, max_size=max_size
    )
    return st.builds(lambda extra, mine: FrozenMap({**extra, **mine}), others, chosen)


_CUSTOM = st.dictionaries(_WORD, _CUSTOM_VALUES, max_size=4).map(FrozenMap)
_SMALL_CUSTOM = st.dictionaries(_WORD, _CUSTOM_VALUES, max_size=2).map(FrozenMap)
_EVENT_KINDS = st.sampled_from(
    ["website_visit", "email_open", "email_click", "form_submit", "demo_request"]
)

_EVENTS = st.builds(Event, _EVENT_KINDS, _AWARE, _SMALL_CUSTOM)


def events(
    *,
    kinds: st.SearchStrategy[str] | None = None,
    times: st.SearchStrategy[datetime] | None = None,
) -> st.SearchStrategy[Event]:
    """Valid engagement :class:`Event` values."""
    if kinds is None and times is None:
        return _EVENTS
    return st.builds(
        Event,
        kinds if kinds is not None else _EVENT_KINDS,
        times if times is not None else _AWARE,
        _SMALL_CUSTOM,
    )


_STAGE_KEYS = st.builds(
    lambda head, rest: head + rest,
    st.sampled_from(_LOWER),
    st.text(_LOWER + string.digits + "_", max_size=15),
)


def stage_keys() -> st.SearchStrategy[str]:
    """Plausible stage keys (``stage_3``, ``proposal``...)."""
    return _STAGE_KEYS


def _stage_changes(times: st.SearchStrategy[datetime]) -> st.SearchStrategy[StageChange]:
    return st.builds(
        StageChange,
        from_stage=_or_none(_STAGE_KEYS),
        to_stage=_STAGE_KEYS,
        event=st.sampled_from(["advance", "win", "lose", "reopen", "move_to"]),
        at=times,
        actor=_or_none(_WORD),
        note=_or_none(_TEXT),
    )


_STAGE_CHANGES = _stage_changes(_AWARE)


def stage_changes(
    *, times: st.SearchStrategy[datetime] | None = None
) -> st.SearchStrategy[StageChange]:
    """Valid :class:`StageChange` records."""
    return _STAGE_CHANGES if times is None else _stage_changes(times)


_IDS = _AWARE.map(lambda at: str(uuid7(at)))


def ids() -> st.SearchStrategy[str]:
    """UUIDv7 id strings."""
    return _IDS


_POINTS = st.decimals(min_value=-50, max_value=50, places=2, allow_nan=False, allow_infinity=False)


def _breakdown_lines(points: st.SearchStrategy[Decimal]) -> st.SearchStrategy[BreakdownLine]:
    return st.builds(
        BreakdownLine,
        criterion=_WORD,
        status=st.sampled_from(CriterionStatus),
        points=points,
        reason=_TEXT,
        observed=st.one_of(st.none(), _TEXT, st.integers(0, 1000)),
    )


_BREAKDOWN_LINES = _breakdown_lines(_POINTS)


def breakdown_lines(
    *, points: st.SearchStrategy[Decimal] | None = None
) -> st.SearchStrategy[BreakdownLine]:
    """Valid :class:`BreakdownLine` values."""
    return _BREAKDOWN_LINES if points is None else _breakdown_lines(points)


_LINES = st.lists(_BREAKDOWN_LINES, max_size=5)
_STRATEGY_NAMES = st.sampled_from(["bant", "icp_fit", "engagement"])
_HASHES = st.text("0123456789abcdef", min_size=16, max_size=16)
_VERDICTS = st.sampled_from(Verdict)
_COVERAGE = st.decimals(min_value=0, max_value=1, places=2)
_GRADES = _or_none(st.sampled_from(["A", "B", "C"]))


@st.composite
def _qualification_results(draw: st.DrawFn, scored: bool | None) -> QualificationResult:
    lines = tuple(draw(_LINES))
    has_score = draw(st.booleans()) if scored is None else scored
    score = sum((line.points for line in lines), Decimal(0)) if has_score else None
    low = min(Decimal(0), score if score is not None else Decimal(0))
    high = max(Decimal(100), score if score is not None else Decimal(0))
    return QualificationResult(
        strategy=draw(_STRATEGY_NAMES),
        strategy_version="1",
        config_hash=draw(_HASHES),
        as_of=draw(_AWARE),
        score=score,
        scale_min=low,
        scale_max=high,
        verdict=draw(_VERDICTS) if has_score else Verdict.INSUFFICIENT_DATA,
        coverage=draw(_COVERAGE),
        breakdown=lines,
        grade=draw(_GRADES),
    )


_RESULTS = {flag: _qualification_results(flag) for flag in (None, True, False)}
_OPTIONAL_RESULTS = _or_none(_RESULTS[None])


def qualification_results(*, scored: bool | None = None) -> st.SearchStrategy[QualificationResult]:
    """Valid :class:`QualificationResult` values whose breakdown sums exactly to the score."""
    return _RESULTS[scored]


_SPANS = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=900))


def _times(draw: st.DrawFn) -> tuple[datetime, datetime]:
    created = draw(_AWARE)
    return created, created + draw(_SPANS)


_TAGS = st.frozensets(_WORD, max_size=3)
_OPTIONAL_WORDS = _or_none(_WORD)
_OPTIONAL_TEXT = _or_none(_TEXT)
_VERSIONS = st.integers(0, 50)
_OPTIONAL_PEOPLE = _or_none(_PEOPLE)
_OPTIONAL_COMPANIES = _or_none(_COMPANIES)
_OPTIONAL_SOURCES = _or_none(_SOURCES)
_LEAD_STATUSES = st.sampled_from(["new", "contacted", "nurturing", "qualified", "disqualified"])
_ENGAGEMENT = st.lists(_EVENTS, max_size=3).map(tuple)
_LEAD_HISTORIES = st.lists(_STAGE_CHANGES, max_size=2).map(tuple)
_LEAD_IDS = _IDS.map(LeadId)


@st.composite
def leads(
    draw: st.DrawFn,
    *,
    contacts: st.SearchStrategy[Person | None] | None = None,
    companies: st.SearchStrategy[Company | None] | None = None,
    statuses: st.SearchStrategy[str] | None = None,
    engagement: st.SearchStrategy[tuple[Event, ...]] | None = None,
    custom: st.SearchStrategy[Mapping[str, Any]] | None = None,
    qualification: st.SearchStrategy[QualificationResult | None] | None = None,
) -> Lead:
    """Valid :class:`Lead` entities.

    ``custom`` draws the custom fields (see :func:`custom_fields` with
    ``fields=`` for the keys a plugin reads); ``qualification`` the stored
    result (``st.none()`` for unscored leads).
    """
    created, updated = _times(draw)
    contact = draw(contacts if contacts is not None else _OPTIONAL_PEOPLE)
    company = draw(companies if companies is not None else _OPTIONAL_COMPANIES)
    if contact is None and company is None:
        company = draw(_COMPANIES)
    return Lead(
        id=draw(_LEAD_IDS),
        created_at=created,
        updated_at=updated,
        contact=contact,
        company=company,
        source=draw(_OPTIONAL_SOURCES),
        status=draw(statuses if statuses is not None else _LEAD_STATUSES),
        owner=draw(_OPTIONAL_WORDS),
        tags=draw(_TAGS),
        custom=draw(custom if custom is not None else _CUSTOM),
        external_id=draw(_OPTIONAL_WORDS),
        engagement=draw(engagement if engagement is not None else _ENGAGEMENT),
        qualification=draw(qualification if qualification is not None else _OPTIONAL_RESULTS),
        history=draw(_LEAD_HISTORIES),
        notes=draw(_OPTIONAL_TEXT),
        version=draw(_VERSIONS),
    )


_PERSONAS = st.sampled_from(["smb", "enterprise"])
_PROSPECT_IDS = _IDS.map(ProspectId)


@st.composite
def prospects(
    draw: st.DrawFn,
    *,
    personas: st.SearchStrategy[str] | None = None,
    people: st.SearchStrategy[Person | None] | None = None,
    companies: st.SearchStrategy[Company | None] | None = None,
    custom: st.SearchStrategy[Mapping[str, Any]] | None = None,
) -> Prospect:
    """Valid :class:`Prospect` entities (``custom`` as for :func:`leads`)."""
    created, updated = _times(draw)
    person = draw(people if people is not None else _OPTIONAL_PEOPLE)
    company = draw(companies if companies is not None else _OPTIONAL_COMPANIES)
    if person is None and company is None:
        company = draw(_COMPANIES)
    return Prospect(
        id=draw(_PROSPECT_IDS),
        created_at=created,
        updated_at=updated,
        persona=draw(personas if personas is not None else _PERSONAS),
        person=person,
        company=company,
        fit=draw(_OPTIONAL_RESULTS),
        owner=draw(_OPTIONAL_WORDS),
        tags=draw(_TAGS),
        custom=draw(custom if custom is not None else _CUSTOM),
        external_id=draw(_OPTIONAL_WORDS),
        version=draw(_VERSIONS),
    )


_PROB = st.decimals(min_value=0, max_value=100, places=2)
_OPTIONAL_PROB = _or_none(_PROB)
_OPEN_SOURCES = st.sampled_from(
    [ProbabilitySource.STAGE_DEFAULT, ProbabilitySource.AUTOMATED, ProbabilitySource.MANUAL]
)
_OUTCOMES = st.sampled_from(Outcome)
_AMOUNTS = _or_none(money(min_amount=0, max_amount=10**8))
_PIPELINE_VERSIONS = _or_none(st.text("0123456789abcdef", min_size=12, max_size=12))
_OPTIONAL_LEAD_IDS = _or_none(_LEAD_IDS)
_CLOSE_DATES = _or_none(st.dates(date(2000, 1, 1), date(2100, 1, 1)))
_OPPORTUNITY_HISTORIES = st.lists(_STAGE_CHANGES, max_size=3).map(tuple)
_OPPORTUNITY_IDS = _IDS.map(OpportunityId)
_SALES = st.just("sales")


@st.composite
def opportunities(
    draw: st.DrawFn,
    *,
    amounts: st.SearchStrategy[Money | None] | None = None,
    outcomes: st.SearchStrategy[Outcome] | None = None,
    pipelines: st.SearchStrategy[str] | None = None,
    stages: st.SearchStrategy[str] | None = None,
    custom: st.SearchStrategy[Mapping[str, Any]] | None = None,
) -> Opportunity:
    """Valid :class:`Opportunity` entities (won ones at 100 %, lost ones at 0 %).

    ``custom`` as for :func:`leads`.  For opportunities placed in the stages
    of a real pipeline, use :func:`pipelinekit.testing.pipelines.opportunities_in`.
    """
    created, updated = _times(draw)
    outcome = draw(outcomes if outcomes is not None else _OUTCOMES)
    closed_at = None if outcome == Outcome.OPEN else updated
    if outcome == Outcome.OPEN:
        source = draw(_OPEN_SOURCES)
        probability = draw(_PROB)
    else:
        source = ProbabilitySource.CLOSED
        probability = Decimal(100 if outcome == Outcome.WON else 0)
    return Opportunity(
        id=draw(_OPPORTUNITY_IDS),
        created_at=created,
        updated_at=updated,
        name=draw(_TEXT),
        pipeline=draw(pipelines if pipelines is not None else _SALES),
        stage=draw(stages if stages is not None else _STAGE_KEYS),
        pipeline_version=draw(_PIPELINE_VERSIONS),
        lead_id=draw(_OPTIONAL_LEAD_IDS),
        contact=draw(_OPTIONAL_PEOPLE),
        company=draw(_OPTIONAL_COMPANIES),
        amount=draw(amounts if amounts is not None else _AMOUNTS),
        probability=probability,
        probability_source=source,
        manual_probability=draw(_OPTIONAL_PROB),
        automated_probability=draw(_OPTIONAL_PROB),
        expected_close=draw(_CLOSE_DATES),
        owner=draw(_OPTIONAL_WORDS),
        outcome=outcome,
        closed_at=closed_at,
        lost_reason=draw(_OPTIONAL_TEXT) if outcome == Outcome.LOST else None,
        competitor=draw(_OPTIONAL_WORDS) if outcome == Outcome.LOST else None,
        history=draw(_OPPORTUNITY_HISTORIES),
        tags=draw(_TAGS),
        custom=draw(custom if custom is not None else _CUSTOM),
        external_id=draw(_OPTIONAL_WORDS),
        notes=draw(_OPTIONAL_TEXT),
        version=draw(_VERSIONS),
    )
