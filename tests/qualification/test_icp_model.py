"""ICP fit against a plain model of its documented rules, on every path it scores by.

Random strategies (criteria of every kind, weights, groups and caps, a total
cap, a floor, missing-data policies, required criteria, knockouts, coverage,
bands and grades, default or given) score random subjects.  A straightforward
model says what each result must be; the generated scoring functions (the
explained one, the score-only one, the batch path, ``score_many``, and the
fallback for subjects lacking an attribute) must all give it.
"""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelinekit import ValidationError
from pipelinekit.qualification import (
    CriterionStatus,
    Verdict,
    bands,
    icp_fit,
    one_of,
    pattern,
    predicate,
    present,
)
from pipelinekit.qualification._fields import is_missing
from pipelinekit.qualification.base import Band, Grade

from .conftest import AS_OF, make_lead

D = Decimal
M, P, N, U, K = (
    CriterionStatus.MATCH,
    CriterionStatus.PARTIAL,
    CriterionStatus.NO_MATCH,
    CriterionStatus.UNKNOWN,
    CriterionStatus.KNOCKOUT,
)
KNOWN, KO, BLOCK, UNCONFIRMED = 1, 2, 4, 8


def _answer_of_p(subject: Any) -> bool | None:
    value = subject.custom.get("p")
    return value if value is None or isinstance(value, bool) else None


@st.composite
def icp_configs(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(1, 5))
    groups = {name: draw(st.sampled_from([None, 5, 12, 30])) for name in ("g1", "g2")}
    specs = []
    for i in range(count):
        kind = draw(st.sampled_from(["one_of", "bands", "present", "predicate", "pattern"]))
        if kind == "predicate" and any(s["kind"] == "predicate" for s in specs):
            kind = "one_of"
        policy = draw(st.sampled_from(["neutral", "zero", "penalty", "block"]))
        specs.append(
            {
                "kind": kind,
                "name": f"c{i}",
                "field": f"custom.f{i}",
                "key": f"f{i}",
                "weight": draw(st.sampled_from([1, 2, D("0.5")])),
                "group": draw(st.sampled_from([None, "g1", "g2"])),
                "missing": policy,
                "penalty": draw(st.integers(1, 6)) if policy == "penalty" else 0,
                "required": draw(st.booleans()),
                "a": draw(st.integers(-10, 25)),
                "b": draw(st.integers(-10, 25)),
                "default": draw(st.sampled_from([0, 0, -3, 2])),
                "knockout": draw(st.booleans()),
            }
        )
    return {
        "specs": specs,
        "groups": groups,
        "total_cap": draw(st.sampled_from([None, None, 15, 40])),
        "floor": draw(st.sampled_from([None, None, 0, -5])),
        "min_coverage": draw(st.sampled_from(["0", "0.5", "1"])),
        "scale": draw(st.sampled_from(["points", "relative"])),
        "own_cuts": draw(st.booleans()),
    }


def _criterion(s: dict[str, Any]) -> Any:
    common = {"weight": s["weight"], "group": s["group"], "required": s["required"]}
    policy = {"missing": s["missing"], "penalty": s["penalty"]}
    if s["kind"] == "one_of":
        return one_of(s["name"], s["field"], {"a": s["a"], "b": s["b"]}, default=s["default"],
                      knockout=["x"] if s["knockout"] else [], **common, **policy)  # fmt: skip
    if s["kind"] == "bands":
        ranges = [(None, 10, s["a"]), (10, 100, s["b"]), (100, 200, 0, None, s["knockout"])]
        return bands(s["name"], s["field"], ranges, default=s["default"], **common, **policy)
    if s["kind"] == "pattern":
        rules = [{"regex": "^a", "points": s["a"]}, {"regex": "b", "points": s["b"]},
                 {"regex": "x", "knockout": s["knockout"]}]  # fmt: skip
        return pattern(s["name"], s["field"], rules, default=s["default"], **common, **policy)
    if s["kind"] == "present":
        return present(s["name"], s["field"], points=s["a"], absent=s["default"], **common)
    return predicate(s["name"], _answer_of_p, points=s["a"], otherwise=s["default"],
                     knockout=s["knockout"], **common, **policy)  # fmt: skip


