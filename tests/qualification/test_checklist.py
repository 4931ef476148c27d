"""Checklists: BANT bands, IBM's 3 of 4, floors, gates, unknown kept apart from 0, presets."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelinekit import ValidationError
from pipelinekit.qualification import (
    CriterionStatus,
    Verdict,
    anum,
    bant,
    champ,
    checklist,
    faint,
    gpctba_ci,
    item,
    meddpicc,
)

from .conftest import AS_OF, make_lead

KEYS = ("budget", "authority", "need", "timeline")


def answers(*levels: int | str | None) -> dict[str, int | str]:
    return {f"bant.{k}": v for k, v in zip(KEYS, levels, strict=True) if v is not None}


def domain_band(total: int) -> str:
    # DOMAIN.md: bands of the 0-16 sum: 0-4 unqualified, 5-8 nurture, 9-12 qualified, 13-16 act now
    if total <= 4:
        return "unqualified"
    if total <= 8:
        return "nurture"
    if total <= 12:
        return "qualified"
    return "act_now"


@given(st.tuples(*[st.integers(min_value=0, max_value=4)] * 4))
def test_bant_bands_match_the_published_ones(levels: tuple[int, int, int, int]) -> None:
    result = bant().evaluate(make_lead(custom=answers(*levels)), as_of=AS_OF)
    assert result.score == sum(levels)
    assert result.scale_max == 16
    assert result.band == domain_band(sum(levels))
    expected = {
        "unqualified": Verdict.DISQUALIFIED,
        "nurture": Verdict.NURTURE,
        "qualified": Verdict.QUALIFIED,
        "act_now": Verdict.QUALIFIED,
    }[domain_band(sum(levels))]
    assert result.verdict is expected


def test_breakdown_explains_each_level_by_name() -> None:
    result = bant().evaluate(make_lead(custom=answers(3, "confirmed", 0, None)), as_of=AS_OF)
    lines = {line.criterion: line for line in result.breakdown}
    assert lines["budget"].status is CriterionStatus.PARTIAL
    assert lines["budget"].observed == "high"
    assert lines["authority"].status is CriterionStatus.MATCH
    assert lines["authority"].points == 4
    assert lines["need"].status is CriterionStatus.NO_MATCH
    assert lines["timeline"].status is CriterionStatus.UNKNOWN
    assert lines["budget"].evidence == ("$.custom.bant.budget",)


def test_unknown_is_not_zero() -> None:
    zero = bant().evaluate(make_lead(custom=answers(4, 4, 4, 0)), as_of=AS_OF)
    unknown = bant().evaluate(make_lead(custom=answers(4, 4, 4, None)), as_of=AS_OF)
    assert zero.score == unknown.score == 12
    assert zero.coverage == 1
    assert unknown.coverage == Decimal("0.75")
    nothing = bant().evaluate(make_lead(custom={}), as_of=AS_OF)
    assert nothing.score is None
    assert nothing.verdict is Verdict.INSUFFICIENT_DATA
    assert [line.status for line in nothing.breakdown] == [CriterionStatus.UNKNOWN] * 4


def test_invalid_answers_are_unknown_and_say_why() -> None:
    result = bant().evaluate(make_lead(custom=answers(7, "maybe", 2, 2)), as_of=AS_OF)
    lines = {line.criterion: line for line in result.breakdown}
    assert lines["budget"].status is CriterionStatus.UNKNOWN
    assert "outside 0-4" in lines["budget"].reason
    assert "not one of" in lines["authority"].reason
    assert result.score == 4


def test_digit_like_answers_int_refuses_are_invalid_not_a_crash() -> None:
    # "²".isdigit() is true but int("²") fails; "٣" is a real decimal 3
    result = bant().evaluate(make_lead(custom=answers("²", "٣", 2, 2)), as_of=AS_OF)
    lines = {line.criterion: line for line in result.breakdown}
    assert lines["budget"].status is CriterionStatus.UNKNOWN
    assert "invalid answer" in lines["budget"].reason
    assert lines["authority"].points == 3
    assert result.score == 7


def test_a_reader_that_gives_no_mapping_is_an_evaluation_error() -> None:
    from pipelinekit.qualification import EvaluationError

    listed = bant(reader=lambda s: [("budget", 1)])
    with pytest.raises(EvaluationError, match="expected a mapping"):
        listed.evaluate(make_lead(), as_of=AS_OF)


def test_ibm_three_of_four() -> None:
    ibm = bant(policy="k_of_n", k=3, met_at=3)
    # 3 of 4 met qualifies even with a low sum band ...
    assert ibm.evaluate(make_lead(custom=answers(3, 3, 3, 0)), as_of=AS_OF).verdict is (
        Verdict.QUALIFIED
    )
    # ... and 2 of 4 does not, even though the sum (12) is in the qualified band.
    two = ibm.evaluate(make_lead(custom=answers(4, 4, 2, 2)), as_of=AS_OF)
    assert two.band == "qualified"
    assert two.verdict is Verdict.NURTURE


def test_floor_requires_every_criterion() -> None:
    floored = bant(floor=2)
    assert floored.evaluate(make_lead(custom=answers(4, 4, 4, 1)), as_of=AS_OF).verdict is (
        Verdict.NURTURE
    )
    assert floored.evaluate(make_lead(custom=answers(4, 4, 4, 2)), as_of=AS_OF).verdict is (
        Verdict.QUALIFIED
    )


def test_hard_gates_and_anum_authority_first() -> None:
    gated = bant(gates=["budget", "authority"], gate_at=2)
    out = gated.evaluate(make_lead(custom=answers(1, 4, 4, 4)), as_of=AS_OF)
    assert out.verdict is Verdict.DISQUALIFIED
    assert out.knockouts == ("budget",)
    assert out.breakdown[0].status is CriterionStatus.KNOCKOUT
    no_authority = anum().evaluate(
        make_lead(custom={"anum.authority": 1, "anum.need": 4, "anum.urgency": 4, "anum.money": 4}),
        as_of=AS_OF,
    )
    assert no_authority.knockouts == ("authority",)
    unknown = anum().evaluate(make_lead(custom={"anum.need": 4, "anum.money": 4}), as_of=AS_OF)
    assert unknown.verdict is Verdict.INSUFFICIENT_DATA


@pytest.mark.parametrize(
    ("preset", "count", "top"),
    [(meddpicc, 8, 16), (champ, 4, 16), (anum, 4, 16), (faint, 5, 20), (gpctba_ci, 8, 16)],
)
def test_presets_share_the_machinery(preset: object, count: int, top: int) -> None:
    strategy = preset()  # type: ignore[operator]
    keys = [i.key for i in strategy.items]
    full = {f"{strategy.name}.{k}": i.max for k, i in zip(keys, strategy.items, strict=True)}
    result = strategy.evaluate(make_lead(custom=full), as_of=AS_OF)
    assert len(keys) == count
    assert result.score == result.scale_max == top
    assert result.band == "act_now"


def test_custom_checklist_with_reader() -> None:
    custom = checklist(
        "fit-call",
        [item("pain", levels=["no", "yes"]), item("team", levels=3)],
        reader=lambda s: {"pain": "yes", "team": 1},
    )
    result = custom.evaluate(make_lead(), as_of=AS_OF)
    assert result.score == 2
    assert result.scale_max == 3


def test_configuration_problems_are_listed() -> None:
    with pytest.raises(ValidationError) as caught:
        bant(policy="k_of_n", gates=["money"], min_known=-1)
    assert set(caught.value.paths) == {"$.k", "$.gates[0]", "$.min_known"}


@given(
    answers=st.dictionaries(st.sampled_from(KEYS), st.integers(min_value=0, max_value=4)),
    min_known=st.integers(min_value=0, max_value=4),
)
def test_bant_is_unscored_exactly_when_too_few_answers_are_known(
    answers: dict[str, int], min_known: int
) -> None:
    custom = {f"bant.{k}": v for k, v in answers.items()}
    result = bant(min_known=min_known).evaluate(make_lead(custom=custom), as_of=AS_OF)
    assert (result.score is None) == (len(answers) < min_known)
    if result.score is not None:
        assert result.score == sum(answers.values())
