"""Pipeline definitions: Python builder, dicts and TOML give the same validated spec."""

from __future__ import annotations

import pickle
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelinekit.errors import PipelinekitError, Problem
from pipelinekit.pipelines import (
    SALES,
    GuardRegistry,
    PipelineBuilder,
    PipelineDefinitionError,
    PipelineSpec,
    StageKind,
    StageSpec,
    TransitionSpec,
    compile_pipeline,
    guard,
    load_pipeline,
    loads_pipeline,
    pipeline_from_dict,
)
from pipelinekit.testing.pipelines import pipeline_dicts, pipeline_specs

GOOD_TOML = """
key = "deals"
label = "Deals"

[[stages]]
key = "lead_in"
label = "Lead in"
probability = 10
rotting_days = 7

[[stages]]
key = "negotiation"
probability = "55.5"
forecast = "commit"
required_fields = ["amount"]

[[stages]]
key = "won"
kind = "won"
probability = 100

[[stages]]
key = "lost"
kind = "lost"

[[transitions]]
event = "advance"
source = "lead_in"
target = "negotiation"
guards = [{ name = "field_compare", field = "amount", op = ">=", value = 1000 }]

[[transitions]]
event = "win"
source = "negotiation"
target = "won"

[[transitions]]
event = "lose"
source = "*"
target = "lost"
guards = ["lost_reason_given"]
"""

BROKEN_TOML = """
key = "deals"

[[stages]]
key = "lead_in"
probability = 10

[[stages]]
key = "lead_in"
probability = 20

[[stages]]
key = "won"
kind = "won"
probability = 90

[[stages]]
key = "orphan"
probability = 150

[[stages]]
key = "dead_end"
kind = "open"

[[transitions]]
event = "advance"
source = "lead_in"
target = "negotiation"

[[transitions]]
event = "win"
source = "lead_in"
target = "won"
guards = [
  { name = "crystal_ball" },
  { name = "field_compare", field = "amount", op = "~", value = 1 },
]

[[transitions]]
event = "stall"
source = "lead_in"
target = "dead_end"
"""


def _builder_spec() -> PipelineSpec:
    return (
        PipelineBuilder("deals", label="Deals")
        .stage("lead_in", label="Lead in", probability=10, rotting_days=7)
        .stage("negotiation", probability="55.5", forecast="commit", required_fields=["amount"])
        .stage("won", kind="won", probability=100)
        .stage("lost", kind="lost")
        .transition(
            "advance",
            "lead_in",
            "negotiation",
            guards=[guard("field_compare", field="amount", op=">=", value=1000)],
        )
        .transition("win", "negotiation", "won")
        .transition("lose", "*", "lost", guards=["lost_reason_given"])
        .build()
    )


def test_builder_dict_and_toml_give_the_same_spec_and_version() -> None:
    from_toml = loads_pipeline(GOOD_TOML)
    from_builder = _builder_spec()
    from_dict = pipeline_from_dict(from_toml.as_dict())
    assert from_toml == from_builder == from_dict
    assert from_toml.version == from_builder.version == from_dict.version
    negotiation = from_toml.stage("negotiation")
    assert negotiation.probability == Decimal("55.5")
    assert negotiation.label == "Negotiation"
    assert from_toml.stage("lost").probability == 0
    assert from_toml.stage("lost").forecast == "omitted"
    assert from_toml.first_stage.key == "lead_in"


