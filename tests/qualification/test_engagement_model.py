"""Engagement scoring against a plain model of its documented rules.

The configurations and leads are those of the batch test (filters, daily caps,
first-only and frequency rules, caps, minimums, negative rules, groups with
their own limits and decay, ties, events after ``as_of``).  A model written
from the module's docstring (decay factors rounded down to 6 places, a line's
points rounded once to the cent, then rule caps, group limits, the total cap
and the floor) says what the score, verdict, staleness and each line must be;
the one-by-one and the batch paths must both give it.
"""

from __future__ import annotations

import decimal
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelinekit import Event, ValidationError
from pipelinekit.qualification import (
    CriterionStatus,
    Verdict,
    engagement,
    event_group,
    half_life,
    linear_decay,
    no_decay,
    rule,
    step_decay,
    window,
)
from pipelinekit.qualification.base import Band
from pipelinekit.qualification.engagement import calendar_months

from .conftest import AS_OF, make_lead
from .test_engagement_batch import leads, strategies

D = Decimal
EXACT = decimal.Context(prec=60)
PREC28 = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN)  # the module's precision
RANK = {Verdict.DISQUALIFIED: 0, Verdict.NURTURE: 1, Verdict.REVIEW: 2, Verdict.QUALIFIED: 3}


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    year, month = index // 12, index % 12 + 1
    for day in range(moment.day, 0, -1):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _months(start: datetime, end: datetime) -> Decimal:
    whole = 0
    while _add_months(start, whole + 1) <= end:
        whole += 1
    anchor, following = _add_months(start, whole), _add_months(start, whole + 1)
    gone = (end - anchor) // timedelta(microseconds=1)
    span = (following - anchor) // timedelta(microseconds=1)
    return D(whole) + PREC28.divide(D(gone), D(span))


def _factor(decay: Any, at: datetime, as_of: datetime) -> Decimal:
    """The documented share of points left: rounded down to 6 places."""
    if decay.form == "none":
        return D(1)
    if decay.unit == "months":
        periods = EXACT.divide(_months(at, as_of), decay.every)
    else:
        days = {"days": 1, "weeks": 7}[decay.unit]
        micros = (as_of - at) // timedelta(microseconds=1)
        periods = EXACT.divide(D(micros), decay.every * days * 86_400_000_000)
    if decay.form == "window":
        return D(1) if periods < 1 else D(0)
    if decay.form == "step":
        return max(D(0), 1 - decay.rate * periods.to_integral_value(decimal.ROUND_FLOOR))
    if decay.form == "linear":
        value = max(D(0), 1 - decay.rate * periods)
    else:
        value = EXACT.power(D("0.5"), periods)
    return value.quantize(D("0.000001"), rounding=decimal.ROUND_FLOOR)


def _fires(times: tuple[str, int, int | None] | None, count: int) -> bool:
    if count < 1:
        return False
    if times is None:
        return True
    op, n, m = times
    return {
        "exactly": count == n,
        "at_least": count >= n,
        "at_most": count <= n,
        "between": m is not None and n <= count <= m,
    }[op]


def _bounded(value: Decimal, low: Decimal | None, high: Decimal | None) -> Decimal:
    if high is not None:
        value = min(value, high)
    if low is not None:
        value = max(value, low)
    return value


