"""A Hypothesis state machine for your pipelines: random moves, checked after every step.

:func:`pipeline_state_machine` returns a ``RuleBasedStateMachine`` class for a
compiled :class:`~pipelinekit.pipelines.Pipeline` (or every pipeline of a
:class:`~pipelinekit.pipelines.PipelineSet`, or a strategy of pipelines).
Its rules open a deal and then fire every event the pipeline offers (and one
it does not), move, win, lose with generated reasons, reopen and set manual
and automated probabilities, each at a later time.  After every step its
invariants check that:

- the history is a chain that replays to the current stage, in time order;
- the probability follows the documented layers (closed, manual, automated,
  stage default: :meth:`~pipelinekit.pipelines.StageSpec.effective_probability`);
- a closed deal stays closed unless reopened (every change out of a closed
  stage is a ``reopen``), and its outcome matches its stage's kind;
- the bulk path agrees with the single one, and a refused move changes nothing;
- the domain events of each move match the history record it added.

Subclass it to add your own rules and invariants; ``self.pipeline`` is the
pipeline of the run and ``self.deal`` the opportunity::

    from hypothesis.stateful import invariant
    from pipelinekit.testing.machines import pipeline_state_machine

    class MyPipelineMoves(pipeline_state_machine(my_pipeline)):
        @invariant()
        def big_deals_have_an_owner(self):
            ...

    TestMyPipelineMoves = MyPipelineMoves.TestCase
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from ..domain import Money, Opportunity, Outcome
from ..domain.probability import Probability
from ..errors import PipelinekitError
from ..pipelines import (
    OpportunityLost,
    OpportunityReopened,
    OpportunityWon,
    Pipeline,
    PipelineSet,
    StageChanged,
    StageKind,
)
from ..serialization import to_dict

__all__ = ["pipeline_state_machine"]

_START = datetime(2026, 1, 1, tzinfo=UTC)
_OUTCOMES = {StageKind.OPEN: Outcome.OPEN, StageKind.WON: Outcome.WON, StageKind.LOST: Outcome.LOST}
_REASONS = st.sampled_from([None, "price", "timing", "no budget"])
# A blank reason is refused by lose(); fire() of another event ignores its reason while
# bulk() refuses it up front, so blank reasons go to lose() only.
_LOSS_REASONS = st.sampled_from([None, "price", "timing", " "])


def _pipelines(
    source: Pipeline | PipelineSet | st.SearchStrategy[Pipeline],
) -> st.SearchStrategy[Pipeline]:
    if isinstance(source, Pipeline):
        return st.just(source)
    if isinstance(source, PipelineSet):
        return st.sampled_from(list(source))
    return source


def pipeline_state_machine(
    pipelines: Pipeline | PipelineSet | st.SearchStrategy[Pipeline],
) -> type[RuleBasedStateMachine]:
    """A ``RuleBasedStateMachine`` class moving one deal at random through ``pipelines``.

    Run it with ``TestX = pipeline_state_machine(p).TestCase`` (set
    ``TestX.settings`` to explore more) or subclass it to add rules and invariants.
    """
    drawn = _pipelines(pipelines)

    class PipelineMoves(RuleBasedStateMachine):
        """Random moves of one opportunity through one pipeline, checked after each."""

        pipeline: Pipeline
        deal: Opportunity

        @initialize(pipeline=drawn, amount=st.none() | st.integers(0, 10**6))
        def open_a_deal(self, pipeline: Pipeline, amount: int | None) -> None:
            """Open a deal in the pipeline's first stage."""
            self.pipeline = pipeline
            self.now = _START
            money = None if amount is None else Money(amount, "EUR")
            self.deal = pipeline.open(name="Deal", amount=money, at=self.now).entity
            self.moves = 0

        def tick(self) -> datetime:
            """A moment one hour after the previous one."""
            self.now += timedelta(hours=1)
            return self.now

        def attempt(self, operation: str, *args: Any, **kwargs: Any) -> None:
            """Run ``pipeline.<operation>(deal, ...)``; check a refusal changes nothing and
            that a move's events and the bulk path agree with it."""
            before = self.deal
            snapshot = to_dict(before)
            bulk: Any = None
            if operation == "fire":
                try:
                    bulk = self.pipeline.bulk([before], *args, **kwargs).moved
                except PipelinekitError as error:  # refused arguments: fire() must refuse too
                    bulk = type(error).__name__
            try:
                moved = getattr(self.pipeline, operation)(before, *args, **kwargs)
            except PipelinekitError:
                assert to_dict(before) == snapshot, f"a refused {operation} changed the deal"
                if bulk is not None:
                    assert bulk == [] or isinstance(bulk, str), (
                        f"bulk {args} moved what fire() refused"
                    )
                return
            if bulk is not None:
                assert bulk == [moved.entity], f"bulk {args} and fire() disagree: bulk {bulk}"
            if moved.change is not None:
                self.moves += 1
                self._check_events(before, moved.entity, moved.change, moved.events)
            self.deal = moved.entity

        def _check_events(self, before: Any, after: Any, change: Any, events: Any) -> None:
            changed = [e for e in events if isinstance(e, StageChanged)]
            assert [(e.from_stage, e.to_stage, e.event) for e in changed] == [
                (change.from_stage, change.to_stage, change.event)
            ], f"events {events} do not match the history record {change}"
            stages = self.pipeline.stages
            kinds = {type(e) for e in events}
            entered = stages[after.stage].kind
            assert (OpportunityWon in kinds) is (entered is StageKind.WON)
            assert (OpportunityLost in kinds) is (entered is StageKind.LOST)
            assert (OpportunityReopened in kinds) is stages[before.stage].is_closed

        def _stage_keys(self) -> st.SearchStrategy[str]:
            return st.sampled_from(self.pipeline.spec.stage_keys)

        def _probabilities(self) -> st.SearchStrategy[Probability | None]:
            # the pipeline's own stage probabilities (kept in percent), in either unit
            known = sorted({s.probability for s in self.pipeline.spec.stages})
            percent = st.sampled_from(known).map(Probability.percent)
            fraction = st.sampled_from(known).map(lambda p: Probability.fraction(p / 100))
            return st.none() | percent | fraction

        @rule(data=st.data(), reason=_REASONS)
        def fire(self, data: st.DataObject, reason: str | None) -> None:
            """Fire any event of the pipeline (or one it does not know)."""
            event = data.draw(st.sampled_from([*self.pipeline.spec.events, "no_such_event"]))
            self.attempt("fire", event, at=self.tick(), reason=reason)

        @rule(data=st.data())
        def move(self, data: st.DataObject) -> None:
            """Move to any stage."""
            self.attempt("move", data.draw(self._stage_keys()), at=self.tick())

        @rule()
        def win(self) -> None:
            """Win the deal."""
            self.attempt("win", at=self.tick())

        @rule(reason=_LOSS_REASONS, competitor=st.none() | st.just("Globex"))
        def lose(self, reason: str | None, competitor: str | None) -> None:
            """Lose the deal with a generated reason."""
            self.attempt("lose", reason=reason, competitor=competitor, at=self.tick())

        @rule(data=st.data())
        def reopen(self, data: st.DataObject) -> None:
            """Reopen into any stage."""
            self.attempt("reopen", to=data.draw(self._stage_keys()), at=self.tick())

        @rule(data=st.data(), clear=st.booleans())
        def set_probability(self, data: st.DataObject, clear: bool) -> None:
            """Set (or clear) the manual and automated probabilities."""
            manual = data.draw(self._probabilities())
            automated = data.draw(self._probabilities())
            self.attempt(
                "set_probability",
                manual=manual,
                automated=automated,
                clear_manual=clear,
                at=self.tick(),
            )

        @invariant()
        def history_replays_to_the_current_stage(self) -> None:
            """The history is a time-ordered chain ending in the current stage."""
            history = self.deal.history
            assert len(history) == 1 + self.moves
            assert history[-1].to_stage == self.deal.stage
            for previous, change in itertools.pairwise(history):
                assert change.from_stage == previous.to_stage, f"{change} does not follow"
                assert change.at >= previous.at

        @invariant()
        def probability_follows_its_layers(self) -> None:
            """Closed, then manual, then automated, then the stage default."""
            deal = self.deal
            stage = self.pipeline.stages[deal.stage]
            expected = stage.effective_probability(
                deal.manual_probability, deal.automated_probability
            )
            assert (deal.probability, deal.probability_source) == expected

        @invariant()
        def closed_deals_are_final_unless_reopened(self) -> None:
            """Every change out of a closed stage is a reopen; the outcome fits the stage."""
            stages = self.pipeline.stages
            for change in self.deal.history:
                if change.from_stage is not None and stages[change.from_stage].is_closed:
                    assert change.event == "reopen", f"{change} left a closed stage"
            kind = stages[self.deal.stage].kind
            assert self.deal.outcome is _OUTCOMES[kind]
            assert (self.deal.closed_at is None) is (kind is StageKind.OPEN)

    return PipelineMoves