def _value(s: dict[str, Any]) -> st.SearchStrategy[Any]:
    if s["kind"] == "bands":
        return st.one_of(st.none(), st.integers(-5, 250), st.sampled_from(["ten", D("99.5")]))
    if s["kind"] == "predicate":
        return st.sampled_from([None, True, False])
    return st.one_of(
        st.none(),
        st.sampled_from(["a", "A", "b", "ab", "x", "zzz", "", "  ", ["a", "b"], ["b", "x"], []]),
    )


def _model_line(criterion: Any, s: dict[str, Any], raw: Any) -> tuple[Any, Decimal, int]:
    """(status, weighted points, flags) the documented rules give one criterion."""
    presence = s["kind"] == "present"
    value = raw
    if presence:
        value = not is_missing(raw)
    elif s["kind"] == "predicate" and raw is not None:
        value = raw
    if (value is None or is_missing(value)) and not presence:
        return _missing(s)
    status, points, _ = criterion.classify(value)
    if status is U:
        return _missing(s)
    weighted = points * criterion.weight
    if status is K:
        return K, weighted, KNOWN | KO
    if s["required"] and status is N:
        return K, weighted, KNOWN | KO
    return status, weighted, KNOWN


def _missing(s: dict[str, Any]) -> tuple[Any, Decimal, int]:
    policy, required = s["missing"], s["required"]
    if policy == "zero":
        return (K, D(0), KO) if required else (N, D(0), 0)
    if policy == "penalty":
        return U, D(-s["penalty"]), UNCONFIRMED if required else 0
    if policy == "block":
        return U, D(0), BLOCK
    return U, D(0), UNCONFIRMED if required else 0


def _pct(low: Decimal, high: Decimal, share: str) -> Decimal:
    return (low + (high - low) * D(share)).quantize(D("0.01"))


