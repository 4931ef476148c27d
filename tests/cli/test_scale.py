"""``qualify`` streams: memory does not grow with the leads stored, and each batch is committed."""

from __future__ import annotations

import json
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import attrs
import pytest

import pipelinekit as pk
from pipelinekit.analytics import top_leads
from pipelinekit.cli import main
from pipelinekit.cli.commands import qualify as qualify_module
from pipelinekit.demo import demo_scorer
from pipelinekit.storage.sql import sqlite_storage

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TITLES = ("CTO", "VP Sales", "Head of IT", "Intern", "Data Analyst", "CEO", "Buyer")
INDUSTRIES = ("software", "fintech", "retail", "health", "energy", "media")


def _seed(path: Path, n: int) -> None:
    leads = [
        pk.Lead.create(
            contact=pk.Person.of(f"Person {i}", job_title=TITLES[i % 7]),
            company=pk.Company(
                f"Company {i % 101}",
                industry=INDUSTRIES[i % 6],
                employees=10 + (i % 40) * 37,  # few distinct values: the scorer caches per value
                country=("DE", "US", "FR")[i % 3],
            ),
            external_id=f"crm-{i}",
            custom={"bant.budget": ("low", "high", "medium")[i % 3]},
            at=T0,
        )
        for i in range(n)
    ]
    storage = sqlite_storage(path)
    with storage.unit_of_work() as uow:
        uow.leads.save_all(leads)
        uow.commit()
    storage.close()


