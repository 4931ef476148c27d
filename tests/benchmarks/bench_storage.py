"""Storage benchmarks: the SQL adapters vs the raw driver doing the same inserts and reads.

* ``sqlite_save`` / ``postgres_save``: save ``n`` new leads in one unit of work
  vs the raw driver (``sqlite3`` / ``psycopg``) inserting the *same rows* (the
  indexed columns, the JSON document, the stage-history rows) with
  ``executemany`` in one transaction.  Both sides start from an empty database
  with the schema created, and both serialise the leads (``to_dict`` +
  ``json.dumps``) inside the timed part, since that is part of saving them.
* ``sqlite_load_stage``: load every lead of one status out of ``n`` through
  ``uow.leads.find`` vs a raw ``SELECT doc ... WHERE stage = ? ORDER BY id``
  plus ``json.loads`` and ``from_dict`` (both end with the same ``Lead`` objects).

``postgres_save`` is registered only when a server answers at
``PIPELINEKIT_POSTGRES_URL`` (otherwise a message says it was skipped).
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _harness import Pair, benchmark
from sqlalchemy import create_engine
from sqlalchemy.schema import CreateIndex, CreateTable

import pipelinekit as pk
from pipelinekit.storage import LeadQuery
from pipelinekit.storage.queries import micros
from pipelinekit.storage.sql import postgres_storage, sqlite_storage
from pipelinekit.storage.sql.schema import build_tables

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
STATUSES = ("new", "contacted", "nurturing", "qualified", "disqualified", "converted")
PG_URL = os.environ.get(
    "PIPELINEKIT_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
_WORK = Path(tempfile.mkdtemp(prefix="pk-bench-"))
atexit.register(shutil.rmtree, _WORK, ignore_errors=True)
_files = itertools.count()


def sample_leads(n: int) -> list[pk.Lead]:
    """``n`` realistic leads: contact, company, source, tags, custom fields, one history row."""
    out = []
    for i in range(n):
        at = T0 + timedelta(seconds=i)
        status = STATUSES[i % len(STATUSES)]
        lead = pk.Lead.create(
            contact=pk.Person.of(f"Person {i}", email=f"p{i}@example.com", job_title="CTO"),
            company=pk.Company(f"Company {i % 997}", domain=f"c{i % 997}.example", employees=50),
            source=pk.Source(pk.Channel.INBOUND_FORM, detail="spring"),
            owner=f"rep{i % 20}",
            tags={"vip", "webinar"} if i % 3 else {"trial"},
            custom={"plan": "pro", "seats": i % 100},
            external_id=f"crm-{i}",
            at=at,
        )
        history = (pk.StageChange(None, status, "import", at, actor="importer"),)
        out.append(lead.evolve(status=status, history=history))
    return out


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def raw_rows(leads: list[pk.Lead]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The rows the adapter writes, built by hand (version 1, the document with it)."""
    rows = []
    history = []
    for lead in leads:
        doc = pk.to_dict(lead)
        doc["version"] = 1
        score = lead.qualification.score if lead.qualification else None
        rows.append(
            (
                lead.id,
                lead.external_id,
                lead.status,
                None,
                lead.owner,
                None,
                None if score is None else float(score),
                micros(lead.updated_at),
                1,
                _dumps(doc),
            )
        )
        for seq, c in enumerate(lead.history):
            history.append(
                (
                    lead.id,
                    seq,
                    c.from_stage,
                    c.to_stage,
                    c.event,
                    micros(c.at),
                    c.actor,
                    c.note,
                    c.pipeline,
                )
            )
    return rows, history


def _ddl(dialect_url: str, schema: str | None = None) -> list[str]:
    tables = build_tables(schema=schema)
    dialect = create_engine(dialect_url).dialect
    out = []
    for table in tables.metadata.sorted_tables:
        out.append(str(CreateTable(table).compile(dialect=dialect)))
        out.extend(str(CreateIndex(i).compile(dialect=dialect)) for i in table.indexes)
    return out


_LEAD_INSERT = (
    "INSERT INTO {t}pipelinekit_leads (id, external_id, stage, pipeline, owner, lead_id, score, "
    "updated_us, version, doc) VALUES ({p})"
)
_HISTORY_INSERT = (
    "INSERT INTO {t}pipelinekit_lead_stage_changes (entity_id, seq, from_stage, to_stage, event, "
    "at_us, actor, note, pipeline) VALUES ({p})"
)