def _highest(cuts: list[Any], total: Decimal) -> Any:
    reached = [c for c in cuts if total >= c.min]
    return reached[-1] if reached else None


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_icp_scores_as_documented_on_every_path(data: st.DataObject) -> None:
    cfg = data.draw(icp_configs())
    specs = cfg["specs"]
    criteria = [_criterion(s) for s in specs]
    own_bands = [Band("cold", -100, Verdict.DISQUALIFIED), Band("warm", 8, Verdict.NURTURE),
                 Band("hot", 20, Verdict.QUALIFIED)]  # fmt: skip
    own_grades = [Grade("C", 0), Grade("B", 10), Grade("A", 25)]
    strategy = icp_fit(
        "model", criteria, groups=cfg["groups"], total_cap=cfg["total_cap"], floor=cfg["floor"],
        min_coverage=cfg["min_coverage"], scale=cfg["scale"],
        bands=own_bands if cfg["own_cuts"] else (), grades=own_grades if cfg["own_cuts"] else (),
    )  # fmt: skip

    # the scale: the lowest and highest points the criteria can give, under the caps
    low = high = D(0)
    group_high = {"g1": D(0), "g2": D(0)}
    for c in criteria:
        lo, hi = c.bounds()
        low += lo
        if c.group is None:
            high += hi
        else:
            group_high[c.group] += hi
    for name, hi in group_high.items():
        cap = cfg["groups"][name]
        high += hi if cap is None else min(hi, D(cap))
    if cfg["total_cap"] is not None:
        high = min(high, D(cfg["total_cap"]))
    if cfg["floor"] is not None:
        low = max(low, D(cfg["floor"]))
    assert (strategy.scale_min, strategy.scale_max) == (low, max(high, low))  # type: ignore[attr-defined]
    if cfg["own_cuts"]:
        band_cuts, grade_cuts = own_bands, own_grades
    else:
        base = low if cfg["scale"] == "relative" else D(0)
        top = (
            high if cfg["scale"] == "relative" or cfg["total_cap"] is None else D(cfg["total_cap"])
        )
        top = max(top, base)
        band_cuts = [Band("low", low, Verdict.DISQUALIFIED)] + [
            b for b in (Band("medium", _pct(base, top, "0.4"), Verdict.NURTURE),
                        Band("high", _pct(base, top, "0.7"), Verdict.QUALIFIED))
            if b.min > low
        ]  # fmt: skip
        grade_cuts = [Grade("D", low)] + [
            g for g in (Grade("C", _pct(base, top, "0.25")), Grade("B", _pct(base, top, "0.5")),
                        Grade("A", _pct(base, top, "0.75")))
            if g.min > low
        ]  # fmt: skip
    assert list(strategy.bands) == band_cuts  # type: ignore[attr-defined]
    assert list(strategy.grades) == grade_cuts  # type: ignore[attr-defined]

    rows = data.draw(
        st.lists(st.tuples(*[_value(s) for s in specs], st.booleans()), min_size=1, max_size=4)
    )
    subjects = []
    for n, row in enumerate(rows):
        custom = {s["key"]: v for s, v in zip(specs, row, strict=False) if v is not None}
        for s, v in zip(specs, row, strict=False):
            if s["kind"] == "predicate" and v is not None:
                custom["p"] = v
        if row[-1] and not any(isinstance(v, list) for v in custom.values()):
            subjects.append(make_lead(f"lead-{n}", custom=custom))
        else:  # no company, no contact: the generated reader falls back to safe reads
            subjects.append(SimpleNamespace(id=f"duck-{n}", custom=custom))

    results = [strategy.evaluate(s, as_of=AS_OF) for s in subjects]
    for subject, row, result in zip(subjects, rows, results, strict=True):
        outcomes = [_model_line(c, s, v) for c, s, v in zip(criteria, specs, row, strict=False)]
        flags = 0
        for _, _, f in outcomes:
            flags |= f
        known = sum(f & KNOWN for _, _, f in outcomes)
        groups = {"g1": D(0), "g2": D(0)}
        total = D(0)
        for c, (_, points, _) in zip(criteria, outcomes, strict=True):
            if c.group is None:
                total += points
            else:
                groups[c.group] += points
        for name, value in groups.items():
            cap = cfg["groups"][name]
            total += value if cap is None else min(value, D(cap))
        if cfg["total_cap"] is not None:
            total = min(total, D(cfg["total_cap"]))
        if cfg["floor"] is not None:
            total = max(total, D(cfg["floor"]))
        coverage = (D(known) / len(criteria)).quantize(D("0.0001"))

        assert result.subject_id == subject.id
        assert result.coverage == coverage
        assert [line.status for line in result.breakdown] == [o[0] for o in outcomes]
        assert [line.criterion for line in result.breakdown] == [c.name for c in criteria]
        assert result.knockouts == tuple(
            c.name for c, o in zip(criteria, outcomes, strict=True) if o[0] is K
        )
        for line, (_, points, _) in zip(result.breakdown, outcomes, strict=True):
            # a cap or the floor only ever moves a line's points towards zero
            assert abs(line.points) <= abs(points)
            assert line.points * points >= 0
        if flags & BLOCK:
            assert result.score is None
            assert result.verdict is Verdict.INSUFFICIENT_DATA
            assert (result.band, result.grade) == (None, None)
        else:
            assert result.score == total
            assert sum((line.points for line in result.breakdown), D(0)) == total
            band = _highest(band_cuts, total) or band_cuts[0]
            grade = _highest(grade_cuts, total)
            assert result.band == band.name
            verdict = band.verdict
            if flags & KO:
                verdict, grade = Verdict.DISQUALIFIED, grade_cuts[0]
            elif flags & UNCONFIRMED or coverage < D(cfg["min_coverage"]):
                verdict = Verdict.INSUFFICIENT_DATA
            assert result.verdict is verdict
            assert result.grade == (grade.letter if grade is not None else None)

    quick = [strategy.evaluate(s, as_of=AS_OF, explain=False) for s in subjects]
    assert [q.breakdown for q in quick] == [()] * len(subjects)
    for q, r in zip(quick, results, strict=True):
        assert (q.score, q.verdict, q.band, q.grade, q.coverage, q.knockouts, q.subject_id) == (
            r.score, r.verdict, r.band, r.grade, r.coverage, r.knockouts, r.subject_id,
        )  # fmt: skip
    assert strategy.evaluate_many(subjects, as_of=AS_OF) == results
    assert strategy.evaluate_many(subjects, as_of=AS_OF, explain=False) == quick
    assert strategy.score_many(subjects, as_of=AS_OF) == [r.score for r in results]  # type: ignore[attr-defined]
    # a second pass answers from the caches: the same results
    assert strategy.evaluate_many(subjects, as_of=AS_OF) == results


def _one(criterion: Any, **options: Any) -> Any:
    return icp_fit("one", [criterion], **options)


def _line(strategy: Any, custom: dict[str, Any]) -> Any:
    return strategy.evaluate(make_lead(custom=custom), as_of=AS_OF).breakdown[0]


