"""Entities to Arrow tables and back, exactly, with every bad row reported."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from operator import attrgetter
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from ..domain.companies import Company
from ..domain.contacts import Person
from ..domain.custom import EMPTY, FrozenMap
from ..domain.engagement import Event
from ..domain.history import ProbabilityChange, StageChange
from ..domain.leads import Lead
from ..domain.money import Money
from ..domain.opportunities import Opportunity
from ..domain.prospects import Prospect
from ..domain.results import QualificationResult
from ..domain.sources import Source
from ..errors import Problem, ValidationError
from ..serialization import from_json, to_json
from ._schema import ARROW_SCHEMA_VERSION, KIND_KEY, SCHEMAS, VERSION_KEY

__all__ = ["KINDS", "from_arrow", "kind_from_columns", "kind_of", "to_arrow"]

T = TypeVar("T", Lead, Prospect, Opportunity)

#: The entity class of each kind name, and back.
KINDS: dict[str, type[Any]] = {"lead": Lead, "prospect": Prospect, "opportunity": Opportunity}
_NAMES = {cls: name for name, cls in KINDS.items()}


# -- encoding -------------------------------------------------------------------------

_SLICE = 2048  # rows converted between Python values and Arrow at a time

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def _micros(at: datetime | None) -> int | None:
    # the timestamp as Arrow stores it: handing pyarrow aware datetimes is ten times slower
    return None if at is None else (at - _EPOCH) // _MICRO


def _person(p: Person | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {
        "name": p.name,
        "email": None if p.email is None else p.email.value,
        "phone": None if p.phone is None else p.phone.raw,
        "job_title": p.job_title,
        "seniority": None if p.seniority is None else p.seniority.value,
    }


def _money(m: Money | None) -> dict[str, Any] | None:
    return None if m is None else {"amount": str(m.amount), "currency": m.currency}


def _company(c: Company | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {
        "name": c.name,
        "domain": c.domain,
        "industry": c.industry,
        "employees": c.employees,
        "annual_revenue": _money(c.annual_revenue),
        "country": c.country,
        "region": c.region,
    }


def _source(s: Source | None) -> dict[str, Any] | None:
    return None if s is None else {"channel": s.channel.value, "detail": s.detail}


def _custom(m: FrozenMap) -> str | None:
    return to_json(m) if m else None


def _events(events: tuple[Event, ...]) -> list[dict[str, Any]]:
    return [
        {"kind": e.kind, "at": _micros(e.at), "properties": _custom(e.properties)} for e in events
    ]


def _changes(history: tuple[StageChange, ...]) -> list[dict[str, Any]]:
    return [
        {
            "from_stage": c.from_stage,
            "to_stage": c.to_stage,
            "event": c.event,
            "at": _micros(c.at),
            "actor": c.actor,
            "note": c.note,
            "pipeline": c.pipeline,
            "from_pipeline": c.from_pipeline,
        }
        for c in history
    ]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _chances(history: tuple[ProbabilityChange, ...]) -> list[dict[str, Any]]:
    return [
        {
            "layer": c.layer,
            "from_value": _text(c.from_value),
            "to_value": _text(c.to_value),
            "at": _micros(c.at),
            "actor": c.actor,
        }
        for c in history
    ]


def _result(r: QualificationResult | None) -> str | None:
    return None if r is None else to_json(r)


_Encoder = Callable[[Any], Any]
_COMMON_HEAD: list[tuple[str, _Encoder]] = [
    ("created_at", lambda e: _micros(e.created_at)),
    ("updated_at", lambda e: _micros(e.updated_at)),
]
_COMMON_TAIL: list[tuple[str, _Encoder]] = [
    ("owner", lambda e: e.owner),
    ("tags", lambda e: sorted(e.tags)),
    ("custom", lambda e: _custom(e.custom)),
    ("external_id", lambda e: e.external_id),
    ("notes", lambda e: e.notes),
    ("version", lambda e: e.version),
]
_ENCODERS: dict[str, list[tuple[str, _Encoder]]] = {
    "lead": [
        ("contact", lambda e: _person(e.contact)),
        ("company", lambda e: _company(e.company)),
        ("source", lambda e: _source(e.source)),
        ("engagement", lambda e: _events(e.engagement)),
        ("qualification", lambda e: _result(e.qualification)),
        ("history", lambda e: _changes(e.history)),
    ],
    "prospect": [
        ("person", lambda e: _person(e.person)),
        ("company", lambda e: _company(e.company)),
        ("fit", lambda e: _result(e.fit)),
    ],
    "opportunity": [
        ("contact", lambda e: _person(e.contact)),
        ("company", lambda e: _company(e.company)),
        ("amount", lambda e: _money(e.amount)),
        ("probability", lambda e: str(e.probability)),
        ("probability_source", lambda e: e.probability_source.value),
        ("manual_probability", lambda e: _text(e.manual_probability)),
        ("automated_probability", lambda e: _text(e.automated_probability)),
        ("outcome", lambda e: e.outcome.value),
        ("closed_at", lambda e: _micros(e.closed_at)),
        ("history", lambda e: _changes(e.history)),
        ("probability_history", lambda e: _chances(e.probability_history)),
    ],
}
for _kind in _ENCODERS:
    _ENCODERS[_kind].extend(_COMMON_HEAD + _COMMON_TAIL)


def to_arrow(entities: Iterable[Lead] | Iterable[Prospect] | Iterable[Opportunity]) -> pa.Table:
    """Return ``entities`` (all of one kind) as an Arrow table in the pipelinekit schema.

    The table's schema is :func:`pipelinekit.arrow.schema_for` of their kind,
    with the kind and :data:`ARROW_SCHEMA_VERSION` in its metadata;
    :func:`from_arrow` reverses it exactly.  An empty input gives an empty lead
    table.  Entities of mixed kinds, or anything else, raise
    :class:`~pipelinekit.ValidationError` listing each offending position.
    """
    if isinstance(entities, str | bytes) or not isinstance(entities, Iterable):
        raise ValidationError(
            "to_arrow",
            [Problem("$", f"must be a list of entities, got {type(entities).__name__}")],
        )
    items: list[Any] = list(entities)
    kind = _NAMES.get(type(items[0]), "lead") if items else "lead"
    cls = KINDS[kind]
    wrong = [
        Problem(f"$[{i}]", f"expected a {cls.__name__}, got {type(e).__name__}")
        for i, e in enumerate(items)
        if type(e) is not cls
    ]
    if wrong:
        raise ValidationError("to_arrow", wrong)
    schema = SCHEMAS[kind]
    encoders = dict(_ENCODERS[kind])
    columns = []
    problems: list[Problem] = []
    for field in schema:
        name = field.name
        encode = encoders.get(name) or attrgetter(name)
        # A slice of rows at a time: a whole column of nested values (a dict per
        # contact, a list of dicts per history) alive at once would make the cyclic
        # collector walk them again and again.
        parts = []
        for start in range(0, len(items), _SLICE):
            values = [encode(e) for e in items[start : start + _SLICE]]
            try:
                parts.append(pa.array(values, type=field.type))
            except _UNFIT:
                problems.extend(_unfit(name, field.type, values, start))
        if not parts:
            parts.append(pa.array([], type=field.type))
        columns.append(parts[0] if len(parts) == 1 else pa.concat_arrays(parts))
    if problems:
        raise ValidationError("to_arrow", problems)
    return pa.Table.from_arrays(columns, schema=schema)


_UNFIT = (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError)


def _unfit(name: str, kind: pa.DataType, values: list[Any], start: int) -> list[Problem]:
    # valid entities whose values the schema cannot hold (an int beyond int64), row by row
    problems = []
    for index, value in enumerate(values, start):
        try:
            pa.array([value], type=kind)
        except _UNFIT as error:
            problems.append(
                Problem(f"$[{index}].{name}", f"does not fit the Arrow column: {error}")
            )
    return problems


# -- decoding -------------------------------------------------------------------------


_MEMO_SIZE = 1 << 16


class _Row:
    """The problems of one row, with helpers that build nested values or record why not."""

    __slots__ = ("memo", "problems")

    def __init__(self, memo: dict[tuple[Any, ...], Any]) -> None:
        self.problems: list[Problem] = []
        # values already built from the same input in this table: columns repeat
        # (event properties, sources, companies), and the values are immutable
        self.memo = memo

    def cached(self, key: tuple[Any, ...], path: str, make: Callable[[], Any]) -> Any:
        """``build``, reusing the value built from the same ``key`` earlier in the table."""
        hit = self.memo.get(key)
        if hit is not None:
            return hit
        before = len(self.problems)
        value = self.build(path, make)
        if value is not None and len(self.problems) == before and len(self.memo) < _MEMO_SIZE:
            self.memo[key] = value
        return value

    def build(self, path: str, make: Callable[[], Any]) -> Any:
        try:
            return make()
        except ValidationError as error:
            self.problems.extend(p.under(path) for p in error.problems)
            return None


def _to_person(row: _Row, path: str, d: dict[str, Any] | None) -> Person | None:
    if d is None:
        return None
    built: Person | None = row.build(
        path,
        lambda: Person.of(
            d["name"],
            email=d["email"],
            phone=d["phone"],
            job_title=d["job_title"],
            seniority=d["seniority"],
        ),
    )
    return built


def _to_money(row: _Row, path: str, d: dict[str, Any] | None) -> Money | None:
    if d is None:
        return None
    built: Money | None = row.build(path, lambda: Money(d["amount"], d["currency"]))
    return built


def _to_company(row: _Row, path: str, d: dict[str, Any] | None) -> Company | None:
    if d is None:
        return None
    revenue = _to_money(row, f"{path}.annual_revenue", d["annual_revenue"])
    money = d["annual_revenue"] or {}
    key = (
        "company",
        d["name"],
        d["domain"],
        d["industry"],
        d["employees"],
        d["country"],
        d["region"],
        money.get("amount"),
        money.get("currency"),
    )
    built: Company | None = row.cached(
        key,
        path,
        lambda: Company(
            d["name"],
            d["domain"],
            d["industry"],
            d["employees"],
            revenue,
            d["country"],
            d["region"],
        ),
    )
    return built


def _to_source(row: _Row, path: str, d: dict[str, Any] | None) -> Source | None:
    if d is None:
        return None
    key = ("source", d["channel"], d["detail"])
    built: Source | None = row.cached(key, path, lambda: Source(d["channel"], d["detail"]))
    return built


def _custom_value(value: Any) -> Any:
    # the tagged form of pipelinekit.to_dict: JSON has no decimals, dates or times
    if isinstance(value, dict) and len(value) == 1:
        ((tag, raw),) = value.items()
        if isinstance(raw, str):
            if tag == "decimal":
                return Decimal(raw)
            if tag == "datetime":
                return datetime.fromisoformat(raw)
            if tag == "date":
                return date.fromisoformat(raw)
    if isinstance(value, dict | list | float):
        raise ValueError(
            "must be a string, integer, boolean, null, or one of "
            '{"decimal": "..."}, {"date": "..."}, {"datetime": "..."}'
        )
    return value


def _to_custom(row: _Row, path: str, text: str | None) -> FrozenMap:
    if text is None:
        return EMPTY
    hit = row.memo.get(("custom", text))
    if hit is not None:
        built_before: FrozenMap = hit
        return built_before
    before = len(row.problems)
    custom = _decode_custom(row, path, text)
    if len(row.problems) == before and len(row.memo) < _MEMO_SIZE:
        row.memo[("custom", text)] = custom
    return custom


def _decode_custom(row: _Row, path: str, text: str) -> FrozenMap:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:
        row.problems.append(Problem(path, f"is not JSON: {error}"))
        return EMPTY
    if not isinstance(data, dict):
        row.problems.append(Problem(path, "must be a JSON object of field names to values"))
        return EMPTY
    values: dict[str, Any] = {}
    for key, raw in data.items():
        try:
            values[key] = _custom_value(raw)
        except (ValueError, ArithmeticError) as error:
            row.problems.append(Problem(f"{path}.{key}", str(error) or "is not a valid value"))
    built: FrozenMap | None = row.build(path, partial(FrozenMap, values))
    return EMPTY if built is None else built


def _to_result(row: _Row, path: str, text: str | None) -> QualificationResult | None:
    if text is None:
        return None
    built: QualificationResult | None = row.build(
        path, lambda: from_json(QualificationResult, text)
    )
    return built


def _to_events(row: _Row, path: str, items: list[dict[str, Any]] | None) -> tuple[Event, ...]:
    out = []
    for i, d in enumerate(items or ()):
        where = f"{path}[{i}]"
        props = _to_custom(row, f"{where}.properties", d["properties"])
        event = row.build(where, partial(Event, d["kind"], d["at"], props))
        if event is not None:
            out.append(event)
    return tuple(out)


def _to_changes(
    row: _Row, path: str, items: list[dict[str, Any]] | None
) -> tuple[StageChange, ...]:
    out = []
    for i, d in enumerate(items or ()):
        change = row.build(f"{path}[{i}]", partial(StageChange, **d))
        if change is not None:
            out.append(change)
    return tuple(out)


def _to_chances(
    row: _Row, path: str, items: list[dict[str, Any]] | None
) -> tuple[ProbabilityChange, ...]:
    out = []
    for i, d in enumerate(items or ()):
        change = row.build(f"{path}[{i}]", partial(ProbabilityChange, **d))
        if change is not None:
            out.append(change)
    return tuple(out)


def _common(row: _Row, d: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": d["id"],
        "created_at": d["created_at"],
        "updated_at": d["updated_at"],
        "owner": d["owner"],
        "tags": d["tags"] or (),
        "custom": _to_custom(row, "$.custom", d["custom"]),
        "external_id": d["external_id"],
        "notes": d["notes"],
        "version": d["version"],
    }


def _lead(row: _Row, d: dict[str, Any]) -> dict[str, Any]:
    return {
        **_common(row, d),
        "contact": _to_person(row, "$.contact", d["contact"]),
        "company": _to_company(row, "$.company", d["company"]),
        "source": _to_source(row, "$.source", d["source"]),
        "status": d["status"],
        "prospect_id": d["prospect_id"],
        "opportunity_id": d["opportunity_id"],
        "engagement": _to_events(row, "$.engagement", d["engagement"]),
        "qualification": _to_result(row, "$.qualification", d["qualification"]),
        "history": _to_changes(row, "$.history", d["history"]),
    }


def _prospect(row: _Row, d: dict[str, Any]) -> dict[str, Any]:
    return {
        **_common(row, d),
        "persona": d["persona"],
        "person": _to_person(row, "$.person", d["person"]),
        "company": _to_company(row, "$.company", d["company"]),
        "fit": _to_result(row, "$.fit", d["fit"]),
    }


def _opportunity(row: _Row, d: dict[str, Any]) -> dict[str, Any]:
    return {
        **_common(row, d),
        "name": d["name"],
        "pipeline": d["pipeline"],
        "stage": d["stage"],
        "pipeline_version": d["pipeline_version"],
        "lead_id": d["lead_id"],
        "prospect_id": d["prospect_id"],
        "contact": _to_person(row, "$.contact", d["contact"]),
        "company": _to_company(row, "$.company", d["company"]),
        "amount": _to_money(row, "$.amount", d["amount"]),
        "probability": d["probability"],
        "probability_source": d["probability_source"],
        "manual_probability": d["manual_probability"],
        "automated_probability": d["automated_probability"],
        "expected_close": d["expected_close"],
        "outcome": d["outcome"],
        "closed_at": d["closed_at"],
        "lost_reason": d["lost_reason"],
        "competitor": d["competitor"],
        "history": _to_changes(row, "$.history", d["history"]),
        "probability_history": _to_chances(row, "$.probability_history", d["probability_history"]),
    }


_DECODERS: dict[str, Callable[[_Row, dict[str, Any]], dict[str, Any]]] = {
    "lead": _lead,
    "prospect": _prospect,
    "opportunity": _opportunity,
}
# nested values refused above leave None behind: the entity's own complaint about
# the missing value is then moot
_MOOT = frozenset({"$", "$.amount", "$.qualification", "$.fit"})


def python_values(column: pa.ChunkedArray | pa.Array) -> list[Any]:
    """``column.to_pylist()``, with timestamps (also inside structs and lists) built faster.

    pyarrow builds each aware ``datetime`` through its time-zone machinery; the
    schema's timestamps are all microseconds in UTC, so they are added to the
    epoch here instead: the same values, in a fraction of the time.
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    kind = column.type
    if pa.types.is_timestamp(kind):
        epoch, micro = _EPOCH, _MICRO
        return [
            None if v is None else epoch + v * micro for v in column.cast(pa.int64()).to_pylist()
        ]
    if pa.types.is_struct(kind) and any(_has_time(f.type) for f in kind):
        names = [f.name for f in kind]
        fields = [python_values(child) for child in column.flatten()]
        valid = column.is_valid().to_pylist()
        return [
            dict(zip(names, values, strict=True)) if ok else None
            for ok, values in zip(valid, zip(*fields, strict=True), strict=True)
        ]
    if pa.types.is_list(kind) and _has_time(kind.value_type):
        items = python_values(column.flatten())
        out: list[Any] = []
        start = 0
        for length in pc.list_value_length(column).to_pylist():
            if length is None:
                out.append(None)
            else:
                out.append(items[start : start + length])
                start += length
        return out
    values: list[Any] = column.to_pylist()
    return values


