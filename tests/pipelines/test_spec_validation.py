"""Validation of :class:`PipelineSpec` built directly from Python values.

Every defect is reported once, at its own path, with its own message, whatever
other defects come with it; the definition form loads back into an equal spec
with the same version.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelinekit.errors import Problem
from pipelinekit.pipelines import PipelineDefinitionError, pipeline_from_dict
from pipelinekit.pipelines.spec import (
    ForecastCategory,
    GuardSpec,
    PipelineSpec,
    StageKind,
    StageSpec,
    TransitionSpec,
)

OPEN, WON, LOST = StageKind.OPEN, StageKind.WON, StageKind.LOST


def stages(**over: Any) -> list[StageSpec]:
    """new (open) -> won / lost; ``over`` replaces fields of the open stage."""
    new = {"key": "new", "label": "New", "kind": OPEN, "order": 0, **over}
    return [
        StageSpec(**new),
        StageSpec("won", "Won", WON, Decimal(100), 1, "closed"),
        StageSpec("lost", "Lost", LOST, Decimal(0), 2, "omitted"),
    ]


def transitions(new: str = "new") -> list[TransitionSpec]:
    return [TransitionSpec("win", (new,), "won"), TransitionSpec("lose", ("*",), "lost")]


def build(**over: Any) -> PipelineSpec:
    args: dict[str, Any] = {
        "key": "sales",
        "label": "Sales",
        "stages": tuple(stages()),
        "transitions": tuple(transitions()),
    }
    args.update(over)
    return PipelineSpec(**args)


def problems_of(**over: Any) -> list[tuple[str, str]]:
    with pytest.raises(PipelineDefinitionError) as caught:
        build(**over)
    assert all(isinstance(p, Problem) for p in caught.value.problems)
    return [(p.path, p.message) for p in caught.value.problems]


def categories_problem(index: int, field: str, message: str) -> tuple[str, str]:
    return (f"$.forecast_categories[{index}].{field}", message)


LABEL = "must be a non-blank string of at most 200 characters"
REASON = "must be a non-blank string of at most 500 characters"
STAGE_LABEL = "must be a non-blank string of at most 255 characters"
STAR = "'*' means 'any open stage' in a transition's source; it cannot be a key"

# Independent defects: (arguments of PipelineSpec, the problems each causes alone).
DEFECTS: dict[str, tuple[dict[str, Any], list[tuple[str, str]]]] = {
    "blank label": ({"label": " "}, [("$.label", LABEL)]),
    "long label": ({"label": "x" * 201}, [("$.label", LABEL)]),
    "label not text": ({"label": 7}, [("$.label", LABEL)]),
    "categories not a list": (
        {"forecast_categories": "hot"},
        [("$.forecast_categories", "must be a list of categories")],
    ),
    "category not a category": (
        {"forecast_categories": ("hot",)},
        [("$.forecast_categories[0]", "must be a forecast category, got 'hot'")],
    ),
    "duplicate category": (
        {
            "forecast_categories": (
                ForecastCategory("hot", "Hot", 7),
                ForecastCategory("hot", "H", 8),
            )
        },
        [categories_problem(1, "name", "duplicate category 'hot'")],
    ),
    "bad category name": (
        {"forecast_categories": (ForecastCategory("Hot", "Hot", 7),)},
        [categories_problem(0, "name", "must be a lower-case identifier, got 'Hot'")],
    ),
    "blank category label": (
        {"forecast_categories": (ForecastCategory("hot", " ", 7),)},
        [categories_problem(0, "label", "must be a non-blank string")],
    ),
    "bool category order": (
        {"forecast_categories": (ForecastCategory("hot", "Hot", True),)},
        [categories_problem(0, "order", "must be an integer")],
    ),
    "text category order": (
        {"forecast_categories": (ForecastCategory("hot", "Hot", "7"),)},  # type: ignore[arg-type]
        [categories_problem(0, "order", "must be an integer")],
    ),
    "category closed not bool": (
        {"forecast_categories": (ForecastCategory("hot", "Hot", 7, "yes"),)},  # type: ignore[arg-type]
        [categories_problem(0, "closed", "must be true or false")],
    ),
    "require not bool": (
        {"require_lost_reason": "yes"},
        [("$.require_lost_reason", "must be true or false")],
    ),
    "reasons not a list": (
        {"lost_reasons": "price"},
        [("$.lost_reasons", "must be a list of reasons")],
    ),
    "duplicate reason": (
        {"lost_reasons": ("price", "timing", "price")},
        [("$.lost_reasons[2]", "duplicate lost reason 'price'")],
    ),
    "long reason": ({"lost_reasons": ("x" * 501,)}, [("$.lost_reasons[0]", REASON)]),
    "blank reason": ({"lost_reasons": ("ok", " ")}, [("$.lost_reasons[1]", REASON)]),
    "reason not text": ({"lost_reasons": (3,)}, [("$.lost_reasons[0]", REASON)]),
}


@pytest.mark.parametrize("name", sorted(DEFECTS))
def test_each_defect_is_reported_at_its_path(name: str) -> None:
    over, expected = DEFECTS[name]
    assert problems_of(**over) == expected


@given(st.sets(st.sampled_from(sorted(DEFECTS)), min_size=1))
def test_every_defect_is_reported_whatever_comes_with_it(names: set[str]) -> None:
    # one defect per argument, so that they do not hide one another
    chosen: dict[str, str] = {}
    for name in sorted(names):
        (field,) = DEFECTS[name][0]
        chosen.setdefault(field, name)
    over: dict[str, Any] = {}
    expected: set[tuple[str, str]] = set()
    for name in chosen.values():
        over.update(DEFECTS[name][0])
        expected.update(DEFECTS[name][1])
    assert set(problems_of(**over)) == expected


@pytest.mark.parametrize(
    "over",
    [
        {"label": "x" * 200},
        {"lost_reasons": ("x" * 500,)},
        {"require_lost_reason": False},
        {"forecast_categories": [ForecastCategory("hot", "Hot", 7, closed=True)]},
    ],
)
def test_values_at_the_limits_are_accepted(over: dict[str, Any]) -> None:
    assert build(**over).label


def test_the_error_names_the_pipeline_only_when_its_key_is_text() -> None:
    with pytest.raises(PipelineDefinitionError) as caught:
        build(label="")
    assert caught.value.pipeline == "sales"
    with pytest.raises(PipelineDefinitionError) as caught:
        build(key=5, label="")
    assert caught.value.pipeline is None
    assert caught.value.paths == ("$.key", "$.label")


def stage_problems(**over: Any) -> list[tuple[str, str]]:
    return problems_of(stages=tuple(stages(**over)))


@pytest.mark.parametrize(
    ("over", "expected"),
    [
        ({"label": "x" * 256}, [("$.stages[0].label", STAGE_LABEL)]),
        ({"label": " "}, [("$.stages[0].label", STAGE_LABEL)]),
        ({"label": None}, [("$.stages[0].label", STAGE_LABEL)]),
        ({"order": True}, [("$.stages[0].order", "must be an integer, got True")]),
        ({"order": 1}, [("$.stages[1].order", "order 1 is also used by $.stages[0]")]),
        (
            {"probability": "50"},
            [("$.stages[0].probability", "must be a number from 0 to 100, got '50'")],
        ),
        (
            {"probability": Decimal("NaN")},
            [("$.stages[0].probability", "must be a number from 0 to 100, got NaN")],
        ),
        (
            {"probability": Decimal(101)},
            [("$.stages[0].probability", "must be a number from 0 to 100, got 101")],
        ),
        (
            {"probability": Decimal(-1)},
            [("$.stages[0].probability", "must be a number from 0 to 100, got -1")],
        ),
    ],
)
def test_stage_defects(over: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert stage_problems(**over) == expected


def test_a_forecast_is_suggested_from_the_crm_name() -> None:
    ((path, message),) = stage_problems(forecast="Best Case")
    assert path == "$.stages[0].forecast"
    assert message.endswith("got 'Best Case'; did you mean 'best_case'?")
    ((_, message),) = stage_problems(forecast="comit")
    assert message.endswith("got 'comit'; did you mean 'commit'?")
    ((_, message),) = stage_problems(forecast="zzzzzz")
    assert message.endswith("got 'zzzzzz'")
    ((_, message),) = stage_problems(forecast=3)
    assert message.endswith("got 3")


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (12, "a stage key must be a string, got int"),
        ("x" * 256, "a stage key must be at most 255 characters, got 256"),
        ("*", STAR),
    ],
)
def test_bad_stage_keys(key: object, message: str) -> None:
    refused = StageSpec(key, "Refused", OPEN, order=9)  # type: ignore[arg-type]
    assert problems_of(stages=(*stages(), refused)) == [("$.stages[3].key", message)]


@pytest.mark.parametrize("key", ["x" * 255, "Closed Won", "12345678"])
def test_external_ids_are_stage_keys(key: str) -> None:
    spec = build(stages=tuple(stages(key=key)), transitions=tuple(transitions(key)))
    assert spec.first_stage.key == key
    assert spec.stage(key).label == "New"


def test_two_refused_stages_hide_the_missing_kinds() -> None:
    refused = [StageSpec("*", "A", OPEN, order=8), StageSpec(7, "B", OPEN, order=9)]  # type: ignore[arg-type]
    won, lost = stages()[1:]
    assert [p for p, _ in problems_of(stages=(*refused, won, lost), transitions=())] == [
        "$.stages[0].key",
        "$.stages[1].key",
    ]


def test_missing_kinds_and_no_stages() -> None:
    assert problems_of(stages=()) == [
        ("$.stages", "a pipeline needs at least one open, one won and one lost stage")
    ]
    assert problems_of(stages=tuple(stages()[:1]), transitions=()) == [
        ("$.stages", "needs a won stage (kind = 'won')"),
        ("$.stages", "needs a lost stage (kind = 'lost')"),
        ("$.stages[0]", "open stage 'new' has no way to a won or lost stage"),
    ]


def test_a_closed_first_stage_is_reported_once() -> None:
    closed_first = stages(order=5)
    assert problems_of(stages=tuple(closed_first)) == [
        ("$.stages", "the first stage ('won') must be an open stage")
    ]


def test_unreachable_and_stuck_stages() -> None:
    stuck = StageSpec("stuck", "Stuck", OPEN, order=3)
    # '*' reaches it, so it can close
    assert problems_of(stages=(*stages(), stuck)) == [
        ("$.stages[3]", "stage 'stuck' cannot be reached from the first stage 'new'"),
    ]
    lose = TransitionSpec("lose", ("new",), "lost")
    go = TransitionSpec("go", ("new",), "stuck")
    assert problems_of(stages=(*stages(), stuck), transitions=(transitions()[0], lose, go)) == [
        ("$.stages[3]", "open stage 'stuck' has no way to a won or lost stage"),
    ]


@pytest.mark.parametrize(
    ("transition", "expected"),
    [
        (
            TransitionSpec(5, ("new",), "won"),  # type: ignore[arg-type]
            [("$.transitions[2].event", "an event name must be a string, got int")],
        ),
        (
            TransitionSpec("x" * 256, ("new",), "won"),
            [("$.transitions[2].event", "an event name must be at most 255 characters, got 256")],
        ),
        (
            TransitionSpec("go", ("new",), "wonn"),
            [("$.transitions[2].target", "unknown stage 'wonn'; did you mean 'won'?")],
        ),
        (
            TransitionSpec("go", ("new",), "zzzzzz"),
            [("$.transitions[2].target", "unknown stage 'zzzzzz'")],
        ),
        (
            TransitionSpec("go", ("new",), 4),  # type: ignore[arg-type]
            [("$.transitions[2].target", "unknown stage 4")],
        ),
        (
            TransitionSpec("go", ("new",), "won", ("field_present",)),  # type: ignore[arg-type]
            [("$.transitions[2].guards[0]", "must be a guard, got 'field_present'")],
        ),
        (
            TransitionSpec("go", ("new",), "won", (GuardSpec(3),)),  # type: ignore[arg-type]
            [("$.transitions[2].guards[0]", "must be a guard, got GuardSpec(name=3, params=())")],
        ),
        (
            TransitionSpec("win", ("new",), "won"),
            [("$.transitions[2]", "duplicates $.transitions[0] (win from 'new' to 'won')")],
        ),
    ],
)
def test_transition_defects(transition: TransitionSpec, expected: list[tuple[str, str]]) -> None:
    assert problems_of(transitions=(*transitions(), transition)) == expected


def test_stage_lookup_names_the_missing_key() -> None:
    with pytest.raises(KeyError) as caught:
        build().stage("nope")
    assert caught.value.args == ("nope",)


# -- lost reasons ----------------------------------------------------------------------


def test_a_missing_reason_lists_the_allowed_ones() -> None:
    spec = build(lost_reasons=("price", "timing"))
    message = spec.lost_reason_problem(" ")
    assert message is not None
    assert message.startswith("a lost reason is required (one of 'price', 'timing'): pass reason=")
    plain = build().lost_reason_problem(None)
    assert plain is not None
    assert plain.startswith("a lost reason is required: pass reason=")
    assert build(require_lost_reason=False).lost_reason_problem(None) is None


def test_an_unknown_reason_suggests_the_nearest_one() -> None:
    spec = build(lost_reasons=("price", "prize", "timing"))
    assert spec.lost_reason_problem("prics") == (
        "lost reason 'prics' is not one of this pipeline's lost reasons "
        "('price', 'prize', 'timing'); did you mean 'price'?"
    )
    assert spec.lost_reason_problem("zzzz") == (
        "lost reason 'zzzz' is not one of this pipeline's lost reasons ('price', 'prize', 'timing')"
    )


@given(st.text(max_size=20))
def test_other_admits_free_text_after_a_colon(text: str) -> None:
    spec = build(lost_reasons=("price", "other"))
    problem = spec.lost_reason_problem(f"other: {text}")
    assert (problem is None) == bool(text.strip())
    if problem is not None:
        assert (
            problem.endswith("('price', 'other', or 'other: <your words>')")
            or "did you mean" in problem
        )
    # only the first colon separates the reason from the text
    assert spec.lost_reason_problem(f"other: {text}: more") is None
    assert spec.lost_reason_problem(f"price: {text or 'x'}") is not None


def test_other_needs_its_colon() -> None:
    spec = build(lost_reasons=("price", "other"))
    assert spec.lost_reason_problem("other went dark") is not None
    assert spec.lost_reason_problem("went: dark") is not None
    assert spec.lost_reason_problem("other:") is not None
    assert spec.lost_reason_problem("other") is None


# -- the definition form -------------------------------------------------------------


def expected_version(spec: PipelineSpec) -> str:
    """sha256 of the canonical JSON form, decimals tagged as ``{"$decimal": text}``."""

    def tag(value: object) -> object:
        assert isinstance(value, Decimal)
        return {"$decimal": str(value)}

    text = json.dumps(spec.as_dict(), sort_keys=True, separators=(",", ":"), default=tag)
    return hashlib.sha256(text.encode()).hexdigest()


reasons = st.lists(st.sampled_from(["price", "timing", "other", "no budget"]), unique=True)
params = st.dictionaries(
    st.sampled_from(["field", "min", "values"]),
    st.one_of(
        st.text(max_size=5),
        st.integers(-5, 5),
        st.floats(allow_nan=False, allow_infinity=False),
        st.lists(st.integers(0, 3), max_size=3),
    ),
    max_size=3,
)


@given(reasons, st.booleans(), params, st.none() | st.text(min_size=1, max_size=10))
def test_the_definition_form_loads_back_with_the_same_version(
    lost: list[str], require: bool, kwargs: dict[str, Any], description: str | None
) -> None:
    guarded = TransitionSpec("win", ("new",), "won", (GuardSpec.of("field_present", **kwargs),))
    spec = build(
        lost_reasons=tuple(lost),
        require_lost_reason=require,
        transitions=(guarded, transitions()[1]),
        description=description,
    )
    data = spec.as_dict()
    assert data.get("lost_reasons", []) == lost
    assert data.get("require_lost_reason", True) is require
    assert data.get("description") == description
    guard = dict(data["transitions"][0]["guards"][0])
    name = guard.pop("name")
    again = PipelineSpec(
        data["key"],
        data["label"],
        spec.stages,
        (
            TransitionSpec("win", ("new",), "won", (GuardSpec.of(name, **guard),)),
            spec.transitions[1],
        ),
        data.get("description"),
        data.get("require_lost_reason", True),
        tuple(data.get("lost_reasons", ())),
    )
    assert again == spec
    assert again.version == spec.version == expected_version(spec)


def test_a_float_parameter_and_its_text_have_different_versions() -> None:
    def with_min(value: object) -> PipelineSpec:
        guard = GuardSpec.of("amount_at_least", min=value)
        return build(
            transitions=(TransitionSpec("win", ("new",), "won", (guard,)), transitions()[1])
        )

    as_float, as_text = with_min(1.5), with_min("1.5")
    assert as_float.transitions[0].guards[0].params == (("min", Decimal("1.5")),)
    assert as_float.version != as_text.version
    assert as_float.version == expected_version(as_float)


def test_lists_in_guard_parameters_are_frozen_and_thawed() -> None:
    guard = GuardSpec.of("in_list", values=[1, [2, 3.5]])
    assert guard.params == (("values", (1, (2, Decimal("3.5")))),)
    assert guard.kwargs == {"values": [1, [2, Decimal("3.5")]]}
    assert guard.as_dict() == {"name": "in_list", "values": [1, [2, Decimal("3.5")]]}
    assert hash(guard) == hash(GuardSpec.of("in_list", values=[1, [2, 3.5]]))


def test_a_parameter_a_definition_cannot_hold_is_a_problem_at_its_path() -> None:
    guard = GuardSpec.of("odd", value=object(), fine=[1, "x", None], table={"a": 1.5})
    with pytest.raises(PipelineDefinitionError) as caught:
        build(transitions=(TransitionSpec("win", ("new",), "won", (guard,)), transitions()[1]))
    assert [(p.path, p.message) for p in caught.value.problems] == [
        (
            "$.transitions[0].guards[0].value",
            "a guard parameter must be text, a number, a boolean, null, a list or a table, "
            "not object",
        )
    ]


def test_loading_the_definition_form_gives_an_equal_spec() -> None:
    spec = build(lost_reasons=("price", "other"), require_lost_reason=False)
    loaded = pipeline_from_dict(spec.as_dict())
    assert loaded == spec
    assert loaded.version == spec.version


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        ((), [("$.transitions[2].source", "needs at least one source stage (or '*')")]),
        ((3,), [("$.transitions[2].source", "must be a stage key, got 3")]),
        (("neww",), [("$.transitions[2].source", "unknown stage 'neww'; did you mean 'new'?")]),
        (
            ("new", "won"),
            [("$.transitions[2].source[1]", "a stage cannot move to itself ('won')")],
        ),
        (
            ("new", 3, "zzzzz"),
            [
                ("$.transitions[2].source[1]", "must be a stage key, got 3"),
                ("$.transitions[2].source[2]", "unknown stage 'zzzzz'"),
            ],
        ),
        (
            ("lost",),
            [
                (
                    "$.transitions[2]",
                    "'lost' -> 'won': a closed stage can only be reopened into an open stage",
                )
            ],
        ),
    ],
)
def test_source_defects(sources: tuple[Any, ...], expected: list[tuple[str, str]]) -> None:
    extra = TransitionSpec("go", sources, "won")
    assert problems_of(transitions=(*transitions(), extra)) == expected


def test_every_guard_of_a_transition_is_checked() -> None:
    extra = TransitionSpec("go", ("new",), "won", ("a", GuardSpec.of("ok"), "b"))  # type: ignore[arg-type]
    assert problems_of(transitions=(*transitions(), extra)) == [
        ("$.transitions[2].guards[0]", "must be a guard, got 'a'"),
        ("$.transitions[2].guards[2]", "must be a guard, got 'b'"),
    ]


def test_a_stage_of_unknown_kind_is_the_only_problem_it_causes() -> None:
    odd = StageSpec("odd", "Odd", "maybe", order=3)  # type: ignore[arg-type]
    moves = (
        TransitionSpec("to_odd", ("new",), "odd"),
        TransitionSpec("from_odd", ("odd", "new"), "won"),
        TransitionSpec("odd_on", ("odd", "nope"), "won"),
    )
    assert problems_of(stages=(*stages(), odd), transitions=(*transitions(), *moves)) == [
        ("$.stages[3].kind", "must be open, won or lost, got 'maybe'"),
        ("$.transitions[4].source[1]", "unknown stage 'nope'"),
    ]


def test_needs_an_open_stage() -> None:
    won, lost = stages()[1:]
    assert problems_of(stages=(won, lost), transitions=()) == [
        ("$.stages", "needs at least one open stage"),
        ("$.stages", "the first stage ('won') must be an open stage"),
    ]


@pytest.mark.parametrize(
    ("index", "days", "message"),
    [
        (0, 0, "must be a whole number of days >= 1"),
        (0, True, "must be a whole number of days >= 1"),
        (0, "3", "must be a whole number of days >= 1"),
        (1, 3, "closed stages do not rot"),
    ],
)
def test_rotting_days(index: int, days: object, message: str) -> None:
    staged = stages()
    staged[index] = attrs.evolve(staged[index], rotting_days=days)
    assert problems_of(stages=tuple(staged)) == [(f"$.stages[{index}].rotting_days", message)]
    assert build(stages=tuple(stages(rotting_days=1))).first_stage.rotting_days == 1


def test_an_unknown_forecast_lists_every_category() -> None:
    ((_, message),) = stage_problems(forecast="zzzzzz")
    assert message == (
        "must be one of best_case, closed, commit, most_likely, omitted, pipeline (or a "
        "category the pipeline declares in forecast_categories), got 'zzzzzz'"
    )
    declared = (ForecastCategory("hot", "Hot", 7),)
    found = problems_of(stages=tuple(stages(forecast="hott")), forecast_categories=declared)
    assert found[0][1].endswith("got 'hott'; did you mean 'hot'?")
    assert build(stages=tuple(stages(forecast="hot")), forecast_categories=declared)


def test_the_required_reason_message_says_how_to_opt_out() -> None:
    assert build().lost_reason_problem("") == (
        "a lost reason is required: pass reason= (this pipeline sets "
        "require_lost_reason; a pipeline may opt out with require_lost_reason = false)"
    )


def test_only_refused_stages() -> None:
    refused = (StageSpec(7, "A", OPEN), StageSpec("*", "B", WON, Decimal(100), 1))  # type: ignore[arg-type]
    assert problems_of(stages=refused, transitions=()) == [
        ("$.stages[0].key", "a stage key must be a string, got int"),
        ("$.stages[1].key", STAR),
    ]


def test_a_refused_stage_sharing_an_order_is_not_compared() -> None:
    refused = StageSpec(7, "A", OPEN, order=0)  # type: ignore[arg-type]
    assert problems_of(stages=(*stages(), refused)) == [
        ("$.stages[3].key", "a stage key must be a string, got int"),
    ]


def test_an_order_that_is_not_a_number_is_left_out_of_the_start() -> None:
    assert stage_problems(order="0") == [
        ("$.stages[0].order", "must be an integer, got '0'"),
        ("$.stages", "the first stage ('won') must be an open stage"),
    ]


def test_a_target_that_is_not_text_gets_no_suggestion() -> None:
    numeric = build(
        stages=tuple(stages(key="12345678")), transitions=tuple(transitions("12345678"))
    )
    assert numeric.stage_keys == ("12345678", "won", "lost")
    extra = TransitionSpec("go", ("won",), 12345678)  # type: ignore[arg-type]
    found = problems_of(stages=numeric.stages, transitions=(*numeric.transitions, extra))
    assert found == [("$.transitions[2].target", "unknown stage 12345678")]


def test_every_declared_category_is_checked_after_one_that_is_not_a_category() -> None:
    declared = ("hot", ForecastCategory("Cold", "Cold", 8))
    assert problems_of(forecast_categories=declared) == [
        ("$.forecast_categories[0]", "must be a forecast category, got 'hot'"),
        categories_problem(1, "name", "must be a lower-case identifier, got 'Cold'"),
    ]


@pytest.mark.parametrize(
    ("crm", "ours"),
    [("Forecast", "commit"), ("Upside", "best_case"), ("Not forecasted", "omitted")],
)
def test_a_crm_forecast_name_suggests_ours(crm: str, ours: str) -> None:
    ((_, message),) = stage_problems(forecast=crm)
    assert message.endswith(f"got {crm!r}; did you mean {ours!r}?")


def test_every_source_of_a_transition_is_checked_after_a_closed_one() -> None:
    again = TransitionSpec("lose", ("won", "new"), "lost")
    assert problems_of(transitions=(*transitions(), again)) == [
        (
            "$.transitions[2]",
            "'won' -> 'lost': a closed stage can only be reopened into an open stage",
        ),
        ("$.transitions[2]", "duplicates $.transitions[1] (lose from 'new' to 'lost')"),
    ]


def test_a_stage_label_may_be_255_long() -> None:
    assert build(stages=tuple(stages(label="x" * 255))).first_stage.label == "x" * 255
