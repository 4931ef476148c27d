"""Checklists against a plain model of the rules their docstring states.

Random checklists (levels, weights, unknown answers, policy, floor, gates,
bands, min_known) score random answers; a few lines of straightforward Python
say what the result must be.  Then the exact texts users read: reasons and
configuration problems.
"""

from __future__ import annotations

import importlib
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelinekit import ValidationError
from pipelinekit.qualification import (
    CriterionStatus,
    EvaluationError,
    Verdict,
    bant,
    checklist,
    item,
)
from pipelinekit.qualification.base import Band
from pipelinekit.qualification.checklist import Item, checklist_answers

from .conftest import AS_OF, make_lead

RANK = {Verdict.DISQUALIFIED: 0, Verdict.NURTURE: 1, Verdict.QUALIFIED: 2}


@st.composite
def checklists(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(1, 4))
    items = []
    for i in range(count):
        n = draw(st.integers(2, 5))
        items.append(
            {
                "key": f"k{i}",
                "levels": [f"L{i}_{j}" for j in range(n)],
                "weight": draw(st.sampled_from([1, 2, Decimal("0.5")])),
                "unknown": draw(st.sampled_from([(), ("Unknown",), ("?", "n/a")])),
                "unknown_level": draw(st.one_of(st.none(), st.integers(0, n - 1))),
            }
        )
    top = max(len(spec["levels"]) - 1 for spec in items)
    policy = draw(st.sampled_from(["sum", "k_of_n"]))
    keys = [spec["key"] for spec in items]
    return {
        "items": items,
        "policy": policy,
        "k": draw(st.integers(1, count)) if policy == "k_of_n" else None,
        "met_at": draw(st.one_of(st.none(), st.integers(0, top))),
        "floor": draw(st.one_of(st.none(), st.integers(0, top))),
        "gates": draw(st.lists(st.sampled_from(keys), unique=True, max_size=2)),
        "gate_at": draw(st.integers(0, top)),
        "min_known": draw(st.integers(0, count + 1)),
        "custom_bands": draw(st.booleans()),
    }


def _answer(spec: dict[str, Any]) -> st.SearchStrategy[Any]:
    n = len(spec["levels"])
    names = st.sampled_from(spec["levels"])
    return st.one_of(
        st.none(),
        st.integers(-1, n),
        names,
        names.map(lambda s: f"  {s.upper()} "),
        st.sampled_from(["Unknown", " n/a ", "?", "nope", True, Decimal("1.5")]),
        st.integers(0, n).map(str),
    )


def _model_level(spec: dict[str, Any], raw: Any) -> int | None:
    """The level an answer means under the documented rules, or None (unknown)."""
    if raw is None:
        return None
    if isinstance(raw, str) and raw.strip().casefold() in [u.casefold() for u in spec["unknown"]]:
        return spec["unknown_level"]  # type: ignore[no-any-return]
    top = len(spec["levels"]) - 1
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if 0 <= raw <= top else None
    if isinstance(raw, str):
        text = raw.strip().casefold()
        folded = [name.casefold() for name in spec["levels"]]
        if text in folded:
            return folded.index(text)
        if text.isdecimal() and 0 <= int(text) <= top:
            return int(text)
    return None