def _model(strategy: Any, events: tuple[Event, ...], as_of: datetime) -> dict[str, Any]:
    order = sorted(range(len(events)), key=lambda i: events[i].at)
    groups = {g.name: g for g in strategy.groups}
    lines = []
    for r in strategy.rules:
        matching = [
            i for i in order
            if events[i].at <= as_of and events[i].kind in r.kinds
            and all(events[i].properties.get(k) in ok for k, ok in r.where.items())
        ]  # fmt: skip
        if not matching:
            continue
        counted, skipped = matching, 0
        if r.first_only:
            counted, skipped = matching[:1], len(matching) - 1
        elif r.daily_cap is not None:
            seen: dict[Any, int] = {}
            counted = []
            for i in matching:
                day = events[i].at.astimezone(UTC).date()
                if seen.get(day, 0) < r.daily_cap:
                    seen[day] = seen.get(day, 0) + 1
                    counted.append(i)
            skipped = len(matching) - len(counted)
        fired = _fires(r.times, len(counted)) if r.times is not None else True
        basis = ([counted[-1]] if fired else []) if r.times is not None else counted
        group = groups.get(r.group) if r.group else None
        decay = (group.decay or strategy.decay) if group else strategy.decay
        fades = group.decay_negative if group else strategy.decay_negative
        fresh = r.points * len(basis)
        if decay.form != "none" and (r.points > 0 or fades):
            share = sum((_factor(decay, events[i].at, as_of) for i in basis), D(0))
            raw = (share * r.points).quantize(D("0.01"), rounding=decimal.ROUND_HALF_EVEN)
        else:
            raw = fresh.quantize(D("0.01"), rounding=decimal.ROUND_HALF_EVEN)
        lines.append(
            {
                "rule": r,
                "counted": counted,
                "skipped": skipped,
                "raw": raw,
                "points": _bounded(raw, r.minimum, r.cap),
                "fresh": _bounded(fresh, r.minimum, r.cap),
            }
        )

    def total(key: str) -> Decimal:
        value = sum((x[key] for x in lines if x["rule"].group is None), D(0))
        for g in strategy.groups:
            members = [x[key] for x in lines if x["rule"].group == g.name]
            if members:
                value += _bounded(sum(members, D(0)), g.minimum, g.limit)
        return min(max(value, strategy.floor), strategy.total_cap)

    return {"lines": lines, "score": total("points"), "undecayed": total("fresh")}


def _band(bands: tuple[Band, ...], score: Decimal) -> Band:
    reached = [b for b in bands if score >= b.min]
    return reached[-1] if reached else bands[0]


@settings(max_examples=200, deadline=None)
@given(strategies(), st.data())
def test_engagement_scores_as_documented(strategy: Any, data: st.DataObject) -> None:
    batch = [data.draw(leads(i)) for i in range(data.draw(st.integers(1, 3)))]
    as_of = data.draw(st.sampled_from([AS_OF, AS_OF - timedelta(days=9, hours=5)]))
    many = strategy.evaluate_many(batch, as_of=as_of)
    for lead, batched in zip(batch, many, strict=True):
        result = strategy.evaluate(lead, as_of=as_of)
        assert batched == result
        model = _model(strategy, lead.engagement, as_of)
        lines = model["lines"]
        matched = any(x["counted"] for x in lines)
        assert result.coverage == (1 if matched else 0)
        assert (result.scale_min, result.scale_max) == (strategy.floor, strategy.total_cap)
        assert result.subject_id == lead.id
        if not matched and strategy.unmatched == "null":
            assert result.score is None
            assert result.verdict is Verdict.INSUFFICIENT_DATA
            assert result.breakdown == ()
            assert result.band is None
            assert result.stale is False
            continue
        assert result.score == model["score"]
        band = _band(strategy.bands, model["score"])
        assert result.band == band.name
        assert result.verdict is band.verdict
        undecayed = _band(strategy.bands, model["undecayed"]).verdict
        assert result.stale is (RANK[band.verdict] < RANK[undecayed])
        assert [line.criterion for line in result.breakdown] == [x["rule"].name for x in lines]
        assert sum((line.points for line in result.breakdown), D(0)) == result.score
        for line, x in zip(result.breakdown, lines, strict=True):
            r = x["rule"]
            assert line.observed == len(x["counted"])
            status = (
                CriterionStatus.MATCH
                if x["points"] > 0
                else CriterionStatus.NO_MATCH
                if x["counted"]
                else CriterionStatus.UNKNOWN
            )
            assert line.status is status
            assert line.group == r.group
            assert line.evidence == tuple(
                f"event:{lead.engagement[i].properties['id']}"
                if lead.engagement[i].properties.get("id") is not None
                else f"$.engagement[{i}]"
                for i in x["counted"]
            )
            # limits only ever take points towards zero
            assert abs(line.points) <= abs(x["points"])
            assert line.points * x["points"] >= 0
            if x["counted"]:
                last = lead.engagement[x["counted"][-1]].at.date().isoformat()
                assert f"last on {last}" in line.reason
            if x["skipped"] and not r.first_only:
                assert (
                    f"{x['skipped']} more over the daily cap of {r.daily_cap} not counted"
                    in line.reason
                )
        quiet = strategy.evaluate(lead, as_of=as_of, explain=False)
        assert (quiet.score, quiet.verdict, quiet.band, quiet.stale, quiet.breakdown) == (
            result.score, result.verdict, result.band, result.stale, (),
        )  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1999, 1, 1), max_value=datetime(2031, 1, 1), timezones=st.just(UTC)
    ),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=800)),
)
def test_calendar_months_count_whole_months_and_the_share_of_the_next(
    start: datetime, gap: timedelta
) -> None:
    end = start + gap
    months = calendar_months(start, end)
    assert months == _months(start, end)
    assert calendar_months(start, _add_months(start, 5)) == 5
    later = calendar_months(start, end + timedelta(days=1))
    assert later > months


