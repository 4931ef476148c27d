"""The SQL schema: tables, indexes, the recorded schema version and forward migrations.

Every entity kind has one table with the columns queries filter on (indexed)
and the document as JSON text (``pipelinekit.to_dict``), so round trips
are exact and nothing is lost.  Stage history, qualification results and
domain events have their own tables.  Each fact is stored once: a lead's
``qualification`` (a prospect's ``fit``) is not kept in its document but in
the results table, which the entity row references by the result's
fingerprint (``result_fp``); reading an entity joins it back.

The schema is created on first use and its version recorded in
``<prefix>schema``.  When a pipelinekit release changes the schema it bumps
:data:`SCHEMA_VERSION` and adds a step to :data:`MIGRATIONS`; opening an
older database applies the missing steps in order, in one transaction.  A
database newer than this pipelinekit is refused
(:class:`~pipelinekit.storage.errors.SchemaVersionError`).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

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
    bindparam,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from ...domain.companies import Company
from ...domain.contacts import Person
from ...domain.leads import Lead
from ...domain.opportunities import Opportunity
from ...domain.prospects import Prospect
from ...serialization import from_dict
from ..errors import SchemaVersionError
from ..match_keys import person_match_keys
from ..ports import StoredResult
from ..queries import micros
from ._compact import compact, leave_out_columns, slim_lead, stored_text

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Tables", "build_tables", "ensure_schema"]

#: The storage schema version this pipelinekit writes (2: analytics columns, 3: stage
#: columns wide enough for external ids, 4: each qualification result stored once,
#: referenced from its entity by ``result_fp``, 5: opportunities' probability history
#: and the stage history's ``from_pipeline``, 6: predictive models' frequency table,
#: 7: compact results (a shared template and positional values) and lead documents
#: without their stage history or default values, 8: the match keys table, for
#: duplicate checks).
SCHEMA_VERSION = 8

Migration = Callable[[Connection, "Tables"], None]

#: ``MIGRATIONS[n]`` upgrades a database from schema version ``n`` to ``n + 1``.
MIGRATIONS: dict[int, Migration] = {}

_COMPONENT = "pipelinekit.storage"

#: Stage keys and event names are external ids (a CRM's own stage ids and API
#: values) of up to 255 characters.
STAGE_LENGTH = 255


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
    probabilities: Table
    events: Table
    version: Table
    frequencies: Table
    templates: Table
    match_keys: Table


def _entity_table(metadata: MetaData, prefix: str, kind: str) -> Table:
    name = f"{prefix}{_PLURAL[kind]}"
    table = Table(
        name,
        metadata,
        Column("id", _id(), primary_key=True),
        Column("external_id", _id(200), nullable=True),
        Column("stage", String(STAGE_LENGTH), nullable=False),
        Column("pipeline", String(100), nullable=True),
        Column("owner", String(200), nullable=True),
        Column("lead_id", _id(), nullable=True),
        Column("score", Double(), nullable=True),
        Column("updated_us", BigInteger(), nullable=False),
        Column("version", Integer(), nullable=False),
        Column("doc", Text(), nullable=False),
        *_analytics_columns(),
        Column("result_fp", String(64), nullable=True),
    )
    Index(f"{name}_external_id", table.c.external_id, unique=True)
    Index(f"{name}_stage", table.c.stage, table.c.id)
    # schema version 7: only rows with an owner (a query for one owner implies it)
    owned = table.c.owner.isnot(None)
    Index(f"{name}_owner", table.c.owner, table.c.id, sqlite_where=owned, postgresql_where=owned)
    Index(f"{name}_score", table.c.score)
    Index(f"{name}_updated", table.c.updated_us)
    if kind == "opportunity":
        Index(f"{name}_pipeline", table.c.pipeline, table.c.stage, table.c.id)
        Index(f"{name}_lead", table.c.lead_id)
    return table


#: Places of ``amount_units``: amounts are stored as exact integers of ten-thousandths
#: (every ISO 4217 minor unit fits).
AMOUNT_PLACES = 4
AMOUNT_SCALE = 10**AMOUNT_PLACES
# One amount leaves room to add 10,000 of its size inside a signed 64-bit integer
# (92 billion in any currency); larger ones, and ones with more places, are kept as text.
_MAX_UNITS = 2**63 // 10**4
_EPOCH_DAY = date(1970, 1, 1)


def _analytics_columns() -> list[Column[Any]]:
    """Schema version 2: what analytics aggregate in the database, filled on every save.

    ``amount_units`` is the amount in ten-thousandths as an exact integer (``NULL``
    when the amount has more places or is too large: ``amount`` keeps the
    exact text for those), ``probability`` the exact effective probability as
    text, ``expected_day`` the expected close date as days since 1970-01-01,
    ``stage_since_us`` when the current stage was entered, ``source`` a lead's
    channel.
    """
    return [
        Column("created_us", BigInteger(), nullable=True),
        Column("stage_since_us", BigInteger(), nullable=True),
        Column("amount_units", BigInteger(), nullable=True),
        Column("amount", Text(), nullable=True),
        Column("currency", String(3), nullable=True),
        Column("probability", Text(), nullable=True),
        Column("expected_day", Integer(), nullable=True),
        Column("source", String(50), nullable=True),
    ]


#: The analytics column names, in table order.
ANALYTICS_COLUMNS = tuple(c.name for c in _analytics_columns())


def analytics_values(entity: Lead | Prospect | Opportunity) -> dict[str, Any]:
    """The analytics columns of one entity (see :func:`_analytics_columns`)."""
    history = getattr(entity, "history", ())
    since = history[-1].at if history else entity.created_at
    out: dict[str, Any] = {
        "created_us": micros(entity.created_at),
        "stage_since_us": micros(since),
        "amount_units": None,
        "amount": None,
        "currency": None,
        "probability": None,
        "expected_day": None,
        "source": None,
    }
    if isinstance(entity, Opportunity):
        if entity.amount is not None:
            value = entity.amount.amount
            units = value * AMOUNT_SCALE
            if units == units.to_integral_value() and abs(units) < _MAX_UNITS:
                out["amount_units"] = int(units)
            out["amount"] = str(value)
            out["currency"] = entity.amount.currency
        out["probability"] = str(entity.probability)
        if entity.expected_close is not None:
            out["expected_day"] = (entity.expected_close - _EPOCH_DAY).days
    elif isinstance(entity, Lead) and entity.source is not None:
        out["source"] = entity.source.channel.value
    return out


def amount_of(units: int | None, text: str | None) -> Decimal:
    """The exact amount from ``amount_units`` (or, when it is NULL, the ``amount`` text)."""
    if units is not None:
        return Decimal(units).scaleb(-AMOUNT_PLACES)
    return Decimal(text) if text is not None else Decimal(0)


_ENTITY_TYPES: dict[str, type[Lead | Prospect | Opportunity]] = {
    "lead": Lead,
    "prospect": Prospect,
    "opportunity": Opportunity,
}


def _add_analytics_columns(conn: Connection, tables: Tables) -> None:
    """Migration 1 -> 2: add the analytics columns and backfill them from the documents."""
    from ...serialization import from_dict

    preparer = conn.dialect.identifier_preparer
    for kind, table in tables.entities.items():
        name = preparer.format_table(table)
        for column in _analytics_columns():
            kind_sql = column.type.compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE {name} ADD COLUMN {column.name} {kind_sql}"))
        cls = _ENTITY_TYPES[kind]
        stmt = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values({n: bindparam(n) for n in ANALYTICS_COLUMNS})
        )
        after = ""
        while True:
            rows = conn.execute(
                select(table.c.id, table.c.doc)
                .where(table.c.id > after)
                .order_by(table.c.id)
                .limit(5000)
            ).all()
            if not rows:
                break
            params = []
            for entity_id, doc in rows:
                values = analytics_values(from_dict(cls, json.loads(doc)))
                values["b_id"] = entity_id
                params.append(values)
            conn.execute(stmt, params)
            after = rows[-1][0]


MIGRATIONS[1] = _add_analytics_columns

#: The document key holding each entity kind's qualification result (stored apart).
RESULT_KEYS: Mapping[str, str] = {"lead": "qualification", "prospect": "fit"}


def _store_results_once(conn: Connection, tables: Tables) -> None:
    """Migration 3 -> 4: move each embedded qualification result out of its entity's document.

    The result is (already, as every save recorded it) in the results table;
    the document loses its copy and the row references it by fingerprint.
    """
    preparer = conn.dialect.identifier_preparer
    results = tables.results
    for kind, table in tables.entities.items():
        name = preparer.format_table(table)
        kind_sql = String(64).compile(dialect=conn.dialect)
        conn.execute(text(f"ALTER TABLE {name} ADD COLUMN result_fp {kind_sql}"))
        key = RESULT_KEYS.get(kind)
        if key is None:
            continue
        stmt = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(doc=bindparam("b_doc"), result_fp=bindparam("b_fp"))
        )
        after = ""
        while True:
            rows = conn.execute(
                select(table.c.id, table.c.doc)
                .where(table.c.id > after)
                .order_by(table.c.id)
                .limit(5000)
            ).all()
            if not rows:
                break
            params = []
            stored = []
            for entity_id, doc in rows:
                data = json.loads(doc)
                embedded = data.pop(key, None)
                if embedded is None:
                    continue
                # 128-bit fingerprints, as schema versions 4 to 6 wrote them
                item = StoredResult(kind, entity_id, _long_fingerprint(embedded), embedded)
                stored.append(result_row(item))
                params.append({"b_id": entity_id, "b_doc": dumps(data), "b_fp": item.fingerprint})
            if stored:
                conn.execute(insert_ignore(conn, results), stored)
                conn.execute(stmt, params)
            after = rows[-1][0]


MIGRATIONS[3] = _store_results_once


def _long_fingerprint(doc: dict[str, Any]) -> str:
    text = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def dumps(data: Any) -> str:
    """The stored JSON text of a document (compact, UTF-8 kept as is)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def insert_ignore(conn: Connection, table: Table) -> Any:
    """An INSERT of ``table`` rows that skips rows clashing with a stored one."""
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing()