def _sqlite_raw(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL", "secure_delete=ON"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def _new_file() -> Path:
    return _WORK / f"bench-{next(_files)}.db"


@benchmark(
    "sqlite_save",
    target=1.5,
    size=100_000,
    quick_size=2_000,
    baseline="sqlite3 executemany of the same rows in one transaction",
)
def sqlite_save(n: int) -> Pair:
    leads = sample_leads(n)
    ddl = _ddl("sqlite://")

    def ours() -> None:
        storage = sqlite_storage(_new_file())
        with storage.unit_of_work() as uow:
            uow.leads.save_all(leads)
            uow.commit()
        storage.close()

    def raw() -> None:
        conn = _sqlite_raw(_new_file())
        conn.execute("BEGIN IMMEDIATE")
        for statement in ddl:
            conn.execute(statement)
        conn.execute("COMMIT")
        conn.execute("BEGIN IMMEDIATE")
        rows, history = raw_rows(leads)
        conn.executemany(_LEAD_INSERT.format(t="", p=",".join("?" * 10)), rows)
        conn.executemany(_HISTORY_INSERT.format(t="", p=",".join("?" * 9)), history)
        conn.execute("COMMIT")
        conn.close()

    return Pair(pipelinekit=ours, baseline=raw)


_CHANGE_KEYS = ("from_stage", "to_stage", "event", "at", "actor", "note", "pipeline",
                "from_pipeline")  # fmt: skip
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _iso(us: int) -> str:
    return (_EPOCH + timedelta(microseconds=us)).isoformat()


@benchmark(
    "sqlite_load_stage",
    target=2.0,
    size=100_000,
    quick_size=2_000,
    baseline="sqlite3 SELECT of the stage's documents, columns and history + from_dict",
)
def sqlite_load_stage(n: int) -> Pair:
    path = _new_file()
    storage = sqlite_storage(path)
    with storage.unit_of_work() as uow:
        uow.leads.save_all(sample_leads(n))
        uow.commit()
    expected = (n + len(STATUSES) - 2) // len(STATUSES)

    def ours() -> list[pk.Lead]:
        with storage.unit_of_work() as uow:
            found = list(uow.leads.find(LeadQuery(status="contacted", limit=None)).items)
        assert len(found) == expected
        return found

    def raw() -> list[pk.Lead]:
        # A lead's document leaves out its history (the history table holds it) and what
        # its row's columns hold: the hand-written read puts them back, as any would.
        conn = _sqlite_raw(path)
        rows = conn.execute(
            "SELECT id, doc, created_us, updated_us, version, external_id "
            "FROM pipelinekit_leads WHERE stage = ? ORDER BY id",
            ("contacted",),
        ).fetchall()
        history: dict[str, list[dict[str, Any]]] = {}
        for entity_id, *change in conn.execute(
            "SELECT h.entity_id, h.from_stage, h.to_stage, h.event, h.at_us, h.actor, h.note, "
            "h.pipeline, h.from_pipeline FROM pipelinekit_lead_stage_changes h "
            "JOIN pipelinekit_leads l ON l.id = h.entity_id WHERE l.stage = ? "
            "ORDER BY h.entity_id, h.seq",
            ("contacted",),
        ):
            history.setdefault(entity_id, []).append(
                dict(zip(_CHANGE_KEYS, change, strict=True)) | {"at": _iso(change[3])}
            )
        found = []
        for entity_id, doc, created_us, updated_us, version, external_id in rows:
            data = json.loads(doc)
            data.update(
                id=entity_id,
                created_at=_iso(created_us),
                updated_at=_iso(updated_us),
                version=version,
                status="contacted",
                external_id=external_id,
                history=history.get(entity_id, []),
            )
            found.append(pk.from_dict(pk.Lead, data))
        conn.close()
        assert len(found) == expected
        return found

    assert ours() == raw()
    return Pair(pipelinekit=ours, baseline=raw, extra=lambda: {"leads_loaded": expected})


def _postgres_reason() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install 'pipelinekit[postgres]')"
    try:
        psycopg.connect(_conninfo(), connect_timeout=3).close()
    except psycopg.Error as error:
        return f"no PostgreSQL server at {PG_URL}: {str(error).strip()}"
    return None


def _conninfo() -> str:
    return PG_URL.replace("postgresql+psycopg://", "postgresql://")


_schemas: list[str] = []


def _drop_schemas() -> None:
    if not _schemas:
        return
    import psycopg

    with psycopg.connect(_conninfo(), autocommit=True) as conn:
        for schema in _schemas:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _new_schema() -> str:
    name = f"pk_bench_{uuid.uuid4().hex[:10]}"
    _schemas.append(name)
    return name


def postgres_save(n: int) -> Pair:
    import psycopg

    leads = sample_leads(n)
    atexit.register(_drop_schemas)

    def ours() -> None:
        storage = postgres_storage(PG_URL, schema=_new_schema())
        with storage.unit_of_work() as uow:
            uow.leads.save_all(leads)
            uow.commit()
        storage.close()

    def raw() -> None:
        schema = _new_schema()
        with psycopg.connect(_conninfo()) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
            for statement in _ddl("postgresql+psycopg://", schema):
                conn.execute(statement)  # type: ignore[call-overload]
            conn.commit()
            rows, history = raw_rows(leads)
            with conn.cursor() as cursor:
                cursor.executemany(
                    _LEAD_INSERT.format(t=f'"{schema}".', p=",".join(["%s"] * 10)),  # type: ignore[arg-type]
                    rows,
                )
                cursor.executemany(
                    _HISTORY_INSERT.format(t=f'"{schema}".', p=",".join(["%s"] * 9)),  # type: ignore[arg-type]
                    history,
                )
            conn.commit()

    return Pair(pipelinekit=ours, baseline=raw)


