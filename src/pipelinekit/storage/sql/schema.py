"""The SQL schema: tables, indexes, the recorded schema version and forward migrations.

Every entity kind has one table with the columns queries filter on (indexed)
and the full document as JSON text (``pipelinekit.to_dict``), so round trips
are exact and nothing is lost.  Stage history, qualification results and
domain events have their own tables.

The schema is created on first use and its version recorded in
``<prefix>schema``.  When a pipelinekit release changes the schema it bumps
:data:`SCHEMA_VERSION` and adds a step to :data:`MIGRATIONS`; opening an
older database applies the missing steps in order, in one transaction.  A
database newer than this pipelinekit is refused
(:class:`~pipelinekit.storage.errors.SchemaVersionError`).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping

import attrs
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    select,
    text,
    update,
)

from ..errors import SchemaVersionError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Tables", "build_tables", "ensure_schema"]

#: The storage schema version this pipelinekit writes.
SCHEMA_VERSION = 1

Migration = Callable[[Connection, "Tables"], None]

#: ``MIGRATIONS[n]`` upgrades a database from schema version ``n`` to ``n + 1``.
MIGRATIONS: dict[int, Migration] = {}

_COMPONENT = "pipelinekit.storage"


def _id(length: int = 128) -> String:
    # Byte-wise ("C") ordering on PostgreSQL, like SQLite and Python: keyset pages agree.
    return String(length).with_variant(String(length, collation="C"), "postgresql")


_PLURAL = {"lead": "leads", "prospect": "prospects", "opportunity": "opportunities"}
_SEQ = BigInteger().with_variant(Integer(), "sqlite")


@attrs.frozen
class Tables:
    """The tables of one storage (a name ``prefix`` and an optional PostgreSQL ``schema``)."""

    metadata: MetaData
    entities: Mapping[str, Table]
    history: Mapping[str, Table]
    results: Table
    events: Table
    version: Table


def _entity_table(metadata: MetaData, prefix: str, kind: str) -> Table:
    name = f"{prefix}{_PLURAL[kind]}"
    table = Table(
        name,
        metadata,
        Column("id", _id(), primary_key=True),
        Column("external_id", _id(200), nullable=True),
        Column("stage", String(200), nullable=False),
        Column("pipeline", String(100), nullable=True),
        Column("owner", String(200), nullable=True),
        Column("lead_id", _id(), nullable=True),
        Column("score", Double(), nullable=True),
        Column("updated_us", BigInteger(), nullable=False),
        Column("version", Integer(), nullable=False),
        Column("doc", Text(), nullable=False),
    )
    Index(f"{name}_external_id", table.c.external_id, unique=True)
    Index(f"{name}_stage", table.c.stage, table.c.id)
    Index(f"{name}_owner", table.c.owner, table.c.id)
    Index(f"{name}_score", table.c.score)
    Index(f"{name}_updated", table.c.updated_us)
    if kind == "opportunity":
        Index(f"{name}_pipeline", table.c.pipeline, table.c.stage, table.c.id)
        Index(f"{name}_lead", table.c.lead_id)
    return table


def _history_table(metadata: MetaData, prefix: str, kind: str, parent: Table) -> Table:
    table = Table(
        f"{prefix}{kind}_stage_changes",
        metadata,
        Column(
            "entity_id",
            _id(),
            ForeignKey(parent.c.id, ondelete="CASCADE"),
            primary_key=True,
        ),
        Column("seq", Integer(), primary_key=True, autoincrement=False),
        Column("from_stage", String(100), nullable=True),
        Column("to_stage", String(100), nullable=False),
        Column("event", String(100), nullable=False),
        Column("at_us", BigInteger(), nullable=False),
        Column("actor", String(200), nullable=True),
        Column("note", Text(), nullable=True),
        Column("pipeline", String(100), nullable=True),
    )
    Index(f"{table.name}_at", table.c.at_us)
    return table


def build_tables(prefix: str = "pipelinekit_", schema: str | None = None) -> Tables:
    """Describe the tables (nothing is created here)."""
    metadata = MetaData(schema=schema)
    entities = {k: _entity_table(metadata, prefix, k) for k in ("lead", "prospect", "opportunity")}
    history = {k: _history_table(metadata, prefix, k, entities[k]) for k in ("lead", "opportunity")}
    results = Table(
        f"{prefix}qualification_results",
        metadata,
        Column("rid", _SEQ, primary_key=True, autoincrement=True),
        Column("subject_kind", String(20), nullable=False),
        Column("subject_id", _id(), nullable=False),
        Column("fingerprint", String(64), nullable=False),
        Column("strategy", String(200), nullable=False),
        Column("as_of_us", BigInteger(), nullable=False),
        Column("score", Double(), nullable=True),
        Column("doc", Text(), nullable=False),
        UniqueConstraint("subject_kind", "subject_id", "fingerprint", name=f"{prefix}results_once"),
    )
    events = Table(
        f"{prefix}domain_events",
        metadata,
        Column("seq", _SEQ, primary_key=True, autoincrement=True),
        Column("entity_kind", String(20), nullable=False),
        Column("entity_id", _id(), nullable=False),
        Column("kind", String(100), nullable=False),
        Column("at_us", BigInteger(), nullable=False),
        Column("payload", Text(), nullable=False),
    )
    Index(f"{prefix}events_entity", events.c.entity_kind, events.c.entity_id, events.c.seq)
    version = Table(
        f"{prefix}schema",
        metadata,
        Column("component", String(100), primary_key=True),
        Column("version", Integer(), nullable=False),
    )
    return Tables(metadata, entities, history, results, events, version)


def _lock(conn: Connection, tables: Tables) -> None:
    if conn.dialect.name == "postgresql":
        key = zlib.crc32(f"{tables.metadata.schema}.{tables.version.name}".encode())
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def stored_version(conn: Connection, tables: Tables) -> int | None:
    """The schema version recorded in the database (``None`` if there is no schema yet)."""
    if not inspect(conn).has_table(tables.version.name, schema=tables.metadata.schema):
        return None
    return conn.execute(
        select(tables.version.c.version).where(tables.version.c.component == _COMPONENT)
    ).scalar_one_or_none()


def ensure_schema(
    conn: Connection,
    tables: Tables,
    *,
    target: int | None = None,
    migrations: Mapping[int, Migration] | None = None,
) -> int:
    """Create the schema, or migrate it forward to ``target``; return the version found (0: new).

    ``target`` defaults to :data:`SCHEMA_VERSION` and ``migrations`` to
    :data:`MIGRATIONS`.

    Runs in the caller's transaction (so a failed migration changes nothing)
    and is safe against concurrent callers (a lock on PostgreSQL, the write
    lock on SQLite).
    """
    target = SCHEMA_VERSION if target is None else target
    migrations = MIGRATIONS if migrations is None else migrations
    schema = tables.metadata.schema
    if schema is not None and conn.dialect.name == "postgresql":
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    _lock(conn, tables)
    found = stored_version(conn, tables)
    if found is None:
        tables.metadata.create_all(conn)
        conn.execute(tables.version.insert().values(component=_COMPONENT, version=target))
        return 0
    if found > target:
        raise SchemaVersionError(found, target)
    version = found
    while version < target:
        step = migrations.get(version)
        if step is None:
            raise SchemaVersionError(version, target)  # pragma: no cover - a release bug
        step(conn, tables)
        version += 1
    if version != found:
        conn.execute(
            update(tables.version)
            .where(tables.version.c.component == _COMPONENT)
            .values(version=version)
        )
    return found
