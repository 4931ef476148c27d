"""``report_sql``: the pipeline report of a large SQLite database vs hand-written GROUP BY queries.

The file holds ``n`` leads (every lifecycle status, nine sources), one stage
history row each (a recorded creation, or a move from ``new`` whose creation
was not recorded) and a qualification result for one lead in ten.
pipelinekit's side is ``pipeline_report(uow)`` on a SQLite unit of work (the
storage counts, groups and ranks; only the best leads are loaded); the baseline
is hand-written ``sqlite3``: the same counts per status, furthest lifecycle step
per lead, leads per source, and the ten best leads loaded from their documents.
Both give the same figures (checked before timing).  The extra figures record
the peak memory of one report (Python allocations, tracemalloc) and the
process's peak RSS.  The file is built once per size with raw ``executemany``
and cached in the temp directory.
"""

from __future__ import annotations

import json
import random
import resource
import sqlite3
import tempfile
import tracemalloc
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from _harness import Pair, benchmark

import pipelinekit as pk
from pipelinekit.analytics import pipeline_report
from pipelinekit.storage.ports import result_fingerprint
from pipelinekit.storage.queries import micros
from pipelinekit.storage.sql import SCHEMA_VERSION, sqlite_storage
from pipelinekit.storage.sql.schema import ANALYTICS_COLUMNS
from pipelinekit.testing.contracts.samples import result

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
_CACHE = Path(tempfile.gettempdir()) / "pipelinekit-bench-report"
_FIXTURE_VERSION = SCHEMA_VERSION  # the storage schema it is built with (a new one: rebuilt)
STATUSES = ("new", "contacted", "nurturing", "qualified", "disqualified")
SOURCES = ("inbound_form", "website", "cold_email", "cold_call", "referral", "list", "event",
           "paid_ad", "social")  # fmt: skip
STEP = {"new": 0, "contacted": 1, "nurturing": 2, "qualified": 3}
TOP = 10