def test_builder_refuses_a_lone_string_where_a_list_is_expected() -> None:
    builder = (
        PipelineBuilder("deals")
        .stage("open", probability=20)
        .stage("prop", required_fields="amount")
        .stage("won", kind="won")
        .stage("lost", kind="lost")
        .transition("adv", "open", "prop", guards="field_present")
        .transition("win", "prop", "won", guards=None)  # type: ignore[arg-type]
        .transition("lose", "*", "lost")
    )
    with pytest.raises(PipelineDefinitionError) as error:
        builder.build()
    assert error.value.paths == (
        "$.stages[1].required_fields",
        "$.transitions[0].guards",
    )
    # lists (and guard specs inside them) still work
    spec = (
        PipelineBuilder("deals")
        .stage("open", probability=20)
        .stage("prop", required_fields=["amount"])
        .stage("won", kind="won")
        .stage("lost", kind="lost")
        .transition("adv", "open", "prop", guards=[guard("field_present", field="amount")])
        .transition("win", "prop", "won")
        .transition("lose", "*", "lost")
        .build()
    )
    assert spec.stage("prop").required_fields == ("amount",)


def test_toml_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "deals.toml"
    path.write_text(GOOD_TOML, encoding="utf-8")
    assert load_pipeline(path) == loads_pipeline(GOOD_TOML)


def test_missing_file_and_bad_toml_are_definition_errors(tmp_path: Path) -> None:
    with pytest.raises(PipelineDefinitionError, match="cannot read"):
        load_pipeline(tmp_path / "nope.toml")
    with pytest.raises(PipelineDefinitionError, match="invalid TOML"):
        loads_pipeline("key = ")


def test_broken_toml_reports_every_problem_at_once_with_paths() -> None:
    with pytest.raises(PipelineDefinitionError) as caught:
        loads_pipeline(BROKEN_TOML)
    error = caught.value
    assert isinstance(error, PipelinekitError)
    messages = {str(p) for p in error.problems}
    expected = {
        "$.stages[1].key": "duplicate stage key 'lead_in'",
        "$.stages[2].probability": "a won stage has probability 100, got 90",
        "$.stages[3].probability": "must be a number from 0 to 100",
        "$.stages": "needs a lost stage",
        "$.transitions[0].target": "unknown stage 'negotiation'",
        "$.transitions[1].guards[0].name": "unknown guard 'crystal_ball'",
        "$.transitions[1].guards[1].op": "must be one of",
        "$.stages[3]": "cannot be reached from the first stage",
        "$.stages[4]": "open stage 'dead_end' has no way to a won or lost stage",
    }
    for path, fragment in expected.items():
        assert any(m.startswith(f"{path}: ") and fragment in m for m in messages), (path, messages)
    assert error.pipeline == "deals"
    assert str(error).startswith(f"{len(error.problems)} problems in pipeline 'deals':")
    assert pickle.loads(pickle.dumps(error)).problems == error.problems


