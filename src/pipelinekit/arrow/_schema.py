"""The versioned Arrow schema of leads, prospects and opportunities.

One column per entity field.  Nested values are structs (contact, company,
source, amount) or lists of structs (engagement, history, probability
history); custom fields, event properties and stored qualification results
are JSON text in the tagged form of :func:`pipelinekit.to_dict`.  Exact
decimals (amounts, probabilities, scores) are decimal *text*: an amount may
carry up to 100 decimal places and keeps its written scale (``"12.50"``),
which ``decimal128`` (38 digits, one fixed scale per column) cannot hold.
Timestamps are ``timestamp[us, tz=UTC]``, dates ``date32``.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa

__all__ = [
    "ARROW_SCHEMA_VERSION",
    "BREAKDOWN",
    "HISTORY",
    "SCHEMAS",
    "schema_for",
]

#: The version of the Arrow layout, written into every table's schema metadata.
ARROW_SCHEMA_VERSION: Final = 1

KIND_KEY: Final = b"pipelinekit.kind"
VERSION_KEY: Final = b"pipelinekit.arrow_schema_version"

TIME = pa.timestamp("us", tz="UTC")
TEXT = pa.string()
INT = pa.int64()

PERSON = pa.struct(
    [
        ("name", TEXT),
        ("email", TEXT),
        ("phone", TEXT),
        ("job_title", TEXT),
        ("seniority", TEXT),
    ]
)
MONEY = pa.struct([("amount", TEXT), ("currency", TEXT)])
COMPANY = pa.struct(
    [
        ("name", TEXT),
        ("domain", TEXT),
        ("industry", TEXT),
        ("employees", INT),
        ("annual_revenue", MONEY),
        ("country", TEXT),
        ("region", TEXT),
    ]
)
SOURCE = pa.struct([("channel", TEXT), ("detail", TEXT)])
EVENT = pa.struct([("kind", TEXT), ("at", TIME), ("properties", TEXT)])
STAGE_CHANGE = pa.struct(
    [
        ("from_stage", TEXT),
        ("to_stage", TEXT),
        ("event", TEXT),
        ("at", TIME),
        ("actor", TEXT),
        ("note", TEXT),
        ("pipeline", TEXT),
        ("from_pipeline", TEXT),
    ]
)
PROBABILITY_CHANGE = pa.struct(
    [
        ("layer", TEXT),
        ("from_value", TEXT),
        ("to_value", TEXT),
        ("at", TIME),
        ("actor", TEXT),
    ]
)
#: One line of a score's explanation (``score_table(..., explain=True)``).
BREAKDOWN = pa.struct(
    [
        ("criterion", TEXT),
        ("status", TEXT),
        ("points", TEXT),
        ("reason", TEXT),
        ("observed", TEXT),
        ("cap", TEXT),
        ("group", TEXT),
        ("evidence", pa.list_(TEXT)),
    ]
)
#: The history rows ``advance_table`` returns: the new record of each moved entity.
HISTORY = pa.schema([("entity_id", TEXT), *((f.name, f.type) for f in STAGE_CHANGE)])

_HEAD = [("id", TEXT), ("created_at", TIME), ("updated_at", TIME)]
_TAIL = [
    ("owner", TEXT),
    ("tags", pa.list_(TEXT)),
    ("custom", TEXT),
    ("external_id", TEXT),
    ("notes", TEXT),
    ("version", INT),
]

_FIELDS: dict[str, list[tuple[str, pa.DataType]]] = {
    "lead": [
        *_HEAD,
        ("contact", PERSON),
        ("company", COMPANY),
        ("source", SOURCE),
        ("status", TEXT),
        ("prospect_id", TEXT),
        ("opportunity_id", TEXT),
        ("engagement", pa.list_(EVENT)),
        ("qualification", TEXT),
        ("history", pa.list_(STAGE_CHANGE)),
        *_TAIL,
    ],
    "prospect": [
        *_HEAD,
        ("persona", TEXT),
        ("person", PERSON),
        ("company", COMPANY),
        ("fit", TEXT),
        *_TAIL,
    ],
    "opportunity": [
        *_HEAD,
        ("name", TEXT),
        ("pipeline", TEXT),
        ("stage", TEXT),
        ("pipeline_version", TEXT),
        ("lead_id", TEXT),
        ("prospect_id", TEXT),
        ("contact", PERSON),
        ("company", COMPANY),
        ("amount", MONEY),
        ("probability", TEXT),
        ("probability_source", TEXT),
        ("manual_probability", TEXT),
        ("automated_probability", TEXT),
        ("expected_close", pa.date32()),
        ("outcome", TEXT),
        ("closed_at", TIME),
        ("lost_reason", TEXT),
        ("competitor", TEXT),
        ("history", pa.list_(STAGE_CHANGE)),
        ("probability_history", pa.list_(PROBABILITY_CHANGE)),
        *_TAIL,
    ],
}

#: The required (non-null) columns of every kind.
REQUIRED: Final = frozenset(
    {"id", "created_at", "updated_at", "status", "persona", "name", "pipeline", "stage"}
    | {"probability", "probability_source", "outcome", "version"}
)


def _schema(kind: str) -> pa.Schema:
    fields = [pa.field(name, kind_, nullable=name not in REQUIRED) for name, kind_ in _FIELDS[kind]]
    meta = {KIND_KEY: kind.encode(), VERSION_KEY: str(ARROW_SCHEMA_VERSION).encode()}
    return pa.schema(fields, metadata=meta)


#: The Arrow schema of each entity kind (``"lead"``, ``"prospect"``, ``"opportunity"``).
SCHEMAS: Final = {kind: _schema(kind) for kind in _FIELDS}


def schema_for(kind: str) -> pa.Schema:
    """The Arrow schema of ``kind`` (``"lead"``, ``"prospect"`` or ``"opportunity"``)."""
    return SCHEMAS[kind]