def result_row(item: StoredResult, templates: dict[str, Any] | None = None) -> dict[str, Any]:
    """The results-table row of a :class:`~pipelinekit.storage.ports.StoredResult`.

    With ``templates``, the document is stored compact (:func:`compact_doc`) and its
    template added to ``templates``; without, verbose (schema versions 4 to 6).
    """
    doc = item.doc
    score = doc.get("score")
    return {
        "subject_kind": item.subject_kind,
        "subject_id": item.subject_id,
        "fingerprint": item.fingerprint,
        "strategy": doc["strategy"],
        "as_of_us": micros(datetime.fromisoformat(doc["as_of"])),
        "score": None if score is None else float(score),
        "doc": dumps(doc) if templates is None else compact_doc(doc, item.subject_id, templates),
    }


def compact_doc(doc: dict[str, Any], subject_id: str, templates: dict[str, Any]) -> str:
    """The stored text of a result document in its compact form (see ``_compact``), its
    template added to ``templates``; a document that is not a result's ``to_dict`` form
    is kept verbose."""
    try:
        key, values, template = compact(doc, subject_id)
    except ValueError:
        return dumps(doc)
    templates.update(template)
    return stored_text(key, values)


def store_templates(conn: Connection, table: Table, templates: Mapping[str, Any]) -> None:
    """Store the compact results' ``templates`` that ``conn`` does not see stored yet.

    Never waits for another transaction: the key is not unique (see the table).
    """
    if not templates:
        return
    stored = set(
        conn.execute(select(table.c.key).where(table.c.key.in_(list(templates)))).scalars()
    )
    fresh = {k: v for k, v in templates.items() if k not in stored}
    if fresh:
        conn.execute(table.insert(), template_rows(fresh))