@pytest.mark.parametrize(
    ("change", "path", "fragment"),
    [
        (lambda d: d.update(key="Bad Key"), "$.key", "lower-case identifier"),
        (
            lambda d: d["stages"][0].update(kind="maybe"),
            "$.stages[0].kind",
            "must be one of 'open', 'won', 'lost'; got 'maybe'",
        ),
        (lambda d: d["stages"][3].update(probability=5), "$.stages[3].probability", "lost stage"),
        (lambda d: d["stages"][0].update(forecast="hopeful"), "$.stages[0].forecast", "one of"),
        (lambda d: d["stages"][0].update(rotting_days=0), "$.stages[0].rotting_days", ">= 1"),
        (lambda d: d["stages"][2].update(rotting_days=3), "$.stages[2].rotting_days", "do not rot"),
        (lambda d: d["stages"][1].update(order=0), "$.stages[1].order", "also used"),
        (lambda d: d["stages"][0].update(colour="red"), "$.stages[0].colour", "unknown field"),
        (
            lambda d: d["stages"][0].update(lable="Lead in"),
            "$.stages[0].lable",
            "unknown field 'lable'; did you mean 'label'?",
        ),
        (
            lambda d: d["transitions"][0].update(guard=[]),
            "$.transitions[0].guard",
            "did you mean 'guards'?",
        ),
        (lambda d: d["stages"][0].update(order="first"), "$.stages[0].order", "whole number"),
        (
            lambda d: d["stages"][1].update(required_fields=["amount!"]),
            "$.stages[1].required_fields[0]",
            "dotted field path",
        ),
        (lambda d: d["transitions"][0].update(event=" "), "$.transitions[0].event", "blank"),
        (
            lambda d: d["transitions"][0].update(source="nowhere"),
            "$.transitions[0].source",
            "unknown",
        ),
        (
            lambda d: d["transitions"][0].update(target="lead_in"),
            "$.transitions[0].source",
            "cannot move to itself",
        ),
        (
            lambda d: d["transitions"].append(dict(d["transitions"][1])),
            "$.transitions[3]",
            "duplicates",
        ),
        (
            lambda d: d["transitions"].append({"event": "flip", "source": "won", "target": "lost"}),
            "$.transitions[3]",
            "only be reopened into an open stage",
        ),
        (
            lambda d: d["stages"].__setitem__(2, {"key": "won", "kind": "open"}),
            "$.stages",
            "won stage",
        ),
        (
            lambda d: d["stages"][3].update(order=-1),
            "$.stages",
            "must be an open stage",
        ),
        (lambda d: d.update(stages=[]), "$.stages", "at least one"),
        (lambda d: d.update(transitions="advance"), "$.transitions", "must be a list"),
        (
            lambda d: d["transitions"][0].update(guards=[{"name": "field_present"}]),
            "$.transitions[0].guards[0]",
            "bad parameters",
        ),
        (
            lambda d: d["transitions"][0].update(guards=[{"name": "min_score", "min": "lots"}]),
            "$.transitions[0].guards[0].min",
            "must be a number",
        ),
    ],
)
def test_each_kind_of_problem_is_reported_with_its_path(change, path, fragment) -> None:  # type: ignore[no-untyped-def]
    data = loads_pipeline(GOOD_TOML).as_dict()
    change(data)
    with pytest.raises(PipelineDefinitionError) as caught:
        pipeline_from_dict(data)
    assert any(p.path == path and fragment in p.message for p in caught.value.problems), (
        caught.value.problems
    )


def test_the_spec_constructor_checks_the_graph_too() -> None:
    stages = (
        StageSpec("a", "A"),
        StageSpec("won", "Won", StageKind.WON, Decimal(100), order=1),
        StageSpec("lost", "Lost", StageKind.LOST, order=2),
    )
    with pytest.raises(PipelineDefinitionError) as caught:
        PipelineSpec("p", "P", stages, (TransitionSpec("win", ("a",), "won"),))
    assert caught.value.paths == ("$.stages[2]",)


def test_unknown_guards_are_refused_when_loading_and_compiling() -> None:
    registry = GuardRegistry()
    with pytest.raises(PipelineDefinitionError, match="unknown guard 'field_compare'"):
        pipeline_from_dict(
            SALES.as_dict()
            | {
                "transitions": [
                    *SALES.as_dict()["transitions"],
                    {
                        "event": "advance",
                        "source": "proposal",
                        "target": "closed_won",
                        "guards": [
                            {"name": "field_compare", "field": "amount", "op": ">", "value": 1}
                        ],
                    },
                ]
            },
            guards=registry,
        )
    with pytest.raises(PipelineDefinitionError, match="unknown guard 'lost_reason_given'"):
        compile_pipeline(SALES, guards=registry)


def test_version_changes_with_content_and_ignores_key_order() -> None:
    data = SALES.as_dict()
    assert pipeline_from_dict(dict(reversed(list(data.items())))).version == SALES.version
    data["stages"][0]["probability"] = 11
    assert pipeline_from_dict(data).version != SALES.version
    assert len(SALES.version) == 64


def test_stages_are_kept_in_order() -> None:
    data = loads_pipeline(GOOD_TOML).as_dict()
    stages = data["stages"]
    data["stages"] = [stages[2], stages[3], stages[0], stages[1]]  # orders stay 0..3
    spec = pipeline_from_dict(data)
    assert spec.stage_keys == ("lead_in", "negotiation", "won", "lost")
    assert spec.first_stage.key == "lead_in"
    assert spec.version == loads_pipeline(GOOD_TOML).version