def _qualify(path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    code = main(["--db", str(path), "qualify", "--as-of", "2026-02-01", "--json", *args])
    out, _ = capsys.readouterr()
    assert code == 0
    return json.loads(out)


def _peak(path: Path, capsys: pytest.CaptureFixture[str]) -> int:
    tracemalloc.start()
    try:
        _qualify(path, capsys, "--batch-size", "100", "--top", "5")
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_qualify_memory_does_not_grow_with_the_number_of_leads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small, large, warm = tmp_path / "small.db", tmp_path / "large.db", tmp_path / "warm.db"
    _seed(warm, 150)
    _seed(small, 600)
    _seed(large, 3000)
    _qualify(warm, capsys, "--batch-size", "100")  # imports and one-time set-up
    low, high = _peak(small, capsys), _peak(large, capsys)
    assert high <= 1.25 * low, (low, high)


def test_qualify_scores_every_open_lead_once_and_lists_the_best(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "crm.db"
    _seed(db, 250)
    report = _qualify(db, capsys, "--batch-size", "40", "--top", "7")
    storage = sqlite_storage(db)
    with storage.unit_of_work(read_only=True) as uow:
        leads = list(uow.leads.iterate())
    storage.close()
    assert report["scored"] == 250 == sum(report["verdicts"].values())
    assert all(lead.qualification is not None for lead in leads)
    # each lead's history is its entry into "new" at creation, then the move qualify made
    moved = sum(
        [c.event for c in lead.history][:1] == ["create"] and len(lead.history) == 2
        for lead in leads
    )
    assert sum(report["moves"].values()) == moved
    expected = [lead.to_dict() for lead in top_leads(leads, 7)]
    assert report["top_leads"] == json.loads(json.dumps(expected, default=str))


def test_an_interrupted_qualify_keeps_the_batches_it_finished(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "crm.db"
    _seed(db, 100)
    flush = qualify_module._Run.flush
    calls: list[int] = []

    def failing(self: object, uow: object, batch: list) -> None:
        calls.append(len(batch))
        if len(calls) == 3:
            raise KeyboardInterrupt
        flush(self, uow, batch)  # type: ignore[arg-type]

    monkeypatch.setattr(qualify_module._Run, "flush", failing)
    assert main(["--db", str(db), "qualify", "--batch-size", "30", "--json"]) != 0
    capsys.readouterr()
    storage = sqlite_storage(db)
    with storage.unit_of_work(read_only=True) as uow:
        scored = [lead for lead in uow.leads.iterate() if lead.qualification is not None]
        events = uow.events.read()
    storage.close()
    assert len(scored) == 60
    assert {e.entity_id for e in events} <= {lead.id for lead in scored}


def _state(path: Path) -> tuple[dict[str, int], int, int]:
    """Each lead's stored version, the stored results and the domain events."""
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        versions = dict(conn.execute("SELECT id, version FROM pipelinekit_leads").fetchall())
        results = conn.execute("SELECT count(*) FROM pipelinekit_qualification_results").fetchone()
        events = conn.execute("SELECT count(*) FROM pipelinekit_domain_events").fetchone()
    finally:
        conn.close()
    return versions, results[0], events[0]


def test_re_qualifying_leads_whose_result_did_not_change_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "crm.db"
    _seed(db, 120)
    first = _qualify(db, capsys, "--batch-size", "50")
    before = _state(db)
    # a month later nothing about the leads changed: the same results, nothing written
    again = main(["--db", str(db), "qualify", "--as-of", "2026-03-01", "--json"])
    second = json.loads(capsys.readouterr()[0])
    assert again == 0
    assert _state(db) == before
    assert second["unchanged"] == second["scored"] > 0
    assert first["unchanged"] == 0
    assert second["top_leads"] == first["top_leads"]
    # one lead's data changes: that lead alone is written again, with its new result
    scorer = demo_scorer()
    storage = sqlite_storage(db)
    with storage.unit_of_work() as uow:
        target, changed = next(
            (lead, other)
            for lead in uow.leads.iterate()
            if lead.status in qualify_module.OPEN_STATUSES and lead.contact is not None
            for title in ("CEO", "Intern")
            if (other := lead.evolve(contact=attrs.evolve(lead.contact, job_title=title))) != lead
            and scorer.evaluate(other, as_of=T0) != scorer.evaluate(lead, as_of=T0)
        )
        uow.leads.save(changed)
        uow.commit()
    storage.close()
    versions, results, _ = _state(db)
    third = main(["--db", str(db), "qualify", "--as-of", "2026-04-01", "--json"])
    report = json.loads(capsys.readouterr()[0])
    assert third == 0
    after, more_results, _ = _state(db)
    assert {k for k in after if after[k] != versions[k]} == {target.id}
    assert more_results == results + 1
    assert report["unchanged"] == report["scored"] - 1


def _seed_scored(path: Path, n: int) -> None:
    from pipelinekit.testing.contracts.samples import result

    leads = [
        pk.Lead.create(
            contact=pk.Person.of(f"Person {i}", job_title=TITLES[i % 7]),
            company=pk.Company(f"Company {i % 101}", industry=INDUSTRIES[i % 6]),
            source=pk.Source(("referral", "paid_ad", "website")[i % 3]),
            external_id=f"crm-{i}",
            at=T0,
        ).evolve(qualification=result((i * 37) % 101, as_of=T0))
        for i in range(n)
    ]
    storage = sqlite_storage(path)
    with storage.unit_of_work() as uow:
        uow.leads.save_all(leads)
        uow.commit()
    storage.close()


def _report_peak(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    tracemalloc.start()
    try:
        code = main(["--db", str(path), "report", "--json", "--top", "5"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 0
    return peak, json.loads(capsys.readouterr()[0])


def test_report_memory_does_not_grow_with_the_number_of_leads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small, large, warm = tmp_path / "small.db", tmp_path / "large.db", tmp_path / "warm.db"
    _seed_scored(warm, 100)
    _seed_scored(small, 600)
    _seed_scored(large, 3000)
    _report_peak(warm, capsys)  # imports and one-time set-up
    (low, few), (high, many) = _report_peak(small, capsys), _report_peak(large, capsys)
    assert (few["leads"], many["leads"]) == (600, 3000)
    assert [lead["score"] for lead in many["top_leads"]] == ["100"] * 5
    assert high <= 1.25 * low, (low, high)
