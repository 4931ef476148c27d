"""``to_dict`` / ``from_dict`` (and JSON) for every pipelinekit entity and value object.

The output is plain JSON-compatible data: decimals and timestamps become
strings, so nothing is lost (``Decimal("12.50")`` stays ``"12.50"``) and
round-trips are exact.  Entities carry a ``schema_version`` key so stored data
can be migrated when the format changes.

Input is checked strictly: unknown keys, missing required keys and wrong
types are all reported at once in one :class:`~pipelinekit.ValidationError`,
each with its path (``$.company.employees``).  The converter is private to
pipelinekit; the global ``cattrs`` converter is never touched.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn

from .domain.companies import Company
from .domain.contacts import EmailAddress, Person, PhoneNumber
from .domain.custom import EMPTY, CustomValue, FrozenMap
from .domain.engagement import Event
from .domain.history import StageChange
from .domain.leads import Lead
from .domain.money import Money
from .domain.opportunities import Opportunity
from .domain.prospects import Prospect
from .domain.results import BreakdownLine, QualificationResult
from .domain.sources import Source
from .errors import Problem, ValidationError

__all__ = [
    "SCHEMA_VERSION",
    "from_dict",
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
    BreakdownLine,
    QualificationResult,
)

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


class _LeafError(TypeError):
    """A leaf structuring failure with a ready-made message."""


def _strict(kind: type, name: str) -> Callable[[Any, Any], Any]:
    def structure(value: Any, _: Any) -> Any:
        if type(value) is kind or (isinstance(value, kind) and not isinstance(value, bool)):
            return value
        raise _LeafError(f"must be {name}, got {_json_type(value)}")

    return structure


def _structure_bool(value: Any, _: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise _LeafError(f"must be true or false, got {_json_type(value)}")


def _structure_decimal(value: Any, _: Any) -> Decimal:
    if isinstance(value, str):
        try:
            result = Decimal(value)
        except ArithmeticError:
            raise _LeafError(f"must be a decimal number, got {value!r}") from None
    elif isinstance(value, int) and not isinstance(value, bool):
        result = Decimal(value)
    elif isinstance(value, Decimal):
        result = value
    elif isinstance(value, float):
        raise _LeafError("must be a decimal string like '12.50' (floats are inexact)")
    else:
        raise _LeafError(f"must be a decimal string, got {_json_type(value)}")
    if not result.is_finite():
        raise _LeafError(f"must be a finite number, got {value!r}")
    return result


def _structure_datetime(value: Any, _: Any) -> datetime:
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, str):
        try:
            result = datetime.fromisoformat(value)
        except ValueError:
            raise _LeafError(f"must be an ISO 8601 timestamp, got {value!r}") from None
    else:
        raise _LeafError(f"must be an ISO 8601 timestamp string, got {_json_type(value)}")
    if result.utcoffset() is None:
        raise _LeafError(f"timestamp {value!r} has no UTC offset (naive timestamps are refused)")
    return result


def _structure_date(value: Any, _: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _LeafError(f"must be an ISO 8601 date like '2026-03-31', got {value!r}")


def _unstructure_custom(value: CustomValue) -> Any:
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    return value


_CUSTOM_TAGS: dict[str, Callable[[Any, Any], Any]] = {
    "decimal": _structure_decimal,
    "datetime": _structure_datetime,
    "date": _structure_date,
}


def _structure_custom_value(value: Any) -> CustomValue:
    if value is None or isinstance(value, str | int):  # bool is an int
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((tag, raw),) = value.items()
        if tag in _CUSTOM_TAGS:
            return _CUSTOM_TAGS[tag](raw, None)  # type: ignore[no-any-return]
    raise _LeafError(
        "must be a string, integer, boolean, null, or one of "
        '{"decimal": "..."}, {"date": "..."}, {"datetime": "..."}'
    )


def _structure_frozen_map(value: Any, _: Any) -> FrozenMap:
    if not isinstance(value, Mapping):
        raise _LeafError(f"must be an object, got {_json_type(value)}")
    if not value:
        return EMPTY
    errors: list[Exception] = []
    out: dict[str, CustomValue] = {}
    for key, item in value.items():
        try:
            out[key] = _structure_custom_value(item)
        except _LeafError as error:
            error.__notes__ = [_KeyNote(key)]
            errors.append(error)
    if errors:
        raise _MapError("invalid custom values", errors)
    return FrozenMap._trusted(out)  # every value was structured and checked above


class _KeyNote(str):
    """A note naming the mapping key a nested error belongs to."""

    key: str

    def __new__(cls, key: str) -> _KeyNote:
        note = super().__new__(cls, f"at key {key!r}")
        note.key = key
        return note


class _MapError(ExceptionGroup[Exception]):
    """Several bad values in one mapping."""


def _structure_enum(kind: type[enum.Enum]) -> Callable[[Any, Any], Any]:
    choices = ", ".join(repr(member.value) for member in kind)

    def structure(value: Any, _: Any) -> Any:
        try:
            return kind(value)
        except ValueError:
            raise _LeafError(f"must be one of {choices}; got {value!r}") from None

    return structure


def _structure_frozenset_str(value: Any, _: Any) -> frozenset[str]:
    if not isinstance(value, list | tuple | set | frozenset):
        raise _LeafError(f"must be a list of strings, got {_json_type(value)}")
    for item in value:
        if not isinstance(item, str):
            raise _LeafError(f"must be a list of strings, found {_json_type(item)}")
    return frozenset(value)


def _make_converter(*, detailed: bool) -> cattrs.Converter:
    # The fast converter lets cattrs refuse unknown keys inline; the detailed one
    # reports them *together with* the problems of the other fields.
    conv = cattrs.Converter(forbid_extra_keys=not detailed, detailed_validation=detailed)
    if detailed:
        conv.register_structure_hook_factory(attrs.has, lambda cl: _structure_attrs(conv, cl))
    conv.register_structure_hook_factory(_is_optional, lambda t: _structure_optional(conv, t))
    conv.register_structure_hook_factory(_is_variadic_tuple, lambda t: _structure_tuple(conv, t))
    conv.register_structure_hook(str, _strict(str, "a string"))
    conv.register_structure_hook(int, _strict(int, "an integer"))
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook(Decimal, _structure_decimal)
    conv.register_unstructure_hook(Decimal, str)
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_unstructure_hook(datetime, datetime.isoformat)
    conv.register_structure_hook(date, _structure_date)
    conv.register_unstructure_hook(date, date.isoformat)
    conv.register_structure_hook_func(lambda t: t == frozenset[str], _structure_frozenset_str)
    conv.register_unstructure_hook_func(lambda t: t == frozenset[str], sorted)
    conv.register_structure_hook(FrozenMap, _structure_frozen_map)
    conv.register_unstructure_hook(
        FrozenMap, lambda m: {k: _unstructure_custom(v) for k, v in m.items()}
    )
    conv.register_structure_hook(EmailAddress, lambda v, _: EmailAddress(_text(v)))
    conv.register_unstructure_hook(EmailAddress, lambda e: e.value)
    conv.register_structure_hook(PhoneNumber, lambda v, _: PhoneNumber(_text(v)))
    conv.register_unstructure_hook(PhoneNumber, lambda p: p.raw)
    conv.register_structure_hook_factory(_is_enum, _structure_enum)
    conv.register_unstructure_hook_func(_is_enum, lambda member: member.value)
    # The properties of an Event and the custom values of a breakdown line.
    conv.register_structure_hook_func(
        lambda t: t == CustomValue, lambda v, _: _structure_custom_value(v)
    )
    conv.register_unstructure_hook_func(lambda t: t == CustomValue, _unstructure_custom)
    return conv


def _is_enum(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, enum.Enum)


def _is_optional(kind: Any) -> bool:
    args = get_args(kind)
    return get_origin(kind) in (Union, UnionType) and len(args) == 2 and type(None) in args


def _structure_optional(conv: cattrs.Converter, kind: Any) -> Callable[[Any, Any], Any]:
    """``X | None``: resolve X's hook once instead of dispatching on every call."""
    (inner_type,) = (arg for arg in get_args(kind) if arg is not type(None))
    inner = conv.get_structure_hook(inner_type)

    def structure(value: Any, _: Any) -> Any:
        return None if value is None else inner(value, inner_type)

    return structure