@settings(max_examples=60, deadline=None)
@given(pipeline_dicts())
def test_as_dict_round_trips(data: dict[str, object]) -> None:
    spec = pipeline_from_dict(data)
    again = pipeline_from_dict(spec.as_dict())
    assert again == spec
    assert again.version == spec.version


@settings(max_examples=60, deadline=None)
@given(pipeline_specs())
def test_every_valid_spec_compiles_to_a_strict_machine(spec: PipelineSpec) -> None:
    pipeline = compile_pipeline(spec)
    assert compile_pipeline(spec) is pipeline  # cached by content
    machine = pipeline.machine_class
    assert machine.allow_event_without_transition is False
    assert machine.catch_errors_as_events is False
    assert set(machine.states_map) == set(spec.stage_keys)
    # the derived table holds exactly the spec's (source, event, target) triples
    expected = {
        (source, t.event, t.target) for t in spec.transitions for source in spec.sources_of(t)
    }
    derived = {
        (stage, event, c.target) for (stage, event), cands in pipeline.table.items() for c in cands
    }
    assert derived == expected


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 200)
    | st.text(max_size=12)
    | st.floats(allow_nan=True),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(
    base=pipeline_dicts(),
    section=st.sampled_from(["stages", "transitions"]),
    field=st.sampled_from(
        [
            "key",
            "kind",
            "probability",
            "order",
            "forecast",
            "rotting_days",
            "required_fields",
            "event",
            "source",
            "target",
            "guards",
            "label",
            "extra",
        ]
    ),
    value=_JSON,
    position=st.integers(0, 20),
)
def test_any_corruption_gives_a_definition_error_never_a_crash(
    base: dict[str, Any], section: str, field: str, value: object, position: int
) -> None:
    items = base[section]
    item = items[position % len(items)]
    item[field] = value
    problems: tuple[Problem, ...] = ()
    try:
        spec = pipeline_from_dict(base)
    except PipelineDefinitionError as error:
        problems = error.problems
    if problems:
        assert all(p.path.startswith("$") for p in problems)
    else:
        compile_pipeline(spec)


@settings(max_examples=100, deadline=None)
@given(_JSON)
def test_arbitrary_data_gives_a_definition_error(value: object) -> None:
    with pytest.raises(PipelineDefinitionError):
        pipeline_from_dict(value)  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(
    base=pipeline_dicts(),
    params=st.dictionaries(
        st.sampled_from(["field", "op", "value", "min", "x"]), _JSON, max_size=3
    ),
    name=st.sampled_from(["field_compare", "field_present", "min_score", "verdict_in", "nope"]),
)
def test_any_guard_parameters_give_a_definition_error_or_a_working_pipeline(
    base: dict[str, Any], params: dict[str, Any], name: str
) -> None:
    base["transitions"][0]["guards"] = [{"name": name, **params}]
    problems: tuple[Problem, ...] = ()
    try:
        spec = pipeline_from_dict(base)
    except PipelineDefinitionError as error:
        problems = error.problems
    if problems:
        assert all(p.path.startswith("$.transitions[0].guards[0]") for p in problems)
        return
    assert pipeline_from_dict(spec.as_dict()).version == spec.version
    hash(spec)
    compile_pipeline(spec)


def test_decimal_guard_parameters_are_hashed_apart_from_strings() -> None:
    data = SALES.as_dict()
    data["transitions"][0]["guards"] = [
        {"name": "field_compare", "field": "custom.level", "op": "==", "value": 1.5}
    ]
    as_number = pipeline_from_dict(data)
    data["transitions"][0]["guards"][0]["value"] = "1.5"
    as_text = pipeline_from_dict(data)
    assert as_number.version != as_text.version
    assert as_number.transitions[0].guards[0].kwargs["value"] == Decimal("1.5")
