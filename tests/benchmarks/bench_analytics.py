"""Analytics benchmarks: the funnel in SQLite and the forecast in memory, against hand-written code.

* ``funnel_sql``: the funnel of the sales pipeline over ``n`` opportunities with
  stage history (1-5 rows each) in a SQLite file, through
  ``pipelinekit.analytics.funnel`` on a SQLite unit of work (the database
  aggregates, through the adapter's AnalyticsQueries) vs one hand-written SQL query
  (``sqlite3``) computing the same per-deal furthest step and grouping it; both
  end with the same entered counts (checked before timing).  The file is built
  once per size with raw ``executemany`` and cached in the temp directory.
* ``forecast_memory``: the weighted forecast by category of ``n`` in-memory
  opportunities vs a hand-written loop producing the same figures (open deals,
  open amount, weighted amount, won deals, booked amount, lost deals per
  category and currency).
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from _harness import Pair, benchmark

import pipelinekit as pk
from pipelinekit import analytics
from pipelinekit.pipelines import sales_pipeline
from pipelinekit.storage.queries import micros
from pipelinekit.storage.sql import SCHEMA_VERSION, sqlite_storage
from pipelinekit.storage.sql.schema import AMOUNT_SCALE, ANALYTICS_COLUMNS

SALES = sales_pipeline()
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
OPEN = ("initial_contact", "qualification", "meeting", "proposal")
_CACHE = Path(tempfile.gettempdir()) / "pipelinekit-bench-analytics"
_FIXTURE_VERSION = SCHEMA_VERSION  # the storage schema it is built with (a new one: rebuilt)


def _walk(rng: random.Random) -> list[str]:
    """A deal's stage path: forward through the open stages, sometimes skipping, then closing."""
    path = ["initial_contact"]
    step = 0
    while True:
        roll = rng.random()
        if roll < 0.25:
            return path  # still open
        if roll < 0.45:
            return [*path, "closed_lost"]
        if step == 3:
            return [*path, "closed_won"]
        step = min(3, step + (2 if rng.random() < 0.1 else 1))  # 10 % skip a stage
        path.append(OPEN[step])


