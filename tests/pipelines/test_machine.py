"""The pipeline state machine users subclass: it runs on pipelines, sets and strategies of
pipelines, takes the user's own invariants, and fails pipelines that break their promises."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import invariant, run_state_machine_as_test

from pipelinekit import Moved, PipelineBuilder, PipelineSet, compile_pipeline, sales_pipeline
from pipelinekit.pipelines import BulkResult, Pipeline, default_guards
from pipelinekit.testing.machines import pipeline_state_machine
from pipelinekit.testing.pipelines import pipelines

QUICK = settings(
    max_examples=15,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

TestSalesPipelineMoves = pipeline_state_machine(sales_pipeline()).TestCase
TestSalesPipelineMoves.settings = QUICK
TestRandomPipelineMoves = pipeline_state_machine(pipelines()).TestCase
TestRandomPipelineMoves.settings = QUICK


PARTNERS = compile_pipeline(
    PipelineBuilder("partners", label="Partner deals")
    .stage("intro", probability=10, rotting_days=3)
    .stage("pilot", probability=50, forecast="commit")
    .stage("signed", kind="won")
    .stage("dropped", kind="lost")
    .transition("start_pilot", "intro", "pilot")
    .transition("sign", "pilot", "signed")
    .transition("drop", "*", "dropped")
    .transition("reopen", "dropped", "intro")
    .build()
)


class PartnerMoves(pipeline_state_machine(PipelineSet(sales_pipeline(), PARTNERS))):
    """A user's subclass: their own invariant on top of the shipped ones."""

    @invariant()
    def deals_stay_in_a_stage_of_their_pipeline(self) -> None:
        assert self.deal.stage in self.pipeline.spec.stage_keys
        assert self.deal.pipeline == self.pipeline.key


TestPartnerMoves = PartnerMoves.TestCase
TestPartnerMoves.settings = QUICK


class _BulkMovesNothing(Pipeline):
    def bulk(self, entities: Any, event: str, **options: Any) -> Any:
        result = super().bulk(entities, event, **options)
        return BulkResult([], result.failures, pipeline=self.key, event=event)


class _LoseWithoutEvents(Pipeline):
    def lose(self, entity: Any, **options: Any) -> Any:
        moved = super().lose(entity, **options)
        return Moved(moved.entity, (), moved.change)


@pytest.mark.parametrize(
    ("broken", "defect"),
    [(_BulkMovesNothing, "bulk .* and fire\\(\\) disagree"), (_LoseWithoutEvents, "events")],
)
def test_the_machine_fails_a_pipeline_that_breaks_a_promise(broken: type, defect: str) -> None:
    pipeline = broken(sales_pipeline().spec, default_guards())
    machine = pipeline_state_machine(pipeline)
    fast = settings(
        QUICK,
        max_examples=60,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
    )
    with pytest.raises(AssertionError, match=defect):
        run_state_machine_as_test(machine, settings=fast)