def template_rows(templates: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The templates-table rows of compact results' templates."""
    return [{"key": key, "body": dumps(body)} for key, body in templates.items()]


def _compact_storage(conn: Connection, tables: Tables) -> None:
    """Migration 6 -> 7: results stored compact (template + values), lead documents
    without their stage history (the history table holds it) and default values."""
    tables.templates.create(conn)
    r = tables.results
    # fingerprints keep 64 bits (see result_fingerprint), in the results and the references
    fingerprints = [(r, r.c.fingerprint)] + [(t, t.c.result_fp) for t in tables.entities.values()]
    for table, column in fingerprints:
        short = func.substr(column, 1, 16)
        conn.execute(update(table).where(func.length(column) > 16).values({column: short}))
    stmt = update(r).where(r.c.rid == bindparam("b_rid")).values(doc=bindparam("b_doc"))
    after = -1
    while True:
        rows = conn.execute(
            select(r.c.rid, r.c.subject_id, r.c.doc)
            .where(r.c.rid > after)
            .order_by(r.c.rid)
            .limit(5000)
        ).all()
        if not rows:
            break
        templates: dict[str, Any] = {}
        params = []
        for rid, subject_id, doc in rows:
            data = json.loads(doc)
            if isinstance(data, dict):
                params.append({"b_rid": rid, "b_doc": compact_doc(data, subject_id, templates)})
        store_templates(conn, tables.templates, templates)
        if params:
            conn.execute(stmt, params)
        after = rows[-1][0]
    leads = tables.entities["lead"]
    stmt = update(leads).where(leads.c.id == bindparam("b_id")).values(doc=bindparam("b_doc"))
    after_id = ""
    while True:
        c = leads.c
        found = conn.execute(
            select(c.id, c.doc, c.created_us, c.updated_us, c.version, c.stage, c.external_id)
            .where(c.id > after_id)
            .order_by(c.id)
            .limit(5000)
        ).all()
        if not found:
            break
        params = []
        for entity_id, doc, *columns in found:
            data = slim_lead(json.loads(doc))
            leave_out_columns(data, (entity_id, *columns))
            params.append({"b_id": entity_id, "b_doc": dumps(data)})
        conn.execute(stmt, params)
        after_id = found[-1][0]


def _owner_indexes(conn: Connection, tables: Tables) -> None:
    """Migration 6 -> 7, indexes: an owner index holds only the rows that have an owner.

    (History tables keep their rowid: without it, SQLite's ``at_us`` index would
    hold each row's primary key instead, as large as the index it saves.)
    """
    for table in tables.entities.values():
        for index in table.indexes:
            if index.name is not None and index.name.endswith("_owner"):
                index.drop(conn)
                index.create(conn)


def _to_version_7(conn: Connection, tables: Tables) -> None:
    _compact_storage(conn, tables)
    _owner_indexes(conn, tables)


MIGRATIONS[6] = _to_version_7


def _widen_stage_columns(conn: Connection, tables: Tables) -> None:
    """Migration 2 -> 3: stage keys and event names hold external ids of up to 255
    characters (SQLite does not enforce a length; PostgreSQL's columns are widened)."""
    if conn.dialect.name != "postgresql":
        return
    preparer = conn.dialect.identifier_preparer
    widened: list[tuple[Table, tuple[str, ...]]] = [
        (t, ("stage",)) for t in tables.entities.values()
    ]
    widened += [(t, ("from_stage", "to_stage", "event")) for t in tables.history.values()]
    for table, columns in widened:
        name = preparer.format_table(table)
        for column in columns:
            conn.execute(
                text(f"ALTER TABLE {name} ALTER COLUMN {column} TYPE VARCHAR({STAGE_LENGTH})")
            )


MIGRATIONS[2] = _widen_stage_columns


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
        Column("from_stage", String(STAGE_LENGTH), nullable=True),
        Column("to_stage", String(STAGE_LENGTH), nullable=False),
        Column("event", String(STAGE_LENGTH), nullable=False),
        Column("at_us", BigInteger(), nullable=False),
        Column("actor", String(200), nullable=True),
        Column("note", Text(), nullable=True),
        Column("pipeline", String(100), nullable=True),
        Column("from_pipeline", String(100), nullable=True),  # schema version 5
    )
    Index(f"{table.name}_at", table.c.at_us)
    return table


