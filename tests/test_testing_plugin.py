"""pipelinekit's types are registered for ``st.from_type`` through Hypothesis' entry point."""

from __future__ import annotations

import importlib
import inspect

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pipelinekit as pk
from pipelinekit.domain import custom_fields

NAMESPACES = (
    "pipelinekit",
    "pipelinekit.storage",
    "pipelinekit.pipelines",
    "pipelinekit.qualification",
)
#: Public classes ``st.from_type`` is not asked to build, each with the reason.
NOT_GENERATED = {
    # a capability of SQL units of work: an instance is an open database session
    "AnalyticsQueries": "an open database session",
}


def _public_classes() -> list[tuple[str, type]]:
    found: dict[type, str] = {}
    for namespace in NAMESPACES:
        module = importlib.import_module(namespace)
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isclass(value) and name not in NOT_GENERATED:
                found.setdefault(value, f"{namespace}.{name}")
    return sorted(((where, kind) for kind, where in found.items()), key=lambda item: item[0])


PUBLIC = _public_classes()


def test_every_namespace_is_covered() -> None:
    names = {where.rsplit(".", 1)[1] for where, _ in PUBLIC}
    assert {"Lead", "Pipeline", "PipelineSet", "Clock", "LeadQuery", "Strategy"} <= names


@pytest.mark.parametrize(("where", "kind"), PUBLIC, ids=[where for where, _ in PUBLIC])
def test_from_type_builds_valid_instances_of_every_public_class(where: str, kind: type) -> None:
    @settings(
        max_examples=5,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(st.from_type(kind))
    def check(value: object) -> None:
        assert isinstance(value, kind), f"{where}: drew {value!r}"

    check()


@settings(deadline=None)
@given(st.from_type(pk.Lead), st.from_type(pk.Opportunity), st.from_type(pk.Money))
def test_from_type_builds_valid_objects(lead: pk.Lead, opp: pk.Opportunity, m: pk.Money) -> None:
    assert isinstance(lead, pk.Lead)
    assert isinstance(opp, pk.Opportunity)
    assert isinstance(m, pk.Money)
    assert lead.evolve() == lead


@given(st.from_type(pk.QualificationResult))
def test_generated_results_explain_their_score(result: pk.QualificationResult) -> None:
    if result.score is not None and result.breakdown:
        assert sum(line.points for line in result.breakdown) == result.score


@settings(max_examples=20, deadline=None)
@given(st.from_type(pk.Pipeline), st.data())
def test_generated_pipelines_have_the_default_guards_and_move_deals(
    pipeline: pk.Pipeline, data: st.DataObject
) -> None:
    from pipelinekit.testing.pipelines import opportunities_in

    opp = data.draw(opportunities_in(pipeline))
    assert opp.stage in pipeline.spec.stage_keys
    guards = {
        guard.name
        for stage in pipeline.spec.stage_keys
        for event in pipeline.allowed_events(stage)
        for candidate in pipeline.candidates(stage, event)
        for guard in candidate.guards
    }
    assert guards <= set(pk.default_guards())


@settings(max_examples=20, deadline=None)
@given(st.from_type(pk.PipelineSet))
def test_generated_pipeline_sets_hold_distinct_pipelines(pipelines: pk.PipelineSet) -> None:
    keys = [p.key for p in pipelines]
    assert len(keys) == len(set(keys)) >= 1


@settings(deadline=None)
@given(st.from_type(pk.FrozenMap))
def test_every_value_object_serialises_custom_fields_included(fields: pk.FrozenMap) -> None:
    assert pk.from_dict(pk.FrozenMap, pk.to_dict(fields)) == fields
    assert pk.from_json(pk.FrozenMap, pk.to_json(fields)) == fields
    assert custom_fields(dict(fields)) == fields
