"""``to_dict`` / ``from_dict`` (and JSON) for every pipelinekit entity and value object.

The output is plain JSON-compatible data: decimals and timestamps become
strings, so nothing is lost (``Decimal("12.50")`` stays ``"12.50"``) and
round-trips are exact.  Entities carry a ``schema_version`` key so stored data
can be migrated when the format changes.

Input is checked strictly: unknown keys (with the nearest valid name),
missing required keys and wrong types are all reported at once in one
:class:`~pipelinekit.ValidationError`, each with its path
(``$.company.employees``).  The structuring is :mod:`pipelinekit.validation`'s,
shared with every other loader; the global ``cattrs`` converter is never
touched.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from ._jsontext import text_writer
from .clock import Clock, resolve_time
from .domain.companies import Company
from .domain.contacts import EmailAddress, Person, PhoneNumber
from .domain.custom import EMPTY, CustomValue, FrozenMap
from .domain.engagement import Event
from .domain.history import ProbabilityChange, StageChange
from .domain.ids import new_id
from .domain.leads import Lead
from .domain.money import Money
from .domain.opportunities import Opportunity
from .domain.prospects import Prospect
from .domain.results import BreakdownLine, QualificationResult
from .domain.sources import Source
from .errors import Problem, ValidationError
from .validation import (
    Invalid,
    Structurer,
    check_data,
    decimal,
    decode_json,
    each_value,
    json_type,
)

__all__ = [
    "SCHEMA_VERSION",
    "from_dict",
    "from_input",
    "from_json",
    "register_migration",
    "to_dict",
    "to_json",
]

T = TypeVar("T")

#: The current version of the stored format of entities.
SCHEMA_VERSION = 1

ENTITIES: tuple[type, ...] = (Lead, Prospect, Opportunity)
VALUES: tuple[type, ...] = (
    Money,
    EmailAddress,
    PhoneNumber,
    Person,
    Company,
    Source,
    Event,
    StageChange,
    ProbabilityChange,
    BreakdownLine,
    QualificationResult,
    FrozenMap,
)

_ENTITY_SET = frozenset(ENTITIES)
_LOADABLE = frozenset(ENTITIES + VALUES)

_Migration = Callable[[dict[str, Any]], dict[str, Any]]
_MIGRATIONS: dict[tuple[str, int], _Migration] = {}


def register_migration(kind: type, from_version: int) -> Callable[[_Migration], _Migration]:
    """Register a function upgrading stored ``kind`` dicts from ``from_version`` to the next.

    pipelinekit registers its own migrations this way when the format changes;
    :func:`from_dict` applies them in order.
    """

    def decorator(func: _Migration) -> _Migration:
        _MIGRATIONS[(kind.__name__, from_version)] = func
        return func

    return decorator


def _unstructure_custom(value: CustomValue) -> Any:
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    return value


def _custom_value(value: Any) -> CustomValue:
    # custom values are tagged where JSON has no type of its own
    if value is None or isinstance(value, str | int):  # bool is an int
        return value
    if isinstance(value, Decimal):  # as the constructors take them, from Python data
        return decimal(value)
    if isinstance(value, date):  # a datetime is a date; FrozenMap refuses naive ones
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((tag, raw),) = value.items()
        if tag == "decimal":
            return decimal(raw)
        if tag in ("datetime", "date"):
            return _TIMES.structure(raw, datetime if tag == "datetime" else date)
    raise Invalid(
        "must be a string, integer, boolean, null, or one of "
        '{"decimal": "..."}, {"date": "..."}, {"datetime": "..."}'
    )


def _frozen_map(value: Any) -> FrozenMap:
    if value is None:  # as the constructors take it: no custom fields
        return EMPTY
    if not isinstance(value, Mapping):
        raise Invalid(f"must be a mapping, got {json_type(value)}")
    if not value:
        return EMPTY
    # the keys and values checked as the constructors check them (non-empty keys, no NUL)
    return FrozenMap(each_value(value, _custom_value))


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid(f"must be a string, got {json_type(value)}")
    return value


_PLAIN = frozenset({str, int, bool, type(None)})  # custom values that are their own JSON


def _unstructure_map(values: FrozenMap) -> dict[str, Any]:
    return {k: v if v.__class__ in _PLAIN else _unstructure_custom(v) for k, v in values.items()}


_TIMES = Structurer()  # plain timestamps and dates inside tagged custom values
_STRUCTURER = Structurer()
_STRUCTURER.register(FrozenMap, _frozen_map, _unstructure_map)
_STRUCTURER.register(EmailAddress, lambda v: EmailAddress(_text(v)), lambda e: e.value)
_STRUCTURER.register(PhoneNumber, lambda v: PhoneNumber(_text(v)), lambda p: p.raw)
# The properties of an Event and the custom values of a breakdown line.
_STRUCTURER.register(CustomValue, _custom_value, _unstructure_custom)


def to_dict(obj: Any) -> dict[str, Any]:
    """Return ``obj`` (an entity or value object) as JSON-compatible plain data.

    Entities get a ``schema_version`` key.  :func:`from_dict` reverses it exactly.
    """
    kind = type(obj)
    if kind not in ENTITIES and kind not in VALUES:
        raise TypeError(
            f"to_dict() takes a pipelinekit entity or value object, not {kind.__name__}"
        )
    data: Any = _STRUCTURER.unstructure(obj, kind)
    if not isinstance(data, dict):
        data = {"value": data}
    if kind in ENTITIES:
        return {"schema_version": SCHEMA_VERSION, **data}
    plain: dict[str, Any] = data
    return plain


@functools.cache
def json_writer(cls: type, omit: frozenset[str] = frozenset()) -> Callable[[Any], str]:
    """A function writing a ``cls`` instance as compact JSON text, without the ``omit`` keys.

    Byte for byte ``json.dumps(d, ensure_ascii=False, separators=(",", ":"))`` of
    ``d = to_dict(obj)`` less those keys, written in one pass from the same hooks
    (:mod:`pipelinekit._jsontext`): what storage writes as an entity's document.
    """
    if cls not in ENTITIES and cls not in VALUES:
        raise TypeError(f"json_writer() takes a pipelinekit entity or value class, not {cls!r}")
    if not attrs.has(cls) or _STRUCTURER._is_registered(cls):
        # a value object with a hook of its own (an email address): the dict path
        def dict_path(obj: Any) -> str:
            data = to_dict(obj)
            for key in omit:
                data.pop(key, None)
            return _COMPACT(data)

        return dict_path
    first = {"schema_version": SCHEMA_VERSION} if cls in _ENTITY_SET else None
    return text_writer(
        _STRUCTURER._fast, cls, registered=_STRUCTURER._is_registered, first=first, omit=omit
    )


_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def from_dict(cls: type[T], data: Mapping[str, Any]) -> T:
    """Build a ``cls`` from plain data, refusing bad input with every problem listed.

    Raises :class:`~pipelinekit.ValidationError` whose ``problems`` carry paths
    such as ``$.company.employees``.  Entities written by older versions of
    pipelinekit are migrated first; data from a newer version is refused.
    """
    if cls not in _LOADABLE:
        raise TypeError(f"from_dict() builds pipelinekit entities and value objects, not {cls!r}")
    if not isinstance(data, Mapping):
        raise ValidationError(
            cls.__name__, [Problem("$", f"must be an object, got {json_type(data)}")]
        )
    if cls in _ENTITY_SET:
        version = data.get("schema_version", SCHEMA_VERSION)
        if type(version) is int and version == SCHEMA_VERSION:
            # Current data: the limits are checked while structuring (one pass), and
            # refused input is explained exactly as by the steps below.
            payload = dict(data)
            payload.pop("schema_version", None)
            return _STRUCTURER.load(payload, cls, subject=cls.__name__)
    elif cls is not EmailAddress and cls is not PhoneNumber:
        return _STRUCTURER.load(dict(data), cls, subject=cls.__name__)
    check_data(data, cls.__name__)
    payload = dict(data)
    if cls in ENTITIES:
        payload = _migrate(cls, payload)
    elif cls in (EmailAddress, PhoneNumber):
        # stored as {"value": "..."}: the one field of a one-field value object
        fields, problems = _STRUCTURER.salvage(payload, _Wrapped)
        if problems:
            raise ValidationError(cls.__name__, problems)
        result, problems = _STRUCTURER.problems(fields["value"], cls, "$.value")
        if problems:
            raise ValidationError(cls.__name__, problems)
        wrapped: T = result
        return wrapped
    return _STRUCTURER.structure(payload, cls, subject=cls.__name__)


#: Keys of a new entity that the server sets, never the client (refused by from_input).
SERVER_OWNED: Mapping[type, tuple[str, ...]] = {
    Lead: (
        "id",
        "version",
        "schema_version",
        "created_at",
        "updated_at",
        "status",
        "history",
        "qualification",
        "prospect_id",
        "opportunity_id",
    ),
    Prospect: ("id", "version", "schema_version", "created_at", "updated_at", "fit"),
}


def from_input(
    cls: type[T], data: Mapping[str, Any], *, at: datetime | None = None, clock: Clock | None = None
) -> T:
    """Build a *new* ``Lead`` or ``Prospect`` from a client's data (an API request body).

    The server's part is filled in: a fresh id, ``created_at`` and
    ``updated_at`` at ``at`` (else ``clock.now()``, else the system clock),
    version 0.  Keys only the server sets (``id``, ``version``, ``created_at``,
    ``status``, ``history``, ``qualification``...: :data:`SERVER_OWNED`) are
    refused with their paths, together with every other problem
    (:class:`~pipelinekit.ValidationError`).  Opportunities are opened
    through their pipeline (``pipeline.open(...)``), which sets the stage.

    >>> at = datetime.fromisoformat("2026-03-02T09:00:00+00:00")
    >>> lead = from_input(Lead, {"company": {"name": "Acme"}, "tags": ["web"]}, at=at)
    >>> (lead.company.name, lead.status, lead.version, lead.created_at.isoformat())
    ('Acme', 'new', 0, '2026-03-02T09:00:00+00:00')
    """
    if cls not in SERVER_OWNED:
        raise TypeError(
            f"from_input() builds new leads and prospects, not {cls!r}; "
            "open opportunities through their pipeline (pipeline.open(...))"
        )
    if not isinstance(data, Mapping):
        raise ValidationError(
            cls.__name__, [Problem("$", f"must be an object, got {json_type(data)}")]
        )
    owned = SERVER_OWNED[cls]
    problems = [
        Problem(f"$.{key}", "is set by the server, not by the client")
        for key in owned
        if key in data
    ]
    now = resolve_time(at, clock)
    stamp = now.isoformat()
    payload = {k: v for k, v in data.items() if k not in owned}
    payload.update(id=new_id(now), created_at=stamp, updated_at=stamp)
    built: T | None = None
    try:
        built = from_dict(cls, payload)
    except ValidationError as error:
        problems.extend(error.problems)
    if problems or built is None:
        raise ValidationError(cls.__name__, sorted(problems, key=lambda p: p.path))
    return built


def to_json(obj: Any, *, indent: int | None = None) -> str:
    """Return ``obj`` as a JSON string (see :func:`to_dict`)."""
    return json.dumps(to_dict(obj), indent=indent, ensure_ascii=False)


def from_json(cls: type[T], text: str | bytes) -> T:
    """Build a ``cls`` from JSON text, a ``str`` or UTF-8/16/32 ``bytes`` (see :func:`from_dict`).

    Text that is not JSON, bytes that are not text, and input beyond the
    decoding limits (:mod:`pipelinekit.validation`) raise a
    :class:`~pipelinekit.ValidationError` like any other refused input.
    """
    if cls not in ENTITIES and cls not in VALUES:
        raise TypeError(f"from_json() builds pipelinekit entities and value objects, not {cls!r}")
    return from_dict(cls, decode_json(text, cls.__name__))


def _migrate(cls: type, payload: dict[str, Any]) -> dict[str, Any]:
    version = payload.pop("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValidationError(
            cls.__name__, [Problem("$.schema_version", f"must be an integer >= 1, got {version!r}")]
        )
    if version > SCHEMA_VERSION:
        raise ValidationError(
            cls.__name__,
            [
                Problem(
                    "$.schema_version",
                    f"data is schema version {version}, written by a newer pipelinekit; this "
                    f"version reads up to {SCHEMA_VERSION}: upgrade pipelinekit",
                )
            ],
        )
    while version < SCHEMA_VERSION:
        payload = _MIGRATIONS[(cls.__name__, version)](payload)
        version += 1
    return payload


@attrs.frozen
class _Wrapped:
    value: Any
