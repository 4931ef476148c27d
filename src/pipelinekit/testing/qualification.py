"""The contract test kit for qualification strategies (built-in and plugins).

Subclass :class:`StrategyContract` in a pytest module, name the subclass
``Test...`` and implement :meth:`~StrategyContract.make_strategy`::

    from pipelinekit.testing.qualification import StrategyContract

    class TestEmailDomain(StrategyContract):
        def make_strategy(self):
            return build_email_domain({"name": "email-domain"})

The subjects are generated from what the strategy declares it reads
(``strategy.reads()``: field paths with the values it understands), each
field valid, missing or invalid.  Every test method then runs against your
strategy: the return type, result shape and ``as_of``, breakdown adding up
exactly, scores within the scale, determinism, ``explain=False`` and
``evaluate_many`` agreeing with ``evaluate``, ``None`` (never 0) for
subjects it cannot score, at least :attr:`~StrategyContract.min_scored_share`
of the subjects with valid fields scored, no error for missing fields, the
subject left unchanged, config hash stability, and a lossless round trip
through :func:`pipelinekit.to_dict`.  A failure is an ``AssertionError``
naming the strategy, the subject and the defect.  Needs pytest and
Hypothesis (the ``test`` extra).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Literal

import attrs
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ..domain import Channel, Company, EmailAddress, Event, Lead, LeadId, Money, Person, Source
from ..domain.results import QualificationResult, Verdict
from ..errors import PipelinekitError, ValidationError
from ..qualification.base import Strategy, canonical_config, config_hash
from ..serialization import from_dict, to_dict
from .strategies import custom_values

__all__ = ["StrategyContract", "declared_subjects", "engagement_events", "scorable_leads"]

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


Mode = Literal["valid", "missing", "invalid"]
#: Values no field understands: text, a negative number, an ancient date.
_ODD_VALUES: tuple[Any, ...] = ("not a valid value", -1, Decimal("-0.5"), date(1900, 1, 1))


def _same_value(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _invalid_values(understood: tuple[Any, ...]) -> list[Any]:
    return [v for v in _ODD_VALUES if not any(_same_value(v, u) for u in understood)]


def _with_path(subject: Any, path: str, value: Any) -> Any:
    """``subject`` with the field at ``path`` set to ``value`` (``custom.<key>``: absent
    when ``value`` is the missing marker)."""
    head, _, rest = path.partition(".")
    if head == "custom":
        fields = dict(subject.custom)
        if value is _MISSING:
            fields.pop(rest, None)
        else:
            fields[rest] = value
        return subject.evolve(custom=fields)
    plain = None if value is _MISSING else value
    if not rest:
        return _evolve(subject, head, plain)
    inner = getattr(subject, head)
    if inner is None:
        return subject
    return _evolve(subject, head, _with_path(inner, rest, value))


def _evolve(obj: Any, name: str, value: Any) -> Any:
    evolve = getattr(obj, "evolve", None)
    return evolve(**{name: value}) if evolve is not None else attrs.evolve(obj, **{name: value})


_MISSING: Any = object()


@st.composite
def declared_subjects(
    draw: st.DrawFn,
    reads: Mapping[str, tuple[Any, ...]],
    *,
    modes: tuple[Mode, ...] = ("valid", "missing", "invalid"),
    base: st.SearchStrategy[Any] | None = None,
) -> Any:
    """Subjects whose declared fields (``reads``: path -> understood values) are each
    filled with a valid value, left missing or (custom fields only) given an invalid one,
    the mode drawn per field from ``modes``.  ``base`` draws the subject to fill
    (default :func:`scorable_leads`, which always has a company)."""
    subject = draw(base if base is not None else scorable_leads())
    if base is None:  # the declared fields of the contact and company need somewhere to live
        if subject.contact is None and any(p.startswith("contact.") for p in reads):
            subject = subject.evolve(contact=Person(name=f"Person of {subject.id}"))
        if subject.company is None and any(p.startswith("company.") for p in reads):
            subject = subject.evolve(company=Company(f"Company of {subject.id}"))
    for path, understood in sorted(reads.items()):
        choices = [m for m in modes if m != "invalid" or path.startswith("custom.")]
        if not choices:
            continue
        mode = draw(st.sampled_from(choices), label=path)
        if mode == "valid":
            if not understood and not path.startswith("custom."):
                continue  # any value: the base subject's own
            value = draw(st.sampled_from(understood) if understood else custom_values())
            if value is None:
                continue
        elif mode == "missing":
            value = _MISSING
        else:
            value = draw(st.sampled_from(_invalid_values(understood)))
        try:
            subject = _with_path(subject, path, value)
        except (ValidationError, TypeError, AttributeError):
            continue  # the entity refuses the value: not a subject anyone can build
    return subject


# One test method runs for many subclasses (one per strategy): that is the point of
# a contract kit, so the "differing executors" health check does not apply.
_SUPPRESS = [HealthCheck.too_slow, HealthCheck.differing_executors]


_RESULT_PARTS = frozenset(["QualificationResult", "BreakdownLine"])


def _fail(strategy: Any, subject: Any, defect: str) -> AssertionError:
    name = getattr(strategy, "name", type(strategy).__name__)
    ident = getattr(subject, "id", None)
    about = f"subject {ident!r}" if ident is not None else f"subject {subject!r}"
    return AssertionError(f"strategy {name!r} on {about}: {defect}")


def _snapshot(subject: Any) -> Any:
    try:
        return to_dict(subject)
    except TypeError:
        return copy.deepcopy(subject)


class StrategyContract:
    """Contract tests every strategy must pass.  Subclass it as ``Test<Something>``.

    Override :meth:`make_strategy` (required), and optionally :meth:`reads`
    (defaults to the strategy's own ``reads()`` declaration), :meth:`subjects`
    (a Hypothesis strategy of subjects), :meth:`unscorable` (subjects your
    policy says cannot be scored: they must get ``score=None``) and
    :meth:`scorable` (subjects that must get a score).  ``as_of`` is the
    evaluation time used throughout.
    """

    as_of: datetime = _START + timedelta(days=180)
    #: The least share of subjects whose declared fields all hold valid values that
    #: must get a score (without a declaration: of the generated subjects).
    min_scored_share: ClassVar[float] = 0.5
    #: How many subjects the scored-share check draws per example (it runs an eighth
    #: of ``kit_settings.max_examples`` examples).
    batch_size: ClassVar[int] = 20
    #: Settings of every generated test; a failing run shrinks in well under a minute.
    kit_settings: ClassVar[settings] = settings(
        max_examples=40, deadline=None, suppress_health_check=_SUPPRESS
    )

    def make_strategy(self) -> Strategy:
        """Return a freshly built strategy to test (called more than once)."""
        raise NotImplementedError("implement make_strategy() in your StrategyContract subclass")

    def reads(self) -> Mapping[str, tuple[Any, ...]]:
        """The fields the strategy reads and the values it understands (its ``reads()``)."""
        declared = getattr(self.make_strategy(), "reads", None)
        return dict(declared()) if callable(declared) else {}

    def subjects(self) -> st.SearchStrategy[Any]:
        """Subjects to evaluate: :func:`declared_subjects` of :meth:`reads`, or
        :func:`scorable_leads` when nothing is declared."""
        reads = self.reads()
        return declared_subjects(reads) if reads else scorable_leads()

    def unscorable(self) -> Iterable[Any]:
        """Subjects the strategy's policy says cannot be scored (``score`` must be ``None``)."""
        return ()

    def scorable(self) -> Iterable[Any]:
        """Subjects that must be scored (``score`` must not be ``None``)."""
        return ()

    # -- helpers -----------------------------------------------------------------------

    def _given(self, test: Callable[..., None], **strategies: st.SearchStrategy[Any]) -> None:
        self.kit_settings(given(**strategies)(test))()

    def _evaluate(self, strategy: Strategy, subject: Any, **options: Any) -> QualificationResult:
        try:
            result = strategy.evaluate(subject, as_of=self.as_of, **options)
        except ValidationError as error:
            if error.subject not in _RESULT_PARTS:
                raise
            raise _fail(
                strategy, subject, f"evaluate() builds an invalid result: {error}"
            ) from error
        if not isinstance(result, QualificationResult):
            raise _fail(
                strategy,
                subject,
                f"evaluate() returned a {type(result).__name__} ({result!r:.200}), "
                "not a QualificationResult",
            )
        return result

    # -- the contract ------------------------------------------------------------------

    def test_result_shape(self) -> None:
        """Results are QualificationResults carrying the strategy's name, version, config
        hash, the ``as_of`` passed and the subject id."""

        def check(subject: Any) -> None:
            strategy = self.make_strategy()
            result = self._evaluate(strategy, subject)
            if result.as_of != self.as_of:
                raise _fail(
                    strategy,
                    subject,
                    f"the result is stamped as_of={result.as_of.isoformat()}, not the as_of "
                    f"passed ({self.as_of.isoformat()}): it ignores as_of",
                )
            expected = (strategy.name, strategy.version, strategy.config_hash)
            got = (result.strategy, result.strategy_version, result.config_hash)
            if got != expected:
                raise _fail(
                    strategy, subject, f"the result names {got}, the strategy is {expected}"
                )
            ident = getattr(subject, "id", None)
            if result.subject_id != (None if ident is None else str(ident)):
                raise _fail(strategy, subject, f"the result's subject_id is {result.subject_id!r}")
            if not isinstance(result.verdict, Verdict) or not 0 <= result.coverage <= 1:
                raise _fail(strategy, subject, f"bad verdict or coverage in {result!r:.200}")

        self._given(check, subject=self.subjects())

    def test_breakdown_adds_up_and_score_stays_in_scale(self) -> None:
        """Breakdowns (and each child's) add up exactly; scores stay in their scale."""

        def check(subject: Any) -> None:
            strategy = self.make_strategy()
            result = self._evaluate(strategy, subject)
            if result.score is None:
                return
            if not result.scale_min <= result.score <= result.scale_max:
                raise _fail(
                    strategy,
                    subject,
                    f"score {result.score} is outside its scale "
                    f"[{result.scale_min}, {result.scale_max}]",
                )
            for part in (result, *result.children):
                if part.score is not None and part.breakdown:
                    total = sum((line.points for line in part.breakdown), Decimal(0))
                    if total != part.score:
                        raise _fail(
                            strategy,
                            subject,
                            f"the breakdown does not add up: its lines sum to {total}, "
                            f"the score of {part.strategy!r} is {part.score}",
                        )

        self._given(check, subject=self.subjects())

    def test_deterministic(self) -> None:
        """Same config, same subject, same ``as_of``: same result, from any instance."""

        def check(subject: Any) -> None:
            first = self.make_strategy()
            second = self.make_strategy()
            if first.config_hash != second.config_hash:
                raise _fail(first, subject, "two instances of one config hash differently")
            results = [
                self._evaluate(first, subject),
                self._evaluate(second, subject),
                self._evaluate(first, subject),
            ]
            if not results[0] == results[1] == results[2]:
                scores = [r.score for r in results]
                raise _fail(
                    first,
                    subject,
                    f"not deterministic: the same subject at the same as_of gave {scores} "
                    "(or results differing elsewhere)",
                )

        self._given(check, subject=self.subjects())

    def test_explain_false_and_evaluate_many_agree(self) -> None:
        """``explain=False`` and ``evaluate_many`` give what ``evaluate`` gives."""

        def check(subjects: list[Any]) -> None:
            strategy = self.make_strategy()
            full = [self._evaluate(strategy, s) for s in subjects]
            if strategy.evaluate_many(subjects, as_of=self.as_of) != full:
                raise _fail(strategy, subjects, "evaluate_many() differs from evaluate()")
            quick = strategy.evaluate_many(subjects, as_of=self.as_of, explain=False)
            for subject, a, b in zip(subjects, full, quick, strict=True):
                keys = ("score", "verdict", "grade", "band", "knockouts", "coverage")
                if [getattr(a, k) for k in keys] != [getattr(b, k) for k in keys]:
                    raise _fail(strategy, subject, "explain=False changes the outcome")
                if b.breakdown:
                    raise _fail(strategy, subject, "explain=False still returns a breakdown")

        self._given(check, subjects=st.lists(self.subjects(), max_size=4))

    def test_none_means_unscored_never_zero(self) -> None:
        """``score=None`` comes with no grade and the verdict insufficient data.

        The one exception: a knockout decides without a score (a composite
        whose fit child is knocked out while its engagement child is unscored
        is disqualified, and lists the knockout).
        """

        def check(subject: Any) -> None:
            strategy = self.make_strategy()
            result = self._evaluate(strategy, subject)
            allowed = {Verdict.INSUFFICIENT_DATA}
            if result.knockouts:  # a knockout may decide without a score
                allowed.add(Verdict.DISQUALIFIED)
            if result.score is None and (result.verdict not in allowed or result.grade is not None):
                raise _fail(
                    strategy,
                    subject,
                    f"an unscored result has verdict {result.verdict.value} and grade "
                    f"{result.grade!r}",
                )
            if result.scored is (result.score is None):
                raise _fail(strategy, subject, "result.scored disagrees with the score")

        self._given(check, subject=self.subjects())

    def test_subjects_with_valid_fields_are_scored(self) -> None:
        """At least :attr:`min_scored_share` of the subjects whose declared fields hold
        valid values (of all generated subjects, without a declaration) get a score,
        counted over the whole run: a strategy that scores nothing fails."""
        reads = self.reads()
        subjects = declared_subjects(reads, modes=("valid",)) if reads else self.subjects()
        strategy = self.make_strategy()
        counts = {"scored": 0, "drawn": 0}
        unscored: list[Any] = []

        def check(batch: list[Any]) -> None:
            for subject in batch:
                counts["drawn"] += 1
                if self._evaluate(strategy, subject).score is not None:
                    counts["scored"] += 1
                elif not unscored:
                    unscored.append(subject)

        size = self.batch_size
        # a share over the whole run: no example to shrink, and batches shrink slowly
        fewer = settings(
            self.kit_settings,
            max_examples=max(1, self.kit_settings.max_examples // 8),
            deadline=None,
            suppress_health_check=_SUPPRESS,
            phases=[p for p in self.kit_settings.phases if p is not Phase.shrink],
        )
        fewer(given(batch=st.lists(subjects, min_size=size, max_size=size))(check))()
        scored, drawn = counts["scored"], counts["drawn"]
        if scored < self.min_scored_share * drawn:
            hint = (
                f"does it read fields other than the ones it declares ({sorted(reads)})?"
                if reads
                else "declare the fields it reads with reads() so the kit can fill them"
            )
            raise _fail(
                strategy,
                unscored[0],
                f"scored only {scored} of {drawn} subjects"
                + (" whose declared fields all hold valid values" if reads else "")
                + f" (at least {self.min_scored_share:.0%} must be): {hint}",
            )

    def test_missing_fields_give_a_result_never_an_error(self) -> None:
        """Declared fields left out give a result (``None`` when it cannot score); invalid
        values give a result or an :class:`~pipelinekit.qualification.EvaluationError`."""
        reads = self.reads()

        def check(subject: Any, invalid: bool) -> None:
            strategy = self.make_strategy()
            try:
                self._evaluate(strategy, subject)
            except AssertionError:
                raise
            except PipelinekitError as error:
                if not invalid:
                    raise _fail(
                        strategy,
                        subject,
                        f"raised {type(error).__name__} ({error}) on a subject with missing "
                        "fields: missing data must give a result (score None), never an error",
                    ) from error
            except Exception as error:
                raise _fail(
                    strategy,
                    subject,
                    f"raised {type(error).__name__}: {error} on a subject with "
                    + ("invalid" if invalid else "missing")
                    + " fields: return a result, or raise EvaluationError for a value it "
                    "cannot read",
                ) from error

        self._given(
            lambda subject: check(subject, invalid=False),
            subject=declared_subjects(reads, modes=("valid", "missing")),
        )
        if any(path.startswith("custom.") for path in reads):
            self._given(
                lambda subject: check(subject, invalid=True),
                subject=declared_subjects(reads, modes=("valid", "invalid")),
            )

    def test_nothing_known_is_unscored(self) -> None:
        """A subject none of whose declared fields is known gets ``score=None``, or a
        score from its missing-data policy alone, with ``coverage`` 0: missing data is
        never read as a value (``None`` as 0)."""
        reads = self.reads()
        if not reads:
            return

        def check(subject: Any) -> None:
            strategy = self.make_strategy()
            result = self._evaluate(strategy, subject)
            if result.score is not None and result.coverage != 0:
                raise _fail(
                    strategy,
                    subject,
                    f"scored {result.score} with coverage {result.coverage} a subject with "
                    f"none of the fields it reads ({sorted(reads)}): missing data is treated "
                    "as a value (None as 0?)",
                )

        self._given(check, subject=declared_subjects(reads, modes=("missing",)))

    def test_the_subject_is_left_unchanged(self) -> None:
        """Evaluating never changes the subject."""

        def check(subject: Any) -> None:
            strategy = self.make_strategy()
            before = _snapshot(subject)
            self._evaluate(strategy, subject)
            strategy.evaluate_many([subject], as_of=self.as_of)
            after = _snapshot(subject)
            if before != after:
                raise _fail(strategy, subject, f"evaluating changed its subject: {after!r:.300}")

        self._given(check, subject=self.subjects())

    def test_policy_unscorable_subjects_get_none(self) -> None:
        """Subjects in :meth:`unscorable` get ``None``; those in :meth:`scorable` a score."""
        strategy = self.make_strategy()
        for subject in self.unscorable():
            result = self._evaluate(strategy, subject)
            if result.score is not None:
                raise _fail(strategy, subject, f"should be unscored, got {result.score}")
        for subject in self.scorable():
            if self._evaluate(strategy, subject).score is None:
                raise _fail(strategy, subject, "should be scored, got None")

    def test_result_round_trips(self) -> None:
        """Results survive :func:`pipelinekit.to_dict` / :func:`pipelinekit.from_dict` unchanged."""

        def check(subject: Any) -> None:
            strategy = self.make_strategy()
            result = self._evaluate(strategy, subject)
            if from_dict(QualificationResult, to_dict(result)) != result:
                raise _fail(strategy, subject, "the result does not survive to_dict/from_dict")

        self._given(check, subject=self.subjects())

    def test_config_is_canonical_json_and_hashed(self) -> None:
        """``config()`` is canonical JSON data and ``config_hash`` is its hash."""
        strategy = self.make_strategy()
        config = strategy.config()
        json.dumps(canonical_config(config))
        if strategy.config_hash != config_hash(config):
            raise _fail(strategy, None, "config_hash is not the hash of config()")

    def test_naive_as_of_is_refused(self) -> None:
        """A naive ``as_of`` is refused with a ValidationError."""

        @settings(max_examples=3, deadline=None, suppress_health_check=_SUPPRESS)
        @given(subject=self.subjects())
        def check(subject: Any) -> None:
            strategy = self.make_strategy()
            with pytest.raises(ValidationError):
                strategy.evaluate(subject, as_of=datetime(2026, 1, 1))

        check()