@pytest.mark.parametrize(
    ("missing", "required", "reason", "status", "points"),
    [
        ("neutral", False, "no data (neutral)", U, 0),
        ("neutral", True, "no data (neutral)", U, 0),
        ("zero", False, "no data, counted as no match", N, 0),
        ("zero", True, "no data, counted as no match; required", K, 0),
        ("penalty", False, "no data: penalty -4", U, -4),
        ("block", False, "no data: this criterion is needed to score", U, 0),
    ],
)
def test_missing_data_lines_say_what_the_policy_did(
    missing: str, required: bool, reason: str, status: Any, points: int
) -> None:
    penalty = 4 if missing == "penalty" else 0
    strategy = _one(
        one_of("plan", "custom.plan", {"pro": 10}, missing=missing, penalty=penalty,
               required=required)
    )  # fmt: skip
    for custom in ({}, {"plan": "  "}):
        line = _line(strategy, custom)
        assert line.reason == reason
        assert line.status is status
        assert line.points == points
        assert line.evidence == ("$.custom.plan",)
        assert line.group is None
    unreadable = _line(_one(bands("n", "custom.n", [(0, 10, 5)], missing=missing,
                                  penalty=4 if missing == "penalty" else 0,
                                  required=required)), {"n": "many"})  # fmt: skip
    assert unreadable.reason == f"str is not a number; {reason}"
    assert unreadable.status is status


def test_weights_and_requirements_are_explained() -> None:
    strategy = _one(one_of("plan", "custom.plan", {"pro": 10, "free": 0}, weight=3,
                           required=True, group="g"), groups={"g": None})  # fmt: skip
    pro = _line(strategy, {"plan": "pro"})
    assert pro.reason == "pro is listed (+10 x weight 3)"
    assert pro.points == 30
    assert pro.group == "g"
    free = _line(strategy, {"plan": "free"})
    assert free.reason == "free is listed; required"
    assert free.status is K
    other = _line(strategy, {"plan": "team"})
    assert other.reason == "not one of the listed values; required"
    half = _line(_one(one_of("p", "custom.p", {"pro": 10}, weight="0.5")), {"p": "PRO"})
    assert half.reason == "PRO is listed (+10 x weight 0.5)"
    assert half.points == 5
    absent = _one(present("mail", "contact.email", points=5, required=True))
    line = absent.evaluate(make_lead(email=None), as_of=AS_OF).breakdown[0]
    assert line.reason == "contact.email is missing; required"
    assert line.status is K
    assert line.observed is False
    shown = absent.evaluate(make_lead(), as_of=AS_OF).breakdown[0]
    assert shown.observed is True
    assert shown.evidence == ("$.contact.email",)


def test_personal_and_predicate_values_are_shown_as_presence_or_answer() -> None:
    name = _one(one_of("name", "contact.name", {"ada lovelace": 5}))
    line = name.evaluate(make_lead(), as_of=AS_OF).breakdown[0]
    assert line.observed is True
    assert line.points == 5
    nameless = name.evaluate(SimpleNamespace(id="d", contact=None), as_of=AS_OF).breakdown[0]
    assert nameless.observed is None
    asked = _one(predicate("vip", _answer_of_p, points=3))
    yes = asked.evaluate(make_lead(custom={"p": True}), as_of=AS_OF).breakdown[0]
    assert yes.observed is True
    assert yes.evidence == ()
    unknown = asked.evaluate(make_lead(custom={}), as_of=AS_OF).breakdown[0]
    assert unknown.observed is None
    tagged = _one(one_of("t", "tags", {"a": 1}))
    listed = tagged.evaluate(make_lead(tags=frozenset({"b", "a"})), as_of=AS_OF).breakdown[0]
    assert listed.observed == "a, b"