def _has_time(kind: pa.DataType) -> bool:
    if pa.types.is_timestamp(kind):
        return True
    if pa.types.is_struct(kind):
        return any(_has_time(f.type) for f in kind)
    if pa.types.is_list(kind):
        return _has_time(kind.value_type)
    return False


def kind_from_columns(columns: Iterable[str], kind: type[Any] | str | None = None) -> str:
    """``kind``'s name if given, else the kind whose schema the column names show."""
    if isinstance(kind, type):
        kind = _NAMES.get(kind, kind.__name__)
    if kind is not None:
        if kind not in KINDS:
            raise ValidationError(
                "kind",
                [Problem("$.kind", f"must be Lead, Prospect or Opportunity, got {kind!r}")],
            )
        return kind
    names = set(columns)
    if "persona" in names:
        return "prospect"
    if {"pipeline", "stage", "outcome"} <= names:
        return "opportunity"
    return "lead"


def kind_of(table: pa.Table, kind: type[Any] | str | None = None) -> str:
    """The entity kind of ``table``: ``kind`` if given, else the table's schema metadata."""
    if isinstance(kind, type):
        name = _NAMES.get(kind)
        if name is None:
            raise ValidationError(
                "from_arrow",
                [Problem("$.kind", f"must be Lead, Prospect or Opportunity, got {kind.__name__}")],
            )
        return name
    if kind is None:
        meta = table.schema.metadata or {}
        raw = meta.get(KIND_KEY)
        if raw is None:
            raise ValidationError(
                "from_arrow",
                [
                    Problem(
                        "$.kind",
                        "the table's schema has no pipelinekit kind: pass kind=Lead, "
                        "Prospect or Opportunity",
                    )
                ],
            )
        kind = raw.decode("utf-8", "replace")
    if kind not in KINDS:
        raise ValidationError(
            "from_arrow",
            [Problem("$.kind", f"must be one of lead, prospect, opportunity, got {kind!r}")],
        )
    return kind


