"""Predictive scoring, training from SQLite and a two-strategy backtest, against baselines.

* ``predictive_score``: 100k leads, six fields and tags, scored by the trained
  naive Bayes model vs a hand-written dictionary-lookup naive Bayes over the same
  frequency table (same Decimal arithmetic, same rounding: same scores).
* ``predictive_train``: the table built from closed deals stored in SQLite
  (``uow.frequencies.rebuild`` over ``uow.opportunities.iterate()``) vs one
  hand-written ``GROUP BY`` per field over the same rows (json_extract).
* ``backtest_100k``: a backtest of two strategies over 100k leads vs scoring the
  same snapshots alone with both strategies (what the metrics add on top).
"""

from __future__ import annotations

import decimal
import random
import tempfile
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from _harness import Pair, benchmark

import pipelinekit as pk
from pipelinekit.qualification import predictive

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
STAGES = ("new", "qualified", "proposal", "negotiation")
FIELDS = (
    "email_quality",
    "phone_quality",
    "company.country",
    "company.industry",
    "source.channel",
    "owner",
    "tags",
)
_COUNTRIES = ["DE", "FR", "US", "GB", "BE", "NL", "ES", "IT", None]
_INDUSTRIES = ["software", "retail", "fintech", "health", "logistics", None]
_OWNERS = ["ann", "bob", "kim", "lee", None]
_TAGS = ["vip", "webinar", "trial", "partner", "inbound", "event"]
_CHANNELS = list(pk.Channel)


def _attributes(rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "contact": pk.Person(
            name=f"Person {i}",
            email=pk.EmailAddress(f"p{i}@c{i % 997}.example.com") if rng.random() < 0.8 else None,
            phone=pk.PhoneNumber(f"+3225{i % 1000000:06d}") if rng.random() < 0.5 else None,
        ),
        "company": pk.Company(
            f"Company {i % 997}",
            industry=rng.choice(_INDUSTRIES),
            country=rng.choice(_COUNTRIES),
        ),
        "owner": rng.choice(_OWNERS),
        "tags": frozenset(rng.sample(_TAGS, rng.randrange(0, 3))),
    }


def closed_deals(n: int, seed: int = 5) -> list[pk.Opportunity]:
    """Closed deals whose outcome depends on their attributes (about 1 in 4 won)."""
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        at = start + timedelta(minutes=i)
        attrs = _attributes(rng, i)
        lean = (
            0.15 + 0.2 * (attrs["company"].country in ("DE", "NL")) + 0.1 * ("vip" in attrs["tags"])
        )
        won = rng.random() < lean
        deal = pk.Opportunity.create(
            name=f"deal {i}",
            pipeline="sales",
            stage=STAGES[-1] if won else rng.choice(STAGES),
            at=at,
            external_id=f"d-{i}",
            **attrs,
        )
        if won:
            out.append(deal.evolve(outcome="won", probability=100, closed_at=at))
        else:
            out.append(
                deal.evolve(outcome="lost", lost_reason="price", probability=0, closed_at=at)
            )
    return out


