"""stage_bulk: one guarded event applied to many opportunities through the bulk path,
vs a hand-written plain-Python loop doing the same observable work.

Both sides: look the move up in a (stage, event) table, run the same guard
(``amount >= 1000`` on the qualification -> meeting move), refuse what fails
(recording index and reason), and produce for every moved entity an updated
record (stage, history with the new entry, updated_at, pipeline version,
layered probability and its source) as a *new* object.  Both share one
history entry per (source, target) pair: the entry is immutable on our side
and a tuple on the baseline's.
"""

from __future__ import annotations

import contextlib
import gc
import random
import time
import tracemalloc
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from _harness import Pair, benchmark
from statemachine import State, StateChart
from statemachine.exceptions import TransitionNotAllowed

from pipelinekit import Money, Opportunity
from pipelinekit._slots import replacer
from pipelinekit.pipelines import InvalidTransition, PipelineBuilder, compile_pipeline, guard

T0 = datetime(2026, 1, 1, tzinfo=UTC)
WHEN = datetime(2026, 6, 1, tzinfo=UTC)
OPEN = ("initial_contact", "qualification", "meeting", "proposal")
DEFAULTS = {
    "initial_contact": Decimal(10),
    "qualification": Decimal(20),
    "meeting": Decimal(40),
    "proposal": Decimal(60),
}


def _pipeline():  # type: ignore[no-untyped-def]
    builder = PipelineBuilder("bench")
    for key in OPEN:
        builder.stage(key, probability=DEFAULTS[key])
    builder.stage("closed_won", kind="won").stage("closed_lost", kind="lost")
    builder.transition("advance", "initial_contact", "qualification")
    builder.transition(
        "advance",
        "qualification",
        "meeting",
        guards=[guard("field_compare", field="amount", op=">=", value=1000)],
    )
    builder.transition("advance", "meeting", "proposal")
    builder.transition("win", "proposal", "closed_won")
    builder.transition("lose", "*", "closed_lost")
    return compile_pipeline(builder.build())