def test_caps_and_the_floor_are_charged_to_lines_and_say_so() -> None:
    strategy = icp_fit(
        "caps",
        [one_of("a", "custom.a", {"y": 20}, group="g"), one_of("b", "custom.b", {"y": 15},
         group="g"), one_of("c", "custom.c", {"y": 30})],
        groups={"g": 25}, total_cap=40,
    )  # fmt: skip
    result = strategy.evaluate(make_lead(custom={"a": "y", "b": "y", "c": "y"}), as_of=AS_OF)
    a, b, c = result.breakdown
    assert result.score == 40
    assert b.reason == (
        "y is listed; 15 points, 5 counted under the group 'g' cap of 25; "
        "5 points, 0 counted under the total cap of 40"
    )
    assert b.cap == 40
    assert a.reason == "y is listed; 20 points, 10 counted under the total cap of 40"
    assert (a.points, b.points, c.points) == (D(10), D(0), D(30))
    assert c.cap is None
    floored = icp_fit("floor", [one_of("a", "custom.a", {"bad": -25})], floor=-4)
    line = floored.evaluate(make_lead(custom={"a": "bad"}), as_of=AS_OF).breakdown[0]
    assert line.reason == "bad is listed; -25 points, -4 counted under the floor of -4"
    assert line.points == -4
    assert line.cap is None
    assert floored.score_many([make_lead(custom={"a": "bad"})], as_of=AS_OF) == [D(-4)]  # type: ignore[attr-defined]


def test_config_is_plain_data() -> None:
    strategy = icp_fit("cfg", [present("mail", "contact.email", points=5)], groups={"g": 3},
                       total_cap=4, min_coverage="0.5", scale="relative", floor=-1)  # fmt: skip
    config = strategy.config()
    assert config["kind"] == "icp"
    assert config["name"] == "cfg"
    assert config["groups"] == {"g": D(3)}
    assert config["total_cap"] == D(4)
    assert config["min_coverage"] == D("0.5")
    assert config["scale"] == "relative"
    assert config["floor"] == D(-1)
    assert config["criteria"] == [strategy.criteria[0].config()]  # type: ignore[attr-defined]
    assert config["bands"][0] == {"name": "low", "min": D(0), "verdict": Verdict.DISQUALIFIED}
    assert config["grades"][0] == {"letter": "D", "min": D(0)}
    assert strategy.reads() == {"contact.email": ()}


def test_reads_lists_the_values_each_field_is_classified_by() -> None:
    strategy = icp_fit("r", [one_of("a", "custom.a", {"y": 1}, knockout=["n"]),
                             one_of("b", "custom.a", {"z": 1}),
                             one_of("t", "tags", {"vip": 2})])  # fmt: skip
    assert strategy.reads() == {
        "custom.a": ("n", "y", "z"),
        "tags": (frozenset(["vip"]),),
    }
    assert icp_fit("p", [predicate("v", _answer_of_p)]).reads() == {}