@pytest.mark.parametrize(
    ("decay", "age", "factor"),
    [
        (half_life(2), timedelta(days=1), "0.707106"),
        (half_life(1, "weeks"), timedelta(days=14), "0.25"),
        (half_life("0.5"), timedelta(days=1), "0.25"),
        (half_life(3), timedelta(hours=1), "0.990419"),
        (half_life(1, "months"), timedelta(days=31), "0.5"),
        (step_decay("0.5", 1, "months"), timedelta(days=30), "1"),
        (step_decay("0.5", 1, "months"), timedelta(days=31), "0.5"),
        (step_decay("0.3", 2, "weeks"), timedelta(days=13), "1"),
        (step_decay("0.3", 2, "weeks"), timedelta(days=14), "0.7"),
        (step_decay("0.3", 2, "weeks"), timedelta(days=70), "0"),
        (step_decay("0.5", "1.5"), timedelta(days=2), "0.5"),
        (linear_decay("0.1", 1), timedelta(days=3, hours=12), "0.65"),
        (linear_decay("0.5", 1, "weeks"), timedelta(days=1), "0.928571"),
        (linear_decay("0.5", 1, "months"), timedelta(days=62), "0"),
        (window(7), timedelta(days=6, hours=23), "1"),
        (window(1, "weeks"), timedelta(days=7), "0"),
        (window("0.5"), timedelta(hours=11), "1"),
        (window("0.5"), timedelta(hours=12), "0"),
        (window(1, "months"), timedelta(days=30), "1"),
        (no_decay(), timedelta(days=9999), "1"),
    ],
)
def test_decay_factors(decay: Any, age: timedelta, factor: str) -> None:
    start = datetime(2000, 1, 1, tzinfo=UTC)
    assert decay.factor(age) == D(factor)
    assert decay.factor_at(start, start + age) == D(factor)
    assert decay.total_factor([start, start], start + age) == 2 * D(factor)
    assert _factor(decay, start, start + age) == D(factor)


def test_decays_describe_themselves_and_their_config() -> None:
    assert half_life(30).describe() == "half-life 30 days"
    assert half_life(1, "weeks").describe() == "half-life week"
    assert step_decay("0.5", 1, "months").describe() == "-50 % every month"
    assert step_decay("0.25", 2, "weeks").describe() == "-25 % every 2 weeks"
    assert linear_decay("0.1", 3).describe() == "-10 % per 3 days, linearly"
    assert window(90).describe() == "counted for 90 days"
    assert no_decay().describe() == "no decay"
    assert no_decay().config() == {"form": "none"}
    assert half_life(7).config() == {"form": "half_life", "every": D(7), "unit": "days"}
    assert step_decay("0.5", 1, "months").config() == {
        "form": "step", "every": D(1), "unit": "months", "rate": D("0.5"),
    }  # fmt: skip
    assert linear_decay("0.1", 3).config()["rate"] == D("0.1")
    assert "rate" not in window(3).config()


