"""A deal is lost for a reason: every path that closes one as lost enforces the pipeline's
lost-reason settings, and the entity refuses to become lost without one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelinekit import Opportunity, Outcome, ValidationError
from pipelinekit.pipelines import (
    InvalidTransition,
    Pipeline,
    PipelineBuilder,
    PipelineDefinitionError,
    compile_pipeline,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
REASONS = ("Too expensive", "Went with a competitor", "other")


def _pipeline(*, require: bool = True, reasons: tuple[str, ...] = ()) -> Pipeline:
    # no lost_reason_given guard: the setting alone must enforce the reason
    spec = (
        PipelineBuilder("deals", require_lost_reason=require, lost_reasons=reasons)
        .stage("new", probability=10)
        .stage("demo", probability=40)
        .stage("won", kind="won")
        .stage("lost", kind="lost")
        .stage("junk", kind="lost")
        .transition("advance", "new", "demo")
        .transition("win", "demo", "won")
        .transition("drop", "*", "lost")
        .transition("drop", "*", "junk")
        .transition("reopen", ["lost", "junk"], "new")
        .build()
    )
    return compile_pipeline(spec)


STRICT = _pipeline()
LISTED = _pipeline(reasons=REASONS)
RELAXED = _pipeline(require=False)

paths = st.sampled_from(["fire", "fire_to", "move", "bulk", "lose"])
blank_reasons = st.sampled_from([None, "", "   "])


def _deal(pipeline: Pipeline, advanced: bool) -> Opportunity:
    deal = pipeline.open(name="D", at=T0).entity
    return pipeline.fire(deal, "advance", at=T0).entity if advanced else deal


def _lose(pipeline: Pipeline, deal: Opportunity, path: str, target: str, reason: str | None):
    at = T0 + timedelta(days=1)
    if path == "fire":
        return pipeline.fire(deal, "drop", at=at, reason=reason).entity
    if path == "fire_to":
        return pipeline.fire(deal, "drop", to=target, at=at, reason=reason).entity
    if path == "move":
        return pipeline.move(deal, target, at=at, reason=reason).entity
    if path == "lose":
        return pipeline.lose(deal, reason=reason, at=at).entity  # type: ignore[arg-type]
    result = pipeline.bulk([deal], "drop", to=target, at=at, reason=reason)
    if result.failures:
        raise result.failures[0].error
    return result.moved[0]


@settings(max_examples=80, deadline=None)
@given(paths, st.booleans(), st.sampled_from(["lost", "junk"]), blank_reasons)
def test_losing_without_a_reason_is_refused_on_every_path(
    path: str, advanced: bool, target: str, reason: str | None
) -> None:
    deal = _deal(STRICT, advanced)
    with pytest.raises((InvalidTransition, ValidationError)) as caught:
        _lose(STRICT, deal, path, target, reason)
    assert "reason" in str(caught.value)
    # with a reason every path closes the deal as lost and keeps it
    lost = _lose(STRICT, deal, path, target, "budget cut")
    assert (lost.outcome, lost.lost_reason) == (Outcome.LOST, "budget cut")


@settings(max_examples=60, deadline=None)
@given(paths, st.sampled_from(["lost", "junk"]), st.text(min_size=1, max_size=30))
def test_only_listed_reasons_or_other_with_words_close_a_deal(
    path: str, target: str, reason: str
) -> None:
    deal = _deal(LISTED, True)
    head, sep, words = reason.partition(":")
    allowed = reason in REASONS or (head.strip() == "other" and bool(sep) and bool(words.strip()))
    if not reason.strip() and path == "lose":
        allowed = False
    try:
        lost = _lose(LISTED, deal, path, target, reason)
    except (InvalidTransition, ValidationError):
        assert not allowed
    else:
        assert allowed
        assert lost.lost_reason == reason


def test_a_refusal_names_the_allowed_reasons_and_the_nearest() -> None:
    deal = _deal(LISTED, True)
    with pytest.raises(InvalidTransition) as caught:
        LISTED.lose(deal, reason="too expensive", at=T0)
    message = str(caught.value)
    assert "did you mean 'Too expensive'?" in message
    assert "'other: <your words>'" in message
    assert LISTED.explain(deal, "drop", reason="other: went dark") is None
    assert LISTED.explain(deal, "drop") is not None


def test_a_pipeline_that_opts_out_loses_deals_without_a_reason() -> None:
    deal = _deal(RELAXED, True)
    for path in ("fire", "move", "bulk"):
        lost = _lose(RELAXED, deal, path, "lost", None)
        assert (lost.outcome, lost.lost_reason) == (Outcome.LOST, None)
    assert RELAXED.spec.as_dict()["require_lost_reason"] is False
    assert "require_lost_reason" not in STRICT.spec.as_dict()


def test_the_entity_refuses_to_become_lost_without_a_reason() -> None:
    deal = _deal(STRICT, False)
    with pytest.raises(ValidationError) as caught:
        deal.evolve(outcome="lost", probability=0, closed_at=T0)
    assert caught.value.paths == ("$.lost_reason",)
    lost = deal.evolve(outcome="lost", probability=0, closed_at=T0, lost_reason="price")
    assert lost.lost_reason == "price"
    opted_out = deal.evolve(outcome="lost", probability=0, closed_at=T0, lost_reason_optional=True)
    # a record stored lost without a reason stays editable
    assert opted_out.evolve(owner="ana").owner == "ana"


def test_bad_lost_reason_settings_are_reported_with_paths() -> None:
    with pytest.raises(PipelineDefinitionError) as caught:
        _pipeline(reasons=("price", "", "price"))
    assert caught.value.paths == ("$.lost_reasons[1]", "$.lost_reasons[2]")