def _problems(call: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        call()
    return {p.path: p.message for p in caught.value.problems}


def test_icp_fit_problems_name_the_option_and_say_what_is_wrong() -> None:
    ok = [one_of("a", "custom.a", {"y": 1}, group="g")]
    plain = [one_of("a", "custom.a", {"y": 1})]
    assert _problems(lambda: icp_fit("x", plain, groups=[("g", 1)])) == {  # type: ignore[arg-type]
        "$.groups": "must map group names to caps, got list"
    }
    assert _problems(lambda: icp_fit("x", plain, groups={"": 1})) == {
        "$.groups": "group names are non-empty strings, got ''"
    }
    assert _problems(lambda: icp_fit("x", plain, groups={"g": 0})) == {
        "$.groups.g": "a cap must be > 0, got 0"
    }
    assert _problems(lambda: icp_fit("x", plain, total_cap=0)) == {
        "$.total_cap": "must be > 0, got 0"
    }
    assert _problems(lambda: icp_fit("x", plain, floor="0.5")) == {
        "$.floor": "must be <= 0, got 0.5"
    }
    assert _problems(lambda: icp_fit("x", plain, scale="log")) == {
        "$.scale": "must be 'points' or 'relative', got 'log'"
    }
    for bad in ("-0.1", "1.1"):
        assert _problems(lambda b=bad: icp_fit("x", plain, min_coverage=b)) == {
            "$.min_coverage": f"must be between 0 and 1, got {bad}"
        }
    assert _problems(lambda: icp_fit("x", [])) == {"$.criteria": "needs at least one criterion"}
    assert _problems(lambda: icp_fit("x", "a")) == {  # type: ignore[arg-type]
        "$.criteria": "needs at least one criterion"
    }
    assert _problems(lambda: icp_fit("x", [*plain, 3])) == {  # type: ignore[list-item]
        "$.criteria[1]": "must be built with one_of, bands, pattern, ..."
    }
    assert _problems(lambda: icp_fit("x", plain * 2)) == {
        "$.criteria[1].name": "duplicate criterion name 'a'"
    }
    assert _problems(lambda: icp_fit("x", ok)) == {
        "$.criteria[0].group": "unknown group 'g' (groups: none declared); declare it in groups"
    }
    assert _problems(lambda: icp_fit("x", ok, groups={"h": None, "f": 2})) == {
        "$.criteria[0].group": "unknown group 'g' (groups: f, h); declare it in groups"
    }
    assert _problems(lambda: icp_fit("x", plain, bands="hot", grades=3)) == {  # type: ignore[arg-type]
        "$.bands": "must be a list, got str",
        "$.grades": "must be a list, got int",
    }
    assert _problems(lambda: icp_fit("x", plain, bands=[Grade("A", 1)], grades=[3])) == {  # type: ignore[list-item]
        "$.bands[0]": "must be a Band",
        "$.grades[0]": "must be a Grade",
    }
    assert _problems(lambda: icp_fit("x", plain, grades=[Grade("A", 5), Grade("B", 5)])) == {
        "$.grades[1].min": "must be greater than the previous one (5): list them ascending"
    }
    assert set(_problems(lambda: icp_fit("", plain))) == {"$.name"}
    assert set(_problems(lambda: icp_fit("x" * 201, plain))) == {"$.name"}
    fine = icp_fit("x" * 200, ok, groups={"g": None}, total_cap="0.5", floor=0,
                   min_coverage=1)  # fmt: skip
    assert fine.config()["groups"] == {"g": None}


def _three(**options: Any) -> Any:
    return icp_fit(
        "three",
        [one_of("a", "custom.a", {"y": 10, "bad": -5}, knockout=["ko"], group="g"),
         one_of("b", "custom.b", {"y": 20}, required=True),
         present("c", "custom.c", points=10)],
        groups={"g": 8}, **options,
    )  # fmt: skip


@pytest.mark.parametrize("explain", [True, False])
def test_verdicts_grades_and_coverage_on_every_path(explain: bool) -> None:
    def check(strategy: Any, custom: dict[str, Any], **expected: Any) -> None:
        lead = make_lead("lead-x", custom=custom)
        one = strategy.evaluate(lead, as_of=AS_OF, explain=explain)
        many = strategy.evaluate_many([lead, lead], as_of=AS_OF, explain=explain)
        assert many == [one, one]
        assert strategy.score_many([lead], as_of=AS_OF) == [one.score]
        for name, value in expected.items():
            assert getattr(one, name) == value, name
        if explain:
            assert sum(line.points for line in one.breakdown) == one.score

    plain = _three()
    assert (plain.scale_min, plain.scale_max) == (D(-5), D(38))  # type: ignore[attr-defined]
    check(plain, {"a": "y", "b": "y", "c": "x"}, score=D(38), verdict=Verdict.QUALIFIED,
          grade="A", band="high", coverage=D(1), knockouts=())  # fmt: skip
    check(plain, {"a": "ko", "b": "y", "c": "x"}, score=D(30), verdict=Verdict.DISQUALIFIED,
          grade="D", band="high", knockouts=("a",))  # fmt: skip
    check(plain, {"a": "y", "b": "n", "c": "x"}, verdict=Verdict.DISQUALIFIED, knockouts=("b",))
    # b is required and unknown: no verdict can be given, whatever the score
    # bands from 40 % (15.2) and 70 % (26.6) of 38 points; grades from 25, 50, 75 %
    check(plain, {"a": "y", "c": "x"}, score=D(18), verdict=Verdict.INSUFFICIENT_DATA,
          coverage=D("0.6667"), grade="C", band="medium")  # fmt: skip
    check(plain, {"a": "bad", "b": "y"}, score=D(15), grade="C", band="low",
          verdict=Verdict.DISQUALIFIED)  # fmt: skip
    # a floor lifts a negative total, and with it the explained lines
    floored = _three(floor=0)
    check(floored, {"a": "bad", "b": "n"}, score=D(0), knockouts=("b",), scale_min=D(0))
    # coverage at the minimum is enough; below it is not
    # (a presence criterion is always known: its absence is a no-match)
    covered = _three(min_coverage="0.6")
    check(covered, {"b": "y", "c": "x"}, coverage=D("0.6667"), verdict=Verdict.QUALIFIED)
    strict = _three(min_coverage=1)
    check(strict, {"b": "y", "c": "x"}, verdict=Verdict.INSUFFICIENT_DATA, score=D(30))
    check(strict, {"a": "y", "b": "y"}, verdict=Verdict.QUALIFIED, score=D(28), coverage=D(1))
    # the total cap: lines trimmed, the highest band at the cap
    capped = _three(total_cap=20)
    check(capped, {"a": "y", "b": "y", "c": "x"}, score=D(20), band="high", grade="A")
    check(capped, {"b": "y"}, score=D(20), verdict=Verdict.QUALIFIED)


def test_relative_scales_cut_the_whole_range() -> None:
    strategy = icp_fit("rel", [one_of("a", "custom.a", {"y": 30, "n": -10})], scale="relative")
    assert (strategy.scale_min, strategy.scale_max) == (D(-10), D(30))  # type: ignore[attr-defined]
    assert [(b.name, b.min) for b in strategy.bands] == [  # type: ignore[attr-defined]
        ("low", D(-10)), ("medium", D(6)), ("high", D(18)),
    ]  # fmt: skip
    assert [(g.letter, g.min) for g in strategy.grades] == [  # type: ignore[attr-defined]
        ("D", D(-10)), ("C", D(0)), ("B", D(10)), ("A", D(20)),
    ]  # fmt: skip
    points = icp_fit("pts", [one_of("a", "custom.a", {"y": 30, "n": -10})], total_cap=20)
    assert [(b.name, b.min) for b in points.bands] == [  # type: ignore[attr-defined]
        ("low", D(-10)), ("medium", D(8)), ("high", D(14)),
    ]  # fmt: skip
    flat = icp_fit("flat", [one_of("a", "custom.a", {"y": 0})])
    assert [b.name for b in flat.bands] == ["low"]  # type: ignore[attr-defined]
    assert [g.letter for g in flat.grades] == ["D"]  # type: ignore[attr-defined]


def test_subject_ids_on_every_path() -> None:
    strategy = icp_fit("ids", [one_of("a", "custom.a", {"y": 1})])
    nameless = SimpleNamespace(custom={"a": "y"})
    numbered = SimpleNamespace(id=7, custom={"a": "y"})
    for explain in (True, False):
        batch = strategy.evaluate_many([nameless, numbered], as_of=AS_OF, explain=explain)
        assert [r.subject_id for r in batch] == [None, "7"]
        assert strategy.evaluate(nameless, as_of=AS_OF, explain=explain).subject_id is None
    with pytest.raises(ValidationError) as caught:
        strategy.score_many("abc", as_of=AS_OF)  # type: ignore[attr-defined]
    assert caught.value.subject == "score_many"
    assert caught.value.paths == ("$.subjects",)


def test_the_first_of_equally_good_members_is_named() -> None:
    tags = one_of("t", "tags", {"a": 5, "b": 5, "c": 1})
    assert tags.classify(["c", "b", "a"]) == (CriterionStatus.MATCH, D(5), "b is listed")
    assert set(_problems(lambda: bands("b", "custom.n", [(0, 1, 1)], default="x"))) == {"$.default"}


def test_a_weighted_absent_field_and_a_cap_above_the_reachable_points() -> None:
    weighted = icp_fit("w", [present("mail", "contact.email", points=5, absent=-2, weight=2)])
    line = weighted.evaluate(make_lead(email=None), as_of=AS_OF).breakdown[0]
    assert line.points == -4
    assert weighted.score_many([make_lead(email=None)], as_of=AS_OF) == [D(-4)]  # type: ignore[attr-defined]
    roomy = icp_fit("r", [one_of("a", "custom.a", {"y": 30})], total_cap=100)
    assert roomy.scale_max == 30  # type: ignore[attr-defined]
    # shares of the total cap, not of the 30 points the criteria can reach
    assert [(b.name, b.min) for b in roomy.bands] == [  # type: ignore[attr-defined]
        ("low", D(0)), ("medium", D(40)), ("high", D(70)),
    ]  # fmt: skip
    relative = icp_fit("r", [one_of("a", "custom.a", {"y": 30})], total_cap=100, scale="relative")
    assert [(b.name, b.min) for b in relative.bands] == [  # type: ignore[attr-defined]
        ("low", D(0)), ("medium", D(12)), ("high", D(21)),
    ]  # fmt: skip
