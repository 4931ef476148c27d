"""Hypothesis strategies for pipeline definitions and the entities that move through them.

- :func:`pipeline_dicts` / :func:`pipeline_specs`: random *valid* pipeline
  definitions (every stage reachable, every open stage with a way to a
  closed one, guards drawn from the built-in registry).  Transitions into won
  stages use the event ``win`` and into lost stages ``lose``.
- :func:`opportunities_in`: opportunities placed in any stage of a compiled
  pipeline, consistent with that stage's kind (outcome, probability, closed_at).

Example::

    from hypothesis import given
    from pipelinekit.pipelines import compile_pipeline
    from pipelinekit.testing.pipelines import pipeline_specs

    @given(pipeline_specs())
    def test_every_spec_compiles(spec):
        compile_pipeline(spec)
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from ..domain.custom import FrozenMap
from ..domain.history import StageChange
from ..domain.ids import OpportunityId
from ..domain.money import Money
from ..domain.opportunities import Opportunity, Outcome
from ..pipelines import (
    Pipeline,
    PipelineSet,
    PipelineSpec,
    StageKind,
    compile_pipeline,
    lead_lifecycle,
    pipeline_from_dict,
    sales_pipeline,
)

__all__ = [
    "guard_dicts",
    "opportunities_in",
    "pipeline_dicts",
    "pipeline_sets",
    "pipeline_specs",
    "pipelines",
]

_EXTRA_EVENTS = ("advance", "skip", "back", "escalate", "review")


def guard_dicts() -> st.SearchStrategy[dict[str, Any]]:
    """Built-in guard definitions over ``amount`` and ``custom.flag`` / ``custom.seats``."""
    return st.one_of(
        st.builds(lambda: {"name": "field_present", "field": "amount"}),
        st.builds(lambda: {"name": "field_present", "field": "custom.flag"}),
        st.integers(0, 2000).map(
            lambda v: {"name": "field_compare", "field": "amount", "op": ">=", "value": v}
        ),
        st.integers(0, 50).map(
            lambda v: {"name": "field_compare", "field": "custom.seats", "op": "<", "value": v}
        ),
        st.booleans().map(
            lambda v: {"name": "field_compare", "field": "custom.flag", "op": "==", "value": v}
        ),
    )


@st.composite
def pipeline_dicts(
    draw: st.DrawFn,
    *,
    min_open: int = 1,
    max_open: int = 5,
    max_won: int = 2,
    max_lost: int = 2,
    max_extra_transitions: int = 6,
    guards: bool = True,
    key: str = "random",
) -> dict[str, Any]:
    """A random valid pipeline definition as plain data (see the module docs)."""
    n_open = draw(st.integers(min_open, max_open))
    n_won = draw(st.integers(1, max_won))
    n_lost = draw(st.integers(1, max_lost))
    opens = [f"s{i}" for i in range(n_open)]
    wons = [f"won{i}" for i in range(n_won)]
    losts = [f"lost{i}" for i in range(n_lost)]
    stages: list[dict[str, Any]] = [
        {
            "key": key,
            "probability": draw(st.integers(0, 100)),
            **({"rotting_days": draw(st.integers(1, 60))} if draw(st.booleans()) else {}),
        }
        for key in opens
    ]
    stages += [{"key": key, "kind": "won"} for key in wons]
    stages += [{"key": key, "kind": "lost"} for key in losts]
    guard_list = st.lists(guard_dicts(), max_size=2) if guards else st.just([])
    seen: set[tuple[str, str, str]] = set()
    transitions: list[dict[str, Any]] = []

    def add(event: str, source: str, target: str, with_guards: bool = True) -> None:
        if (event, source, target) in seen or source == target:
            return
        seen.add((event, source, target))
        item: dict[str, Any] = {"event": event, "source": source, "target": target}
        drawn = draw(guard_list) if with_guards else []
        if drawn:
            item["guards"] = drawn
        transitions.append(item)

    for a, b in itertools.pairwise(opens):
        add("advance", a, b)
    for won in wons:
        add("win", draw(st.sampled_from(opens)), won)
    add("win", opens[-1], wons[0])
    if draw(st.booleans()):
        lose_all: dict[str, Any] = {"event": "lose", "source": "*", "target": losts[0]}
        if draw(st.booleans()):
            lose_all["guards"] = [{"name": "lost_reason_given"}]
        transitions.append(lose_all)
        seen.update(("lose", s, losts[0]) for s in opens)
    for lost in losts:
        add("lose", draw(st.sampled_from(opens)), lost)
    # every open stage can close (directly or along the chain); add random extras
    for _ in range(draw(st.integers(0, max_extra_transitions))):
        event = draw(st.sampled_from(_EXTRA_EVENTS))
        add(event, draw(st.sampled_from(opens)), draw(st.sampled_from(opens)))
    for closed in wons + losts:
        if draw(st.booleans()):
            add("reopen", closed, draw(st.sampled_from(opens)), with_guards=False)
    return {"key": key, "stages": stages, "transitions": transitions}


def pipeline_specs(**kwargs: Any) -> st.SearchStrategy[PipelineSpec]:
    """Random valid :class:`PipelineSpec` values (arguments as for :func:`pipeline_dicts`)."""
    return pipeline_dicts(**kwargs).map(pipeline_from_dict)


def pipelines(**kwargs: Any) -> st.SearchStrategy[Pipeline]:
    """Compiled pipelines: the built-in sales pipeline or a random valid one.

    Random ones are compiled with the default guard registry (arguments as for
    :func:`pipeline_dicts`).
    """
    return st.one_of(st.just(sales_pipeline()), pipeline_specs(**kwargs).map(compile_pipeline))


@st.composite
def pipeline_sets(draw: st.DrawFn, *, max_size: int = 3) -> PipelineSet:
    """A :class:`PipelineSet` of up to ``max_size`` random pipelines with distinct keys,
    with or without the lead lifecycle."""
    count = draw(st.integers(1, max_size))
    members = [compile_pipeline(draw(pipeline_specs(key=f"pipeline_{n}"))) for n in range(count)]
    lifecycle = lead_lifecycle() if draw(st.booleans()) else None
    return PipelineSet(*members, lifecycle=lifecycle)


_START = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def opportunities_in(
    draw: st.DrawFn, pipeline: Pipeline, *, stage: str | None = None
) -> Opportunity:
    """An opportunity of ``pipeline`` in ``stage`` (or any stage), consistent with its kind,
    with random amount, ``custom.flag`` / ``custom.seats`` and probability layers."""
    key = stage if stage is not None else draw(st.sampled_from(pipeline.spec.stage_keys))
    spec = pipeline.stages[key]
    created = _START + timedelta(minutes=draw(st.integers(0, 10_000)))
    amount = draw(st.none() | st.integers(0, 3000).map(lambda v: Money(Decimal(v), "EUR")))
    custom: dict[str, Any] = {}
    if draw(st.booleans()):
        custom["flag"] = draw(st.booleans())
    if draw(st.booleans()):
        custom["seats"] = draw(st.integers(0, 60))
    manual = draw(st.none() | st.integers(0, 100).map(Decimal))
    automated = draw(st.none() | st.integers(0, 100).map(Decimal))
    probability, source = spec.effective_probability(manual, automated)
    entered = StageChange(None, key, "open", created, None, None, pipeline.key)
    outcome = {StageKind.OPEN: Outcome.OPEN, StageKind.WON: Outcome.WON}.get(
        spec.kind, Outcome.LOST
    )
    return Opportunity(
        id=OpportunityId(f"opp-{draw(st.integers(0, 10**9))}"),
        created_at=created,
        updated_at=created,
        name="Deal",
        pipeline=pipeline.key,
        stage=key,
        pipeline_version=pipeline.version,
        amount=amount,
        probability=probability,
        probability_source=source,
        manual_probability=manual,
        automated_probability=automated,
        outcome=outcome,
        closed_at=created if spec.is_closed else None,
        lost_reason="price" if spec.kind is StageKind.LOST else None,
        history=(entered,),
        custom=FrozenMap(custom),
    )
