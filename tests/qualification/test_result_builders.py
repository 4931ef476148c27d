"""The batch builders of results behave exactly like the validating constructors.

``trusted_line``, ``trusted_result`` and ``result_maker`` skip checks a strategy
has already made; whatever they are given, they must either build the value the
validating constructor builds, or refuse the same inputs.  These are differential
properties: the fast path against the slow one, on valid and invalid parts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelinekit import ValidationError
from pipelinekit.qualification.errors import EvaluationError
from pipelinekit.qualification.results import (
    BreakdownLine,
    CriterionStatus,
    QualificationResult,
    Verdict,
    result_maker,
    trusted_line,
    trusted_result,
)
from pipelinekit.testing import strategies as pks

AT = datetime(2026, 1, 1, tzinfo=UTC)

_CRITERIA = st.one_of(
    st.sampled_from(["", " ", "\t\n", "x" * 200, "x" * 201, "size", " a "]),
    st.text(max_size=8),
    st.integers(0, 3),
)
_NUMBERS = st.one_of(
    st.sampled_from([Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), Decimal("sNaN")]),
    st.decimals(min_value=-1000, max_value=1000, places=2),
    st.integers(-5, 5),
    st.sampled_from(["3", "x", 1.5]),
)
_STATUSES = st.one_of(st.sampled_from(CriterionStatus), st.sampled_from(["match", "nope"]))
_REASONS = st.one_of(st.sampled_from(["fits", ""]), st.integers(0, 1), st.none())


def _outcome(build: Any, *args: Any) -> tuple[str, Any]:
    try:
        value = build(*args)
    except ValidationError:
        return ("refused", None)
    return ("built", value)


@given(
    _CRITERIA,
    _STATUSES,
    _NUMBERS,
    _REASONS,
    st.one_of(st.none(), _NUMBERS),
)
def test_trusted_line_builds_or_refuses_like_the_constructor(
    criterion: Any, status: Any, points: Any, reason: Any, cap: Any
) -> None:
    fast = _outcome(trusted_line, criterion, status, points, reason, None, cap)
    slow = _outcome(BreakdownLine, criterion, status, points, reason, None, cap)
    assert fast == slow
    if fast[0] == "built":
        line = fast[1]
        assert type(line.points) is Decimal
        assert line.points.is_finite()
        assert type(line.status) is CriterionStatus
        assert line.cap is None or (type(line.cap) is Decimal and line.cap.is_finite())


@pytest.mark.parametrize(
    ("criterion", "points", "cap", "reason"),
    [
        ("x" * 201, Decimal(1), None, "r"),
        ("", Decimal(1), None, "r"),
        ("   ", Decimal(1), None, "r"),
        ("size", Decimal("NaN"), None, "r"),
        ("size", Decimal("Infinity"), None, "r"),
        ("size", Decimal(1), Decimal("Infinity"), "r"),
        ("size", Decimal(1), Decimal("NaN"), "r"),
        ("size", Decimal(1), None, 7),
    ],
)
def test_trusted_line_refuses_what_the_constructor_refuses(
    criterion: str, points: Decimal, cap: Decimal | None, reason: Any
) -> None:
    with pytest.raises(ValidationError):
        trusted_line(criterion, CriterionStatus.MATCH, points, reason, None, cap)


def test_trusted_line_converts_loose_parts_like_the_constructor() -> None:
    line = trusted_line("size", "match", 3, "fits", cap=5)  # type: ignore[arg-type]
    assert line == BreakdownLine("size", CriterionStatus.MATCH, Decimal(3), "fits", cap=Decimal(5))
    assert type(line.points) is Decimal
    assert type(line.cap) is Decimal
    assert type(line.status) is CriterionStatus
    edge = trusted_line("x" * 200, CriterionStatus.NO_MATCH, Decimal(0), "", None, Decimal(2), "g")
    assert edge.criterion == "x" * 200
    assert edge.cap == Decimal(2)
    assert edge.group == "g"


def _line(points: Decimal) -> BreakdownLine:
    return BreakdownLine("c", CriterionStatus.MATCH, points, "r")


_SCALES = st.tuples(
    st.decimals(min_value=-50, max_value=50, places=1),
    st.decimals(min_value=0, max_value=100, places=1),
).map(lambda t: (t[0], t[0] + t[1]))
_POINTS = st.lists(st.decimals(min_value=-60, max_value=160, places=1), max_size=3)


def _check_promises(
    score: Decimal | None, lo: Decimal, hi: Decimal, lines: tuple[BreakdownLine, ...]
) -> str | None:
    if score is None:
        return None
    if not lo <= score <= hi:
        return "outside the scale"
    if lines and sum((line.points for line in lines), Decimal(0)) != score:
        return "adds up to"
    return None


@given(
    _SCALES,
    _POINTS,
    st.one_of(st.none(), st.decimals(min_value=-60, max_value=160, places=1)),
    st.booleans(),
)
def test_trusted_result_keeps_the_score_promises(
    scale: tuple[Decimal, Decimal], points: list[Decimal], extra: Decimal | None, summed: bool
) -> None:
    lo, hi = scale
    lines = tuple(_line(p) for p in points)
    score = sum(points, Decimal(0)) if summed and extra is not None else extra
    args = ("icp_fit", "1", "sha256:abc", AT, score, lo, hi, Verdict.REVIEW, Decimal(1), lines)
    problem = _check_promises(score, lo, hi, lines)
    maker = result_maker("icp_fit", "1", "sha256:abc", lo, hi)
    made = (AT, score, Verdict.REVIEW, Decimal(1), lines, None, None, (), "lead-9")
    if problem is None:
        expected = QualificationResult(*args)
        assert trusted_result(*args) == expected
        assert maker(*made) == attrs.evolve(expected, subject_id="lead-9")
    else:
        with pytest.raises(EvaluationError, match=problem) as trusted:
            trusted_result(*args, subject_id="lead-9")
        with pytest.raises(EvaluationError, match=problem) as batch:
            maker(*made)
        for error in (trusted.value, batch.value):
            assert error.strategy == "icp_fit"
            assert error.subject_id == "lead-9"
        assert trusted.value.message == batch.value.message


@pytest.mark.parametrize(
    ("score", "lines", "message"),
    [
        (Decimal(0), (), None),
        (Decimal(100), (), None),
        (Decimal("-0.1"), (), "score -0.1 is outside the scale [0, 100]"),
        (Decimal("100.1"), (), "score 100.1 is outside the scale [0, 100]"),
        (Decimal(7), (_line(Decimal(3)), _line(Decimal(4))), None),
        (Decimal(8), (_line(Decimal(3)), _line(Decimal(4))), "breakdown adds up to 7 but the score is 8"),  # noqa: E501
        (Decimal(0), (_line(Decimal(0)),), None),
        (Decimal(1), (_line(Decimal(0)),), "breakdown adds up to 0 but the score is 1"),
    ],
)  # fmt: skip
def test_the_scale_is_inclusive_and_messages_say_what_is_wrong(
    score: Decimal, lines: tuple[BreakdownLine, ...], message: str | None
) -> None:
    maker = result_maker("bant", "2", "sha256:f00", Decimal(0), Decimal(100))
    made = (AT, score, Verdict.QUALIFIED, Decimal("0.5"), lines, "A", "hot", ("k",), "s-1")
    args = ("bant", "2", "sha256:f00", AT, score, Decimal(0), Decimal(100), Verdict.QUALIFIED)
    if message is None:
        result = maker(*made)
        assert result == QualificationResult(
            *args, Decimal("0.5"), lines, "A", "hot", ("k",), "s-1"
        )
        assert (result.children, result.stale, result.logit) == ((), False, None)
        assert trusted_result(*args, Decimal("0.5"), lines, "A", "hot", ("k",), "s-1") == result
        return
    expected = f"bant failed on subject 's-1': {message}"
    for call in (
        lambda: maker(*made),
        lambda: trusted_result(*args, Decimal(1), lines, subject_id="s-1"),
    ):
        with pytest.raises(EvaluationError) as caught:
            call()
        assert str(caught.value) == expected
        assert caught.value.message == message


def test_an_unscored_result_is_never_refused() -> None:
    lines = (_line(Decimal(5)),)
    maker = result_maker("bant", "2", "h", Decimal(0), Decimal(1))
    result = maker(AT, None, Verdict.INSUFFICIENT_DATA, Decimal(0), lines, None, None, (), None)
    assert result.score is None
    assert result.breakdown == lines
    assert trusted_result("bant", "2", "h", AT, None, Decimal(0), Decimal(1),
                          Verdict.INSUFFICIENT_DATA, Decimal(0), lines) == result  # fmt: skip


@pytest.mark.parametrize(
    "names",
    [("", "1", "h"), ("s", "", "h"), ("s", "1", ""), ("s" * 201, "1", "h"), ("s", "1" * 51, "h")],
)
def test_bad_names_are_refused_once_when_the_maker_is_made(names: tuple[str, str, str]) -> None:
    with pytest.raises(ValidationError):
        result_maker(*names, Decimal(0), Decimal(1))
    with pytest.raises(ValidationError):
        trusted_result(*names, AT, None, Decimal(0), Decimal(1), Verdict.REVIEW, Decimal(0))


def test_a_reversed_scale_is_refused_when_the_maker_is_made() -> None:
    with pytest.raises(ValidationError):
        result_maker("s", "1", "h", Decimal(2), Decimal(1))


@given(pks.qualification_results())
def test_a_logit_result_goes_through_full_validation(result: QualificationResult) -> None:
    values = attrs.asdict(result, recurse=False)
    values["logit"] = Decimal("NaN")
    with pytest.raises(ValidationError):
        trusted_result(**values)


def test_a_log_odds_result_is_built_by_the_validating_constructor_with_every_part() -> None:
    child = QualificationResult("c", "1", "h", AT, None, Decimal(0), Decimal(1),
                                Verdict.INSUFFICIENT_DATA, Decimal(0))  # fmt: skip
    parts = (
        "predictive", "3", "sha256:0ff", AT, Decimal("50.00"), Decimal(0), Decimal(100),
        Verdict.REVIEW, Decimal("0.5"), (_line(Decimal(0)),), "B", "mid", ("k",), "lead-4",
        (child,), True, Decimal(0),
    )  # fmt: skip
    built = trusted_result(*parts)
    assert built == QualificationResult(*parts)
    assert (built.children, built.stale, built.logit, built.subject_id) == (
        (child,), True, Decimal(0), "lead-4",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("status", "points", "cap"),
    [
        (CriterionStatus.MATCH, 3, None),  # points not yet a Decimal
        ("match", Decimal(3), None),  # status not yet the enum
        (CriterionStatus.MATCH, Decimal(3), 5),  # cap not yet a Decimal
        ("partial", "3", "5"),
    ],
)
def test_parts_without_their_final_types_are_converted_with_everything_kept(
    status: Any, points: Any, cap: Any
) -> None:
    line = trusted_line("size", status, points, "fits", "big", cap, "firmo", ("$.x", "$.y"))
    assert line == BreakdownLine(
        "size", status, points, "fits", "big", cap, "firmo", ("$.x", "$.y")
    )
    assert type(line.status) is CriterionStatus
    assert type(line.points) is Decimal
    assert cap is None or type(line.cap) is Decimal
    assert (line.observed, line.group, line.evidence) == ("big", "firmo", ("$.x", "$.y"))