def funnel_fixture(n: int) -> Path:
    """A SQLite storage holding ``n`` opportunities with history (built once, cached)."""
    _CACHE.mkdir(exist_ok=True)
    path = _CACHE / f"funnel-{n}-v{_FIXTURE_VERSION}.db"
    if path.exists():
        return path
    partial = path.with_suffix(".building")
    partial.unlink(missing_ok=True)
    storage = sqlite_storage(partial)
    storage.engine  # noqa: B018 - creates the schema
    storage.close()
    rng = random.Random(6)
    conn = sqlite3.connect(partial, isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    columns = (
        "id, external_id, stage, pipeline, owner, lead_id, score, updated_us, version, doc, "
        + ", ".join(ANALYTICS_COLUMNS)
    )
    opp_sql = (
        f"INSERT INTO pipelinekit_opportunities ({columns}) "
        f"VALUES ({', '.join('?' * (10 + len(ANALYTICS_COLUMNS)))})"
    )
    hist_sql = (
        "INSERT INTO pipelinekit_opportunity_stage_changes (entity_id, seq, from_stage, "
        "to_stage, event, at_us, actor, note, pipeline) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    conn.execute("BEGIN")
    for start in range(0, n, 50_000):
        opps: list[tuple[Any, ...]] = []
        history: list[tuple[Any, ...]] = []
        for i in range(start, min(n, start + 50_000)):
            walk = _walk(rng)
            created = micros(T0) + i * 1_000_000
            at = created
            entity_id = f"opp-{i:08d}"
            for seq, stage in enumerate(walk):
                before = walk[seq - 1] if seq else None
                history.append((entity_id, seq, before, stage, "move", at, None, None, None))
                at += rng.randrange(1, 20) * 86_400_000_000
            stage = walk[-1]
            probability = SALES.stages[stage].probability
            amount = rng.randrange(1_000, 100_000)
            opps.append(
                (
                    entity_id, None, stage, "sales", f"rep{i % 20}", None, float(probability),
                    at, 1, "{}", created, at, amount * AMOUNT_SCALE, str(amount), "EUR",
                    str(probability), None, None,
                )
            )  # fmt: skip
        conn.executemany(opp_sql, opps)
        conn.executemany(hist_sql, history)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    partial.rename(path)
    return path


_BASELINE_FUNNEL = """
SELECT level, code, count(*) FROM (
  SELECT CASE WHEN o.stage = 'closed_won' THEN 4
              ELSE max(CASE h.to_stage WHEN 'initial_contact' THEN 0 WHEN 'qualification' THEN 1
                                       WHEN 'meeting' THEN 2 WHEN 'proposal' THEN 3 END)
         END AS level,
         CASE o.stage WHEN 'closed_won' THEN 1 WHEN 'closed_lost' THEN 2 ELSE 0 END AS code
  FROM pipelinekit_opportunities o
  JOIN pipelinekit_opportunity_stage_changes h ON h.entity_id = o.id
  WHERE o.pipeline = 'sales'
  GROUP BY o.id
) WHERE level IS NOT NULL GROUP BY level, code
"""


@benchmark(
    "funnel_sql",
    target=2.0,
    size=1_000_000,
    quick_size=5_000,
    baseline="one hand-written SQL query (sqlite3) + the same cumulative counts",
    rounds=3,
)
def funnel_sql(n: int) -> Pair:
    path = funnel_fixture(n)
    storage = sqlite_storage(path)

    def ours() -> dict[str, int]:
        with storage.unit_of_work(read_only=True) as uow:
            return analytics.funnel(uow, SALES).entered()

    raw = sqlite3.connect(path)

    def theirs() -> dict[str, int]:
        at_level = [0] * 5
        for level, _code, count in raw.execute(_BASELINE_FUNNEL):
            at_level[level] += count
        keys = (*OPEN, "closed_won")
        return {key: sum(at_level[i:]) for i, key in enumerate(keys)}

    assert ours() == theirs(), (ours(), theirs())
    return Pair(ours, theirs, lambda: {"entered": ours()})


def _deals(n: int) -> list[pk.Opportunity]:
    """``n`` opportunities in every stage, built from a few validated templates."""
    rng = random.Random(7)
    templates = []
    for stage in (*OPEN, "closed_won", "closed_lost"):
        base = SALES.open(name="deal", amount=pk.Money(1, "EUR"), at=T0).entity
        spec = SALES.stages[stage]
        outcome = spec.kind.value
        templates.append(
            base.evolve(
                stage=stage,
                probability=spec.probability,
                outcome=outcome,
                closed_at=T0 if outcome != "open" else None,
                lost_reason="x" if outcome == "lost" else None,
                owner="ana",
            )
        )
    amounts = [
        pk.Money(Decimal(rng.randrange(100_000, 10_000_000)) / 100, "EUR") for _ in range(997)
    ]
    new, setattr_ = object.__new__, object.__setattr__
    names = [a.name for a in pk.Opportunity.__attrs_attrs__]
    out = []
    for i in range(n):
        template = templates[rng.randrange(len(templates))]
        deal = new(pk.Opportunity)
        for name in names:
            setattr_(deal, name, getattr(template, name))
        setattr_(deal, "amount", amounts[i % len(amounts)])
        setattr_(deal, "id", f"opp-{i}")
        out.append(deal)
    return out


@benchmark(
    "forecast_memory",
    target=2.0,
    size=1_000_000,
    quick_size=20_000,
    baseline="a hand-written loop summing the same figures per category and currency",
)
def forecast_memory(n: int) -> Pair:
    deals = _deals(n)
    spec = SALES.spec

    def ours() -> Any:
        return analytics.forecast(deals, SALES, by="category")

    categories = {s.key: s.forecast for s in spec.stages}
    kinds = {s.key: s.kind.value for s in spec.stages}
    hundred = Decimal(100)

    def theirs() -> dict[tuple[str, str | None], list[Any]]:
        sums: dict[tuple[str, str | None], list[Any]] = {}
        for deal in deals:
            amount = deal.amount
            key = (categories[deal.stage], None if amount is None else amount.currency)
            slot = sums.get(key)
            if slot is None:
                slot = sums[key] = [0, Decimal(0), Decimal(0), 0, Decimal(0), 0]
            kind = kinds[deal.stage]
            if kind == "open":
                slot[0] += 1
                if amount is not None:
                    slot[1] += amount.amount
                    slot[2] += amount.amount * deal.probability / hundred
            elif kind == "won":
                slot[3] += 1
                if amount is not None:
                    slot[4] += amount.amount
            else:
                slot[5] += 1
        return sums

    mine = {
        (line.key[0], line.currency): [
            line.open_deals, line.open_amount, line.weighted,
            line.won_deals, line.booked, line.lost_deals,
        ]
        for line in ours()
    }  # fmt: skip
    assert mine == theirs(), (mine, theirs())
    return Pair(ours, theirs, lambda: {"weighted": str(ours().total())})