def _is_variadic_tuple(kind: Any) -> bool:
    args = get_args(kind)
    return get_origin(kind) is tuple and len(args) == 2 and args[1] is Ellipsis


def _structure_tuple(conv: cattrs.Converter, kind: Any) -> Callable[[Any, Any], Any]:
    """``tuple[X, ...]`` from a list: resolve X's hook once, collect every bad item."""
    item_type = get_args(kind)[0]
    inner = conv.get_structure_hook(item_type)
    detailed = conv.detailed_validation

    def structure(value: Any, _: Any) -> tuple[Any, ...]:
        if type(value) is not list and not isinstance(value, list | tuple):
            raise _LeafError(f"must be an array, got {_json_type(value)}")
        if not value:
            return ()
        if not detailed:
            return tuple([inner(item, item_type) for item in value])
        out: list[Any] = []
        errors: list[Exception] = []
        for index, item in enumerate(value):
            try:
                out.append(inner(item, item_type))
            except Exception as error:
                error.__notes__ = [IterableValidationNote(f"at index {index}", index, item_type)]
                errors.append(error)
        if errors:
            raise IterableValidationError("invalid items", errors, kind)
        return tuple(out)

    return structure


def _structure_attrs(conv: cattrs.Converter, cl: type) -> Callable[[Any, Any], Any]:
    """cattrs' generated hook, plus unknown keys reported *with* the field problems."""
    inner: Callable[[Any, Any], Any] = make_dict_structure_fn(cl, conv)
    allowed = frozenset(a.name for a in attrs.fields(cl) if a.init)

    def structure(value: Any, kind: Any) -> Any:
        if type(value) is not dict and not isinstance(value, Mapping):
            raise _LeafError(f"must be an object, got {_json_type(value)}")
        if allowed.issuperset(value):
            return inner(value, kind)
        extra = value.keys() - allowed
        unknown = ForbiddenExtraKeysError("", cl, set(extra))
        try:
            inner(value, kind)
        except ClassValidationError as error:
            raise ClassValidationError(error.message, [*error.exceptions, unknown], cl) from None
        raise ClassValidationError(f"While structuring {cl.__name__}", [unknown], cl)

    return structure


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _LeafError(f"must be a string, got {_json_type(value)}")
    return value


