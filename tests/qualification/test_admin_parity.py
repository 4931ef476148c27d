"""Setups HubSpot and Pardot admins bring over: crafted leads with hand-computed scores.

Each test names the behaviour it pins down; the numbers in the comments are
worked out by hand from the configuration in the test.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from pipelinekit import Event
from pipelinekit.qualification import (
    Verdict,
    engagement,
    icp_fit,
    matrix,
    one_of,
    present,
    rule,
)

from .conftest import AS_OF, make_lead

D = Decimal


def fit_with_knockout():  # type: ignore[no-untyped-def]
    return icp_fit(
        "f",
        [
            one_of("industry", "company.industry", {"software": 30}, knockout=["gambling"]),
            present("email", "contact.email", points=20),
        ],
    )


def clicks():  # type: ignore[no-untyped-def]
    return engagement("e", [rule("click", "email_click", 10)])


# -- 1. a child's knockout disqualifies the composite, whatever the other child returns


def test_a_knockout_disqualifies_the_matrix_even_when_engagement_is_unscored() -> None:
    grid = matrix("m", fit_with_knockout(), clicks())
    result = grid.evaluate(make_lead(industry="gambling"), as_of=AS_OF)
    assert result.score is None  # engagement has no events: the blend is blocked
    assert result.knockouts == ("f.industry",)
    assert result.verdict is Verdict.DISQUALIFIED


# -- 2. missing="zero" still gives a grade


def test_missing_zero_counts_an_unscored_engagement_as_0_and_grades_the_lead() -> None:
    grid = matrix("m", fit_with_knockout(), clicks(), missing="zero")
    result = grid.evaluate(make_lead(), as_of=AS_OF)
    # fit 50/50 -> 100 % -> A; engagement unscored -> 0 -> 3; blend (100 + 0) / 2
    assert (result.score, result.grade, result.verdict) == (D(50), "A3", Verdict.REVIEW)
    assert sum(line.points for line in result.breakdown) == result.score


# -- 4. bands and grades anchored to the configured points; knockouts get the lowest grade


def test_default_grades_are_shares_of_the_configured_points_not_of_a_negative_range() -> None:
    fit = icp_fit(
        "f",
        [
            one_of("industry", "company.industry", {"software": 40, "competitor": -30}),
            present("email", "contact.email", points=20, absent=-5),
        ],
    )
    # nothing known: -5 is below 0, the lowest grade and band (it was B / nurture)
    nothing = fit.evaluate(make_lead(industry=None, email=None), as_of=AS_OF)
    assert (nothing.score, nothing.grade, nothing.band) == (D(-5), "D", "low")
    # a competitor with an email: -30 + 20 = -10, not "qualified"
    rival = fit.evaluate(make_lead(industry="competitor"), as_of=AS_OF)
    assert (rival.score, rival.grade, rival.verdict) == (D(-10), "D", Verdict.DISQUALIFIED)
    # 60 of 60 points: A and qualified
    best = fit.evaluate(make_lead(), as_of=AS_OF)
    assert (best.score, best.grade, best.verdict) == (D(60), "A", Verdict.QUALIFIED)


def test_a_total_cap_is_the_top_of_the_default_grades() -> None:
    fit = icp_fit("f", [present("email", "contact.email", points=10)], total_cap=100)
    result = fit.evaluate(make_lead(), as_of=AS_OF)
    assert (result.score, result.grade, result.verdict) == (D(10), "D", Verdict.DISQUALIFIED)
    relative = icp_fit(
        "f", [present("email", "contact.email", points=10)], total_cap=100, scale="relative"
    )
    assert relative.evaluate(make_lead(), as_of=AS_OF).grade == "A"


def test_a_knocked_out_lead_gets_the_lowest_grade() -> None:
    fit = icp_fit(
        "f",
        [
            one_of("industry", "company.industry", {"software": 50}, knockout=["gambling"]),
            present("email", "contact.email", points=50),
        ],
    )
    # 50 of 100 points would be a B; the knockout makes it the lowest grade
    for explain in (True, False):
        result = fit.evaluate(make_lead(industry="gambling"), as_of=AS_OF, explain=explain)
        assert (result.grade, result.verdict) == ("D", Verdict.DISQUALIFIED)
    batch = fit.evaluate_many([make_lead(industry="gambling")], as_of=AS_OF)
    assert batch[0].grade == "D"


def test_which_lines_lose_points_to_a_group_cap_does_not_depend_on_their_order() -> None:
    def build(order: list[int]):  # type: ignore[no-untyped-def]
        criteria = [
            one_of("industry", "company.industry", {"software": 20}, group="firm"),
            one_of("country", "company.country", {"DE": 15}, group="firm"),
            present("email", "contact.email", points=15, group="firm"),
        ]
        return icp_fit("f", [criteria[i] for i in order], groups={"firm": 30})

    seen = set()
    for order in ([0, 1, 2], [2, 1, 0], [1, 0, 2]):
        result = build(order).evaluate(make_lead(), as_of=AS_OF)
        seen.add(tuple(sorted((line.criterion, line.points) for line in result.breakdown)))
    # 50 over a cap of 30: industry (largest) keeps 20; of the two 15s, country
    # (named first) keeps 10 and email loses all 15 ... whatever the order
    assert seen == {(("country", D(10)), ("email", D(0)), ("industry", D(20)))}


def test_a_line_clipped_by_the_floor_shows_its_raw_and_its_counted_points() -> None:
    strategy = engagement(
        "e", [rule("unsubscribe", "unsubscribe", -25), rule("open", "email_open", 21)]
    )
    lead = make_lead(
        engagement=(Event("unsubscribe", AS_OF - timedelta(days=1)), Event("email_open", AS_OF))
    )
    result = strategy.evaluate(lead, as_of=AS_OF)
    lines = {line.criterion: line for line in result.breakdown}
    assert result.score == 0  # 21 - 25 = -4, floored at 0
    assert lines["unsubscribe"].points == -21
    assert "-25 points, -21 counted under the floor of 0" in lines["unsubscribe"].reason
    assert sum(line.points for line in result.breakdown) == result.score