def _probability_table(metadata: MetaData, prefix: str, parent: Table) -> Table:
    """Schema version 5: ``Opportunity.probability_history``, one row per layer change.

    Values are the exact decimal text of the layer (``NULL``: unset).
    """
    table = Table(
        f"{prefix}opportunity_probability_changes",
        metadata,
        Column(
            "entity_id",
            _id(),
            ForeignKey(parent.c.id, ondelete="CASCADE"),
            primary_key=True,
        ),
        Column("seq", Integer(), primary_key=True, autoincrement=False),
        Column("layer", String(20), nullable=False),
        Column("from_value", Text(), nullable=True),
        Column("to_value", Text(), nullable=True),
        Column("at_us", BigInteger(), nullable=False),
        Column("actor", String(200), nullable=True),
    )
    Index(f"{table.name}_at", table.c.at_us)
    return table


def _add_probability_history(conn: Connection, tables: Tables) -> None:
    """Migration 4 -> 5: the probability history table and the stage history's
    ``from_pipeline`` column (documents of older versions have neither, so there is
    nothing to backfill)."""
    tables.probabilities.create(conn)
    preparer = conn.dialect.identifier_preparer
    for table in tables.history.values():
        kind_sql = table.c.from_pipeline.type.compile(dialect=conn.dialect)
        name = preparer.format_table(table)
        conn.execute(text(f"ALTER TABLE {name} ADD COLUMN from_pipeline {kind_sql}"))


MIGRATIONS[4] = _add_probability_history


