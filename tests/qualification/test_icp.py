"""ICP fit: criteria kinds, weights, caps, knockouts, missing-data policies, grades."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelinekit import Company, Money, Person, Prospect, ValidationError
from pipelinekit.qualification import (
    CriterionStatus,
    EvaluationError,
    Verdict,
    bands,
    icp_fit,
    one_of,
    pattern,
    predicate,
    present,
)

from .conftest import AS_OF, T0, make_lead

D = Decimal


def firmographic() -> object:
    return icp_fit(
        "fit",
        [
            one_of("industry", "company.industry", {"software": 20, "fintech": 15},
                   knockout=["gambling"], group="firmo"),
            bands("size", "company.employees", [(None, 10, 0), (10, 200, 10), (200, None, 25)],
                  group="firmo"),
            pattern("seniority", "contact.job_title", {r"\b(cto|vp)\b": 20, "head of": 10}),
            present("email", "contact.email", points=5),
        ],
        groups={"firmo": 40},
    )  # fmt: skip


def test_points_add_up_and_each_line_explains_itself() -> None:
    result = firmographic().evaluate(make_lead(employees=50), as_of=AS_OF)  # type: ignore[attr-defined]
    lines = {line.criterion: line for line in result.breakdown}
    assert lines["industry"].points == 20
    assert lines["industry"].status is CriterionStatus.MATCH
    assert lines["size"].points == 10
    assert lines["size"].status is CriterionStatus.PARTIAL  # 10 of a possible 25
    assert lines["size"].observed == 50
    assert lines["seniority"].points == 20
    assert lines["email"].points == 5
    assert result.score == 55
    assert result.scale_min == 0
    assert result.scale_max == 65  # 40 (capped group) + 20 + 5
    assert "50" not in lines["industry"].reason
    assert "10-200" in lines["size"].reason


def test_group_cap_trims_the_smallest_line_and_says_so() -> None:
    result = firmographic().evaluate(make_lead(employees=250), as_of=AS_OF)  # type: ignore[attr-defined]
    lines = {line.criterion: line for line in result.breakdown}
    assert lines["industry"].points + lines["size"].points == 40  # 20 + 25 capped at 40
    # the largest line counts first: size keeps 25, industry gives up 5 (20 -> 15)
    assert (lines["size"].points, lines["industry"].points) == (25, 15)
    assert lines["industry"].cap == 40
    assert "20 points, 15 counted under the group 'firmo' cap of 40" in lines["industry"].reason
    assert result.score == 40 + 20 + 5


def test_total_cap_keeps_breakdown_exact() -> None:
    icp = icp_fit(
        "capped",
        [present("a", "contact.email", points=30), present("b", "contact.job_title", points=30)],
        total_cap=50,
    )
    result = icp.evaluate(make_lead(), as_of=AS_OF)
    assert result.score == 50
    assert [line.points for line in result.breakdown] == [30, 20]
    assert result.breakdown[1].cap == 50
    assert result.scale_max == 50


def test_knockout_value_disqualifies_and_is_listed() -> None:
    result = firmographic().evaluate(make_lead(industry="Gambling"), as_of=AS_OF)  # type: ignore[attr-defined]
    assert result.verdict is Verdict.DISQUALIFIED
    assert result.knockouts == ("industry",)
    assert result.breakdown[0].status is CriterionStatus.KNOCKOUT
    assert result.score is not None  # still scored: the knockout decides the verdict


def test_required_criterion_not_matched_is_a_knockout() -> None:
    icp = icp_fit("req", [one_of("country", "company.country", {"DE": 10}, required=True)])
    assert icp.evaluate(make_lead(country="US"), as_of=AS_OF).knockouts == ("country",)
    assert icp.evaluate(make_lead(country="DE"), as_of=AS_OF).verdict is Verdict.QUALIFIED


@pytest.mark.parametrize(
    ("policy", "status", "points", "verdict_unscored"),
    [
        ("neutral", CriterionStatus.UNKNOWN, D(0), False),
        ("zero", CriterionStatus.NO_MATCH, D(0), False),
        ("penalty", CriterionStatus.UNKNOWN, D(-7), False),
        ("block", CriterionStatus.UNKNOWN, D(0), True),
    ],
)
def test_missing_data_policies(
    policy: str, status: CriterionStatus, points: Decimal, verdict_unscored: bool
) -> None:
    icp = icp_fit(
        "missing",
        [
            one_of("industry", "company.industry", {"software": 20}, missing=policy,
                   penalty=7 if policy == "penalty" else 0),
            present("email", "contact.email", points=5),
        ],
    )  # fmt: skip
    result = icp.evaluate(make_lead(industry=None), as_of=AS_OF)
    line = result.breakdown[0]
    assert line.status is status
    assert line.points == points
    assert result.coverage == D("0.5")
    if verdict_unscored:
        assert result.score is None
        assert result.verdict is Verdict.INSUFFICIENT_DATA
    else:
        assert result.score == points + 5


def test_required_with_unknown_data_cannot_be_decided() -> None:
    icp = icp_fit("req", [one_of("industry", "company.industry", {"software": 20}, required=True)])
    result = icp.evaluate(make_lead(industry=None), as_of=AS_OF)
    assert result.score == 0
    assert result.verdict is Verdict.INSUFFICIENT_DATA
    zero = icp_fit("req0", [one_of("industry", "company.industry", {"software": 20},
                                   required=True, missing="zero")])  # fmt: skip
    assert zero.evaluate(make_lead(industry=None), as_of=AS_OF).knockouts == ("industry",)


def test_min_coverage_gives_insufficient_data_but_keeps_the_score() -> None:
    icp = icp_fit(
        "coverage",
        [one_of("industry", "company.industry", {"software": 20}), present("e", "contact.email")],
        min_coverage="0.75",
    )
    result = icp.evaluate(make_lead(industry=None), as_of=AS_OF)
    assert result.score == 1
    assert result.verdict is Verdict.INSUFFICIENT_DATA


def test_money_bands_never_convert_currencies() -> None:
    ranges = [(0, 1_000_000, 5), (1_000_000, None, 15)]
    icp = icp_fit("rev", [bands("revenue", "company.annual_revenue", ranges, currency="EUR")])
    eur = icp.evaluate(make_lead(revenue=Money(2_000_000, "EUR")), as_of=AS_OF)
    usd = icp.evaluate(make_lead(revenue=Money(2_000_000, "USD")), as_of=AS_OF)
    assert eur.score == 15
    assert usd.score == 0
    assert usd.breakdown[0].status is CriterionStatus.UNKNOWN
    assert "never converted" in usd.breakdown[0].reason


def test_weights_multiply_points() -> None:
    icp = icp_fit("w", [one_of("country", "company.country", {"DE": 10}, weight="1.5")])
    result = icp.evaluate(make_lead(), as_of=AS_OF)
    assert result.score == D("15")
    assert "weight 1.5" in result.breakdown[0].reason


def test_default_bands_and_grades_follow_the_scale() -> None:
    icp = icp_fit("g", [one_of("country", "company.country", {"DE": 100, "FR": 60, "GB": 30})])
    grades = {c: icp.evaluate(make_lead(country=c), as_of=AS_OF) for c in ("DE", "FR", "GB", "US")}
    assert [grades[c].grade for c in ("DE", "FR", "GB", "US")] == ["A", "B", "C", "D"]
    assert [grades[c].verdict for c in ("DE", "FR", "GB", "US")] == [
        Verdict.QUALIFIED,  # >= 70 %
        Verdict.NURTURE,  # >= 40 %
        Verdict.DISQUALIFIED,
        Verdict.DISQUALIFIED,
    ]


def test_personal_data_is_reported_as_presence_only() -> None:
    result = firmographic().evaluate(make_lead(), as_of=AS_OF)  # type: ignore[attr-defined]
    email = result.breakdown[3]
    assert email.observed is True
    assert "ada" not in repr(result)


def test_tags_take_the_best_member() -> None:
    icp = icp_fit("t", [one_of("tags", "tags", {"trial": 5, "webinar": 3})])
    lead = make_lead(tags=frozenset(["webinar", "trial", "vip"]))
    assert icp.evaluate(lead, as_of=AS_OF).score == 5


def test_prospects_are_scored_through_their_person() -> None:
    prospect = Prospect.create(
        persona="cto",
        person=Person.of("Grace", job_title="CTO"),
        company=Company("Acme", industry="software"),
        at=T0,
    )
    result = firmographic().evaluate(prospect, as_of=AS_OF)  # type: ignore[attr-defined]
    assert result.breakdown[2].points == 20
    assert result.subject_id == str(prospect.id)


def test_a_failing_predicate_names_the_subject() -> None:
    def broken(subject: object) -> bool:
        raise RuntimeError("boom")

    icp = icp_fit("p", [predicate("custom", broken)])
    with pytest.raises(EvaluationError) as caught:
        icp.evaluate(make_lead("lead-9"), as_of=AS_OF)
    assert caught.value.subject_id == "lead-9"
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_every_configuration_problem_is_reported_with_its_path() -> None:
    with pytest.raises(ValidationError) as caught:
        icp_fit(
            "",
            [
                present("a", "company.employees"),
                present("a", "contact.email", group="nope"),
            ],
            total_cap=-1,
            min_coverage=2,
        )
    assert set(caught.value.paths) == {
        "$.name",
        "$.criteria[1].name",
        "$.criteria[1].group",
        "$.total_cap",
        "$.min_coverage",
    }
    with pytest.raises(ValidationError) as typo:
        present("a", "company.employes")
    assert typo.value.paths == ("$.field",)
    assert "company.employees" in str(typo.value)
    with pytest.raises(ValidationError) as bad:
        one_of("x", "company.industry", {"a": 1.5}, missing="sometimes")  # type: ignore[dict-item]
    assert set(bad.value.paths) == {"$.points.a", "$.missing"}
    with pytest.raises(ValidationError) as wrong:
        pattern("x", "contact.job_title", {"(unclosed": 1})
    assert wrong.value.paths == ("$.patterns[0].regex",)


# --- properties ----------------------------------------------------------------------

FIELDS = ["a", "b", "c", "d", "e"]


@st.composite
def icps(draw: st.DrawFn) -> object:
    criteria = []
    groups: dict[str, object] = {}
    for key in FIELDS:
        group = draw(st.sampled_from([None, "g1", "g2"]))
        if group is not None:
            groups.setdefault(group, draw(st.none() | st.integers(min_value=1, max_value=40)))
        points = draw(st.integers(min_value=1, max_value=30))
        if draw(st.booleans()):
            criteria.append(one_of(key, f"custom.{key}", {"yes": points, "some": points // 2},
                                   group=group, missing=draw(st.sampled_from(["neutral", "zero",
                                   "penalty"])), penalty=3))  # fmt: skip
        else:
            criteria.append(present(key, f"custom.{key}", points=points, group=group))
    total = draw(st.none() | st.integers(min_value=1, max_value=120))
    return icp_fit("prop", criteria, groups=groups, total_cap=total)


answers = st.dictionaries(st.sampled_from(FIELDS), st.sampled_from(["yes", "some", "no"]))


@settings(max_examples=150, deadline=None)
@given(
    icp=icps(), before=answers, upgrades=st.dictionaries(st.sampled_from(FIELDS), st.just("yes"))
)
def test_more_matching_criteria_never_lower_the_score(
    icp: object, before: dict[str, str], upgrades: dict[str, str]
) -> None:
    after = {**before, **upgrades}
    low = icp.evaluate(make_lead(custom=before), as_of=AS_OF)  # type: ignore[attr-defined]
    high = icp.evaluate(make_lead(custom=after), as_of=AS_OF)  # type: ignore[attr-defined]
    assert high.score >= low.score
    for result in (low, high):
        assert sum(line.points for line in result.breakdown) == result.score
        assert result.scale_min <= result.score <= result.scale_max


@settings(max_examples=100, deadline=None)
@given(icp=icps(), data=answers)
def test_score_only_path_agrees_with_the_explained_one(icp: object, data: dict[str, str]) -> None:
    lead = make_lead(custom=data)
    explained = icp.evaluate(lead, as_of=AS_OF)  # type: ignore[attr-defined]
    assert icp.score_many([lead], as_of=AS_OF) == [explained.score]  # type: ignore[attr-defined]
    quick = icp.evaluate(lead, as_of=AS_OF, explain=False)  # type: ignore[attr-defined]
    assert (quick.score, quick.verdict, quick.grade, quick.coverage) == (
        explained.score,
        explained.verdict,
        explained.grade,
        explained.coverage,
    )
    assert quick.breakdown == ()


def test_duck_typed_subjects_with_missing_attributes_are_read_safely() -> None:
    class Firm:
        industry = "software"  # no employees attribute at all

    class Subject:
        id = "duck-1"
        company = Firm()
        custom = None

    icp = icp_fit(
        "duck",
        [
            one_of("industry", "company.industry", {"software": 20}),
            bands("size", "company.employees", [(0, None, 10)]),
        ],
    )
    result = icp.evaluate(Subject(), as_of=AS_OF)
    assert result.score == 20
    assert result.breakdown[1].status is CriterionStatus.UNKNOWN
    assert icp.score_many([Subject()], as_of=AS_OF) == [20]  # type: ignore[attr-defined]


POLICIES = st.sampled_from(["neutral", "zero", "penalty", "block"])


@settings(max_examples=150, deadline=None)
@given(
    policies=st.lists(POLICIES, min_size=1, max_size=5),
    data=st.dictionaries(st.sampled_from(FIELDS), st.sampled_from(["yes", "no", ""])),
)
def test_icp_is_unscored_exactly_when_a_blocking_criterion_lacks_data(
    policies: list[str], data: dict[str, str]
) -> None:
    criteria = [
        one_of(key, f"custom.{key}", {"yes": 10}, missing=policy, penalty=2)
        for key, policy in zip(FIELDS, policies, strict=False)
    ]
    result = icp_fit("policy", criteria).evaluate(make_lead(custom=data), as_of=AS_OF)
    blocked = any(
        policy == "block" and not data.get(key)
        for key, policy in zip(FIELDS, policies, strict=False)
    )
    assert (result.score is None) == blocked
    assert (result.verdict is Verdict.INSUFFICIENT_DATA) or not blocked
    assert "policy" in repr(icp_fit("policy", criteria))


def test_custom_values_equal_across_types_keep_their_own_outcomes() -> None:
    # True == 1 == Decimal(1) as dict keys: each must still be classified on its own.
    icp = icp_fit("flags", [one_of("flag", "custom.flag", {"true": 5, "1": 2})])
    results = [
        icp.evaluate(make_lead(custom={"flag": value}), as_of=AS_OF) for value in (1, True, 1, True)
    ]
    assert [r.score for r in results] == [2, 5, 2, 5]
    assert [r.breakdown[0].observed for r in results] == [1, True, 1, True]
    assert icp.score_many(  # type: ignore[attr-defined]
        [make_lead(custom={"flag": v}) for v in (True, 1)], as_of=AS_OF
    ) == [5, 2]


def test_a_list_in_a_field_is_classified_not_a_crash() -> None:
    from types import SimpleNamespace

    icp = icp_fit(
        "lists",
        [
            one_of("tags", "tags", {"saas": 10}),
            one_of("industry", "company.industry", {"software": 5}),
        ],
    )
    subject = SimpleNamespace(id="1", tags=["saas"], company=SimpleNamespace(industry=["software"]))
    assert icp.evaluate(subject, as_of=AS_OF).score == 15
    assert icp.evaluate(subject, as_of=AS_OF, explain=False).score == 15
    assert icp.score_many([subject], as_of=AS_OF) == [15]  # type: ignore[attr-defined]


def test_each_criterion_reads_the_cache_with_its_own_key_style(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pipelinekit.qualification.icp import codegen as icp_module

    calls: list[str] = []
    real = icp_module.Plan.explain

    def counting(self: icp_module.Plan, value: object) -> object:
        calls.append(self.criterion.name)
        return real(self, value)

    monkeypatch.setattr(icp_module.Plan, "explain", counting)
    # a custom field (outcomes keyed by type and value) before a plain one
    icp = icp_fit(
        "mixed",
        [
            one_of("flag", "custom.flag", {"yes": 5}),
            one_of("industry", "company.industry", {"software": 20}),
        ],
    )
    lead = make_lead(custom={"flag": "yes"})
    assert icp.evaluate(lead, as_of=AS_OF).score == 25
    first = len(calls)
    assert icp.evaluate(lead, as_of=AS_OF).score == 25
    assert len(calls) == first  # both answered from the cache the second time


def test_groups_bands_and_grades_of_the_wrong_shape_are_reported_with_paths() -> None:
    criteria = [one_of("a", "tags", {"x": 1})]
    with pytest.raises(ValidationError) as caught:
        icp_fit("x", criteria, groups=[("g", 1)], bands=5, grades="ABC")  # type: ignore[arg-type]
    assert caught.value.paths == ("$.groups", "$.bands", "$.grades")
    with pytest.raises(ValidationError) as keyed:
        icp_fit("x", criteria, groups={1: 5})  # type: ignore[dict-item]
    assert keyed.value.paths == ("$.groups",)


def test_a_subject_of_an_unexpected_shape_is_an_evaluation_error() -> None:
    from types import SimpleNamespace

    from pipelinekit.qualification import engagement, rule

    icp = icp_fit("x", [one_of("a", "custom.a", {"x": 1})])
    odd = SimpleNamespace(id="odd", custom=["x"])
    for call in (
        lambda: icp.evaluate(odd, as_of=AS_OF),
        lambda: icp.evaluate_many([make_lead(), odd], as_of=AS_OF),
        lambda: icp.score_many([make_lead(), odd], as_of=AS_OF),  # type: ignore[attr-defined]
    ):
        with pytest.raises(EvaluationError) as caught:
            call()
        assert caught.value.subject_id == "odd"
        assert isinstance(caught.value.__cause__, AttributeError)
    events = SimpleNamespace(id="e", engagement=[{"kind": "website_visit"}])
    with pytest.raises(EvaluationError):
        engagement("eng", [rule("v", "website_visit", 5)]).evaluate(events, as_of=AS_OF)
    for many in (icp.evaluate_many, icp.score_many):  # type: ignore[attr-defined]
        with pytest.raises(ValidationError) as refused:
            many(None, as_of=AS_OF)
        assert refused.value.paths == ("$.subjects",)


def _batch_strategy(min_coverage: str) -> object:
    return icp_fit(
        "batch",
        [
            one_of("industry", "company.industry", {"software": 20, "fintech": 15},
                   knockout=["gambling"], group="firmo"),
            bands("size", "company.employees", [(None, 10, 0), (10, 200, 10), (200, None, 25)],
                  group="firmo", missing="penalty", penalty=2),
            one_of("country", "company.country", {"DE": 10, "FR": 5}, required=True),
            present("email", "contact.email", points=5),
            one_of("plan", "custom.plan", {"pro": 30}, missing="block"),
        ],
        groups={"firmo": 25},
        total_cap=60,
        min_coverage=min_coverage,
    )  # fmt: skip


@settings(max_examples=40)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["software", "fintech", "gambling", "retail", None]),
            st.one_of(st.none(), st.integers(0, 500)),
            st.sampled_from(["DE", "FR", "US", None]),
            st.booleans(),
            st.sampled_from(["pro", "free", None]),
        ),
        max_size=12,
    ),
    min_coverage=st.sampled_from(["0", "0.8"]),
)
def test_the_batch_path_gives_what_one_evaluation_gives(
    rows: list[tuple[str | None, int | None, str | None, bool, str | None]], min_coverage: str
) -> None:
    icp = _batch_strategy(min_coverage)
    subjects = [
        make_lead(
            f"lead-{n}",
            industry=industry,
            employees=size,
            country=country,
            email="a@acme.example" if email else None,
            custom={} if plan is None else {"plan": plan},
        )
        for n, (industry, size, country, email, plan) in enumerate(rows)
    ]
    one_by_one = [icp.evaluate(s, as_of=AS_OF) for s in subjects]  # type: ignore[attr-defined]
    assert icp.evaluate_many(subjects, as_of=AS_OF) == one_by_one  # type: ignore[attr-defined]
