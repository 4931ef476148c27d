"""compile_pipeline: one compiled pipeline per spec version and guard registry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipelinekit import Opportunity
from pipelinekit.pipelines import (
    SALES,
    GuardFailed,
    Pipeline,
    PipelineDefinitionError,
    compile_pipeline,
    default_guards,
    pipeline_from_dict,
)

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def _spec_with_guard(guard: str) -> dict[str, object]:
    data = SALES.as_dict()
    data["key"] = "cached"
    data["transitions"] = [
        {
            "event": "advance",
            "source": "initial_contact",
            "target": "qualification",
            "guards": [{"name": guard}],
        },
        *data["transitions"][1:],
    ]
    return data


def test_the_same_spec_compiles_once_per_registry() -> None:
    first = compile_pipeline(SALES)
    assert isinstance(first, Pipeline)
    assert first.spec is SALES
    assert compile_pipeline(SALES) is first
    assert compile_pipeline(SALES, guards=default_guards()) is first
    # an equal spec built again has the same version: the same compiled pipeline
    again = pipeline_from_dict(SALES.as_dict())
    assert again is not SALES
    assert compile_pipeline(again) is first


def test_another_registry_gets_its_own_pipeline_with_its_guards() -> None:
    registry = default_guards().copy()
    registry.register("never", lambda: lambda subject: "never passes")
    spec = pipeline_from_dict(_spec_with_guard("never"), guards=registry)
    with pytest.raises(PipelineDefinitionError):
        compile_pipeline(spec)  # the default registry has no "never" guard
    pipeline = compile_pipeline(spec, guards=registry)
    assert compile_pipeline(spec, guards=registry) is pipeline
    opp = pipeline.open(name="Deal", at=T0).entity
    with pytest.raises(GuardFailed) as refused:
        pipeline.fire(opp, "advance", at=T0)
    assert refused.value.why == "never passes"
    # another registry naming a lenient guard of that name: another pipeline
    other = default_guards().copy()
    other.register("never", lambda: lambda subject: None)
    lenient = compile_pipeline(spec, guards=other)
    assert lenient is not pipeline
    assert isinstance(lenient.fire(opp, "advance", at=T0).entity, Opportunity)
