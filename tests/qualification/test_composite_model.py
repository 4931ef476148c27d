"""Composites against a plain model of their documented rules.

Children are stubs whose results a test sets through the subject (score,
scale, verdict, grade, knockouts, stale), so every combination a real child
can give reaches the composite.  A few lines of Python say what the blend,
the matrix, the combined score and the gate must make of them.
"""

from __future__ import annotations

import decimal
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelinekit import ValidationError
from pipelinekit.qualification import (
    CriterionStatus,
    QualificationResult,
    Verdict,
    combined,
    gate,
    matrix,
    weighted,
)
from pipelinekit.qualification.base import Band, StrategyBase
from pipelinekit.qualification.composite import DEFAULT_GRID, normalized

from .conftest import AS_OF

D = Decimal
ORDER = [Verdict.DISQUALIFIED, Verdict.INSUFFICIENT_DATA, Verdict.NURTURE, Verdict.REVIEW,
         Verdict.QUALIFIED]  # fmt: skip
STATUS = {
    Verdict.QUALIFIED: CriterionStatus.MATCH,
    Verdict.REVIEW: CriterionStatus.PARTIAL,
    Verdict.NURTURE: CriterionStatus.PARTIAL,
    Verdict.DISQUALIFIED: CriterionStatus.NO_MATCH,
    Verdict.INSUFFICIENT_DATA: CriterionStatus.UNKNOWN,
}


