"""arrow_roundtrip and score_table: the columnar boundary against the entity paths it replaces."""

from __future__ import annotations

import random
import statistics
import time
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from _harness import Pair, benchmark
from bench_qualification import AS_OF, sample_leads, strategy

import pipelinekit as pk
from pipelinekit.arrow import from_arrow, score_table, to_arrow
from pipelinekit.qualification import evaluate_many


def varied_leads(n: int, seed: int = 23) -> list[pk.Lead]:
    """The ICP benchmark's leads, with custom fields, engagement and stage history added."""
    rng = random.Random(seed)
    out = []
    for i, lead in enumerate(sample_leads(n, seed)):
        at = lead.created_at
        custom: dict[str, Any] = {}
        if i % 3:
            custom["seats"] = rng.randrange(1, 500)
        if i % 4 == 0:
            custom["budget"] = Decimal(rng.randrange(100, 10**6)).scaleb(-2)
        if i % 7 == 0:
            custom["renewal"] = date(2026, 1 + i % 12, 1 + i % 28)
        events = tuple(
            pk.Event("page_view", at + timedelta(hours=k), {"url": f"/p/{k}"}) for k in range(i % 3)
        )
        history = (pk.StageChange(None, "new", "create", at),)
        if i % 2:
            history += (pk.StageChange("new", "contacted", "contact", at + timedelta(days=1)),)
        out.append(
            lead.evolve(
                custom=custom,
                engagement=events,
                history=history,
                status=history[-1].to_stage,
                updated_at=at + timedelta(days=2),
                owner=rng.choice([None, "ana", "ben"]),
            )
        )
    return out


@benchmark(
    "arrow_roundtrip",
    target=1.0,
    size=100_000,
    quick_size=2_000,
    baseline="pipelinekit.to_dict + from_dict of the same leads (the row-wise format)",
)
def arrow_roundtrip(n: int) -> Pair:
    leads = varied_leads(n)
    assert from_arrow(to_arrow(leads)) == leads
    assert [pk.from_dict(pk.Lead, pk.to_dict(x)) for x in leads[:1000]] == leads[:1000]
    return Pair(
        pipelinekit=lambda: from_arrow(to_arrow(leads)),
        baseline=lambda: [pk.from_dict(pk.Lead, pk.to_dict(x)) for x in leads],
    )


@benchmark(
    "score_table",
    target=1.0,
    size=1_000_000,
    quick_size=2_000,
    # the ICP strategy is scored column-wise (rows grouped by what each criterion reads)
    baseline="ICP score_many on the same leads already built as entities",
    rounds=3,
)
def score_table_bench(n: int) -> Pair:
    icp = strategy()
    leads = sample_leads(n)
    table = to_arrow(leads)
    expected = icp.score_many(leads, as_of=AS_OF)
    scored = score_table(icp, table, as_of=AS_OF)
    assert scored["score"].to_pylist() == [None if s is None else str(s) for s in expected]
    # the column-wise path: verdicts, grades and coverage as evaluate_many's too
    some = min(n, 20_000)
    results = evaluate_many(icp, leads[:some], as_of=AS_OF)
    assert scored.slice(0, some).select(["verdict", "grade", "coverage"]).to_pylist() == [
        {"verdict": r.verdict.value, "grade": r.grade, "coverage": str(r.coverage)} for r in results
    ]

    stored = [pk.to_dict(x) for x in leads]

    def rows_per_second() -> dict[str, Any]:
        # also against the row-wise path from stored data: from_dict, then score_many
        def seconds(work: Any) -> float:
            began = time.perf_counter()
            work()
            return time.perf_counter() - began

        ours, rows = [], []
        for _ in range(3):
            ours.append(seconds(lambda: score_table(icp, table, as_of=AS_OF)))
            rows.append(
                seconds(
                    lambda: icp.score_many([pk.from_dict(pk.Lead, d) for d in stored], as_of=AS_OF)
                )
            )
        value = statistics.median(ours)
        return {
            "score_table_rows_per_second": round(n / value),
            "ratio_vs_from_dict_then_score_many": round(value / statistics.median(rows), 2),
        }

    return Pair(
        pipelinekit=lambda: score_table(icp, table, as_of=AS_OF),
        baseline=lambda: icp.score_many(leads, as_of=AS_OF),
        extra=rows_per_second,
    )


@benchmark(
    "dask_score",
    target=3.0,
    size=200_000,
    quick_size=2_000,
    # the figure that matters is the throughput; the target bounds Dask's overhead (pandas
    # partitions, scheduling) on two threads, which the GIL keeps from running Python at once
    baseline="score_table in one process on the same rows",
    rounds=3,
)
def dask_score(n: int) -> Pair:
    from pipelinekit.dask import score_dataframe, to_dask

    icp = strategy()
    leads = sample_leads(n)
    table = to_arrow(leads)
    frame = to_dask(leads, npartitions=4)

    def on_dask() -> Any:
        return score_dataframe(frame, icp, as_of=AS_OF).compute(scheduler="threads", num_workers=2)

    # the benchmark's ICP scores every lead: no nulls to compare across pandas and Arrow
    assert list(on_dask()["score"]) == score_table(icp, table, as_of=AS_OF)["score"].to_pylist()

    def rows_per_second() -> dict[str, Any]:
        began = time.perf_counter()
        on_dask()
        return {"dask_rows_per_second": round(n / (time.perf_counter() - began))}

    return Pair(
        pipelinekit=on_dask,
        baseline=lambda: score_table(icp, table, as_of=AS_OF),
        extra=rows_per_second,
    )
