"""A Hypothesis state machine drives random operations on random valid pipelines."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from pipelinekit import Money, Opportunity, Outcome, ProbabilitySource, ValidationError, to_dict
from pipelinekit.errors import PipelinekitError
from pipelinekit.pipelines import Pipeline, StageKind, compile_pipeline
from pipelinekit.testing.pipelines import pipeline_specs

T0 = datetime(2026, 1, 1, tzinfo=UTC)
EVENTS = ("advance", "skip", "back", "escalate", "review", "win", "lose", "reopen", "nope")


class PipelineMoves(RuleBasedStateMachine):
    pipeline: Pipeline
    opp: Opportunity

    @initialize(spec=pipeline_specs(), amount=st.none() | st.integers(0, 3000))
    def start(self, spec: object, amount: int | None) -> None:
        self.pipeline = compile_pipeline(spec)  # type: ignore[arg-type]
        self.now = T0
        money = None if amount is None else Money(amount, "EUR")
        self.opp = self.pipeline.open(name="Deal", amount=money, at=self.now).entity
        self.moves = 0

    def _tick(self) -> datetime:
        self.now += timedelta(hours=1)
        return self.now

    def _attempt(self, operation, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        before = self.opp
        snapshot = to_dict(before)
        bulk = None
        if operation == "fire":
            bulk = self.pipeline.bulk([before], *args, **kwargs)
        try:
            result = getattr(self.pipeline, operation)(before, *args, **kwargs)
        except (PipelinekitError, ValidationError) as error:
            event(f"{operation}: refused ({type(error).__name__})")
            assert to_dict(before) == snapshot  # failed moves change nothing
            if bulk is not None:
                assert bulk.moved == []
            return
        event(f"{operation}: done")
        if result.change is not None:
            self.moves += 1
        if bulk is not None:
            assert bulk.moved == [result.entity]
        self.opp = result.entity

    @rule(event=st.sampled_from(EVENTS), reason=st.sampled_from([None, "price"]))
    def fire(self, event: str, reason: str | None) -> None:
        self._attempt("fire", event, at=self._tick(), reason=reason)

    @rule(stage=st.data())
    def move(self, stage: st.DataObject) -> None:
        to = stage.draw(st.sampled_from(self.pipeline.spec.stage_keys))
        self._attempt("move", to, at=self._tick())

    @rule()
    def win(self) -> None:
        self._attempt("win", at=self._tick())

    @rule(
        reason=st.sampled_from(["price", "timing", " "]), competitor=st.none() | st.just("Globex")
    )
    def lose(self, reason: str, competitor: str | None) -> None:
        self._attempt("lose", reason=reason, competitor=competitor, at=self._tick())

    @rule(data=st.data())
    def reopen(self, data: st.DataObject) -> None:
        to = data.draw(st.sampled_from(self.pipeline.spec.stage_keys))
        self._attempt("reopen", to=to, at=self._tick())

    @rule(
        manual=st.none() | st.integers(0, 100),
        automated=st.none() | st.integers(0, 100),
        clear=st.booleans(),
    )
    def set_probability(self, manual: int | None, automated: int | None, clear: bool) -> None:
        self._attempt(
            "set_probability",
            manual=manual,
            automated=automated,
            clear_manual=clear,
            at=self._tick(),
        )

    @invariant()
    def history_length_equals_successful_moves(self) -> None:
        assert len(self.opp.history) == 1 + self.moves

    @invariant()
    def history_is_a_chain_ending_in_the_current_stage(self) -> None:
        history = self.opp.history
        assert history[-1].to_stage == self.opp.stage
        for previous, change in itertools.pairwise(history):
            assert change.from_stage == previous.to_stage
            assert change.at >= previous.at

    @invariant()
    def closed_stages_are_entered_only_through_win_or_lose(self) -> None:
        for change in self.opp.history:
            kind = self.pipeline.stages[change.to_stage].kind
            if kind is StageKind.WON:
                assert change.event == "win"
            elif kind is StageKind.LOST:
                assert change.event == "lose"

    @invariant()
    def outcome_matches_the_stage_kind(self) -> None:
        kind = self.pipeline.stages[self.opp.stage].kind
        expected = {
            StageKind.OPEN: Outcome.OPEN,
            StageKind.WON: Outcome.WON,
            StageKind.LOST: Outcome.LOST,
        }
        assert self.opp.outcome is expected[kind]
        assert (self.opp.closed_at is None) is (kind is StageKind.OPEN)
        if kind is StageKind.OPEN:
            assert self.opp.lost_reason is None

    @invariant()
    def probability_follows_its_layers(self) -> None:
        opp = self.opp
        stage = self.pipeline.stages[opp.stage]
        if stage.kind is StageKind.WON:
            assert (opp.probability, opp.probability_source) == (100, ProbabilitySource.CLOSED)
        elif stage.kind is StageKind.LOST:
            assert (opp.probability, opp.probability_source) == (0, ProbabilitySource.CLOSED)
        elif opp.manual_probability is not None:
            assert (opp.probability, opp.probability_source) == (
                opp.manual_probability,
                ProbabilitySource.MANUAL,
            )
        elif opp.automated_probability is not None:
            assert opp.probability == opp.automated_probability
            assert opp.probability_source is ProbabilitySource.AUTOMATED
        else:
            assert opp.probability == stage.probability
            assert opp.probability_source is ProbabilitySource.STAGE_DEFAULT
        assert Decimal(0) <= opp.probability <= Decimal(100)


PipelineMoves.TestCase.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)
TestPipelineMoves = PipelineMoves.TestCase