_REASON = _postgres_reason()
if _REASON is None:
    benchmark(
        "postgres_save",
        target=1.5,
        size=100_000,
        quick_size=2_000,
        baseline="psycopg executemany of the same rows in one transaction",
    )(postgres_save)
else:
    print(f"postgres_save skipped: {_REASON}", file=sys.stderr)


# -- sqlite_save_raw / postgres_copy_raw: saving vs writing pre-serialised rows -------------------

_SAVED_TABLES = ("pipelinekit_leads", "pipelinekit_lead_stage_changes")


def _stored_rows(path: Path) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Every row the adapter wrote for the leads, table by table, with the column names."""
    conn = sqlite3.connect(path)
    try:
        out = {}
        for table in _SAVED_TABLES:
            cursor = conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2")
            out[table] = ([c[0] for c in cursor.description], cursor.fetchall())
    finally:
        conn.close()
    return out


@benchmark(
    "sqlite_save_raw",
    target=2.0,
    size=100_000,
    quick_size=2_000,
    baseline="sqlite3 executemany of the same rows, serialised beforehand, in one transaction",
)
def sqlite_save_raw(n: int) -> Pair:
    leads = sample_leads(n)
    ddl = _ddl("sqlite://")

    def ours() -> Path:
        path = _new_file()
        storage = sqlite_storage(path)
        with storage.unit_of_work() as uow:
            uow.leads.save_all(leads)
            uow.commit()
        storage.close()
        return path

    # the baseline's input: exactly the rows the adapter stores, read back once
    rows = _stored_rows(ours())
    statements = {
        table: f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        for table, (names, _) in rows.items()
    }

    def raw() -> Path:
        path = _new_file()
        conn = _sqlite_raw(path)
        conn.execute("BEGIN IMMEDIATE")
        for statement in ddl:
            conn.execute(statement)
        conn.execute("COMMIT")
        conn.execute("BEGIN IMMEDIATE")
        for table, (_, values) in rows.items():
            conn.executemany(statements[table], values)
        conn.execute("COMMIT")
        conn.close()
        return path

    assert _stored_rows(raw()) == rows  # the same rows end up stored

    def extra() -> dict[str, Any]:
        return {
            "leads": n,
            "bytes_per_lead_row": sum(len(r[9]) for r in rows[_SAVED_TABLES[0]][1]) // n,
        }

    return Pair(pipelinekit=ours, baseline=raw, extra=extra)


def postgres_copy_raw(n: int) -> Pair:
    import psycopg

    leads = sample_leads(n)
    atexit.register(_drop_schemas)
    sqlite_copy = _new_file()
    storage = sqlite_storage(sqlite_copy)
    with storage.unit_of_work() as uow:
        uow.leads.save_all(leads)
        uow.commit()
    storage.close()
    rows = _stored_rows(sqlite_copy)  # the same rows on both databases

    def ours() -> str:
        schema = _new_schema()
        target = postgres_storage(PG_URL, schema=schema)
        with target.unit_of_work() as uow:
            uow.leads.save_all(leads)
            uow.commit()
        target.close()
        return schema

    def raw() -> str:
        schema = _new_schema()
        with psycopg.connect(_conninfo()) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
            for statement in _ddl("postgresql+psycopg://", schema):
                conn.execute(statement)  # type: ignore[call-overload]
            conn.commit()
            with conn.cursor() as cursor:
                for table, (names, values) in rows.items():
                    copy = f'COPY "{schema}".{table} ({", ".join(names)}) FROM STDIN'
                    with cursor.copy(copy) as writer:  # type: ignore[arg-type]
                        for row in values:
                            writer.write_row(row)
            conn.commit()
        return schema

    def stored(schema: str) -> dict[str, list[tuple[Any, ...]]]:
        with psycopg.connect(_conninfo()) as conn:
            return {
                table: [
                    tuple(r)
                    for r in conn.execute(f'SELECT * FROM "{schema}".{table} ORDER BY 1, 2')  # type: ignore[call-overload]
                ]
                for table in _SAVED_TABLES
            }

    assert stored(ours()) == stored(raw())
    return Pair(pipelinekit=ours, baseline=raw)


if _REASON is None:
    benchmark(
        "postgres_copy_raw",
        target=2.0,
        size=100_000,
        quick_size=2_000,
        baseline="psycopg COPY of the same rows, serialised beforehand, in one transaction",
    )(postgres_copy_raw)
else:
    print(f"postgres_copy_raw skipped: {_REASON}", file=sys.stderr)
