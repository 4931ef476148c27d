"""The contract test kit for qualification strategies (built-in and plugins).

Subclass :class:`StrategyContract` in a pytest module, name the subclass
``Test...`` and implement :meth:`~StrategyContract.make_strategy`::

    from pipelinekit.testing.qualification import StrategyContract

    class TestEmailDomain(StrategyContract):
        def make_strategy(self):
            return build_email_domain({"name": "email-domain"})

Every test method then runs against your strategy: result shape, breakdown
adding up exactly, scores within the scale, determinism, ``explain=False``
and ``evaluate_many`` agreeing with ``evaluate``, ``None`` (never 0) for
unscorable subjects, config hash stability, and a lossless round trip through
:func:`pipelinekit.to_dict`.  Needs pytest and Hypothesis (the ``test`` extra).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..domain import Channel, Company, EmailAddress, Event, Lead, LeadId, Money, Person, Source
from ..domain.results import QualificationResult, Verdict
from ..errors import ValidationError
from ..qualification.base import Strategy, canonical_config, config_hash
from ..serialization import from_dict, to_dict

__all__ = ["StrategyContract", "engagement_events", "scorable_leads"]

_START = datetime(2026, 1, 1, tzinfo=UTC)
_BANT_KEYS = ["bant.budget", "bant.authority", "bant.need", "bant.timeline"]


def engagement_events(
    *, max_size: int = 12, before: datetime = _START + timedelta(days=180)
) -> st.SearchStrategy[tuple[Event, ...]]:
    """Engagement events in the 180 days before ``before`` (visits, opens, demo requests...)."""
    event = st.builds(
        Event,
        kind=st.sampled_from(
            ["website_visit", "email_open", "email_click", "demo_request", "unsubscribe"]
        ),
        at=st.integers(min_value=0, max_value=180 * 24 * 60).map(
            lambda m: before - timedelta(minutes=m)
        ),
        properties=st.fixed_dictionaries(
            {}, optional={"url": st.sampled_from(["/pricing", "/blog", "/docs", "/demo"])}
        ),
    )
    return st.lists(event, max_size=max_size).map(tuple)


@st.composite
def scorable_leads(draw: st.DrawFn) -> Lead:
    """Leads with the fields qualification strategies read, each possibly missing."""
    index = draw(st.integers(min_value=0, max_value=10**6))
    maybe = st.booleans()
    contact = None
    if draw(maybe):
        contact = Person(
            name=f"Person {index}",
            email=EmailAddress(f"p{index}@{draw(st.sampled_from(['acme.io', 'gmail.com']))}")
            if draw(maybe)
            else None,
            job_title=draw(
                st.sampled_from([None, "CTO", "VP Sales", "Head of IT", "Engineer", "Intern"])
            ),
        )
    company = None
    if draw(maybe) or contact is None:
        company = Company(
            f"Company {index % 97}",
            industry=draw(st.sampled_from([None, "software", "retail", "fintech", "gambling"])),
            employees=draw(st.none() | st.integers(min_value=0, max_value=20_000)),
            annual_revenue=draw(
                st.none()
                | st.builds(
                    Money,
                    st.integers(min_value=0, max_value=50_000_000),
                    st.sampled_from(["EUR", "USD"]),
                )
            ),
            country=draw(st.sampled_from([None, "DE", "FR", "US", "GB"])),
        )
    answers = draw(
        st.fixed_dictionaries(
            {}, optional={k: st.integers(min_value=0, max_value=4) for k in _BANT_KEYS}
        )
    )
    return Lead(
        id=LeadId(f"lead-{index:07d}"),
        created_at=_START,
        updated_at=_START,
        contact=contact,
        company=company,
        source=draw(st.none() | st.builds(Source, st.sampled_from(list(Channel)))),
        tags=frozenset(draw(st.sets(st.sampled_from(["trial", "webinar", "vip"]), max_size=2))),
        custom=answers,
        engagement=draw(engagement_events()),
    )


# One test method runs for many subclasses (one per strategy): that is the point of
# a contract kit, so the "differing executors" health check does not apply.
_SUPPRESS = [HealthCheck.too_slow, HealthCheck.differing_executors]
_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=_SUPPRESS)


class StrategyContract:
    """Contract tests every strategy must pass.  Subclass it as ``Test<Something>``.

    Override :meth:`make_strategy` (required), and optionally :meth:`subjects`
    (a Hypothesis strategy of subjects), :meth:`unscorable` (subjects your
    policy says cannot be scored: they must get ``score=None``) and
    :meth:`scorable` (subjects that must get a score).  ``as_of`` is the
    evaluation time used throughout.
    """

    as_of: datetime = _START + timedelta(days=180)

    def make_strategy(self) -> Strategy:
        """Return a freshly built strategy to test (called more than once)."""
        raise NotImplementedError("implement make_strategy() in your StrategyContract subclass")

    def subjects(self) -> st.SearchStrategy[Any]:
        """Subjects to evaluate; defaults to :func:`scorable_leads`."""
        return scorable_leads()

    def unscorable(self) -> Iterable[Any]:
        """Subjects the strategy's policy says cannot be scored (``score`` must be ``None``)."""
        return ()

    def scorable(self) -> Iterable[Any]:
        """Subjects that must be scored (``score`` must not be ``None``)."""
        return ()

    # -- the contract ------------------------------------------------------------------

    @_SETTINGS
    @given(data=st.data())
    def test_result_shape(self, data: st.DataObject) -> None:
        """Results carry the strategy's name, version, config hash, ``as_of`` and subject id."""
        strategy = self.make_strategy()
        subject = data.draw(self.subjects(), label="subject")
        result = strategy.evaluate(subject, as_of=self.as_of)
        assert isinstance(result, QualificationResult)
        assert result.strategy == strategy.name
        assert result.strategy_version == strategy.version
        assert result.config_hash == strategy.config_hash
        assert result.as_of == self.as_of
        assert isinstance(result.verdict, Verdict)
        assert result.scale_min <= result.scale_max
        assert 0 <= result.coverage <= 1
        ident = getattr(subject, "id", None)
        assert result.subject_id == (None if ident is None else str(ident))

    @_SETTINGS
    @given(data=st.data())
    def test_breakdown_adds_up_and_score_stays_in_scale(self, data: st.DataObject) -> None:
        """Breakdowns (and each child's) add up exactly; scores stay in their scale."""
        result = self.make_strategy().evaluate(
            data.draw(self.subjects(), label="subject"), as_of=self.as_of
        )
        if result.score is not None:
            assert result.scale_min <= result.score <= result.scale_max
            if result.breakdown:
                assert sum((line.points for line in result.breakdown), Decimal(0)) == result.score
            for child in result.children:
                if child.score is not None and child.breakdown:
                    assert sum((x.points for x in child.breakdown), Decimal(0)) == child.score

    @_SETTINGS
    @given(data=st.data())
    def test_deterministic(self, data: st.DataObject) -> None:
        """Same config, same subject, same ``as_of``: same result, from any instance."""
        subject = data.draw(self.subjects(), label="subject")
        first = self.make_strategy()
        second = self.make_strategy()
        assert first.config_hash == second.config_hash
        assert first.evaluate(subject, as_of=self.as_of) == second.evaluate(
            subject, as_of=self.as_of
        )
        assert first.evaluate(subject, as_of=self.as_of) == first.evaluate(
            subject, as_of=self.as_of
        )

    @_SETTINGS
    @given(data=st.data())
    def test_explain_false_and_evaluate_many_agree(self, data: st.DataObject) -> None:
        """``explain=False`` and ``evaluate_many`` give what ``evaluate`` gives."""
        strategy = self.make_strategy()
        subjects = data.draw(st.lists(self.subjects(), max_size=4), label="subjects")
        full = [strategy.evaluate(s, as_of=self.as_of) for s in subjects]
        assert strategy.evaluate_many(subjects, as_of=self.as_of) == full
        quick = strategy.evaluate_many(subjects, as_of=self.as_of, explain=False)
        for a, b in zip(full, quick, strict=True):
            assert (a.score, a.verdict, a.grade, a.band, a.knockouts, a.coverage) == (
                b.score,
                b.verdict,
                b.grade,
                b.band,
                b.knockouts,
                b.coverage,
            )
            assert not b.breakdown

    @_SETTINGS
    @given(data=st.data())
    def test_none_means_unscored_never_zero(self, data: st.DataObject) -> None:
        """``score=None`` comes with no grade and the verdict insufficient data.

        The one exception: a knockout decides without a score (a composite
        whose fit child is knocked out while its engagement child is unscored
        is disqualified, and lists the knockout).
        """
        result = self.make_strategy().evaluate(
            data.draw(self.subjects(), label="subject"), as_of=self.as_of
        )
        if result.score is None:
            expected = Verdict.DISQUALIFIED if result.knockouts else Verdict.INSUFFICIENT_DATA
            assert result.verdict is expected
            assert result.grade is None
            assert not result.scored
        else:
            assert result.scored

    def test_policy_unscorable_subjects_get_none(self) -> None:
        """Subjects in :meth:`unscorable` get ``None``; those in :meth:`scorable` a score."""
        strategy = self.make_strategy()
        for subject in self.unscorable():
            result = strategy.evaluate(subject, as_of=self.as_of)
            assert result.score is None, f"{subject!r} should be unscored, got {result.score}"
        for subject in self.scorable():
            result = strategy.evaluate(subject, as_of=self.as_of)
            assert result.score is not None, f"{subject!r} should be scored"

    @_SETTINGS
    @given(data=st.data())
    def test_result_round_trips(self, data: st.DataObject) -> None:
        """Results survive :func:`pipelinekit.to_dict` / :func:`pipelinekit.from_dict` unchanged."""
        result = self.make_strategy().evaluate(
            data.draw(self.subjects(), label="subject"), as_of=self.as_of
        )
        assert from_dict(QualificationResult, to_dict(result)) == result

    def test_config_is_canonical_json_and_hashed(self) -> None:
        """``config()`` is canonical JSON data and ``config_hash`` is its hash."""
        strategy = self.make_strategy()
        config = strategy.config()
        json.dumps(canonical_config(config))
        assert strategy.config_hash == config_hash(config)

    @settings(max_examples=3, deadline=None, suppress_health_check=_SUPPRESS)
    @given(data=st.data())
    def test_naive_as_of_is_refused(self, data: st.DataObject) -> None:
        """A naive ``as_of`` is refused with a ValidationError."""
        strategy = self.make_strategy()
        subject = data.draw(self.subjects(), label="subject")
        with pytest.raises(ValidationError):
            strategy.evaluate(subject, as_of=datetime(2026, 1, 1))