def _frequency_table(metadata: MetaData, prefix: str) -> Table:
    """Schema version 6: the won/lost counts of predictive models, one row per
    (model, segment, field, value).

    Counts are kept in tenths as exact integers (every row starts at 0.1, and
    counts move by whole deals), so a won or lost deal updates them with one
    atomic ``UPDATE``; ``segment`` is ``''`` for no segment (a blank segment
    value counts as none).
    """
    return Table(
        f"{prefix}predictive_frequencies",
        metadata,
        Column("model", _id(200), primary_key=True),
        Column("segment", _id(255), primary_key=True),
        Column("field", _id(255), primary_key=True),
        Column("value", _id(1000), primary_key=True),
        Column("won_tenths", BigInteger(), nullable=False),
        Column("lost_tenths", BigInteger(), nullable=False),
        Column("closed", BigInteger(), nullable=False),
    )


def _add_frequencies(conn: Connection, tables: Tables) -> None:
    """Migration 5 -> 6: the predictive frequency table (empty: models are rebuilt from
    the stored deals with ``uow.frequencies.rebuild``)."""
    tables.frequencies.create(conn)


MIGRATIONS[5] = _add_frequencies


def _match_key_table(metadata: MetaData, prefix: str) -> Table:
    """Schema version 8 (match keys): each record's duplicate lookup keys
    (:func:`pipelinekit.storage.match_keys.match_keys`), one row per key, indexed by key."""
    table = Table(
        f"{prefix}match_keys",
        metadata,
        Column("kind", String(20), primary_key=True),
        Column("id", _id(), primary_key=True),
        Column("key", _id(400), primary_key=True),
    )
    Index(f"{prefix}match_keys_key", table.c.key, table.c.kind)
    return table


def _add_match_keys(conn: Connection, tables: Tables) -> None:
    """Migration 7 -> 8 (match keys): the match keys table, filled from the stored records.

    The keys come from each document's person (a lead's or deal's ``contact``, a
    prospect's ``person``) and ``company``: what :func:`match_keys` reads.  A lead's
    document at version 7 leaves out its history and the row's columns, so the
    parts are structured on their own rather than the whole record.
    """
    tables.match_keys.create(conn)
    for kind, table in tables.entities.items():
        person_key = "person" if kind == "prospect" else "contact"
        rows = conn.execute(select(table.c.id, table.c.doc)).yield_per(1000)
        for chunk in rows.partitions():
            fresh: list[dict[str, Any]] = []
            for entity_id, doc in chunk:
                data = json.loads(doc)
                person, company = data.get(person_key), data.get("company")
                keys = person_match_keys(
                    None if person is None else from_dict(Person, person),
                    None if company is None else from_dict(Company, company),
                )
                fresh.extend({"kind": kind, "id": entity_id, "key": k} for k in sorted(keys))
            if fresh:
                conn.execute(tables.match_keys.insert(), fresh)


MIGRATIONS[7] = _add_match_keys


def build_tables(prefix: str = "pipelinekit_", schema: str | None = None) -> Tables:
    """Describe the tables (nothing is created here)."""
    metadata = MetaData(schema=schema)
    entities = {k: _entity_table(metadata, prefix, k) for k in ("lead", "prospect", "opportunity")}
    history = {k: _history_table(metadata, prefix, k, entities[k]) for k in ("lead", "opportunity")}
    probabilities = _probability_table(metadata, prefix, entities["opportunity"])
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
    frequencies = _frequency_table(metadata, prefix)
    # schema version 7: the shared part of compact results.  Content-addressed and never
    # changed, so the key is indexed but not unique: a unit of work stores a template it
    # does not see yet without waiting for another (uncommitted) one storing the same
    # template; a duplicate row only repeats the same body.
    templates = Table(
        f"{prefix}result_templates",
        metadata,
        Column("key", String(16), nullable=False),
        Column("body", Text(), nullable=False),
    )
    Index(f"{prefix}result_templates_key", templates.c.key)
    match_keys = _match_key_table(metadata, prefix)
    return Tables(
        metadata,
        entities,
        history,
        results,
        probabilities,
        events,
        version,
        frequencies,
        templates,
        match_keys,
    )


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
    # The lock comes first: two PostgreSQL sessions running CREATE SCHEMA IF NOT EXISTS
    # at once both see no schema and the second fails on pg_namespace's unique index.
    _lock(conn, tables)
    if schema is not None and conn.dialect.name == "postgresql":
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
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