class Stub(StrategyBase):
    """A child whose result the subject dictates: ``subject.parts[name]``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def config(self) -> dict[str, Any]:
        return {"kind": "stub", "name": self.name}

    def _evaluate(self, subject: Any, as_of: datetime, explain: bool) -> QualificationResult:
        part = subject.parts[self.name]
        return QualificationResult(
            strategy=self.name, strategy_version="1", config_hash=self.config_hash, as_of=as_of,
            score=part["score"], scale_min=part["low"], scale_max=part["high"],
            verdict=part["verdict"], coverage=D(1), grade=part["grade"],
            knockouts=part["knockouts"], subject_id=subject.id, stale=part["stale"],
        )  # fmt: skip


@st.composite
def parts(draw: st.DrawFn) -> dict[str, Any]:
    low = draw(st.sampled_from([D(0), D(0), D(-20), D(10)]))
    high = low + draw(st.sampled_from([D(0), D(16), D(100), D("37.5")]))
    scored = draw(st.integers(0, 4)) > 0
    score = draw(st.decimals(min_value=low, max_value=high, places=1)) if scored else None
    verdict = draw(st.sampled_from(Verdict)) if scored else Verdict.INSUFFICIENT_DATA
    return {
        "score": score,
        "low": low,
        "high": high,
        "verdict": verdict,
        "grade": draw(st.sampled_from([None, "A", "B2"])),
        "knockouts": draw(st.sampled_from([(), (), ("size",), ("a", "b")])),
        "stale": draw(st.booleans()),
    }


def _subject(*drawn: dict[str, Any]) -> SimpleNamespace:
    return SimpleNamespace(id="s-1", parts=dict(zip(("f", "e", "x"), drawn, strict=False)))


def _band(bands: list[Band], score: Decimal) -> Band:
    reached = [b for b in bands if score >= b.min]
    return reached[-1] if reached else bands[0]


def _common(result: QualificationResult, drawn: list[dict[str, Any]], names: list[str]) -> None:
    assert [c.strategy for c in result.children] == names
    assert result.subject_id == "s-1"
    assert result.stale is any(p["stale"] for p in drawn)
    known = sum(1 for p in drawn if p["score"] is not None)
    assert result.coverage == (D(known) / len(drawn)).quantize(D("0.0001"))
    knockouts = tuple(f"{n}.{k}" for n, p in zip(names, drawn, strict=True) for k in p["knockouts"])
    assert result.knockouts == knockouts
    if result.breakdown:
        assert [line.criterion for line in result.breakdown] == names
        for line, p in zip(result.breakdown, drawn, strict=True):
            expected = CriterionStatus.KNOCKOUT if p["knockouts"] else STATUS[p["verdict"]]
            assert line.status is expected
            assert line.evidence == (f"child:{line.criterion}",)


def _normal(p: dict[str, Any]) -> Decimal | None:
    if p["score"] is None:
        return None
    span = p["high"] - p["low"]
    if not span:
        return D(100)
    return ((p["score"] - p["low"]) * 100 / span).quantize(D("0.01"), decimal.ROUND_FLOOR)


def _blend(
    drawn: list[dict[str, Any]], weights: list[Decimal], missing: str
) -> tuple[Decimal | None, list[Decimal]]:
    total: Decimal | None = D(0)
    points = []
    for p, w in zip(drawn, weights, strict=True):
        value = _normal(p)
        if value is None:
            if missing == "block":
                total = None
            points.append(D(0))
            continue
        share = (value * (w / sum(weights))).quantize(D("0.01"), decimal.ROUND_FLOOR)
        points.append(share)
        if total is not None:
            total += share
    return total, points


@settings(max_examples=150, deadline=None)
@given(
    st.lists(parts(), min_size=1, max_size=3),
    st.lists(st.sampled_from([1, 2, 3, D("0.5")]), min_size=3, max_size=3),
    st.sampled_from(["block", "zero"]),
    st.booleans(),
)
def test_weighted_blends_as_documented(
    drawn: list[dict[str, Any]], weights: list[Any], missing: str, own_bands: bool
) -> None:
    names = ["f", "e", "x"][: len(drawn)]
    ws = [D(w) for w in weights[: len(drawn)]]
    bands = [Band("c", 0, Verdict.NURTURE), Band("h", 50, Verdict.QUALIFIED)]
    blend = weighted("w", [(Stub(n), w) for n, w in zip(names, ws, strict=True)],
                     missing=missing, bands=bands if own_bands else ())  # fmt: skip
    subject = _subject(*drawn)
    result = blend.evaluate(subject, as_of=AS_OF)
    _common(result, drawn, names)
    score, points = _blend(drawn, ws, missing)
    assert (result.scale_min, result.scale_max) == (0, 100)
    assert result.score == score
    assert [line.points for line in result.breakdown] == points
    assert [line.observed for line in result.breakdown] == [_normal(p) for p in drawn]
    cuts = bands if own_bands else [Band("low", 0, Verdict.DISQUALIFIED),
                                    Band("medium", 40, Verdict.NURTURE),
                                    Band("high", 70, Verdict.QUALIFIED)]  # fmt: skip
    if score is None:
        assert result.band is None
        verdict = Verdict.INSUFFICIENT_DATA
    else:
        assert sum(points, D(0)) == score
        band = _band(cuts, score)
        assert result.band == band.name
        verdict = band.verdict
    if result.knockouts:
        verdict = Verdict.DISQUALIFIED
    assert result.verdict is verdict
    quiet = blend.evaluate(subject, as_of=AS_OF, explain=False)
    assert quiet.breakdown == ()
    assert (quiet.score, quiet.verdict, quiet.band) == (result.score, result.verdict, result.band)
    assert blend.evaluate_many([subject], as_of=AS_OF) == [result]


@settings(max_examples=150, deadline=None)
@given(
    parts(),
    parts(),
    st.sampled_from(["block", "zero"]),
    st.sampled_from(["percent", "points"]),
    st.sampled_from([(70, 40), (50, 10), (5, -5)]),
    st.sampled_from([(70, 40), (90, 0)]),
    st.sampled_from([(1, 1), (3, 1)]),
)
def test_the_matrix_grades_and_blends_as_documented(
    fit: dict[str, Any],
    eng: dict[str, Any],
    missing: str,
    cuts_in: str,
    fit_cuts: tuple[int, int],
    eng_cuts: tuple[int, int],
    weights: tuple[int, int],
) -> None:
    if cuts_in == "percent" and fit_cuts[1] < 0:
        fit_cuts = (60, 30)
    grid = {"C3": "review", "A1": Verdict.NURTURE}
    strategy = matrix("m", Stub("f"), Stub("e"), weights=weights, fit_cuts=fit_cuts,
                      engagement_cuts=eng_cuts, grid=grid, missing=missing,
                      cuts_in=cuts_in)  # fmt: skip
    subject = _subject(fit, eng)
    result = strategy.evaluate(subject, as_of=AS_OF)
    _common(result, [fit, eng], ["f", "e"])
    score, points = _blend([fit, eng], [D(w) for w in weights], missing)
    assert result.score == score
    assert [line.points for line in result.breakdown] == points

    def position(p: dict[str, Any]) -> Decimal | None:
        if p["score"] is None:
            return D(0) if missing == "zero" else None
        return p["score"] if cuts_in == "points" else _normal(p)

    f, e = position(fit), position(eng)
    cells = {**DEFAULT_GRID, "C3": Verdict.REVIEW, "A1": Verdict.NURTURE}
    if f is None or e is None:
        assert result.grade is None
        verdict = Verdict.INSUFFICIENT_DATA
    else:
        letter = "A" if f >= fit_cuts[0] else "B" if f >= fit_cuts[1] else "C"
        digit = "1" if e >= eng_cuts[0] else "2" if e >= eng_cuts[1] else "3"
        assert result.grade == letter + digit
        assert result.band == letter + digit
        verdict = cells[letter + digit] if score is not None else Verdict.INSUFFICIENT_DATA
    if result.knockouts:
        verdict = Verdict.DISQUALIFIED
    assert result.verdict is verdict
    assert strategy.evaluate_many([subject], as_of=AS_OF, explain=False) == [
        strategy.evaluate(subject, as_of=AS_OF, explain=False)
    ]


@settings(max_examples=150, deadline=None)
@given(
    parts(),
    parts(),
    st.sampled_from([None, 100, 30]),
    st.sampled_from([None, -10, 0, -60]),
    st.sampled_from(["block", "zero"]),
)
def test_the_combined_score_adds_points_within_the_limits(
    fit: dict[str, Any], eng: dict[str, Any], limit: int | None, floor: int | None, missing: str
) -> None:
    strategy = combined("c", Stub("f"), Stub("e"), limit=limit, floor=floor, missing=missing)
    subject = _subject(fit, eng)
    result = strategy.evaluate(subject, as_of=AS_OF)
    _common(result, [fit, eng], ["f", "e"])
    low = D(floor) if floor is not None else min(fit["low"], D(0)) + min(eng["low"], D(0))
    high = D(limit) if limit is not None else max(fit["high"], D(0)) + max(eng["high"], D(0))
    assert (result.scale_min, result.scale_max) == (low, high)
    raw = [p["score"] if p["score"] is not None else D(0) for p in (fit, eng)]
    blocked = missing == "block" and (fit["score"] is None or eng["score"] is None)
    top = D(limit) if limit is not None else D(100)
    cuts = [Band("cold", D(floor) if floor is not None and floor < 0 else 0, Verdict.NURTURE),
            Band("warm", (top * D("0.4")).quantize(D("0.01")), Verdict.REVIEW),
            Band("hot", (top * D("0.7")).quantize(D("0.01")), Verdict.QUALIFIED)]  # fmt: skip
    if blocked:
        assert result.score is None
        assert result.band is None
        verdict = Verdict.INSUFFICIENT_DATA
    else:
        total = min(max(sum(raw, D(0)), low), high)
        assert result.score == total
        assert sum(line.points for line in result.breakdown) == total
        for line, points in zip(result.breakdown, raw, strict=True):
            assert abs(line.points) <= abs(points)
        band = _band(cuts, total)
        assert result.band == band.name
        verdict = band.verdict
    assert [line.observed for line in result.breakdown] == [fit["score"], eng["score"]]
    if result.knockouts:
        verdict = Verdict.DISQUALIFIED
    assert result.verdict is verdict
    quiet = strategy.evaluate(subject, as_of=AS_OF, explain=False)
    assert (quiet.score, quiet.verdict, quiet.band, quiet.breakdown) == (
        result.score, result.verdict, result.band, (),
    )  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(st.lists(parts(), min_size=1, max_size=3), st.sampled_from(["all", "any"]))
def test_gates_take_the_lowest_or_highest_verdict(drawn: list[dict[str, Any]], mode: str) -> None:
    names = ["f", "e", "x"][: len(drawn)]
    strategy = gate("g", [Stub(n) for n in names], mode=mode)
    result = strategy.evaluate(_subject(*drawn), as_of=AS_OF)
    _common(result, drawn, names)
    verdicts = [p["verdict"] for p in drawn]
    pick = min if mode == "all" else max
    verdict = pick(verdicts, key=ORDER.index)
    if result.knockouts:
        verdict = Verdict.DISQUALIFIED
    assert result.verdict is verdict
    passed = [v is Verdict.QUALIFIED for v in verdicts]
    assert result.score == sum(passed)
    assert (result.scale_min, result.scale_max) == (0, len(drawn))
    assert [line.points for line in result.breakdown] == [D(int(p)) for p in passed]
    need = "every" if mode == "all" else "any"
    assert [line.reason for line in result.breakdown] == [
        f"{n}: {v.value} ({need} child must qualify)" for n, v in zip(names, verdicts, strict=True)
    ]
    assert [line.observed for line in result.breakdown] == [v.value for v in verdicts]
    assert strategy.evaluate(_subject(*drawn), as_of=AS_OF, explain=False).breakdown == ()


def _part(score: str | None, low: int = 0, high: int = 100, **extra: Any) -> dict[str, Any]:
    base = {"score": None if score is None else D(score), "low": D(low), "high": D(high),
            "verdict": Verdict.REVIEW, "grade": None, "knockouts": (), "stale": False}  # fmt: skip
    return {**base, **extra}


def test_normalized_rounds_down_and_a_flat_scale_is_full() -> None:
    def result(score: str | None, low: int, high: int) -> QualificationResult:
        return QualificationResult("s", "1", "h", AS_OF, None if score is None else D(score),
                                   D(low), D(high), Verdict.REVIEW, D(1))  # fmt: skip

    assert normalized(result("1", 0, 3)) == D("33.33")
    assert normalized(result("2", 0, 3)) == D("66.66")
    assert normalized(result("-5", -10, 10)) == D(25)
    assert normalized(result("4", 4, 4)) == D(100)
    assert normalized(result(None, 0, 1)) is None


def test_reasons_of_each_composite() -> None:
    fit, eng = Stub("fit"), Stub("eng")
    subject = SimpleNamespace(
        id="s", parts={"fit": _part("30", grade="B"), "eng": _part(None, 0, 50)}
    )
    zero = weighted("w", [(fit, 3), (eng, 1)], missing="zero").evaluate(subject, as_of=AS_OF)
    assert [line.reason for line in zero.breakdown] == [
        "fit: 30/100 (grade B) x weight 3 of 4",
        "eng: not scored (zero)",
    ]
    assert zero.score == D("22.5")
    blocked = weighted("w", [(fit, 1), (eng, 1)]).evaluate(subject, as_of=AS_OF)
    assert blocked.breakdown[1].reason == "eng: not scored (block)"
    both = combined("c", fit, eng, missing="zero").evaluate(subject, as_of=AS_OF)
    assert [line.reason for line in both.breakdown] == [
        "fit: 30 points (grade B)",
        "eng: not scored (zero)",
    ]
    over = SimpleNamespace(id="s", parts={"fit": _part("80"), "eng": _part("45.5", 0, 50)})
    capped = combined("c", fit, eng).evaluate(over, as_of=AS_OF)
    assert capped.score == 100
    assert [line.reason for line in capped.breakdown] == [
        "fit: 80 points",
        "eng: 45.5 points; 45.5 points, 20 counted under the limit of 100",
    ]
    under = SimpleNamespace(id="s", parts={"fit": _part("-30", -50), "eng": _part("2")})
    floored = combined("c", fit, eng, floor=-10).evaluate(under, as_of=AS_OF)
    assert floored.score == -10
    assert floored.breakdown[0].reason == (
        "fit: -30 points; -30 points, -12 counted under the floor of -10"
    )


def test_configs_describe_the_children_and_settings() -> None:
    fit, eng = Stub("fit"), Stub("eng")
    child = {"name": "fit", "version": "1", "config": {"kind": "stub", "name": "fit"}}
    blend = weighted("w", [(fit, 2)], missing="zero").config()
    assert blend == {
        "kind": "weighted", "name": "w", "parts": [{"strategy": child, "weight": D(2)}],
        "missing": "zero",
        "bands": [{"name": "low", "min": D(0), "verdict": Verdict.DISQUALIFIED},
                  {"name": "medium", "min": D(40), "verdict": Verdict.NURTURE},
                  {"name": "high", "min": D(70), "verdict": Verdict.QUALIFIED}],
    }  # fmt: skip
    grid = matrix("m", fit, eng, weights=(2, 1), cuts_in="points", fit_cuts=(9, 3)).config()
    assert grid["kind"] == "matrix"
    assert grid["fit"] == child
    assert grid["engagement"]["name"] == "eng"
    assert grid["weights"] == [D(2), D(1)]
    assert grid["missing"] == "block"
    assert grid["fit_cuts"] == [D(9), D(3)]
    assert grid["engagement_cuts"] == [D(70), D(40)]
    assert grid["grid"] == {k: v.value for k, v in DEFAULT_GRID.items()}
    assert grid["cuts_in"] == "points"
    both = combined("c", fit, eng, limit=None, floor=-5, missing="zero").config()
    assert both["kind"] == "combined"
    assert (both["limit"], both["floor"], both["missing"]) == (None, D(-5), "zero")
    assert both["fit"] == child
    assert both["engagement"]["name"] == "eng"
    assert both["bands"] == [
        {"name": "cold", "min": D(-5), "verdict": Verdict.NURTURE},
        {"name": "warm", "min": D(40), "verdict": Verdict.REVIEW},
        {"name": "hot", "min": D(70), "verdict": Verdict.QUALIFIED},
    ]
    assert combined("c", fit, eng, limit=50).config()["bands"][1]["min"] == D(20)
    assert gate("g", [fit, eng], mode="any").config() == {
        "kind": "gate", "name": "g", "mode": "any",
        "children": [child, {"name": "eng", "version": "1",
                             "config": {"kind": "stub", "name": "eng"}}],
    }  # fmt: skip


def _problems(call: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        call()
    return {p.path: p.message for p in caught.value.problems}


def test_composite_problems_name_the_option_and_say_what_is_wrong() -> None:
    fit, eng = Stub("fit"), Stub("eng")
    assert _problems(lambda: weighted("w", [])) == {"$.parts": "needs at least one child strategy"}
    assert _problems(lambda: weighted("w", [(fit, 1), (Stub("fit"), 1)])) == {
        "$.parts[1]": "two children named 'fit': rename one"
    }
    assert _problems(lambda: weighted("w", [(3, 1)])) == {  # type: ignore[list-item]
        "$.parts[0]": "must be a strategy (evaluate, name, version, config)"
    }
    assert _problems(lambda: weighted("w", {fit: 0})) == {"$.parts[0].weight": "must be > 0, got 0"}
    assert _problems(lambda: weighted("w", [(fit, 1)], missing="skip")) == {
        "$.missing": "must be 'block' or 'zero', got 'skip'"
    }
    assert _problems(lambda: weighted("w", [(fit, 1)], bands=[3])) == {  # type: ignore[list-item]
        "$.bands[0]": "must be a Band"
    }
    same = [Band("a", 5, Verdict.NURTURE), Band("b", 5, Verdict.QUALIFIED)]
    assert set(_problems(lambda: weighted("w", [(fit, 1)], bands=same))) == {"$.bands[1].min"}
    assert set(_problems(lambda: weighted("", [(fit, 1)]))) == {"$.name"}
    assert _problems(lambda: matrix("m", fit, eng, weights=(1,))) == {
        "$.weights": "must be a pair of two numbers, got 1 value"
    }
    assert _problems(lambda: matrix("m", fit, eng, weights=(1, 2, 3))) == {  # type: ignore[arg-type]
        "$.weights": "must be a pair of two numbers, got 3 values"
    }
    assert _problems(lambda: matrix("m", fit, eng, fit_cuts=7)) == {  # type: ignore[arg-type]
        "$.fit_cuts": "must be a pair of two numbers, got 7"
    }
    assert _problems(lambda: matrix("m", fit, eng, weights=(1, -1))) == {
        "$.weights[1].weight": "must be > 0, got -1"
    }
    for cuts in ((40, 40), (101, 50), (50, -1)):
        assert _problems(lambda c=cuts: matrix("m", fit, eng, engagement_cuts=c)) == {
            "$.engagement_cuts": f"need 0 <= second < first <= 100, got {cuts[0]}, {cuts[1]}"
        }
    assert _problems(lambda: matrix("m", fit, eng, fit_cuts=(5, 5), cuts_in="points")) == {
        "$.fit_cuts": "need second < first, got 5, 5"
    }
    assert matrix("m", fit, eng, fit_cuts=(500, -5), cuts_in="points").name == "m"
    assert matrix("m", fit, eng, fit_cuts=(100, 0)).name == "m"
    assert _problems(lambda: matrix("m", fit, eng, grid=[("A1", "qualified")])) == {  # type: ignore[arg-type]
        "$.grid": "must be a mapping of cells to verdicts, got list"
    }
    assert _problems(lambda: matrix("m", fit, eng, grid={"D1": "qualified", "A1": "yes"})) == {
        "$.grid.D1": "cells are A1..C3",
        "$.grid.A1": "must be one of qualified, review, nurture, disqualified, "
        "insufficient_data; got 'yes'",
    }
    assert _problems(lambda: matrix("m", fit, eng, missing="x", cuts_in="ratio")) == {
        "$.missing": "must be 'block' or 'zero', got 'x'",
        "$.cuts_in": "must be 'percent' or 'points', got 'ratio'",
    }
    assert _problems(lambda: matrix("m", fit, fit)) == {
        "$.children[1]": "two children named 'fit': rename one"
    }
    assert set(_problems(lambda: matrix("", fit, eng))) == {"$.name"}
    assert _problems(lambda: combined("c", fit, eng, limit=0)) == {"$.limit": "must be > 0, got 0"}
    for limit in (10, None):
        assert _problems(lambda lim=limit: combined("c", fit, eng, limit=lim, floor="0.5")) == {
            "$.floor": "must be <= 0, got 0.5"
        }
    assert _problems(lambda: combined("c", fit, eng, missing="x")) == {
        "$.missing": "must be 'block' or 'zero', got 'x'"
    }
    assert _problems(lambda: combined("c", fit, eng, bands=[1])) == {  # type: ignore[list-item]
        "$.bands[0]": "must be a Band"
    }
    assert set(_problems(lambda: combined("c", fit, eng, bands=same))) == {"$.bands[1].min"}
    assert set(_problems(lambda: combined("", fit, eng))) == {"$.name"}
    assert combined("c", fit, eng, limit="0.1", floor=0).name == "c"
    assert _problems(lambda: gate("g", [])) == {"$.children": "needs at least one child strategy"}
    assert _problems(lambda: gate("g", [fit], mode="most")) == {
        "$.mode": "must be 'all' or 'any', got 'most'"
    }
    assert set(_problems(lambda: gate("", [fit]))) == {"$.name"}


def test_a_floor_above_zero_is_refused_as_it_could_not_be_explained() -> None:
    # It used to be accepted: a subject whose children scored below it then got the
    # floor as its score with explain=False, and a ValidationError with explain=True
    # (no negative line could give points back, so the breakdown could not add up).
    fit, eng = Stub("fit"), Stub("eng")
    with pytest.raises(ValidationError) as caught:
        combined("c", fit, eng, floor=5)
    assert caught.value.paths == ("$.floor",)
    lowest = combined("c", fit, eng, floor=0)
    subject = SimpleNamespace(id="s", parts={"fit": _part("-4", -10), "eng": _part("1")})
    result = lowest.evaluate(subject, as_of=AS_OF)
    assert result.score == 0
    assert sum(line.points for line in result.breakdown) == 0
    assert lowest.evaluate(subject, as_of=AS_OF, explain=False).score == 0


def test_children_that_cannot_reach_the_floor_still_give_a_valid_result() -> None:
    fit, eng = Stub("fit"), Stub("eng")
    strategy = combined("c", fit, eng, limit=None, floor=-5)
    subject = SimpleNamespace(
        id="s", parts={"fit": _part("-20", -30, -10), "eng": _part("-9", -10, -8)}
    )
    result = strategy.evaluate(subject, as_of=AS_OF)
    assert (result.scale_min, result.scale_max) == (-5, 0)
    assert result.score == -5
    assert sum(line.points for line in result.breakdown) == -5
    # an unscored child counted as 0 lies above a negative scale: the scale reaches 0
    unscored = SimpleNamespace(
        id="s", parts={"fit": _part(None, 0, 0), "eng": _part(None, -20, -20)}
    )
    zero = combined("c", fit, eng, limit=None, missing="zero").evaluate(unscored, as_of=AS_OF)
    assert (zero.scale_min, zero.scale_max, zero.score) == (-20, 0, 0)


def test_children_explain_exactly_when_the_composite_does() -> None:
    from pipelinekit.qualification import icp_fit, one_of

    from .conftest import make_lead

    fit = icp_fit("fit", [one_of("country", "company.country", {"DE": 60, "FR": 20})])
    eng = icp_fit("eng", [one_of("plan", "custom.plan", {"pro": 30, "bad": -40})])
    lead = make_lead(country="DE", custom={"plan": "pro"})
    for strategy in (weighted("w", [(fit, 1), (eng, 1)]), matrix("m", fit, eng),
                     combined("c", fit, eng), gate("g", [fit, eng])):  # fmt: skip
        explained = strategy.evaluate(lead, as_of=AS_OF)
        assert [len(c.breakdown) for c in explained.children] == [1, 1]
        assert len(explained.breakdown) == 2
        quiet = strategy.evaluate(lead, as_of=AS_OF, explain=False)
        assert [c.breakdown for c in quiet.children] == [(), ()]
        assert quiet.breakdown == ()
        assert strategy.evaluate_many([lead], as_of=AS_OF) == [explained]


def test_the_combined_scale_reaches_down_to_every_negative_child() -> None:
    fit, eng = Stub("fit"), Stub("eng")
    subject = SimpleNamespace(
        id="s", parts={"fit": _part("-5", -20, 10), "eng": _part("-30", -30, 40)}
    )
    result = combined("c", fit, eng, limit=None).evaluate(subject, as_of=AS_OF)
    assert (result.scale_min, result.scale_max) == (D(-50), D(50))
    assert result.score == -35
    positive = SimpleNamespace(id="s", parts={"fit": _part("5", 5, 10), "eng": _part("1", -3, 4)})
    shifted = combined("c", fit, eng, limit=None).evaluate(positive, as_of=AS_OF)
    assert (shifted.scale_min, shifted.scale_max) == (D(-3), D(14))


def test_more_composite_problems_and_reasons() -> None:
    fit, eng = Stub("fit"), Stub("eng")
    assert _problems(lambda: combined("c", fit, fit)) == {
        "$.children[1]": "two children named 'fit': rename one"
    }
    assert set(_problems(lambda: combined("c", fit, eng, limit="x"))) == {"$.limit"}
    assert set(_problems(lambda: matrix("m", fit, eng, fit_cuts=("x", 5)))) == {"$.fit_cuts[0]"}
    assert set(_problems(lambda: matrix("m", fit, eng, fit_cuts=(50, "y")))) == {"$.fit_cuts[1]"}
    assert set(_problems(lambda: weighted("x" * 201, [(fit, 1)]))) == {"$.name"}
    assert weighted("x" * 200, [(fit, 1)]).name == "x" * 200
    with pytest.raises(ValidationError) as shape:
        weighted("w", 5)  # type: ignore[arg-type]
    assert [(p.path, p.message) for p in shape.value.problems] == [
        ("$.parts", "must be a list, got int"),
        ("$.parts", "needs at least one child strategy"),
    ]
    assert _problems(lambda: weighted("w", [(fit, 1, 2)])) == {  # type: ignore[list-item]
        "$.parts[0]": "must be a (strategy, weight) pair"
    }
    subject = SimpleNamespace(id="s", parts={"fit": _part("30"), "eng": _part("60")})
    blend = weighted("w", [(fit, 3), (eng, 1)]).evaluate(subject, as_of=AS_OF)
    assert [line.reason for line in blend.breakdown] == [
        "fit: 30/100 x weight 3 of 4",
        "eng: 60/100 x weight 1 of 4",
    ]


@pytest.mark.parametrize(
    ("verdicts", "lowest", "highest"),
    [
        ((Verdict.QUALIFIED, Verdict.REVIEW), Verdict.REVIEW, Verdict.QUALIFIED),
        ((Verdict.NURTURE, Verdict.INSUFFICIENT_DATA), Verdict.INSUFFICIENT_DATA, Verdict.NURTURE),
        ((Verdict.REVIEW, Verdict.DISQUALIFIED), Verdict.DISQUALIFIED, Verdict.REVIEW),
        ((Verdict.NURTURE, Verdict.REVIEW), Verdict.NURTURE, Verdict.REVIEW),
    ],
)
def test_gates_order_verdicts_from_disqualified_to_qualified(
    verdicts: tuple[Verdict, Verdict], lowest: Verdict, highest: Verdict
) -> None:
    subject = SimpleNamespace(
        id="s", parts={"a": _part("1", verdict=verdicts[0]), "b": _part("1", verdict=verdicts[1])}
    )
    children = [Stub("a"), Stub("b")]
    assert gate("g", children).evaluate(subject, as_of=AS_OF).verdict is lowest
    assert gate("g", children, mode="any").evaluate(subject, as_of=AS_OF).verdict is highest
