"""Erasure leaves no copy behind: every text-bearing field, every raw copy of the data.

A distinctive string (the person's email address, and a marker repeating it) is
planted in every field that can hold text: tags, custom keys and values,
notes, stage-history notes and actors, probability-history actors, the
source's detail, external ids, engagement event properties, event payloads,
stored qualification results (breakdown reasons and observed values), an
opportunity's name, lost reason and competitor.  After the erasure the scan
reads what a thief would: the SQLite file and its ``-wal``/``-journal`` files
as bytes, and every column of every row of every pipelinekit table on
PostgreSQL (entities, stage changes, probability changes, results, events).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from pipelinekit import (
    BreakdownLine,
    CriterionStatus,
    Event,
    FrozenMap,
    Outcome,
    ProbabilityChange,
    StageChange,
    to_dict,
)
from pipelinekit.domain import Channel, Source
from pipelinekit.storage import EventRecord, Storage
from pipelinekit.testing.contracts.samples import at, lead, opportunity, prospect, result

from .conftest import postgres_url, unique_prefix

EMAIL = "zq7@x.example"
NAME = "Zora Quill"
PHONE = "+44 20 7946 0999"
#: Every planted value repeats one of the person's strings; none must survive.
SECRETS = [EMAIL, NAME, "7946 0999"]
#: Another person's data, planted the same way: it must survive (the scan sees data).
KEPT = "kim9@y.example"


def _model() -> Any:
    from pipelinekit.qualification import predictive

    return predictive("tags-model", stages=["qualification"], fields=["tags", "custom.memo"])


_MODEL = _model()


def _planted(tag: str) -> str:
    return f"{tag} {EMAIL}"


def _fill(storage: Storage, *, erase: bool = True) -> str:
    from pipelinekit import Person

    person = Person.of(NAME, email=EMAIL, phone=PHONE, job_title="CTO")
    findings = result(40, as_of=at(8))
    findings = attrs.evolve(
        findings,
        breakdown=(
            BreakdownLine(
                "budget", CriterionStatus.MATCH, Decimal(30), _planted("why"), observed=EMAIL
            ),
            BreakdownLine("need", CriterionStatus.PARTIAL, Decimal(10), f"asked {NAME}"),
        ),
    )
    other = lead(9, tags={f"mail:{KEPT}"}, notes=f"write to {KEPT}")
    pros = prospect(7, person=person, notes=_planted("prospect note"), tags={f"mail:{EMAIL}"})
    pros = pros.evolve(custom=FrozenMap({"contact_hint": _planted("hint"), EMAIL: "key"}))
    opp = opportunity(
        7,
        name=f"Deal with {NAME}",
        contact=person,
        tags={f"mail:{EMAIL}", "vip"},
        custom=FrozenMap({"memo": _planted("memo"), "seats": 3}),
        notes=_planted("opportunity note"),
        external_id=f"deal-{EMAIL}",
        probability_history=(
            ProbabilityChange("manual", None, Decimal(20), at(8), actor=_planted("rep")),
        ),
    )
    opp = opp.evolve(
        history=(
            *opp.history,
            StageChange(
                "qualification",
                "closed_lost",
                "lose",
                at(9),
                actor=_planted("actor"),
                note=_planted("lost note"),
                pipeline="sales",
            ),
        ),
        stage="closed_lost",
        outcome=Outcome.LOST,
        closed_at=at(9),
        probability=Decimal(0),
        lost_reason=_planted("reason"),
        competitor=f"{NAME}'s cousin",
    )
    person_lead = lead(
        7,
        contact=person,
        source=Source(Channel.INBOUND_FORM, detail=_planted("form")),
        tags={f"mail:{EMAIL}", "vip", PHONE},
        custom=FrozenMap({"memo": _planted("memo"), "plan": "gold", f"alt {EMAIL}": 1}),
        external_id=EMAIL,
        notes=_planted("lead note"),
        engagement=(
            Event("form", at(8), FrozenMap({"email": EMAIL, "summary": _planted("summary")})),
        ),
        history=(StageChange(None, "new", "create", at(8), actor=_planted("a"), note=NAME),),
        qualification=findings,
        prospect_id=pros.id,
        opportunity_id=opp.id,
    )
    opp = opp.evolve(lead_id=person_lead.id, prospect_id=pros.id)
    with storage.unit_of_work() as uow:
        uow.leads.save_all([other, *(lead(n) for n in range(20) if n not in (7, 9))])
        saved = uow.leads.save(person_lead)
        uow.prospects.save(pros)
        uow.opportunities.save(opp)
        uow.results.add("opportunity", opp.id, findings)
        # A predictive model counted the lost deal's tags (one repeats the email) and is
        # not followed by the unit of work that erases: its stored rows must be scrubbed too.
        uow.frequencies.record(_MODEL, opp, won=False)
        uow.frequencies.record(_MODEL, opportunity(8, tags={f"mail:{KEPT}"}), won=True)
        uow.events.append_all(
            [
                EventRecord("lead", person_lead.id, "form", at(8), {"email": EMAIL, "n": 1}),
                EventRecord("opportunity", opp.id, "note", at(8), {"said": _planted("said")}),
                EventRecord("lead", other.id, "form", at(8), {"email": KEPT}),
            ]
        )
        uow.commit()
        # Older versions of the rows (free pages, WAL frames, dead tuples) must not keep it.
        saved = uow.leads.save(saved.evolve(owner="kim"))
        uow.leads.save(saved.evolve(owner="lee"))
        uow.commit()
    if erase:
        with storage.unit_of_work() as uow:
            uow.erase_personal_data(person_lead.id, at=at(90))
            uow.commit()
    return person_lead.id


def _check(text: str) -> None:
    assert KEPT in text, "the scan does not see the stored data"
    found = [s for s in SECRETS if s.casefold() in text.casefold()]
    assert found == [], f"erased strings still stored: {found}"


def _memory_dump(storage: Storage, lead_id: str) -> str:
    with storage.unit_of_work(read_only=True) as uow:
        dump = [to_dict(e) for e in uow.leads.iterate()]
        dump += [to_dict(e) for e in uow.prospects.iterate()]
        dump += [to_dict(e) for e in uow.opportunities.iterate()]
        subjects = [("lead", lead_id)] + [
            ("opportunity", o.id) for o in uow.opportunities.iterate()
        ]
        for kind, entity_id in subjects:
            dump += [to_dict(r) for r in uow.results.for_subject(kind, entity_id)]
        dump += [r.payload for r in uow.events.read()]
        dump += [attrs.asdict(r) for r in uow.frequencies.rows(_MODEL.name)]
    return repr(dump)


def test_without_an_erasure_the_scan_finds_every_planted_value() -> None:
    from pipelinekit.storage import memory_storage

    storage = memory_storage()
    text = _memory_dump(storage, _fill(storage, erase=False))
    assert [s for s in SECRETS if s not in text] == []


def test_erasure_in_memory_leaves_no_planted_value_readable() -> None:
    from pipelinekit.storage import memory_storage

    storage = memory_storage()
    _check(_memory_dump(storage, _fill(storage)))


def _files(folder: Path, name: str) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.name.startswith(name))


def test_erasure_on_sqlite_leaves_no_planted_value_in_the_files(tmp_path: Path) -> None:
    from pipelinekit.storage.sql import sqlite_storage

    storage = sqlite_storage(tmp_path / "scan.db")
    try:
        _fill(storage)
        # Right after the erasure's commit (which checkpoints and truncates the WAL)...
        raw = _files(tmp_path, "scan.db")
    finally:
        storage.close()
    # ...and after closing, with whatever -wal or -journal file is left.
    raw += _files(tmp_path, "scan.db")
    _check(raw.decode("utf-8", "replace"))


def test_compact_full_is_accepted_by_sqlite_and_keeps_the_files_clean(tmp_path: Path) -> None:
    from pipelinekit.storage.sql import sqlite_storage

    storage = sqlite_storage(tmp_path / "scan.db")
    try:
        _fill(storage)
        storage.compact(full=True)
    finally:
        storage.close()
    _check(_files(tmp_path, "scan.db").decode("utf-8", "replace"))


@pytest.fixture
def pg_storage(pg_schema: str) -> Iterator[tuple[Storage, str, str]]:
    """A storage alone in a database of its own.

    No VACUUM removes a row version an open transaction of the same database
    may still see; other tests' sessions live in the suite's database, not here.
    """
    import uuid

    from pipelinekit.storage.sql import postgres_storage

    database = f"pk_scan_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
    url = sa.engine.make_url(postgres_url()).set(database=database)
    prefix = unique_prefix()
    storage = postgres_storage(url.render_as_string(hide_password=False), prefix=prefix)
    try:
        yield storage, url.render_as_string(hide_password=False), prefix
    finally:
        storage.close()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


def _pg_dump(url: str, prefix: str, schema: str = "public") -> str:
    """Every column of every row of every table of one storage, as text."""
    engine = sa.create_engine(url)
    dump: list[str] = []
    try:
        with engine.connect() as conn:
            tables = list(
                conn.execute(
                    sa.text(
                        "SELECT table_name FROM information_schema.tables "
                        "WHERE table_schema = :s AND table_name LIKE :p"
                    ),
                    {"s": schema, "p": prefix.replace("_", r"\_") + "%"},
                ).scalars()
            )
            assert len(tables) >= 8, tables  # entities, histories, results, events
            for table in tables:
                rows = conn.execute(sa.text(f'SELECT t::text FROM "{schema}"."{table}" t'))
                dump.extend(rows.scalars())
    finally:
        engine.dispose()
    return "\n".join(dump)


@pytest.mark.postgres
def test_erasure_on_postgres_leaves_no_planted_value_in_any_row(
    pg_storage: tuple[Storage, str, str],
) -> None:
    storage, url, prefix = pg_storage
    _fill(storage)
    _check(_pg_dump(url, prefix))


def _pg_files(conn: sa.Connection, prefix: str, schema: str = "public") -> bytes:
    """The bytes on disk of every table, index and TOAST relation of one storage.

    Reads the server's data files (``pg_read_binary_file``, a superuser's right)
    after a ``CHECKPOINT`` has written every changed page to them.
    """
    conn.execute(sa.text("CHECKPOINT"))
    paths = conn.execute(
        sa.text(
            "WITH own AS (SELECT c.oid, c.reltoastrelid FROM pg_class c "
            "  JOIN pg_namespace n ON n.oid = c.relnamespace "
            "  WHERE n.nspname = :s AND c.relname LIKE :p AND c.relkind IN ('r', 'i')), "
            "rels AS (SELECT oid FROM own UNION SELECT reltoastrelid FROM own "
            "  WHERE reltoastrelid <> 0 UNION SELECT indexrelid FROM pg_index "
            "  WHERE indrelid IN (SELECT reltoastrelid FROM own)) "
            "SELECT pg_relation_filepath(oid) FROM rels"
        ),
        {"s": schema, "p": prefix.replace("_", r"\_") + "%"},
    ).scalars()
    return b"".join(
        conn.execute(sa.text("SELECT pg_read_binary_file(:f)"), {"f": path}).scalar_one()
        for path in paths
        if path is not None
    )


def _compact_fully(storage: Storage) -> None:
    """``compact(full=True)``, run again while other sessions of the shared test server
    hold old transactions (it says so with the retryable ``StorageBusy``)."""
    from pipelinekit.storage import StorageBusy

    for attempt in range(6):
        try:
            storage.compact(full=True)  # type: ignore[attr-defined]
            return
        except StorageBusy:
            if attempt == 5:
                raise


@pytest.mark.postgres
def test_compact_full_leaves_no_planted_value_in_the_postgres_data_files(
    pg_storage: tuple[Storage, str, str],
) -> None:
    """Dead row versions keep erased text in the files; ``compact(full=True)`` rewrites them."""
    storage, url, prefix = pg_storage
    _fill(storage)
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            _compact_fully(storage)
            on_disk = _pg_files(conn, prefix)
    finally:
        engine.dispose()
    _check(on_disk.decode("utf-8", "replace"))


@pytest.mark.postgres
def test_after_a_plain_compact_the_postgres_data_files_still_hold_erased_text(
    pg_storage: tuple[Storage, str, str],
) -> None:
    """Why the option exists: after a plain VACUUM the files still hold old row versions."""
    storage, url, prefix = pg_storage
    _fill(storage)
    storage.compact()
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            on_disk = _pg_files(conn, prefix).decode("utf-8", "replace")
    finally:
        engine.dispose()
    assert KEPT in on_disk
    assert EMAIL in on_disk


@pytest.mark.postgres
def test_compact_full_says_when_an_open_transaction_keeps_old_row_versions(
    pg_storage: tuple[Storage, str, str],
) -> None:
    from pipelinekit.storage import StorageBusy

    storage, url, prefix = pg_storage
    _fill(storage, erase=False)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as reader:
            reader.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
            reader.execute(sa.text("SELECT 1"))  # a snapshot from before the erasure
            with storage.unit_of_work() as uow:
                lead_id = uow.leads.by_external_id(EMAIL)
                assert lead_id is not None
                uow.erase_personal_data(lead_id.id, at=at(90))
                uow.commit()
            with pytest.raises(StorageBusy, match="compact\\(full=True\\) again") as caught:
                storage.compact(full=True)
            assert str(reader.connection.driver_connection.info.backend_pid) in str(caught.value)
            reader.rollback()
        _compact_fully(storage)  # the reader is gone
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            _check(_pg_files(conn, prefix).decode("utf-8", "replace"))
    finally:
        engine.dispose()