def _bands(top: Decimal, custom: bool) -> list[Band]:
    if custom:
        return [
            Band("cold", 0, Verdict.DISQUALIFIED),
            Band("warm", top / 3, Verdict.NURTURE),
            Band("hot", top * 2 / 3, Verdict.QUALIFIED),
        ]
    return [
        Band("unqualified", 0, Verdict.DISQUALIFIED),
        Band("nurture", top // 4 + 1, Verdict.NURTURE),
        Band("qualified", top // 2 + 1, Verdict.QUALIFIED),
        Band("act_now", 3 * top // 4 + 1, Verdict.QUALIFIED),
    ]


@given(st.data())
def test_checklists_score_as_documented(data: st.DataObject) -> None:
    cfg = data.draw(checklists())
    items = [
        item(s["key"], levels=s["levels"], weight=s["weight"], unknown=s["unknown"],
             unknown_level=s["unknown_level"])
        for s in cfg["items"]
    ]  # fmt: skip
    top = sum(
        (Decimal(len(s["levels"]) - 1) * Decimal(s["weight"]) for s in cfg["items"]), Decimal(0)
    )
    bands = _bands(top, cfg["custom_bands"])
    strategy = checklist(
        "fit", items, policy=cfg["policy"], k=cfg["k"], met_at=cfg["met_at"],
        floor=cfg["floor"], gates=cfg["gates"], gate_at=cfg["gate_at"],
        bands=bands if cfg["custom_bands"] else (), min_known=cfg["min_known"],
    )  # fmt: skip
    raw = {s["key"]: data.draw(_answer(s), label=s["key"]) for s in cfg["items"]}
    custom = {f"fit.{k}": v for k, v in raw.items() if v is not None}
    result = strategy.evaluate(make_lead(custom=custom), as_of=AS_OF)

    total, known, met = Decimal(0), 0, 0
    knockouts: list[str] = []
    gate_unknown = below_floor = False
    statuses, points = [], []
    for spec in cfg["items"]:
        key, top_level = spec["key"], len(spec["levels"]) - 1
        level = _model_level(spec, raw[key])
        if level is None:
            gate_unknown |= key in cfg["gates"]
            below_floor |= cfg["floor"] is not None
            statuses.append(CriterionStatus.UNKNOWN)
            points.append(Decimal(0))
            continue
        known += 1
        total += level * Decimal(spec["weight"])
        met_at = top_level if cfg["met_at"] is None else min(cfg["met_at"], top_level)
        if level >= met_at:
            status = CriterionStatus.MATCH
            met += 1
        else:
            status = CriterionStatus.PARTIAL if level > 0 else CriterionStatus.NO_MATCH
        if key in cfg["gates"] and level < cfg["gate_at"]:
            status = CriterionStatus.KNOCKOUT
            knockouts.append(key)
        if cfg["floor"] is not None and level < cfg["floor"]:
            below_floor = True
        statuses.append(status)
        points.append(level * Decimal(spec["weight"]))

    assert result.scale_min == 0
    assert result.scale_max == top
    assert result.coverage == (Decimal(known) / len(items)).quantize(Decimal("0.0001"))
    assert [line.status for line in result.breakdown] == statuses
    assert [line.points for line in result.breakdown] == points
    assert [line.criterion for line in result.breakdown] == [s["key"] for s in cfg["items"]]
    assert result.knockouts == tuple(knockouts)
    if known < cfg["min_known"]:
        assert result.score is None
        assert result.band is None
        assert result.verdict is Verdict.INSUFFICIENT_DATA
        return
    assert result.score == total
    reached = [b for b in _bands(top, cfg["custom_bands"]) if total >= b.min]
    band = reached[-1] if reached else _bands(top, cfg["custom_bands"])[0]
    assert result.band == band.name
    verdict = band.verdict
    if cfg["policy"] == "k_of_n":
        if met >= cfg["k"]:
            verdict = Verdict.QUALIFIED
        elif verdict is Verdict.QUALIFIED:
            verdict = Verdict.NURTURE
    if below_floor and verdict is Verdict.QUALIFIED:
        verdict = Verdict.NURTURE
    if knockouts:
        verdict = Verdict.DISQUALIFIED
    elif gate_unknown:
        verdict = Verdict.INSUFFICIENT_DATA
    assert result.verdict is verdict
    # explain=False gives the same verdict and score, without lines
    quiet = strategy.evaluate(make_lead(custom=custom), as_of=AS_OF, explain=False)
    assert (quiet.score, quiet.verdict, quiet.band, quiet.knockouts) == (
        result.score, result.verdict, result.band, result.knockouts,
    )  # fmt: skip


@given(st.lists(st.integers(0, 4), min_size=4, max_size=4), st.integers(0, 3))
def test_bant_score_is_monotonic_in_each_answer(levels: list[int], which: int) -> None:
    keys = ("budget", "authority", "need", "timeline")
    low = bant().evaluate(
        make_lead(custom={f"bant.{k}": v for k, v in zip(keys, levels, strict=True)}), as_of=AS_OF
    )
    raised = list(levels)
    raised[which] = min(4, raised[which] + 1)
    high = bant().evaluate(
        make_lead(custom={f"bant.{k}": v for k, v in zip(keys, raised, strict=True)}), as_of=AS_OF
    )
    assert low.score is not None
    assert high.score is not None
    assert high.score >= low.score
    order = {Verdict.DISQUALIFIED: 0, Verdict.NURTURE: 1, Verdict.QUALIFIED: 2}
    assert order[high.verdict] >= order[low.verdict]
    assert sum(line.points for line in high.breakdown) == high.score


def test_reasons_name_the_level_weight_and_notes() -> None:
    strategy = checklist(
        "fit",
        [item("pain", levels=["no", "some", "acute"], weight=2), item("team", levels=3)],
        gates=["pain"],
        gate_at=2,
        floor=1,
    )
    result = strategy.evaluate(make_lead(custom={"fit.pain": "some", "fit.team": 0}), as_of=AS_OF)
    pain, team = result.breakdown
    assert pain.reason == ("Pain: some (level 1 of 2 x weight 2); below the gate level 2")
    assert pain.observed == "some"
    assert pain.evidence == ("$.custom.fit.pain",)
    assert team.reason == "Team: 0 (level 0 of 2); below the floor 1"
    assert team.status is CriterionStatus.NO_MATCH
    assert result.verdict is Verdict.DISQUALIFIED
    assert result.band is not None
    full = strategy.evaluate(make_lead(custom={"fit.pain": 2, "fit.team": "2"}), as_of=AS_OF)
    assert full.breakdown[1].reason == "Team: 2 (level 2 of 2)"
    assert full.breakdown[0].status is CriterionStatus.MATCH


def test_unknown_lines_say_why() -> None:
    strategy = checklist(
        "fit", [item("a", levels=2, unknown="Unknown"), item("b", levels=2), item("c", levels=2)]
    )
    result = strategy.evaluate(make_lead(custom={"fit.a": " unknown ", "fit.b": 9}), as_of=AS_OF)
    a, b, c = result.breakdown
    assert a.reason == "A: answered ' unknown ' (unknown, 0 points)"
    assert a.observed == " unknown "
    assert a.evidence == ("$.custom.fit.a",)
    assert b.reason == "B: invalid answer: 9 is outside 0-1 (unknown, 0 points)"
    assert b.observed == "9"
    assert c.reason == "C: no answer (unknown, 0 points)"
    assert c.observed is None
    assert result.score is None


def test_a_reader_reads_bare_keys_and_cites_no_field() -> None:
    strategy = checklist("fit", [item("a", levels=2)], reader=lambda s: {"a": 1})
    assert strategy.reads() == {}
    line = strategy.evaluate(make_lead(custom={"fit.a": 0}), as_of=AS_OF).breakdown[0]
    assert line.points == 1
    assert line.evidence == ()
    none = checklist("fit", [item("a", levels=2)], reader=lambda s: None, min_known=0)
    assert none.evaluate(make_lead(), as_of=AS_OF).score == 0
    prefixed = checklist("fit", [item("a", levels=2)], reader=lambda s: {"x.a": 1}, prefix="x")
    assert prefixed.evaluate(make_lead(), as_of=AS_OF).score == 1


def test_a_failing_reader_is_an_evaluation_error_naming_the_subject() -> None:
    def broken(subject: Any) -> dict[str, Any]:
        raise KeyError("boom")

    strategy = checklist("fit", [item("a", levels=2)], reader=broken)
    with pytest.raises(EvaluationError) as caught:
        strategy.evaluate(make_lead("lead-7"), as_of=AS_OF)
    assert caught.value.message == "reader failed: KeyError: 'boom'"
    assert caught.value.subject_id == "lead-7"
    assert caught.value.strategy == "fit"
    assert isinstance(caught.value.__cause__, KeyError)
    listed = checklist("fit", [item("a", levels=2)], reader=lambda s: [1])
    with pytest.raises(EvaluationError) as caught:
        listed.evaluate(make_lead(), as_of=AS_OF)
    assert caught.value.message == "the reader gave list, expected a mapping of answers"


def test_custom_fields_that_are_no_mapping_are_an_evaluation_error() -> None:
    class Odd:
        id = "odd-1"
        custom = ("not", "a", "mapping")

    with pytest.raises(EvaluationError) as caught:
        bant().evaluate(Odd(), as_of=AS_OF)
    assert caught.value.message == (
        "the subject's custom fields gave tuple, expected a mapping of answers"
    )


def test_reads_lists_each_field_with_its_levels() -> None:
    strategy = checklist("fit", [item("a", levels=["no", "yes"])], prefix="")
    assert strategy.reads() == {"custom.a": (0, 1, "no", "yes")}
    assert bant().reads()["custom.bant.need"] == (
        0, 1, 2, 3, 4, "none", "low", "medium", "high", "confirmed",
    )  # fmt: skip


def test_config_is_plain_data_with_defaults_left_out() -> None:
    def reader(subject: Any) -> dict[str, Any]:
        return {}

    strategy = checklist(
        "fit",
        [item("a", "Aa", levels=["no", "yes"], weight=2, unknown=["?"], unknown_level=0),
         item("b", levels=2)],
        policy="k_of_n", k=1, met_at=1, floor=0, gates=["a"], gate_at=1, min_known=2,
        reader=reader,
    )  # fmt: skip
    assert strategy.config() == {
        "kind": "checklist",
        "name": "fit",
        "items": [
            {"key": "a", "label": "Aa", "levels": ["no", "yes"], "weight": Decimal(2),
             "unknown": ["?"], "unknown_level": 0},
            {"key": "b", "label": "B", "levels": ["0", "1"]},
        ],
        "policy": "k_of_n",
        "k": 1,
        "met_at": 1,
        "floor": 0,
        "gates": ["a"],
        "gate_at": 1,
        "bands": [
            {"name": "unqualified", "min": Decimal(0), "verdict": Verdict.DISQUALIFIED},
            {"name": "nurture", "min": Decimal(1), "verdict": Verdict.NURTURE},
            {"name": "qualified", "min": Decimal(2), "verdict": Verdict.QUALIFIED},
            {"name": "act_now", "min": Decimal(3), "verdict": Verdict.QUALIFIED},
        ],
        "min_known": 2,
        "prefix": "",
        "reader": reader.__qualname__,
    }  # fmt: skip
    summed = bant().config()
    assert summed["k"] is None
    assert summed["reader"] is None
    assert summed["prefix"] == "bant"
    assert summed["items"][0] == {
        "key": "budget", "label": "Budget",
        "levels": ["none", "low", "medium", "high", "confirmed"],
    }  # fmt: skip


def _problems(call: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        call()
    return {p.path: p.message for p in caught.value.problems}


def test_item_problems_name_the_field_and_say_what_is_wrong() -> None:
    assert _problems(lambda: Item("k", "K", ["a", "b"], weight=0)) == {
        "$.weight": "must be > 0, got 0"
    }
    assert _problems(lambda: Item("k", "K", ["a", "b"], weight=-1)) == {
        "$.weight": "must be > 0, got -1"
    }
    assert _problems(lambda: Item("k", "K", ["a", "b"], unknown=["", "x"])) == {
        "$.unknown": "must list the answers that mean unknown, e.g. ['Unknown']"
    }
    assert _problems(lambda: Item("k", "K", ["a", "b"], unknown=5)) == {  # type: ignore[arg-type]
        "$.unknown": "must list the answers that mean unknown, e.g. ['Unknown']"
    }
    assert _problems(lambda: Item("k", "K", "ab")) == {
        "$.levels": "must be a list of level names, lowest first"
    }
    assert _problems(lambda: Item("k", "K", 3)) == {  # type: ignore[arg-type]
        "$.levels": "must be a list of level names, lowest first"
    }
    assert _problems(lambda: Item("k", "K", ["a"])) == {
        "$.levels": "needs at least two levels (e.g. 'no', 'yes')"
    }
    assert _problems(lambda: Item("k", "K", ["a", " ", 3])) == {  # type: ignore[list-item]
        "$.levels[1]": "must be a non-empty string",
        "$.levels[2]": "must be a non-empty string",
    }
    assert _problems(lambda: Item("k", "K", ["a", "A"])) == {
        "$.levels": "level names must be distinct"
    }
    assert _problems(lambda: Item("k", "K", ["a", "b"], unknown=[" B "])) == {
        "$.unknown": "[' B '] are also level names"
    }
    for bad in (2, -1, True, "0"):
        assert _problems(lambda bad=bad: Item("k", "K", ["a", "b"], unknown_level=bad)) == {
            "$.unknown_level": f"must be one of the levels, got {bad!r}"
        }
    assert set(_problems(lambda: Item("", "K", ["a", "b"]))) == {"$.key"}
    assert set(_problems(lambda: Item("k" * 101, "K", ["a", "b"]))) == {"$.key"}
    assert set(_problems(lambda: Item("k", "", ["a", "b"]))) == {"$.label"}
    assert set(_problems(lambda: Item("k", "K" * 201, ["a", "b"]))) == {"$.label"}
    fine = Item("k" * 100, "K" * 200, ["a", "b"], unknown="?", unknown_level=1)
    assert fine.unknown == ("?",)
    assert fine.unknown_level == 1
    assert fine.weight == 1


def test_item_levels_and_unknown_answers() -> None:
    entry = item("pain", levels=["no", "yes"], unknown=["Not sure"])
    assert entry.label == "Pain"
    assert item("decision_maker", levels=2).label == "Decision maker"
    assert item("x", "Custom", levels=2).label == "Custom"
    assert item("a", levels=3).levels == ("0", "1", "2")
    assert entry.means_unknown(" not SURE ")
    assert not entry.means_unknown("yes")
    assert not entry.means_unknown(1)
    assert not item("a", levels=2).means_unknown("Not sure")
    assert entry.level(True) == "True is not a level"
    assert entry.level(2) == "2 is outside 0-1"
    assert entry.level(-1) == "-1 is outside 0-1"
    assert entry.level(" YES ") == 1
    assert entry.level("1") == 1
    assert entry.level("7") == "7 is outside 0-1"
    assert entry.level("maybe") == "'maybe' is not one of no, yes"
    assert entry.level(1.0) == "float is not a level"
    with pytest.raises(ValidationError):
        item("a", levels=True)  # type: ignore[arg-type]


def test_checklist_problems_name_the_option_and_say_what_is_wrong() -> None:
    two = [item("a", levels=3), item("b", levels=3)]
    assert _problems(lambda: checklist("x", [], gate_at=0)) == {
        "$.items": "needs at least one item"
    }
    assert _problems(lambda: checklist("x", "ab", gate_at=0)) == {  # type: ignore[arg-type]
        "$.items": "needs at least one item"
    }
    assert _problems(lambda: checklist("x", [two[0], "b"])) == {  # type: ignore[list-item]
        "$.items[1]": "must be built with item(...)"
    }
    assert _problems(lambda: checklist("x", [two[0], two[0]])) == {
        "$.items[1].key": "duplicate key 'a'"
    }
    assert _problems(lambda: checklist("x", two, policy="max")) == {
        "$.policy": "must be 'sum' or 'k_of_n', got 'max'"
    }
    assert _problems(lambda: checklist("x", two, policy="k_of_n")) == {
        "$.k": "policy 'k_of_n' needs k (e.g. 3 for IBM's 3 of 4)"
    }
    for k in (0, 3, True, "1"):
        assert _problems(lambda k=k: checklist("x", two, policy="k_of_n", k=k)) == {
            "$.k": f"must be between 1 and the number of items (2), got {k!r}"
        }
    assert _problems(lambda: checklist("x", two, k=1)) == {"$.k": "only policy 'k_of_n' takes k"}
    for option in ("met_at", "floor", "gate_at"):
        for bad in (-1, 3, True, "1"):
            assert _problems(lambda o=option, b=bad: checklist("x", two, **{o: b})) == {
                f"$.{option}": f"must be a level between 0 and 2, got {bad!r}"
            }
    assert _problems(lambda: checklist("x", two, gates=["a", "c"])) == {
        "$.gates[1]": "unknown item 'c'; items: a, b"
    }
    assert _problems(lambda: checklist("x", two, gates="c")) == {
        "$.gates[0]": "unknown item 'c'; items: a, b"
    }
    for bad in (-1, True, "1"):
        assert _problems(lambda b=bad: checklist("x", two, min_known=b)) == {
            "$.min_known": f"must be an integer >= 0, got {bad!r}"
        }
    assert _problems(lambda: checklist("x", two, bands=["hot"])) == {  # type: ignore[list-item]
        "$.bands[0]": "must be a Band"
    }
    descending = [Band("hi", 2, Verdict.QUALIFIED), Band("lo", 2, Verdict.NURTURE)]
    assert _problems(lambda: checklist("x", two, bands=descending)) == {
        "$.bands[1].min": "must be greater than the previous one (2): list them ascending"
    }
    assert _problems(lambda: checklist("x", two, prefix=3)) == {  # type: ignore[arg-type]
        "$.prefix": "must be a string"
    }
    assert _problems(lambda: checklist("x", two, reader=3)) == {  # type: ignore[arg-type]
        "$.reader": "must be a callable taking the subject and returning a mapping"
    }
    assert set(_problems(lambda: checklist("", two))) == {"$.name"}
    assert set(_problems(lambda: checklist("x" * 201, two))) == {"$.name"}
    fine = checklist("x" * 200, two, policy="k_of_n", k=2, met_at=2, floor=2, gate_at=2,
                     gates="a", min_known=0)  # fmt: skip
    assert fine.config()["gates"] == ["a"]


def test_the_preset_answers_cover_every_preset_field() -> None:
    answers = checklist_answers()
    assert answers["bant.budget"].levels == ("none", "low", "medium", "high", "confirmed")
    assert answers["meddpicc.champion"].levels == ("none", "partial", "validated")
    assert answers["anum.authority"].key == "authority"
    assert {key.split(".")[0] for key in answers} == {
        "bant", "meddpicc", "champ", "anum", "faint", "gpctba_ci",
    }  # fmt: skip
    assert len(answers) == 4 + 8 + 4 + 4 + 5 + 8


def test_presets_can_be_renamed_and_take_options() -> None:
    renamed = bant(name="my_bant")
    assert renamed.name == "my_bant"
    assert renamed.config()["prefix"] == "bant"
    read = bant(reader=lambda s: {"budget": 4})
    assert read.config()["prefix"] == ""
    assert read.evaluate(make_lead(), as_of=AS_OF).score == 4


FIVE = ("none", "low", "medium", "high", "confirmed")
THREE = ("none", "partial", "validated")
PRESETS = {
    "bant": (FIVE, [("budget", "Budget"), ("authority", "Authority"), ("need", "Need"),
                    ("timeline", "Timeline")]),
    "meddpicc": (THREE, [("metrics", "Metrics"), ("economic_buyer", "Economic buyer"),
                         ("decision_criteria", "Decision criteria"),
                         ("decision_process", "Decision process"),
                         ("paper_process", "Paper process"), ("identified_pain", "Identified pain"),
                         ("champion", "Champion"), ("competition", "Competition")]),
    "champ": (FIVE, [("challenges", "Challenges"), ("authority", "Authority"), ("money", "Money"),
                     ("prioritization", "Prioritization")]),
    "anum": (FIVE, [("authority", "Authority"), ("need", "Need"), ("urgency", "Urgency"),
                    ("money", "Money")]),
    "faint": (FIVE, [("funds", "Funds"), ("authority", "Authority"), ("interest", "Interest"),
                     ("need", "Need"), ("timing", "Timing")]),
    "gpctba_ci": (THREE, [("goals", "Goals"), ("plans", "Plans"), ("challenges", "Challenges"),
                          ("timeline", "Timeline"), ("budget", "Budget"),
                          ("authority", "Authority"), ("consequences", "Negative consequences"),
                          ("implications", "Positive implications")]),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_are_the_published_frameworks(name: str) -> None:
    module = importlib.import_module("pipelinekit.qualification.checklist")
    levels, items = PRESETS[name]
    strategy = getattr(module, name)()
    config = strategy.config()
    assert strategy.name == name
    assert config["prefix"] == name
    assert [(i["key"], i["label"], tuple(i["levels"])) for i in config["items"]] == [
        (key, label, levels) for key, label in items
    ]
    assert all(set(i) == {"key", "label", "levels"} for i in config["items"])
    gated = name == "anum"
    assert config["gates"] == (["authority"] if gated else [])
    assert config["gate_at"] == (2 if gated else 1)
    assert (config["policy"], config["floor"], config["met_at"], config["min_known"]) == (
        "sum", None, None, 1,
    )  # fmt: skip
    full = {f"{name}.{key}": levels[-1] for key, _ in items}
    assert strategy.evaluate(make_lead(custom=full), as_of=AS_OF).score == (len(levels) - 1) * len(
        items
    )
    renamed = getattr(module, name)(name="mine", min_known=0)
    assert renamed.name == "mine"
    assert renamed.config()["prefix"] == name
    assert renamed.config()["min_known"] == 0


def test_anum_gates_can_be_replaced() -> None:
    from pipelinekit.qualification import anum

    open_gate = anum(gates=[], gate_at=0).config()
    assert (open_gate["gates"], open_gate["gate_at"]) == ([], 0)


def test_item_defaults_and_shapes() -> None:
    assert item("a").levels == ("0", "1", "2", "3", "4")
    assert item("a", levels=("no", "yes")).levels == ("no", "yes")
    assert item("a", levels=iter(["no", "yes"])).levels == ("no", "yes")
    for bad in ("ab", True, None, 2.5):
        assert _problems(lambda b=bad: item("k", levels=b)) == {  # type: ignore[arg-type]
            "$.levels": "must be a list of level names, lowest first"
        }
    for key in ("", None, 3):
        assert set(_problems(lambda k=key: item(k, levels=2))) == {"$.key"}  # type: ignore[arg-type]


def test_a_subject_without_custom_fields_has_no_answers() -> None:
    class Bare:
        id = "bare-1"

    result = bant(min_known=0).evaluate(Bare(), as_of=AS_OF)
    assert result.score == 0
    assert [line.status for line in result.breakdown] == [CriterionStatus.UNKNOWN] * 4
    assert result.subject_id == "bare-1"


def test_a_reader_without_a_qualified_name_is_shown_as_a_question_mark() -> None:
    class Reader:
        def __call__(self, subject: Any) -> dict[str, Any]:
            return {"a": 1}

    strategy = checklist("fit", [item("a", levels=2)], reader=Reader())
    assert strategy.config()["reader"] == "?"
    assert strategy.evaluate(make_lead(), as_of=AS_OF).score == 1


def test_an_unknown_item_holds_back_a_floor_and_both_notes_are_listed() -> None:
    floored = bant(floor=1)
    full = {"bant.budget": 4, "bant.authority": 4, "bant.need": 4}
    held = floored.evaluate(make_lead("lead-3", custom=full), as_of=AS_OF)
    assert held.band == "qualified"
    assert held.verdict is Verdict.NURTURE
    assert held.subject_id == "lead-3"
    assert floored.evaluate(
        make_lead(custom={**full, "bant.timeline": 1}), as_of=AS_OF
    ).verdict is (Verdict.QUALIFIED)
    assert bant().evaluate(make_lead(custom=full), as_of=AS_OF).verdict is Verdict.QUALIFIED
    both = bant(floor=2, gates=["budget"], gate_at=2)
    line = both.evaluate(make_lead(custom={"bant.budget": 1}), as_of=AS_OF).breakdown[0]
    assert line.reason == "Budget: low (level 1 of 4); below the gate level 2, below the floor 2"


def test_a_reader_reads_the_subject_and_its_failures_name_the_subject() -> None:
    strategy = checklist(
        "fit", [item("a", levels=3), item("b", levels=3)], reader=lambda s: s.custom
    )
    result = strategy.evaluate(make_lead("lead-5", custom={"a": 2}), as_of=AS_OF)
    assert result.score == 2
    assert result.subject_id == "lead-5"
    assert [line.evidence for line in result.breakdown] == [(), ()]
    listed = checklist("fit", [item("a", levels=2)], reader=lambda s: [1])
    with pytest.raises(EvaluationError) as caught:
        listed.evaluate(make_lead("lead-6"), as_of=AS_OF)
    assert (caught.value.strategy, caught.value.subject_id) == ("fit", "lead-6")


def test_problems_of_shapes_and_missing_names() -> None:
    two = [item("a", levels=3), item("b", levels=3)]
    assert _problems(lambda: checklist("x", two, gates=5)) == {  # type: ignore[arg-type]
        "$.gates": "must be a list, got int"
    }
    assert _problems(lambda: checklist("x", two, bands=5)) == {  # type: ignore[arg-type]
        "$.bands": "must be a list, got int"
    }
    assert _problems(lambda: checklist("x", [])) == {
        "$.items": "needs at least one item",
        "$.gate_at": "must be a level between 0 and 0, got 1",
    }
    assert set(_problems(lambda: checklist(None, two))) == {"$.name"}  # type: ignore[arg-type]
    assert set(_problems(lambda: Item(None, "K", ["a", "b"]))) == {"$.key"}  # type: ignore[arg-type]
    assert set(_problems(lambda: Item("k", None, ["a", "b"]))) == {"$.label"}  # type: ignore[arg-type]
    assert set(_problems(lambda: Item("k", "K", ["a", "b"], weight="x"))) == {"$.weight"}
    with pytest.raises(ValidationError) as caught:
        checklist("x", [])
    assert caught.value.subject == "checklist"


def test_item_problems_come_together_and_name_the_item() -> None:
    assert set(_problems(lambda: Item("k", "K", ["a"], unknown_level=1))) == {
        "$.levels",
        "$.unknown_level",
    }
    assert set(_problems(lambda: Item("k", "K", "ab", unknown_level=0))) == {"$.levels"}
    with pytest.raises(ValidationError) as caught:
        Item("k", "K", ["a"])
    assert caught.value.subject == "Item"