def _problems(call: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        call()
    return {p.path: p.message for p in caught.value.problems}


def test_decay_problems() -> None:
    assert _problems(lambda: half_life(0)) == {"$.every": "must be > 0, got 0"}
    assert _problems(lambda: window(1, "years")) == {
        "$.unit": "must be one of days, weeks, months; got 'years'"
    }
    for rate in ("0", "1.5"):
        assert _problems(lambda r=rate: step_decay(r, 1)) == {
            "$.rate": f"must be between 0 (exclusive) and 1, got {rate}"
        }
    assert step_decay("1", 1).rate == 1
    assert set(_problems(lambda: linear_decay("x", -1))) == {"$.every", "$.rate"}


def test_rule_and_group_problems() -> None:
    assert _problems(lambda: rule("r", [], 1)) == {
        "$.kind": "name at least one event kind, e.g. 'website_visit'"
    }
    assert _problems(lambda: rule("r", ["a", ""], 1)) == {
        "$.kind": "name at least one event kind, e.g. 'website_visit'"
    }
    assert _problems(lambda: rule("r", [["a"]], 1)) == {  # type: ignore[list-item]
        "$.kind": "name at least one event kind, e.g. 'website_visit'"
    }
    assert _problems(lambda: rule("r", "a", 0)) == {"$.points": "must not be 0"}
    assert _problems(lambda: rule("r", "a", 1, where=["url"])) == {  # type: ignore[arg-type]
        "$.where": "must map property names to a value or a list of values"
    }
    for bad in (0, True, "2"):
        assert _problems(lambda b=bad: rule("r", "a", 1, daily_cap=b)) == {
            "$.daily_cap": f"must be a whole number >= 1, got {bad!r}"
        }
    assert _problems(lambda: rule("r", "a", 1, cap=0)) == {"$.cap": "must be > 0, got 0"}
    assert _problems(lambda: rule("r", "a", -1, cap=5)) == {
        "$.cap": "caps apply to positive rules only; use minimum"
    }
    assert _problems(lambda: rule("r", "a", -1, minimum=0)) == {"$.minimum": "must be < 0, got 0"}
    assert _problems(lambda: rule("r", "a", 1, minimum=-5)) == {
        "$.minimum": "minimums apply to negative rules only; use cap"
    }
    assert _problems(lambda: rule("r", "a", 1, group="")) == {
        "$.group": "must be a group name, got ''"
    }
    shape = "e.g. ['at_least', 4], ['between', 1, 3], ['exactly', 1] or ['at_most', 3]"
    for bad in ("at_least", [], ["most", 1]):
        assert _problems(lambda b=bad: rule("r", "a", 1, times=b)) == {
            "$.times": f"must name a comparison and counts, {shape}"
        }
    assert _problems(lambda: rule("r", "a", 1, times=["between", 1])) == {
        "$.times": f"'between' takes 2 whole count(s) >= 1, {shape}"
    }
    for counts in ([0], [True], ["1"], [1, 2]):
        assert _problems(lambda c=counts: rule("r", "a", 1, times=["exactly", *c])) == {
            "$.times": f"'exactly' takes 1 whole count(s) >= 1, {shape}"
        }
    assert _problems(lambda: rule("r", "a", 1, times=["between", 3, 2])) == {
        "$.times": "'between' needs the lower count first, got [3, 2]"
    }
    assert _problems(lambda: rule("r", "a", 1, first_only=1)) == {  # type: ignore[arg-type]
        "$.first_only": "must be true or false, got 1"
    }
    assert _problems(lambda: rule("r", "a", 1, first_only=True, times=["at_least", 2])) == {
        "$.first_only": "a frequency rule (times) already counts once"
    }
    fine = rule("r", ("a", "b"), "1.5", where={"u": ["x", "y"], "c": "z"}, daily_cap=1, cap=3,
                times=["between", 2, 2])  # fmt: skip
    assert fine.where == {"u": ("x", "y"), "c": ("z",)}
    assert fine.times == ("between", 2, 2)
    assert rule("r", "a", -1, minimum=-3, times=["at_most", 1]).times == ("at_most", 1, None)
    assert _problems(lambda: event_group("g", limit=0)) == {"$.limit": "must be > 0, got 0"}
    assert _problems(lambda: event_group("g", minimum="0.5")) == {
        "$.minimum": "must be <= 0, got 0.5"
    }
    assert _problems(lambda: event_group("g", decay="fast")) == {  # type: ignore[arg-type]
        "$.decay": "must be built with half_life, step_decay, linear_decay, ..."
    }
    assert _problems(lambda: event_group("g", decay_negative=0)) == {  # type: ignore[arg-type]
        "$.decay_negative": "must be true or false, got 0"
    }
    assert set(_problems(lambda: event_group(""))) == {"$.name"}
    assert event_group("g", minimum=0, limit="0.5").minimum == 0


def test_engagement_problems() -> None:
    one = [rule("r", "a", 1)]
    assert _problems(lambda: engagement("e", [])) == {"$.rules": "needs at least one rule"}
    assert _problems(lambda: engagement("e", [3])) == {  # type: ignore[list-item]
        "$.rules[0]": "must be built with rule(...)"
    }
    assert _problems(lambda: engagement("e", one * 2)) == {
        "$.rules[1].name": "duplicate rule name 'r'"
    }
    assert _problems(lambda: engagement("e", [rule("r", "a", 1, group="g")])) == {
        "$.rules[0].group": "unknown group 'g' (groups: none declared)"
    }
    assert _problems(
        lambda: engagement(
            "e", [rule("r", "a", 1, group="g")], groups=[event_group("b"), event_group("a")]
        )
    ) == {"$.rules[0].group": "unknown group 'g' (groups: a, b)"}
    assert _problems(lambda: engagement("e", one, groups=[3])) == {  # type: ignore[list-item]
        "$.groups[0]": "must be built with event_group(...)"
    }
    assert _problems(lambda: engagement("e", one, groups=[event_group("g")] * 2)) == {
        "$.groups[1].name": "duplicate group name 'g'"
    }
    assert _problems(lambda: engagement("e", one, decay=3)) == {  # type: ignore[arg-type]
        "$.decay": "must be built with half_life, step_decay, linear_decay, window or no_decay"
    }
    assert _problems(lambda: engagement("e", one, decay_negative=1)) == {  # type: ignore[arg-type]
        "$.decay_negative": "must be true or false, got 1"
    }
    assert _problems(lambda: engagement("e", one, total_cap=-5, floor=-5)) == {
        "$.total_cap": "must be greater than the floor (-5), got -5"
    }
    assert _problems(lambda: engagement("e", one, floor=1)) == {"$.floor": "must be <= 0"}
    assert _problems(lambda: engagement("e", one, unmatched="none")) == {
        "$.unmatched": "must be 'null' or 'zero', got 'none'"
    }
    assert _problems(lambda: engagement("e", one, bands=[3])) == {  # type: ignore[list-item]
        "$.bands[0]": "must be a Band"
    }
    same = [Band("a", 1, Verdict.NURTURE), Band("b", 1, Verdict.QUALIFIED)]
    assert set(_problems(lambda: engagement("e", one, bands=same))) == {"$.bands[1].min"}
    assert set(_problems(lambda: engagement("", one))) == {"$.name"}
    assert engagement("e", one, total_cap="0.01", floor=0).name == "e"


def test_config_lists_rules_groups_and_defaults() -> None:
    strategy = engagement(
        "e",
        [rule("visit", ["page_view", "ad_click"], 5, where={"url": "/p"}, daily_cap=2, cap=9,
              group="web"),
         rule("bounce", "bounce", -3, minimum=-6, first_only=True),
         rule("often", "page_view", 4, times=["between", 2, 3])],
        decay=half_life(30), total_cap=50, floor=-10,
        groups=[event_group("web", limit=20, minimum=-5, decay=window(7), decay_negative=True)],
        decay_negative=True, unmatched="zero",
    )  # fmt: skip
    config = strategy.config()
    assert config["kind"] == "engagement"
    assert config["rules"][0] == {
        "name": "visit", "kind": ["ad_click", "page_view"], "points": D(5),
        "where": {"url": ["/p"]}, "daily_cap": 2, "cap": D(9), "group": "web",
    }  # fmt: skip
    assert config["rules"][1] == {
        "name": "bounce", "kind": ["bounce"], "points": D(-3), "where": {}, "daily_cap": None,
        "cap": None, "minimum": D(-6), "first_only": True,
    }  # fmt: skip
    assert config["rules"][2]["times"] == ["between", 2, 3]
    assert config["decay"] == {"form": "half_life", "every": D(30), "unit": "days"}
    assert (config["total_cap"], config["floor"], config["unmatched"]) == (D(50), D(-10), "zero")
    assert config["groups"] == [
        {"name": "web", "limit": D(20), "minimum": D(-5),
         "decay": {"form": "window", "every": D(7), "unit": "days"}, "decay_negative": True}
    ]  # fmt: skip
    assert config["decay_negative"] is True
    assert config["bands"] == [
        {"name": "cold", "min": D(-10), "verdict": Verdict.NURTURE},
        {"name": "warm", "min": D(14), "verdict": Verdict.REVIEW},
        {"name": "hot", "min": D(32), "verdict": Verdict.QUALIFIED},
    ]
    plain = engagement("p", [rule("r", "a", 1)]).config()
    assert "groups" not in plain
    assert "decay_negative" not in plain
    assert plain["decay"] == {"form": "none"}


def _reasons(strategy: Any, events: tuple[Event, ...]) -> list[str]:
    lead = make_lead(engagement=events)
    one = [line.reason for line in strategy.evaluate(lead, as_of=AS_OF).breakdown]
    assert [line.reason for line in strategy.evaluate_many([lead], as_of=AS_OF)[0].breakdown] == one
    return one


def test_reasons_say_what_counted_and_what_limited_it() -> None:
    day = AS_OF - timedelta(days=2)
    shown = day.date().isoformat()
    strategy = engagement(
        "e",
        [rule("visit", ["page_view", "ad_click"], 5, daily_cap=1, cap=7),
         rule("first", "signup", 3, first_only=True),
         rule("often", "open", 4, times=["at_least", 2]),
         rule("rarely", "click", 4, times=["exactly", 1]),
         rule("bounce", "bounce", -4, minimum=-6),
         rule("old", "demo", 10)],
        groups=[], decay=half_life(2),
    )  # fmt: skip
    events = (
        Event("page_view", day), Event("page_view", day), Event("ad_click", day),
        Event("page_view", day - timedelta(days=1)),
        Event("signup", day), Event("signup", day),
        Event("open", day), Event("open", day),
        Event("click", day), Event("click", day),
        Event("bounce", day), Event("bounce", day), Event("bounce", day - timedelta(hours=1)),
        Event("demo", AS_OF),
    )  # fmt: skip
    before = (day - timedelta(days=1)).date().isoformat()
    assert _reasons(strategy, events) == [
        f"2 x ad_click/page_view at 5 each; last on {shown}; 2 more over the daily cap of 1 "
        "not counted; 10 before decay (half-life 2 days), 4.27 after",
        f"1 x signup (first only) at 3 each; last on {shown}; 3 before decay (half-life 2 days)"
        ", 1.5 after",
        f"2 x open matches at least 2 times; 4 once; last on {shown}; 4 before decay "
        "(half-life 2 days), 2 after",
        f"2 x click does not match exactly 1 times; last on {shown}",
        f"3 x bounce at -4 each; last on {shown}; limited by the rule minimum of -6",
        f"1 x demo at 10 each; last on {AS_OF.date().isoformat()}; 10 before decay "
        "(half-life 2 days), 10 after",
    ]
    assert before < shown
    capped = engagement("c", [rule("visit", "page_view", 5, cap=7)])
    lines = _reasons(capped, (Event("page_view", day), Event("page_view", day)))
    assert lines == [f"2 x page_view at 5 each; last on {shown}; limited by the rule cap of 7"]
    line = capped.evaluate(make_lead(engagement=(Event("page_view", day),) * 2), as_of=AS_OF)
    assert line.breakdown[0].cap == 7
    assert line.breakdown[0].points == 7


def test_group_limits_and_minimums_are_charged_to_their_lines() -> None:
    day = AS_OF - timedelta(days=1)
    strategy = engagement(
        "e",
        [rule("a", "a", 6, group="g"), rule("b", "b", 5, group="g"),
         rule("c", "c", -8, group="h"), rule("d", "d", -1, group="h"), rule("e", "e", 2)],
        groups=[event_group("g", limit=8), event_group("h", minimum=-4)],
        total_cap=50, floor=-50,
    )  # fmt: skip
    events = tuple(Event(k, day) for k in "abcde")
    result = strategy.evaluate(make_lead(engagement=events), as_of=AS_OF)
    a, b, c, d, e = result.breakdown
    assert result.score == 8 - 4 + 2
    assert (a.points, b.points, c.points, d.points, e.points) == (D(6), D(2), D(-4), D(0), D(2))
    assert b.reason.endswith("; 5 points, 2 counted under the group 'g' limit of 8")
    assert b.cap == 8
    assert c.reason.endswith("; -8 points, -4 counted under the group 'h' minimum of -4")
    assert d.reason.endswith("; -1 points, 0 counted under the group 'h' minimum of -4")
    assert c.cap is None
    assert strategy.evaluate_many([make_lead(engagement=events)], as_of=AS_OF) == [result]
    low = engagement("l", [rule("x", "x", -30)], floor=-10)
    floored = low.evaluate(make_lead(engagement=(Event("x", day),)), as_of=AS_OF)
    assert floored.score == -10
    assert floored.breakdown[0].reason.endswith("; -30 points, -10 counted under the floor of -10")
    high = engagement("h", [rule("x", "x", 30)], total_cap=10)
    topped = high.evaluate(make_lead(engagement=(Event("x", day),)), as_of=AS_OF)
    assert topped.breakdown[0].reason.endswith("; 30 points, 10 counted under the total cap of 10")


def test_unmatched_zero_scores_a_lead_without_events() -> None:
    strategy = engagement("e", [rule("r", "a", 5)], unmatched="zero", total_cap=10, floor=-10)
    result = strategy.evaluate(make_lead(), as_of=AS_OF)
    assert result.score == 0
    assert result.coverage == 0
    assert result.band == "warm"
    assert result.breakdown == ()
    later = strategy.evaluate(
        make_lead(engagement=(Event("a", AS_OF + timedelta(1)),)), as_of=AS_OF
    )
    assert later.score == 0


def test_a_clipped_line_records_the_rule_cap_on_both_paths() -> None:
    day = AS_OF - timedelta(days=2)
    capped = engagement("c", [rule("visit", "page_view", 5, cap=7)])
    lead = make_lead(engagement=(Event("page_view", day),) * 2)
    for result in (capped.evaluate(lead, as_of=AS_OF), *capped.evaluate_many([lead], as_of=AS_OF)):
        assert result.breakdown[0].cap == 7
        assert result.breakdown[0].points == 7
    under = make_lead(engagement=(Event("page_view", day),))
    assert capped.evaluate_many([under], as_of=AS_OF)[0].breakdown[0].cap is None


def test_group_and_decay_problems_name_their_field_and_subject() -> None:
    assert set(_problems(lambda: event_group("g" * 201))) == {"$.name"}
    assert event_group("g" * 200).name == "g" * 200
    assert set(_problems(lambda: event_group(None))) == {"$.name"}  # type: ignore[arg-type]
    assert set(_problems(lambda: event_group("g", minimum="x"))) == {"$.minimum"}
    for make, subject in (
        (lambda: half_life(0), "half_life"),
        (lambda: step_decay("0.5", 0), "step_decay"),
        (lambda: linear_decay("0.5", 0), "linear_decay"),
        (lambda: window(0), "window"),
        (lambda: event_group(""), "event_group"),
        (lambda: rule("", "a", 1), "rule"),
        (lambda: engagement("", [rule("r", "a", 1)]), "engagement"),
    ):
        with pytest.raises(ValidationError) as caught:
            make()
        assert caught.value.subject == subject


def test_a_line_raised_to_a_group_minimum_records_no_cap() -> None:
    day = AS_OF - timedelta(days=1)
    strategy = engagement(
        "e", [rule("c", "c", -8, group="h")], groups=[event_group("h", limit=5, minimum=-4)],
        floor=-50,
    )  # fmt: skip
    lead = make_lead(engagement=(Event("c", day),))
    for result in (
        strategy.evaluate(lead, as_of=AS_OF),
        *strategy.evaluate_many([lead], as_of=AS_OF),
    ):
        assert result.breakdown[0].points == -4
        assert result.breakdown[0].cap is None


def test_numbers_in_reasons_are_shown_plainly_whatever_the_value() -> None:
    import secrets

    # a value drawn at run time: reasons show numbers the first time they are seen too
    cents = secrets.randbelow(10**9) + 101
    points = D(cents).scaleb(-2)
    shown = format(points.normalize(), "f")
    strategy = engagement("e", [rule("r", "a", points)], total_cap=10**8)
    lead = make_lead(engagement=(Event("a", AS_OF - timedelta(days=1)),))
    for result in (
        strategy.evaluate(lead, as_of=AS_OF),
        *strategy.evaluate_many([lead], as_of=AS_OF),
    ):
        assert result.breakdown[0].reason.startswith(f"1 x a at {shown} each; last on ")


def test_rule_and_strategy_numbers_are_refused_where_they_were_given() -> None:
    assert set(_problems(lambda: rule("r", "a", "x"))) == {"$.points"}
    assert set(_problems(lambda: rule("r", "a", 1, cap="x"))) == {"$.cap"}
    assert set(_problems(lambda: rule(None, "a", 1))) == {"$.name"}  # type: ignore[arg-type]
    assert set(_problems(lambda: engagement("e", [rule("r", "a", 1)], total_cap="x"))) == {
        "$.total_cap"
    }