def report_fixture(n: int) -> Path:
    """A SQLite storage with ``n`` leads and their history (built once, cached)."""
    _CACHE.mkdir(exist_ok=True)
    path = _CACHE / f"report-{n}-v{_FIXTURE_VERSION}.db"
    if path.exists():
        return path
    partial = path.with_suffix(".building")
    partial.unlink(missing_ok=True)
    storage = sqlite_storage(partial)
    storage.engine  # noqa: B018 - creates the schema
    storage.close()
    rng = random.Random(9)
    template = pk.to_dict(pk.Lead.create(company=pk.Company("Acme"), at=T0))
    template.pop("qualification", None)
    results: dict[Decimal, dict[str, Any]] = {}
    conn = sqlite3.connect(partial, isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    columns = (
        "id, external_id, stage, pipeline, owner, lead_id, score, updated_us, version, doc, "
        + ", ".join(ANALYTICS_COLUMNS)
        + ", result_fp"
    )
    lead_sql = (
        f"INSERT INTO pipelinekit_leads ({columns}) "
        f"VALUES ({', '.join('?' * (11 + len(ANALYTICS_COLUMNS)))})"
    )
    hist_sql = (
        "INSERT INTO pipelinekit_lead_stage_changes (entity_id, seq, from_stage, to_stage, "
        "event, at_us, actor, note, pipeline) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    result_sql = (
        "INSERT INTO pipelinekit_qualification_results (subject_kind, subject_id, fingerprint, "
        "strategy, as_of_us, score, doc) VALUES ('lead', ?, ?, 'bant', ?, ?, ?)"
    )
    conn.execute("BEGIN")
    for start in range(0, n, 50_000):
        leads, history, stored = [], [], []
        for i in range(start, min(n, start + 50_000)):
            created = T0.timestamp() + i
            at = datetime.fromtimestamp(created, UTC)
            lead_id = f"lead-{i:08d}"
            status = rng.choice(STATUSES)
            source = rng.choice(SOURCES)
            change = (
                {"from_stage": None, "to_stage": "new", "event": "create"}
                if status == "new"
                else {"from_stage": "new", "to_stage": status, "event": "move"}
            )
            stamp = at.isoformat()
            record = {**change, "at": stamp, "actor": None, "note": None, "pipeline": None,
                      "from_pipeline": None}  # fmt: skip
            doc = {**template, "id": lead_id, "external_id": f"crm-{i}", "status": status,
                   "created_at": stamp, "updated_at": stamp, "history": [record],
                   "source": {"channel": source, "detail": None}}  # fmt: skip
            score = fp = None
            if rng.random() < 0.1:
                score = Decimal(rng.randrange(0, 10_000)) / 100
                body = results.get(score)
                if body is None:
                    body = results[score] = pk.to_dict(result(score, as_of=T0))
                fp = result_fingerprint(body)
                stored.append((lead_id, fp, micros(T0), float(score), json.dumps(body)))
            us = micros(at)
            leads.append(
                (lead_id, f"crm-{i}", status, None, None, None, None if score is None
                 else float(score), us, 1, json.dumps(doc), us, us, None, None, None, None,
                 None, source, fp)
            )  # fmt: skip
            history.append(
                (lead_id, 0, change["from_stage"], change["to_stage"], change["event"], us,
                 None, None, None)
            )  # fmt: skip
        conn.executemany(lead_sql, leads)
        conn.executemany(hist_sql, history)
        conn.executemany(result_sql, stored)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    partial.rename(path)
    return path


_LEVELS = """
SELECT level, count(*) FROM (
  SELECT max(max(CASE h.from_stage WHEN 'new' THEN 0 WHEN 'contacted' THEN 1
                     WHEN 'nurturing' THEN 2 WHEN 'qualified' THEN 3 END,
                 CASE h.to_stage WHEN 'new' THEN 0 WHEN 'contacted' THEN 1
                     WHEN 'nurturing' THEN 2 WHEN 'qualified' THEN 3 END)) AS level
  FROM pipelinekit_lead_stage_changes h GROUP BY h.entity_id
) WHERE level IS NOT NULL GROUP BY level
"""


def _figures(report: Any) -> dict[str, Any]:
    return {
        "leads": report["leads"],
        "status": report["status"],
        "funnel": report["funnel"],
        "sources": report["sources"],
        "top": report["top"],
    }


@benchmark(
    "report_sql",
    target=2.0,
    size=1_000_000,
    quick_size=5_000,
    baseline="hand-written GROUP BY queries (sqlite3) + the ten best leads' documents",
    rounds=3,
)
def report_sql(n: int) -> Pair:
    path = report_fixture(n)
    storage = sqlite_storage(path)

    def ours() -> Any:
        with storage.unit_of_work(read_only=True) as uow:
            return pipeline_report(uow, top=TOP)

    raw = sqlite3.connect(path)

    def theirs() -> dict[str, Any]:
        status = dict(raw.execute("SELECT stage, count(*) FROM pipelinekit_leads GROUP BY stage"))
        total = sum(status.values())
        at_level = [0] * 5
        for level, count in raw.execute(_LEVELS):
            at_level[level] += count
        entered = [total] + [sum(at_level[i:]) for i in range(1, 5)]
        funnel = {"new": entered[0], "contacted": entered[1], "qualified": entered[3],
                  "converted": 0}  # fmt: skip
        sources = dict(
            raw.execute("SELECT source, count(*) FROM pipelinekit_leads GROUP BY source")
        )
        top = []
        for lead_id, body in raw.execute(
            "SELECT l.id, r.doc FROM pipelinekit_leads l JOIN pipelinekit_qualification_results "
            "r ON r.subject_kind = 'lead' AND r.subject_id = l.id AND r.fingerprint = l.result_fp "
            "WHERE l.score IS NOT NULL ORDER BY l.score DESC, l.id LIMIT ?",
            (TOP,),
        ):
            scored = json.loads(body)
            top.append((lead_id, Decimal(scored["score"])))
        deals = raw.execute("SELECT count(*) FROM pipelinekit_opportunities").fetchone()[0]
        return {"leads": total, "deals": deals, "status": status, "funnel": funnel,
                "sources": sources, "top": top}  # fmt: skip

    def summary(report: Any) -> dict[str, Any]:
        return {
            "leads": report.leads,
            "deals": report.opportunities,
            "status": dict(report.lead_status),
            "funnel": {step.step: step.count for step in report.lead_funnel},
            "sources": {line.segment[0]: line.leads for line in report.by_source.lines},
            "top": [(lead.lead_id, lead.score) for lead in report.top_leads],
        }

    mine, baseline = summary(ours()), theirs()
    assert mine == baseline, (mine, baseline)

    def extra() -> dict[str, Any]:
        tracemalloc.start()
        ours()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return {
            "report_peak_traced_mb": round(peak / 2**20, 1),
            "process_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "funnel": mine["funnel"],
        }

    return Pair(ours, theirs, extra)
