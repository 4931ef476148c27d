"""The free functions that repeated Pipeline's methods still work for one release, and warn."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import pipelinekit.pipelines
from pipelinekit import Lead, Person, Probability
from pipelinekit.pipelines import Pipeline, operations

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OLD_PLACES = [pipelinekit.pipelines, operations]


def _call(module: object, function: str, /, *args: object, **kwargs: object) -> object:
    with pytest.warns(DeprecationWarning, match=rf"{function}\(\) is deprecated") as caught:
        result = getattr(module, function)(*args, **kwargs)
    assert caught[0].filename == __file__  # the warning points at the caller
    return result


@pytest.mark.parametrize("module", OLD_PLACES)
def test_each_old_function_does_what_the_method_does(
    module: object, sales: Pipeline, lifecycle: Pipeline
) -> None:
    moved = sales.open(name="Acme", at=T0)
    assert _call(module, "open_opportunity", sales, name="Acme", at=T0).entity.stage == (  # type: ignore[attr-defined]
        moved.entity.stage
    )
    opp = moved.entity
    at = T0 + timedelta(days=1)
    for name, args, kwargs, method in [
        ("fire", (opp, "advance"), {"at": at}, sales.fire),
        ("move", (opp, "qualification"), {"at": at}, sales.move),
        ("lose", (opp,), {"reason": "price", "at": at}, sales.lose),
        ("explain", (opp, "win"), {}, sales.explain),
        ("available_events", (opp,), {}, sales.available_events),
        (
            "set_probability",
            (opp,),
            {"manual": Probability.percent(40), "at": at},
            sales.set_probability,
        ),
        ("is_rotting", (opp,), {"as_of": at}, sales.is_rotting),
        ("fire_many", ([opp], "advance"), {"at": at}, sales.bulk),
    ]:
        old = _call(module, name, sales, *args, **kwargs)
        new = method(*args, **kwargs)
        if name == "fire_many":
            assert old.moved == new.moved  # type: ignore[attr-defined]
        elif name == "explain":
            assert str(old) == str(new)
        else:
            assert old == new, name
    lost = sales.lose(opp, reason="price", at=at).entity
    later = at + timedelta(days=1)
    assert _call(module, "reopen", sales, lost, to="meeting", at=later) == sales.reopen(
        lost, to="meeting", at=later
    )
    lead = Lead.create(contact=Person("Ada"), at=T0)
    qualified = lifecycle.fire(lead, "qualify", at=at).entity
    old_conversion = _call(module, "convert", lifecycle, qualified, pipeline=sales, at=later)
    assert old_conversion.lead.status == "converted"  # type: ignore[attr-defined]
    mapped = _call(
        module, "change_pipeline", sales, sales, opp, mapping={"initial_contact": "meeting"}, at=at
    )
    assert mapped == sales.change_pipeline(
        opp, sales, mapping={"initial_contact": "meeting"}, at=at
    )
    stage = sales.stages["meeting"]
    assert _call(module, "layered_probability", stage, None, None) == (
        stage.effective_probability(None, None)
    )


def test_the_method_is_the_only_public_name() -> None:
    for name in ("fire", "fire_many", "convert", "open_opportunity", "is_rotting"):
        assert name not in pipelinekit.pipelines.__all__
    with pytest.raises(AttributeError):
        pipelinekit.pipelines.no_such_function  # noqa: B018
    with pytest.raises(AttributeError):
        operations.no_such_function  # noqa: B018


def test_the_old_module_path_points_to_the_new_homes() -> None:
    for name in ("Moved", "Conversion", "stage_durations", "time_in_stage"):
        with pytest.warns(DeprecationWarning, match="import .* from pipelinekit.pipelines"):
            old = getattr(operations, name)
        assert old is getattr(pipelinekit.pipelines, name)