def open_leads(n: int, seed: int = 7) -> list[pk.Lead]:
    rng = random.Random(seed)
    start = datetime(2025, 10, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        at = start + timedelta(minutes=i)
        attrs = _attributes(rng, i)
        out.append(
            pk.Lead(
                id=pk.LeadId(f"lead-{i:07d}"),
                created_at=at,
                updated_at=at,
                source=pk.Source(rng.choice(_CHANNELS)),
                **attrs,
            )
        )
    return out


def trained_model(deals: int = 20_000) -> Any:
    # deals carry no source: train the channel from leads-like rows as well
    model = predictive(stages=STAGES, fields=FIELDS, tag_minimum=50)
    model.learn(closed_deals(deals))
    rng = random.Random(3)
    for channel in _CHANNELS:  # every channel seen closed, won and lost
        for won in (True, False):
            for _ in range(rng.randrange(5, 40)):
                lead = pk.Lead.create(company=pk.Company("X"), source=pk.Source(channel), at=AS_OF)
                model.record(lead, won=won, stage=STAGES[0])
    return model


# -- the baseline: naive Bayes by dictionary lookups over the same table -----------------

_CTX = decimal.Context(prec=40)
_CENT = Decimal("0.01")
_LOW, _HIGH = Decimal("0.01"), Decimal("99.99")


class PlainNaiveBayes:
    """Odoo's formula, written directly: products of ratios, no breakdown."""

    def __init__(self, rows: list[Any]) -> None:
        table: dict[str, dict[str, tuple[Decimal, Decimal]]] = defaultdict(dict)
        closed: dict[tuple[str, str], int] = defaultdict(int)
        for r in rows:
            won, lost = table[r.field].get(r.value, (Decimal(0), Decimal(0)))
            table[r.field][r.value] = (won + r.won, lost + r.lost)
            closed[(r.field, r.value)] += r.closed
        self.table = table
        self.closed = closed
        self.totals = {
            f: (sum(c[0] for c in col.values()), sum(c[1] for c in col.values()))
            for f, col in table.items()
        }

    def score(self, lead: pk.Lead) -> Decimal | None:
        stages = self.table["stage"]
        w, lost = stages[STAGES[0]]
        with decimal.localcontext(_CTX):
            s_won, s_lost = w / (w + lost), lost / (w + lost)
            sw, sl = stages[STAGES[0]]
            s_won *= sw / w
            s_lost *= sl / lost
            contact, company = lead.contact, lead.company
            pairs = [
                ("email_quality", "correct" if contact and contact.email else "false"),
                ("phone_quality", "correct" if contact and contact.phone else "false"),
            ]
            if company is not None and company.country:
                pairs.append(("company.country", company.country))
            if company is not None and company.industry:
                pairs.append(("company.industry", company.industry))
            if lead.source is not None:
                pairs.append(("source.channel", lead.source.channel.value))
            if lead.owner:
                pairs.append(("owner", lead.owner))
            for tag in sorted(lead.tags):
                if self.closed[("tags", tag)] >= 50:
                    pairs.append(("tags", tag))
            for field, value in pairs:
                counts = self.table.get(field, {}).get(value)
                total_w, total_l = self.totals.get(field, (0, 0))
                if counts is None or not total_w or not total_l:
                    continue
                s_won *= counts[0] / total_w
                s_lost *= counts[1] / total_l
            p = (100 * s_won / (s_won + s_lost)).quantize(_CENT)
        return min(max(p, _LOW), _HIGH)


def _check_scores(model: Any, plain: PlainNaiveBayes, leads: list[pk.Lead]) -> None:
    ours = model.score_many(leads, as_of=AS_OF)
    theirs = [plain.score(lead) for lead in leads]
    # The model sums exact log-odds (rounded to 12 places) and the baseline multiplies
    # ratios: the two agree to the cent except where a score sits on a rounding edge.
    differ = [(a, b) for a, b in zip(ours, theirs, strict=True) if a != b]
    assert all(abs(a - b) <= _CENT for a, b in differ), differ[:5]
    assert len(differ) <= len(leads) // 1000, (len(differ), differ[:5])


@benchmark(
    "predictive_score",
    target=2.0,
    size=100_000,
    quick_size=5_000,
    baseline="hand-written dictionary-lookup naive Bayes over the same frequency table",
)
def predictive_score(n: int) -> Pair:
    model = trained_model()
    plain = PlainNaiveBayes(model.table.rows())
    leads = open_leads(n)
    _check_scores(model, plain, leads[:3000])
    return Pair(
        pipelinekit=lambda: model.score_many(leads, as_of=AS_OF),
        baseline=lambda: [plain.score(lead) for lead in leads],
    )


# -- predictive_train: the table from closed deals stored in SQLite ------------------------


def _plain_train(path: Path, model: Any) -> list[tuple[str, str, Decimal, Decimal, int]]:
    """One GROUP BY per field over the stored documents, the stage rules applied by hand."""
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        t = "pipelinekit_opportunities"
        counts: dict[tuple[str, str], list[Any]] = {}

        def add(field: str, value: str, won: int, lost: int) -> None:
            row = counts.setdefault((field, value), [Decimal("0.1"), Decimal("0.1"), 0])
            row[0] += won
            row[1] += lost
            row[2] += won + lost

        outcome = "json_extract(doc, '$.outcome')"
        tally = f"sum({outcome} = 'won'), sum({outcome} = 'lost')"
        closed = f"{outcome} in ('won', 'lost')"
        paths = {
            "company.country": "$.company.country",
            "company.industry": "$.company.industry",
            "owner": "$.owner",
        }
        for field, path in paths.items():
            sql = (
                f"SELECT json_extract(doc, '{path}') v, {tally} FROM {t} "
                f"WHERE {closed} AND v IS NOT NULL AND trim(v) != '' GROUP BY v"
            )
            for value, won, lost in conn.execute(sql):
                add(field, str(value), won, lost)
        for field, path in (
            ("email_quality", "$.contact.email"),
            ("phone_quality", "$.contact.phone"),
        ):
            sql = (
                f"SELECT json_extract(doc, '{path}') IS NOT NULL v, {tally} FROM {t} "
                f"WHERE {closed} GROUP BY v"
            )
            for value, won, lost in conn.execute(sql):
                add(field, "correct" if value else "false", won, lost)
        sql = (
            f"SELECT j.value, {tally} FROM {t}, json_each({t}.doc, '$.tags') j "
            f"WHERE {closed} GROUP BY j.value"
        )
        for value, won, lost in conn.execute(sql):
            add("tags", str(value), won, lost)
        sql = f"SELECT stage, {tally} FROM {t} WHERE {closed} GROUP BY stage"
        by_stage = {stage: (won, lost) for stage, won, lost in conn.execute(sql)}
        won_all = sum(w for w, _ in by_stage.values())
        for i, stage in enumerate(STAGES):
            lost_here = sum(by_stage.get(s, (0, 0))[1] for s in STAGES[i:])
            add("stage", stage, won_all, lost_here)
    finally:
        conn.close()
    return sorted((f, v, w, lo, c) for (f, v), (w, lo, c) in counts.items())


@benchmark(
    "predictive_train",
    target=2.0,
    size=1_000_000,
    quick_size=5_000,
    baseline="one hand-written SQLite GROUP BY per field (json_extract) over the same rows",
    rounds=3,
)
def predictive_train(n: int) -> Pair:
    from pipelinekit.storage.sql import sqlite_storage

    path = Path(tempfile.mkdtemp()) / "train.db"
    storage = sqlite_storage(path)
    deals = closed_deals(n)
    with storage.unit_of_work() as uow:
        for start in range(0, n, 20_000):
            uow.opportunities.save_all(deals[start : start + 20_000])
        uow.commit()
    del deals
    model = predictive(stages=STAGES, fields=[f for f in FIELDS if f != "source.channel"])

    def ours() -> list[tuple[str, str, Decimal, Decimal, int]]:
        with storage.unit_of_work() as uow:
            uow.frequencies.rebuild(model, uow.opportunities.iterate(batch=5000))
            rows = uow.frequencies.rows(model.name)
            uow.commit()
        return sorted((r.field, r.value, r.won, r.lost, r.closed) for r in rows)

    assert ours() == _plain_train(path, model)
    return Pair(pipelinekit=ours, baseline=lambda: _plain_train(path, model))


# -- backtest_100k: two strategies over 100k leads -----------------------------------------


@benchmark(
    "backtest_100k",
    target=3.0,
    size=100_000,
    quick_size=5_000,
    baseline="scoring the same point-in-time snapshots with both strategies, no metrics",
    rounds=3,
)
def backtest_100k(n: int) -> Pair:
    from bench_qualification import strategy as icp_strategy

    from pipelinekit.backtest import backtest, lead_as_of

    deals = closed_deals(5_000)
    model = predictive(stages=STAGES, fields=FIELDS)
    icp = icp_strategy()
    rng = random.Random(9)
    split = datetime(2026, 3, 1, tzinfo=UTC)
    leads = []
    for lead in open_leads(n):
        if rng.random() < 0.04:  # about 1 in 25 converts, after the split
            when = split + timedelta(days=3)
            lead = lead.evolve(
                status="converted",
                history=(pk.StageChange("new", "converted", "convert", when),),
                updated_at=when,
            )
        leads.append(lead)
    trained = model.untrained()
    trained.learn(deals)

    def snapshots_scored() -> list[Any]:
        snaps = [s for s in (lead_as_of(lead, split) for lead in leads) if s is not None]
        return [s.score_many(snaps, as_of=split) for s in (trained, icp)]

    def ours() -> Any:
        return backtest([model, icp], leads, split=split, deals=deals)

    report = ours()
    assert report.leads == n
    assert len(report.metrics) == 2
    return Pair(pipelinekit=ours, baseline=snapshots_scored)
