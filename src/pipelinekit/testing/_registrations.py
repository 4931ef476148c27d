"""What ``st.from_type`` draws for each public type of pipelinekit.

Types whose constructor annotations describe valid values (most attrs
classes and enums) need nothing here: Hypothesis builds them from their
annotations, and the registrations below supply the parts.  The others (a
protocol, a validated range, an error that needs problems, a pipeline that
needs the default guards) get a strategy of their own.  Everything is derived
from the public types and their factories, so a change of a type's fields
flows through.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from .. import domain, errors
from ..analytics.errors import MixedCurrencies
from ..clock import Clock, FixedClock, SystemClock
from ..domain import results
from ..domain.probability import Probability
from ..lifecycle import Hysteresis, Proposal, propose
from ..pipelines import (
    BulkFailure,
    BulkResult,
    Candidate,
    Guard,
    GuardSpec,
    Pipeline,
    PipelineDefinitionError,
    PipelineSet,
    PipelineSpec,
    StageKind,
    TransitionSpec,
    default_guards,
    sales_pipeline,
)
from ..qualification import (
    Band,
    Criterion,
    Decay,
    EventGroup,
    Grade,
    Item,
    NumericBand,
    PredictiveStrategy,
    Preview,
    Rule,
    Strategy,
    StrategyBase,
    bands,
    bant,
    engagement,
    event_group,
    half_life,
    icp_fit,
    item,
    no_decay,
    one_of,
    pattern,
    predictive,
    present,
    preview,
    rule,
)
from ..storage import (
    EventRecord,
    EventStore,
    LeadQuery,
    LeadRepository,
    OpportunityQuery,
    OpportunityRepository,
    Page,
    ProspectQuery,
    ProspectRepository,
    Query,
    Repository,
    ResultStore,
    Storage,
    StoredResult,
    UnitOfWork,
    memory_storage,
)
from . import strategies as pks
from .pipelines import pipeline_sets, pipeline_specs, pipelines

_OPEN_STAGES = [s.key for s in sales_pipeline().spec.stages if s.kind is StageKind.OPEN]

__all__ = ["registrations"]

_WORDS = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=10)
_PATHS = st.lists(_WORDS, min_size=1, max_size=3).map(lambda parts: "$." + ".".join(parts))
_PROBLEMS = st.builds(errors.Problem, _PATHS, _WORDS.map(lambda w: f"must be {w}"))
_PROBLEM_LISTS = st.lists(_PROBLEMS, min_size=1, max_size=3)
_SCORES = st.integers(0, 100).map(Decimal)


@st.composite
def _hystereses(draw: st.DrawFn) -> Hysteresis:
    high = draw(_SCORES)
    low = draw(st.integers(0, int(high)).map(Decimal))
    return Hysteresis(qualify_at=high, keep_above=low)


def _clocks() -> st.SearchStrategy[Clock]:
    fixed = pks.aware_datetimes().map(FixedClock)
    return st.one_of(fixed, st.just(SystemClock()))


def _queries(kind: Callable[..., Any], **extra: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    common: dict[str, st.SearchStrategy[Any]] = {
        "owner": st.none() | _WORDS,
        "updated_since": st.none() | pks.aware_datetimes(),
        "limit": st.none() | st.integers(1, 500),
        "after": st.none() | pks.ids(),
    }
    return st.builds(kind, **common, **extra)


@st.composite
def _score_range(draw: st.DrawFn) -> dict[str, Decimal | None]:
    low = draw(st.none() | _SCORES)
    high = draw(st.none() | _SCORES)
    if low is not None and high is not None and low > high:
        low, high = high, low
    return {"min_score": low, "max_score": high}


def _scored_queries(kind: Callable[..., Query], **extra: st.SearchStrategy[Any]) -> Any:
    return st.tuples(_queries(lambda **kw: kw, **extra), _score_range()).map(
        lambda parts: kind(**parts[0], **parts[1])
    )


def _percent(value: Decimal | None) -> Probability | None:
    return None if value is None else Probability.percent(value)


@st.composite
def _opportunity_queries(draw: st.DrawFn) -> OpportunityQuery:
    base = draw(_queries(lambda **kw: kw))
    scores = draw(_score_range())
    return OpportunityQuery(
        **base,
        pipeline=draw(st.none() | _WORDS),
        stage=draw(st.none() | pks.stage_keys()),
        lead_id=draw(st.none() | pks.ids()),
        min_probability=_percent(scores["min_score"]),
        max_probability=_percent(scores["max_score"]),
    )


_ANY_QUERY = st.one_of(
    _queries(Query),
    _scored_queries(LeadQuery, status=st.none() | _WORDS),
    _scored_queries(ProspectQuery, persona=st.none() | _WORDS),
    _opportunity_queries(),
)


@st.composite
def _pages(draw: st.DrawFn) -> Page[Any, Any]:
    items = draw(st.lists(pks.leads(), max_size=3))
    return Page(tuple(items), draw(st.none() | _scored_queries(LeadQuery)))


def _event_records() -> st.SearchStrategy[EventRecord]:
    return st.builds(
        EventRecord,
        entity_kind=st.sampled_from(["lead", "prospect", "opportunity"]),
        entity_id=pks.ids(),
        kind=_WORDS,
        at=pks.aware_datetimes(),
        payload=st.dictionaries(_WORDS, st.none() | st.booleans() | st.integers() | _WORDS),
        seq=st.none() | st.integers(1, 10**6),
    )


def _guard_specs() -> st.SearchStrategy[GuardSpec]:
    return (
        pipeline_specs()
        .map(lambda spec: [g for t in spec.transitions for g in t.guards])
        .filter(bool)
        .flatmap(st.sampled_from)
    )


def _guards() -> st.SearchStrategy[Guard]:
    registry = default_guards()
    return _guard_specs().map(lambda spec: registry.resolve(spec.name, dict(spec.params)))


def _transition_specs() -> st.SearchStrategy[TransitionSpec]:
    return pipeline_specs().flatmap(lambda spec: st.sampled_from(spec.transitions))


def _candidates() -> st.SearchStrategy[Candidate]:
    return st.builds(Candidate, pks.stage_keys(), st.lists(_guards(), max_size=2).map(tuple))


def _criteria() -> st.SearchStrategy[Criterion]:
    return st.one_of(
        st.builds(
            lambda points: one_of("industry", "company.industry", {"software": points}),
            st.integers(0, 30),
        ),
        st.builds(
            lambda cut: bands("size", "company.employees", [(None, cut, 0), (cut, None, 10)]),
            st.integers(1, 1000),
        ),
        st.builds(lambda p: present("email", "contact.email", points=p), st.integers(1, 10)),
        st.just(pattern("title", "contact.job_title", {r"\bcto\b": 20})),
    )


def _numeric_bands() -> st.SearchStrategy[NumericBand]:
    return st.tuples(st.integers(0, 1000), st.integers(0, 1000), st.integers(-10, 30)).map(
        lambda t: NumericBand(low=min(t[0], t[1]), high=max(t[0], t[1]) + 1, points=t[2])
    )


def _rules() -> st.SearchStrategy[Rule]:
    return st.builds(
        rule,
        _WORDS,
        st.sampled_from(["website_visit", "email_open", "demo_request"]),
        st.integers(-5, 20).filter(bool),
        daily_cap=st.none() | st.integers(1, 5),
    )


def _qualifiers() -> st.SearchStrategy[StrategyBase]:
    built: st.SearchStrategy[Any] = st.one_of(
        st.just(bant()),
        st.lists(_criteria(), min_size=1, max_size=3, unique_by=lambda c: c.name).map(
            lambda criteria: icp_fit("icp", criteria)
        ),
        st.lists(_rules(), min_size=1, max_size=3, unique_by=lambda r: r.name).map(
            lambda rules: engagement("engagement", rules)
        ),
    )
    return built


@st.composite
def _previews(draw: st.DrawFn) -> Preview:
    # unscored subjects: a stored result of another strategy is refused by design
    subjects = draw(st.lists(pks.leads(qualification=st.none()), max_size=3))
    return preview(draw(_qualifiers()), subjects, as_of=draw(pks.aware_datetimes()))


@st.composite
def _proposals(draw: st.DrawFn) -> Proposal:
    lead = draw(pks.leads())
    result = draw(pks.qualification_results())
    return propose(lead, result, hysteresis=draw(st.none() | _hystereses()))


@st.composite
def _bulk_results(draw: st.DrawFn) -> BulkResult[Any]:
    moved = draw(st.lists(pks.opportunities(), max_size=3))
    failures = [
        BulkFailure(
            index, draw(pks.ids()), draw(st.builds(errors.ValidationError, _WORDS, _PROBLEM_LISTS))
        )
        for index in range(draw(st.integers(0, 2)))
    ]
    return BulkResult(moved, failures, pipeline="sales", event=draw(_WORDS))


def _units(read_only: bool | None = None) -> st.SearchStrategy[UnitOfWork]:
    """Units of work (not yet entered) of new in-memory storages."""
    flags = st.booleans() if read_only is None else st.just(read_only)
    return flags.map(lambda flag: memory_storage().unit_of_work(read_only=flag))


_LAYER_VALUES = st.none() | st.decimals(0, 100, places=2)


def _probability_changes() -> st.SearchStrategy[domain.ProbabilityChange]:
    """Changes of one layer, values in the canonical percent (``None``: unset)."""
    return st.builds(
        domain.ProbabilityChange,
        layer=st.sampled_from(["manual", "automated"]),
        from_value=_LAYER_VALUES,
        to_value=_LAYER_VALUES,
        at=pks.aware_datetimes(),
        actor=st.none() | _WORDS,
    )


def registrations() -> dict[type, st.SearchStrategy[Any]]:
    """Every public type that ``st.from_type`` cannot build from annotations, with its strategy."""
    return {
        domain.Money: pks.money(),
        domain.EmailAddress: pks.email_addresses(),
        domain.PhoneNumber: pks.phone_numbers(),
        domain.Person: pks.people(),
        domain.Company: pks.companies(),
        domain.Source: pks.sources(),
        domain.Event: pks.events(),
        domain.StageChange: pks.stage_changes(),
        domain.ProbabilityChange: _probability_changes(),
        domain.FrozenMap: pks.custom_fields(),
        domain.Lead: pks.leads(),
        domain.Prospect: pks.prospects(),
        domain.Opportunity: pks.opportunities(),
        results.BreakdownLine: pks.breakdown_lines(),
        results.QualificationResult: pks.qualification_results(),
        PipelineSpec: pipeline_specs(),
        Pipeline: pipelines(),
        PipelineSet: pipeline_sets(),
        Clock: _clocks(),
        FixedClock: pks.aware_datetimes().map(FixedClock),
        Hysteresis: _hystereses(),
        Proposal: _proposals(),
        MixedCurrencies: st.lists(pks.currencies(), min_size=2, max_size=4, unique=True).map(
            MixedCurrencies
        ),
        errors.ValidationError: st.builds(errors.ValidationError, _WORDS, _PROBLEM_LISTS),
        PipelineDefinitionError: st.builds(
            PipelineDefinitionError, st.none() | _WORDS, _PROBLEM_LISTS
        ),
        errors.Problem: _PROBLEMS,
        EventRecord: _event_records(),
        # The ports: the in-memory adapter (whatever subclasses a test suite defines).
        Storage: st.builds(memory_storage),
        UnitOfWork: _units(),
        Repository: _units().flatmap(
            lambda u: st.sampled_from([u.leads, u.prospects, u.opportunities])
        ),
        LeadRepository: _units().map(lambda u: u.leads),
        ProspectRepository: _units().map(lambda u: u.prospects),
        OpportunityRepository: _units().map(lambda u: u.opportunities),
        ResultStore: _units().map(lambda u: u.results),
        EventStore: _units().map(lambda u: u.events),
        StoredResult: st.builds(
            StoredResult.of,
            st.sampled_from(["lead", "prospect", "opportunity"]),
            pks.ids(),
            pks.qualification_results(),
        ),
        Query: _ANY_QUERY,
        LeadQuery: _scored_queries(LeadQuery, status=st.none() | _WORDS),
        ProspectQuery: _scored_queries(ProspectQuery, persona=st.none() | _WORDS),
        OpportunityQuery: _opportunity_queries(),
        Page: _pages(),
        GuardSpec: _guard_specs(),
        Guard: _guards(),
        TransitionSpec: _transition_specs(),
        Candidate: _candidates(),
        Band: st.builds(Band, _WORDS, st.integers(0, 100), st.sampled_from(results.Verdict)),
        Grade: st.builds(Grade, st.sampled_from(["A", "B", "C", "D"]), st.integers(0, 100)),
        Item: st.builds(item, _WORDS, st.none() | _WORDS, st.integers(2, 6)),
        Criterion: _criteria(),
        NumericBand: _numeric_bands(),
        Rule: _rules(),
        Strategy: _qualifiers(),
        StrategyBase: _qualifiers(),
        Preview: _previews(),
        Probability: st.one_of(
            st.integers(0, 100).map(Probability.percent),
            st.decimals(0, 1, places=3).map(Probability.fraction),
        ),
        Decay: st.one_of(st.just(no_decay()), st.integers(1, 365).map(half_life)),
        EventGroup: st.builds(
            lambda name, limit, decay: event_group(name, limit=limit, decay=decay),
            _WORDS,
            st.none() | st.integers(1, 100),
            st.none() | st.integers(1, 365).map(half_life),
        ),
        PredictiveStrategy: st.builds(
            lambda qualify, review: predictive(
                stages=_OPEN_STAGES, qualify_at=qualify, review_at=review
            ),
            st.integers(50, 100),
            st.integers(0, 49),
        ),
        BulkResult: _bulk_results(),
    }