def conform(table: object, kind: str) -> pa.Table:
    """``table`` with exactly the columns of ``kind``'s schema, cast to its types.

    Columns beyond the schema are dropped; a missing column, a column of a type
    that does not cast and a table from a newer schema version are reported
    together in one :class:`ValidationError` (a null where a value is required
    is a problem of its row, found when the entity is built).
    """
    if not isinstance(table, pa.Table):
        raise ValidationError(
            "from_arrow", [Problem("$", f"must be a pyarrow.Table, got {type(table).__name__}")]
        )
    schema = SCHEMAS[kind]
    problems: list[Problem] = []
    written = (table.schema.metadata or {}).get(VERSION_KEY)
    if written is not None:
        try:
            version = int(written)
        except ValueError:
            version = -1
        if not 1 <= version <= ARROW_SCHEMA_VERSION:
            problems.append(
                Problem(
                    "$.schema_version",
                    f"the table is Arrow schema version {written.decode('utf-8', 'replace')}; "
                    f"this pipelinekit reads versions 1 to {ARROW_SCHEMA_VERSION}",
                )
            )
    columns = []
    for field in schema:
        if field.name not in table.column_names:
            problems.append(Problem(f"$.columns.{field.name}", "is missing"))
            continue
        column = table.column(field.name)
        if column.type != field.type:
            try:
                column = column.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as error:
                problems.append(
                    Problem(
                        f"$.columns.{field.name}",
                        f"has type {column.type}, expected {field.type}: {error}",
                    )
                )
                continue
        columns.append(column)
    if problems:
        raise ValidationError("from_arrow", problems)
    return pa.Table.from_arrays(columns, schema=schema)