def _opportunities(n: int, pipeline: Any) -> list[Opportunity]:
    rng = random.Random(3)
    template = pipeline.open(name="Deal", amount=Money(1, "EUR"), at=T0).entity
    clone = replacer(
        Opportunity,
        ("id", "stage", "amount", "manual_probability", "probability", "probability_source"),
    )
    out = []
    for i in range(n):
        stage = rng.choice(OPEN[:3])
        amount = Money(Decimal(rng.randrange(0, 3000)), "EUR")
        manual = Decimal(rng.randrange(0, 100)) if rng.random() < 0.2 else None
        prob = manual if manual is not None else DEFAULTS[stage]
        source = "manual" if manual is not None else "stage_default"
        out.append(
            clone(
                template,
                f"opp-{i:07d}",
                stage,
                amount,
                manual,
                prob,
                template.probability_source.__class__(source),
            )
        )
    # The clones are valid by construction; prove it on a sample.
    for opp in out[:: max(1, n // 50)]:
        assert opp.evolve() == opp
    return out


def _records(opps: list[Opportunity]) -> list[dict[str, Any]]:
    return [
        {
            "id": o.id,
            "created_at": o.created_at,
            "updated_at": o.updated_at,
            "name": o.name,
            "pipeline": o.pipeline,
            "stage": o.stage,
            "pipeline_version": o.pipeline_version,
            "amount": (o.amount.amount, o.amount.currency) if o.amount else None,
            "probability": o.probability,
            "probability_source": o.probability_source.value,
            "manual_probability": o.manual_probability,
            "automated_probability": o.automated_probability,
            "outcome": "open",
            "closed_at": None,
            "history": tuple(
                (c.from_stage, c.to_stage, c.event, c.at, c.actor, c.note) for c in o.history
            ),
        }
        for o in opps
    ]


def _baseline(records: list[dict[str, Any]], version: str) -> Any:
    def amount_ok(rec: dict[str, Any]) -> bool:
        amount = rec["amount"]
        return amount is not None and amount[0] >= 1000

    table = {
        ("initial_contact", "advance"): ("qualification", None),
        ("qualification", "advance"): ("meeting", amount_ok),
        ("meeting", "advance"): ("proposal", None),
    }
    entries = {(s, t): (s, t, "advance", WHEN, "bot", None) for (s, _), (t, _) in table.items()}

    def run() -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
        moved: list[dict[str, Any]] = []
        failures: list[tuple[int, str]] = []
        for index, rec in enumerate(records):
            stage = rec["stage"]
            entry = table.get((stage, "advance"))
            if entry is None:
                failures.append((index, "invalid"))
                continue
            target, check = entry
            if check is not None and not check(rec):
                failures.append((index, "guard"))
                continue
            history = rec["history"]
            if history and history[-1][3] > WHEN:
                failures.append((index, "time"))
                continue
            if rec["manual_probability"] is not None:
                probability, source = rec["manual_probability"], "manual"
            elif rec["automated_probability"] is not None:
                probability, source = rec["automated_probability"], "automated"
            else:
                probability, source = DEFAULTS[target], "stage_default"
            new = dict(rec)
            new["stage"] = target
            new["history"] = (*history, entries[(stage, target)])
            new["updated_at"] = WHEN if rec["updated_at"] < WHEN else rec["updated_at"]
            new["pipeline_version"] = version
            new["probability"] = probability
            new["probability_source"] = source
            moved.append(new)
        return moved, failures

    return run


def _machine_cost(pipeline: Any, opps: list[Opportunity]) -> float:
    sample = opps[:2000]
    start = time.perf_counter()
    for opp in sample:
        with contextlib.suppress(InvalidTransition):  # refused moves are timed too
            pipeline.fire(opp, "advance", at=WHEN, actor="bot")
    return (time.perf_counter() - start) / len(sample) * 1e6


def _memory(pipeline: Any, opps: list[Opportunity]) -> dict[str, Any]:
    sample = opps[:100_000]
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    result = pipeline.bulk(sample, "advance", at=WHEN, actor="bot")
    kept, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    machines = sum(isinstance(o, StateChart) for o in gc.get_objects())
    moved = len(result.moved)
    return {
        "bulk_retained_bytes_per_moved_entity": round((kept - base) / max(moved, 1)),
        "bulk_peak_bytes_per_input_entity": round((peak - base) / len(sample)),
        "state_machine_objects_alive_after_bulk": machines,
    }


@benchmark(
    "stage_bulk",
    target=5.0,
    size=1_000_000,
    quick_size=10_000,
    baseline="hand-written loop: dict table, same guard, new dict record + history entry",
)
def stage_bulk(n: int) -> Pair:
    pipeline = _pipeline()
    opps = _opportunities(n, pipeline)
    records = _records(opps)
    baseline = _baseline(records, pipeline.version)
    ours = pipeline.bulk(opps, "advance", at=WHEN, actor="bot")
    theirs = baseline()
    # Both sides make the same decisions.
    assert len(ours.moved) == len(theirs[0])
    assert [f.index for f in ours.failures] == [i for i, _ in theirs[1]]
    assert [o.stage for o in ours.moved[:1000]] == [r["stage"] for r in theirs[0][:1000]]
    assert [o.probability for o in ours.moved[:1000]] == [
        r["probability"] for r in theirs[0][:1000]
    ]
    del ours, theirs

    def extra() -> dict[str, Any]:
        figures: dict[str, Any] = {
            "machine_path_us_per_entity": round(_machine_cost(pipeline, opps), 1),
        }
        figures.update(_memory(pipeline, opps))
        return figures

    return Pair(
        pipelinekit=lambda: pipeline.bulk(opps, "advance", at=WHEN, actor="bot"),
        baseline=baseline,
        extra=extra,
    )


# -- fire_one: one warm ``fire`` per deal, as a web request does it -------------------------------


class _BareChart(StateChart):  # type: ignore[misc]
    """The benchmark pipeline written by hand as a python-statemachine chart."""

    allow_event_without_transition = False
    catch_errors_as_events = False
    initial_contact = State(initial=True, value="initial_contact")
    qualification = State(value="qualification")
    meeting = State(value="meeting")
    proposal = State(value="proposal")
    closed_won = State(final=True, value="closed_won")
    closed_lost = State(final=True, value="closed_lost")
    advance = (
        initial_contact.to(qualification)
        | qualification.to(meeting, cond="amount_ok")
        | meeting.to(proposal)
    )
    win = proposal.to(closed_won)
    lose = (
        initial_contact.to(closed_lost)
        | qualification.to(closed_lost)
        | meeting.to(closed_lost)
        | proposal.to(closed_lost)
    )

    def amount_ok(self) -> bool:
        amount = self.model.record["amount"]
        return amount is not None and amount[0] >= 1000


class _Holder:
    __slots__ = ("record", "stage")

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record
        self.stage = record["stage"]


def _statemachine_loop(records: list[dict[str, Any]], version: str) -> Any:
    """One bare python-statemachine chart per deal, then the same new record as the bulk
    baseline builds."""

    def run() -> list[str | None]:
        out: list[str | None] = []
        for rec in records:
            holder = _Holder(rec)
            chart = _BareChart(model=holder, state_field="stage")
            try:
                chart.send("advance")
            except TransitionNotAllowed:
                out.append(None)
                continue
            history = rec["history"]
            if history and history[-1][3] > WHEN:
                out.append(None)
                continue
            target = holder.stage
            if rec["manual_probability"] is not None:
                probability, source = rec["manual_probability"], "manual"
            elif rec["automated_probability"] is not None:
                probability, source = rec["automated_probability"], "automated"
            else:
                probability, source = DEFAULTS[target], "stage_default"
            new = dict(rec)
            new["stage"] = target
            new["history"] = (*history, (rec["stage"], target, "advance", WHEN, "bot", None))
            new["updated_at"] = WHEN if rec["updated_at"] < WHEN else rec["updated_at"]
            new["pipeline_version"] = version
            new["probability"] = probability
            new["probability_source"] = source
            out.append(target)
        return out

    return run


def _fire_each(pipeline: Any, opps: list[Opportunity]) -> list[str | None]:
    out: list[str | None] = []
    for opp in opps:
        try:
            out.append(pipeline.fire(opp, "advance", at=WHEN, actor="bot").entity.stage)
        except InvalidTransition:
            out.append(None)
    return out


@benchmark(
    "fire_one",
    target=10.0,
    size=10_000,
    quick_size=1_000,
    baseline="the bulk path's per-deal time x deals (Pipeline.bulk on the same deals)",
)
def fire_one(n: int) -> Pair:
    pipeline = _pipeline()
    opps = _opportunities(n, pipeline)
    records = _records(opps)
    bare = _statemachine_loop(records, pipeline.version)
    # Warm: the pipeline is compiled and each path has run once.
    fired = _fire_each(pipeline, opps)
    bulk = pipeline.bulk(opps, "advance", at=WHEN, actor="bot")
    assert fired == bare()
    moved = iter(bulk.moved)
    refused = {f.index for f in bulk.failures}
    assert [None if i in refused else next(moved).stage for i in range(n)] == fired

    def extra() -> dict[str, Any]:
        rounds = []
        for _ in range(3):
            start = time.perf_counter()
            _fire_each(pipeline, opps)
            ours = time.perf_counter() - start
            start = time.perf_counter()
            bare()
            rounds.append((ours, time.perf_counter() - start))
        ours, theirs = sorted(rounds, key=lambda r: r[0] / r[1])[1]
        return {
            "fire_us_per_deal": round(ours / n * 1e6, 1),
            "bare_python_statemachine_us_per_deal": round(theirs / n * 1e6, 1),
            "fire_vs_bare_python_statemachine_ratio": round(ours / theirs, 3),
        }

    return Pair(
        pipelinekit=lambda: _fire_each(pipeline, opps),
        baseline=lambda: pipeline.bulk(opps, "advance", at=WHEN, actor="bot"),
        extra=extra,
    )