# Valid input (the common case) goes through the fast converter; input it refuses
# is structured again by the detailed one, which collects every problem with its path.
_converter = _make_converter(detailed=False)
_detailed = _make_converter(detailed=True)


def to_dict(obj: Any) -> dict[str, Any]:
    """Return ``obj`` (an entity or value object) as JSON-compatible plain data.

    Entities get a ``schema_version`` key.  :func:`from_dict` reverses it exactly.
    """
    kind = type(obj)
    if kind not in ENTITIES and kind not in VALUES:
        raise TypeError(
            f"to_dict() takes a pipelinekit entity or value object, not {kind.__name__}"
        )
    data: Any = _converter.unstructure(obj, kind)
    if not isinstance(data, dict):
        data = {"value": data}
    if kind in ENTITIES:
        return {"schema_version": SCHEMA_VERSION, **data}
    return data  # type: ignore[no-any-return]


def from_dict(cls: type[T], data: Mapping[str, Any]) -> T:
    """Build a ``cls`` from plain data, refusing bad input with every problem listed.

    Raises :class:`~pipelinekit.ValidationError` whose ``problems`` carry paths
    such as ``$.company.employees``.  Entities written by older versions of
    pipelinekit are migrated first; data from a newer version is refused.
    """
    if cls not in ENTITIES and cls not in VALUES:
        raise TypeError(f"from_dict() builds pipelinekit entities and value objects, not {cls!r}")
    if not isinstance(data, Mapping):
        raise ValidationError(
            cls.__name__, [Problem("$", f"must be an object, got {_json_type(data)}")]
        )
    payload = dict(data)
    if cls in ENTITIES:
        payload = _migrate(cls, payload)
    elif cls in (EmailAddress, PhoneNumber):
        problems = [
            Problem(f"$.{key}", "unknown field (check the spelling, or remove it)")
            for key in sorted(map(str, payload.keys() - {"value"}))
        ]
        if "value" not in payload:
            problems.insert(0, Problem("$.value", "is required"))
        if problems:
            raise ValidationError(cls.__name__, problems)
        try:
            return _converter.structure(payload["value"], cls)
        except ValidationError as error:
            raise ValidationError(
                cls.__name__, [p.under("$.value") for p in error.problems]
            ) from error
        except _LeafError as error:
            raise ValidationError(cls.__name__, [Problem("$.value", str(error))]) from error
    try:
        return _converter.structure(payload, cls)
    except Exception:
        pass
    try:
        result = _detailed.structure(payload, cls)
    except ValidationError as error:
        raise ValidationError(cls.__name__, error.problems) from error
    except (ClassValidationError, IterableValidationError, _LeafError) as error:
        raise ValidationError(cls.__name__, _problems(error, "$")) from error
    return result  # pragma: no cover - the fast path refused what the detailed one took


def to_json(obj: Any, *, indent: int | None = None) -> str:
    """Return ``obj`` as a JSON string (see :func:`to_dict`)."""
    return json.dumps(to_dict(obj), indent=indent, ensure_ascii=False)


def from_json(cls: type[T], text: str | bytes) -> T:
    """Build a ``cls`` from a JSON string (see :func:`from_dict`)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValidationError(
            cls.__name__, [Problem("$", f"is not valid JSON: {error.msg} at line {error.lineno}")]
        ) from error
    return from_dict(cls, data)


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


def _problems(error: BaseException, path: str) -> list[Problem]:
    """Flatten cattrs' exception tree (and our own errors inside it) into problems."""
    if isinstance(error, ValidationError):
        return [p.under(path) for p in error.problems]
    if isinstance(error, ForbiddenExtraKeysError):
        return [
            Problem(f"{path}.{key}", "unknown field (check the spelling, or remove it)")
            for key in sorted(error.extra_fields)
        ]
    if isinstance(error, ClassValidationError | IterableValidationError | _MapError):
        out: list[Problem] = []
        for sub in error.exceptions:
            out.extend(_problems(sub, path + _step(sub)))
        return out
    if isinstance(error, KeyError):
        return [Problem(path, "is required")]
    if isinstance(error, _LeafError):
        return [Problem(path, str(error))]
    if isinstance(error, ExceptionGroup):
        return [p for sub in error.exceptions for p in _problems(sub, path)]
    return [Problem(path, f"{type(error).__name__}: {error}")]


def _step(error: BaseException) -> str:
    for note in getattr(error, "__notes__", ()):
        if isinstance(note, AttributeValidationNote):
            return f".{note.name}"
        if isinstance(note, IterableValidationNote):
            return f"[{note.index}]"
        if isinstance(note, _KeyNote):
            return f".{note.key}"
    return ""


def _json_type(value: object) -> str:
    """The JSON type of ``value`` for messages; never the value itself (it may be personal)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__