def from_arrow(table: pa.Table, kind: type[T] | str | None = None) -> list[T]:
    """Build the entities of an Arrow table written by :func:`to_arrow` (or of that shape).

    The kind comes from the table's schema metadata unless ``kind`` (``Lead``,
    ``Prospect``, ``Opportunity`` or their lower-case names) is given.
    Columns beyond the schema (scores added by :func:`score_table`, say) are
    ignored.  Every bad row is reported in one
    :class:`~pipelinekit.ValidationError`, each problem's path starting with
    the row index (``$[3].company.country``); nothing is returned then.
    """
    name = kind_of(table, kind) if isinstance(table, pa.Table) else "lead"
    data = conform(table, name)
    cls = KINDS[name]
    decode = _DECODERS[name]
    names = data.column_names
    out: list[Any] = []
    problems: list[Problem] = []
    memo: dict[tuple[Any, ...], Any] = {}
    # A slice of rows at a time: the Python values of a whole table's nested columns
    # (a dict per contact, company, event...) alive at once would make the cyclic
    # collector walk them again and again while the entities are built.
    for start in range(0, data.num_rows, _SLICE):
        part = data.slice(start, _SLICE)
        columns = [python_values(part.column(n)) for n in names]
        for index, values in enumerate(zip(*columns, strict=True), start):
            row = _Row(memo)
            fields = decode(row, dict(zip(names, values, strict=True)))
            nested = bool(row.problems)
            try:
                entity = cls(**fields)
            except ValidationError as error:
                row.problems.extend(p for p in error.problems if not (nested and p.path in _MOOT))
            else:
                if not nested:
                    out.append(entity)
            problems.extend(p.under(f"$[{index}]") for p in row.problems)
    if problems:
        raise ValidationError(cls.__name__, problems)
    return out
