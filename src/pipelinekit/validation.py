"""Structuring plain data into typed values, every problem at once (one cohesive module).

One machinery turns mappings, lists and scalars (from JSON, TOML or a dict)
into typed attrs classes for every loader in pipelinekit: entities
(:mod:`pipelinekit.serialization`), pipeline definitions, qualifier
configurations and the command line's settings.  So every loader reports
the same way: one :class:`~pipelinekit.ValidationError` listing *every*
problem, each with its path (``$.stages[2].probability``), in the same
words, and a misspelt key gets the nearest valid name::

    $.stages[0].colour: unknown field 'colour'; did you mean 'label'?
    $.import.batch_size: must be a whole number, got a string

A :class:`Structurer` is built on two private cattrs converters (the global
cattrs converter is never touched): a fast one for valid input, and a
detailed one that runs only to explain refused input.  A plugin author can
use :func:`structure` (or a :class:`Structurer` of their own, with hooks for
their types) to read a qualifier configuration the same way.

Before structuring, every loader reads its input through one decoding
boundary (:func:`decode_json`, :func:`decode_toml`, :func:`check_data`):
nesting deeper than :data:`MAX_DEPTH`, numbers of more than
:data:`MAX_DIGITS` digits or beyond ``1e±``:data:`MAX_EXPONENT`, strings longer
than :data:`MAX_TEXT` or holding lone surrogates, and bytes that are not
UTF-8 are problems with their paths, like any other.  :meth:`Structurer.load`
does both in one pass when the shape of the class lets the structuring hooks
check every value they read (``from_dict`` uses it).
"""

from __future__ import annotations

import difflib
import enum
import functools
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from types import UnionType
from typing import Any, TypeVar, Union, cast, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn, override

from ._decoding import (
    MAX_DEPTH,
    MAX_DIGITS,
    MAX_EXPONENT,
    MAX_TEXT,
    check_data,
    data_problems,
    decimal_problem,
    decode_json,
    decode_toml,
    json_problems,
    text_problem,
    within_limits,
)
from .errors import Problem, ValidationError

__all__ = [
    "MAX_DEPTH",
    "MAX_DIGITS",
    "MAX_EXPONENT",
    "MAX_TEXT",
    "Invalid",
    "Structurer",
    "check_data",
    "data_problems",
    "decimal",
    "decimal_problem",
    "decode_json",
    "decode_toml",
    "each_value",
    "json_problems",
    "json_type",
    "key_of",
    "structure",
    "unknown_field",
]

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")

#: A structure hook: the raw value in, the typed value out; :class:`Invalid` if it cannot be.
Hook = Callable[[Any], object]
#: A built-in leaf hook, called by cattrs with the value and the type asked for.
Leaf = Callable[[Any, Any], object]


class Invalid(TypeError):
    """Raised by a structure hook for a value it refuses; the message is shown as is.

    ``at`` names the key or index *below* the value where the problem is
    (``Invalid("must be a number", at="min")`` under ``$.guards[0]`` is
    reported at ``$.guards[0].min``).
    """

    def __init__(self, message: str, *, at: str | int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.at = at


def json_type(value: object) -> str:
    """The kind of ``value`` for messages; never the value itself (it may be personal)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__


def unknown_field(name: object, allowed: Collection[str]) -> str:
    """``unknown field 'x'; did you mean 'y'?`` (or the valid names when none is close)."""
    close = difflib.get_close_matches(str(name), list(allowed), n=1)
    if close:
        return f"unknown field {name!r}; did you mean {close[0]!r}?"
    return f"unknown field {name!r}; expected one of {', '.join(sorted(allowed))}"


# -- leaf hooks -------------------------------------------------------------------------


_INT_BOUND = 10**MAX_DIGITS

# The leaf hooks also refuse what is beyond the decoding limits (:mod:`._decoding`), so
# that structuring a class whose shape is closed proves the limits in the same pass
# (:meth:`Structurer.load`).  After :func:`check_data` those refusals never fire.


def _checked_text(text: str) -> None:
    """Refuse ``text`` if it is beyond the limits (its length, a lone surrogate)."""
    if len(text) > MAX_TEXT or not text.isascii():
        problem = text_problem(text)
        if problem is not None:
            raise Invalid(problem)


def _text(value: object, _: object = None) -> object:
    if type(value) is str:
        if len(value) > MAX_TEXT or not value.isascii():
            _checked_text(value)
        return value
    if isinstance(value, str):
        _checked_text(str(value))
        return value
    raise Invalid(f"must be a string, got {json_type(value)}")


def _checked_int(number: int) -> None:
    if not -_INT_BOUND < number < _INT_BOUND:
        raise Invalid(f"integer has more than {MAX_DIGITS} digits")


def _whole(value: object, _: object = None) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        _checked_int(value)
        return value
    raise Invalid(f"must be a whole number, got {json_type(value)}")


def _bool(value: object, _: object = None) -> bool:
    if isinstance(value, bool):
        return value
    raise Invalid(f"must be true or false, got {json_type(value)}")


def decimal(value: object, _: object = None) -> Decimal:
    """A finite Decimal from a Decimal, an int or a numeric string; floats are refused."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, str):
        _checked_text(value)
        try:
            result = Decimal(value.strip())
        except ArithmeticError:
            raise Invalid(f"must be a decimal number, got {value!r}") from None
    elif isinstance(value, int) and not isinstance(value, bool):
        _checked_int(value)
        result = Decimal(value)
    elif isinstance(value, float):
        raise Invalid("must be a decimal string like '12.50' (floats are inexact)")
    else:
        raise Invalid(f"must be a decimal number, got {json_type(value)}")
    if not result.is_finite():
        raise Invalid(f"must be a finite number, got {value!r}")
    problem = decimal_problem(result)
    if problem is not None:
        raise Invalid(problem)
    return result


def _datetime(value: object, _: object = None) -> datetime:
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, str):
        _checked_text(value)
        try:
            result = datetime.fromisoformat(value)
        except ValueError:
            raise Invalid(f"must be an ISO 8601 timestamp, got {value!r}") from None
    else:
        raise Invalid(f"must be an ISO 8601 timestamp string, got {json_type(value)}")
    if result.utcoffset() is None:
        raise Invalid(f"timestamp {value!r} has no UTC offset (naive timestamps are refused)")
    return result


def _date(value: object, _: object = None) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        _checked_text(value)
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    elif not within_limits(value):
        raise Invalid("is beyond the decoding limits")
    raise Invalid(f"must be an ISO 8601 date like '2026-03-31', got {value!r}")


@functools.cache
def _enum(kind: type[enum.Enum]) -> Hook:
    choices = ", ".join(repr(member.value) for member in kind)

    def structure(value: object) -> object:
        if type(value) is kind:  # a member already (its value is the enum's own)
            return value
        if type(value) is str:
            _checked_text(value)
        elif not within_limits(value):
            raise Invalid("is beyond the decoding limits")
        try:
            return kind(value)
        except ValueError:
            names = [str(member.value) for member in kind]
            close = difflib.get_close_matches(str(value), names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise Invalid(f"must be one of {choices}; got {value!r}{hint}") from None

    return structure


def _passthrough(value: object, _: object = None) -> object:
    return value


# -- collections: every bad item, under its index or key ---------------------------------


class _KeyNote(str):
    """A note naming the mapping key a nested error belongs to."""

    key: str

    def __new__(cls, key: str) -> _KeyNote:
        note = super().__new__(cls, f"at key {key!r}")
        note.key = key
        return note


class _MapError(ExceptionGroup[Exception]):
    """Several bad values in one mapping."""


def _args(kind: object) -> tuple[Any, ...]:
    return get_args(kind)


def _is_union(kind: object) -> bool:
    return get_origin(kind) in (Union, UnionType)


def _is_variadic(kind: object) -> bool:
    origin = get_origin(kind)
    args = _args(kind)
    if origin is tuple:
        return len(args) == 2 and args[1] is Ellipsis
    return origin in (Sequence, Iterable, list) and len(args) == 1


def _is_fixed_tuple(kind: object) -> bool:
    args = _args(kind)
    return get_origin(kind) is tuple and bool(args) and Ellipsis not in args


def _is_mapping(kind: object) -> bool:
    return get_origin(kind) in (dict, Mapping) and len(_args(kind)) == 2


def _is_frozenset(kind: object) -> bool:
    return get_origin(kind) in (frozenset, set) and len(_args(kind)) == 1


def _is_enum(kind: object) -> bool:
    return isinstance(kind, type) and issubclass(kind, enum.Enum)


class Structurer:
    """Structures plain data into typed values; refused input gets every problem with its path.

    Hooks for further types (:meth:`register`) apply to both converters.  A
    hook takes the raw value and returns the typed one, raising
    :class:`Invalid` (or a :class:`~pipelinekit.ValidationError`, whose
    problems are re-rooted below the value's path) when it cannot.
    """

    def __init__(self) -> None:
        self._registered: list[Callable[[object], bool]] = []
        self._proven: dict[object, bool] = {}
        self._fast = self._converter(detailed=False)
        self._detailed = self._converter(detailed=True)

    def register(self, kind: object, hook: Hook, unstructure: Hook | None = None) -> None:
        """Structure ``kind`` with ``hook`` (a type, or any type expression such as a union),
        and turn it back into plain data with ``unstructure`` if given."""

        def matches(candidate: object) -> bool:
            return candidate is kind or bool(candidate == kind)

        self._registered.append(matches)
        self._proven.clear()
        # the fast converter checks the limits of what a hook is given (see load)
        self._fast.register_structure_hook_func(matches, _within_part(_unary(hook)))
        self._detailed.register_structure_hook_func(matches, _unary(hook))
        if unstructure is not None:
            self._fast.register_unstructure_hook_func(matches, unstructure)

    def unstructure(self, obj: object, kind: object = None) -> Any:
        """``obj`` as plain data: decimals and times as strings, enums as their values."""
        return self._fast.unstructure(obj, kind if kind is not None else type(obj))

    def structure(self, data: object, cls: type[T], *, subject: str | None = None) -> T:
        """``cls`` from ``data``, or a :class:`~pipelinekit.ValidationError` with every problem."""
        try:
            return self._fast.structure(data, cls)
        except Exception:
            pass
        try:
            result: T = self._detailed.structure(data, cls)
        except Exception as error:
            raise ValidationError(subject or _name(cls), _problems(error, "$")) from error
        return result  # pragma: no cover - the fast path refused what this took

    def load(self, data: object, cls: type[T], *, subject: str | None = None) -> T:
        """:func:`check_data` and :meth:`structure` in one: ``cls`` from ``data`` within the
        decoding limits, or one :class:`~pipelinekit.ValidationError` with every problem.

        The result and the problems are those of the two steps one after the other.
        When the shape of ``cls`` is closed (its fields are strings, numbers, times,
        enums, attrs classes and collections of them, and nesting beyond
        :data:`MAX_DEPTH` only through parts that are checked on their own), the
        structuring's own hooks check the limits of every value they read, so valid
        input is walked once; anything refused is explained by the two steps.
        """
        if self._closed(cls):
            try:
                return self._fast.structure(data, cls)
            except Exception:
                pass
        check_data(data, subject or _name(cls))
        return self.structure(data, cls, subject=subject)

    def problems(self, data: object, kind: Any, path: str = "$") -> tuple[Any, list[Problem]]:
        """``data`` structured as ``kind`` and no problems, or ``None`` and every problem."""
        try:
            return self._detailed.structure(data, kind), []
        except Exception as error:
            return None, _problems(error, path)

    def salvage(
        self, data: object, cls: type, path: str = "$"
    ) -> tuple[dict[str, Any], list[Problem]]:
        """The fields of ``cls`` that ``data`` gives validly, and every problem with the rest.

        For a loader that checks more than the shape: it goes on with what is
        valid, so a later check can still report its own problems.  Missing
        required fields, unknown keys (with the nearest valid name) and values
        of the wrong type are all reported.
        """
        if not isinstance(data, Mapping):
            return {}, [Problem(path, f"must be a mapping, got {json_type(data)}")]
        fields = {key_of(a): a for a in _fields(cls) if a.init}
        good: dict[str, Any] = {}
        problems: list[Problem] = []
        for key, field in fields.items():
            here = f"{path}.{key}"
            if key not in data:
                if field.default is attrs.NOTHING:
                    problems.append(Problem(here, "is required"))
                continue
            value, found = self.problems(data[key], field.type, here)
            if found:
                problems.extend(found)
            else:
                good[field.name] = value
        for key in data:
            if key not in fields:
                problems.append(Problem(f"{path}.{key}", unknown_field(key, fields)))
        return good, problems

    # -- limits proved by structuring --------------------------------------------------

    def _closed(self, cls: object) -> bool:
        """Whether the fast converter reads every value of any ``cls`` it accepts through a
        hook that checks the limits, at a depth that stays within :data:`MAX_DEPTH`."""
        known = self._proven.get(cls)
        if known is None:
            try:
                known = self._shape_depth(cls, 0) is not None
            except Exception:  # a type expression this analysis does not know
                known = False
            self._proven[cls] = known
        return known

    def _is_registered(self, kind: object) -> bool:
        return any(matches(kind) for matches in self._registered)

    def _shape_depth(self, kind: Any, depth: int) -> int | None:
        """The deepest container level the fast converter accepts for ``kind`` read at
        ``depth``, or ``None`` if it cannot prove the limits for it."""
        if self._is_registered(kind) or kind is Any:  # checked on its own (_within_part)
            return depth if depth <= MAX_DEPTH - _PART_DEPTH else None
        supertype = getattr(kind, "__supertype__", None)
        if supertype is not None:  # a NewType
            return self._shape_depth(supertype, depth)
        if kind in _CHECKED_LEAVES or _is_enum(kind):
            return depth
        if _is_union(kind):
            levels = [self._shape_depth(arg, depth) for arg in _args(kind) if arg is not type(None)]
            return None if None in levels else max(cast("list[int]", levels), default=depth)
        if depth >= MAX_DEPTH:  # a container here is too deep
            return None
        if _is_variadic(kind) or _is_frozenset(kind):
            return self._shape_depth(_args(kind)[0], depth + 1)
        if _is_fixed_tuple(kind) or _is_mapping(kind):
            levels = [self._shape_depth(arg, depth + 1) for arg in _args(kind)]
            return None if None in levels else max(cast("list[int]", levels))
        if isinstance(kind, type) and attrs.has(kind):
            deepest = depth
            for field in _fields(kind):
                if not field.init:
                    continue
                if _recursive_field(kind, field, self._is_registered):
                    # read through _within_part (see _converter): checked on its own
                    if depth + 1 > MAX_DEPTH - _PART_DEPTH:
                        return None
                    continue
                level = self._shape_depth(field.type, depth + 1)
                if level is None:
                    return None
                deepest = max(deepest, level)
            return deepest
        return None

    # -- the converters ---------------------------------------------------------------

    def _converter(self, *, detailed: bool) -> cattrs.Converter:
        # The fast converter lets cattrs refuse unknown keys inline; the detailed one
        # reports them *together with* the problems of the other fields.
        conv = cattrs.Converter(forbid_extra_keys=not detailed, detailed_validation=detailed)
        if detailed:
            conv.register_structure_hook_factory(attrs.has, lambda cl: _attrs_hook(conv, cl))
        else:
            conv.register_structure_hook_factory(
                attrs.has,
                lambda cl: make_dict_structure_fn(cl, conv, **_fast_fields(conv, cl, self)),
            )
        conv.register_structure_hook_factory(_is_union, lambda t: _union_hook(conv, t))
        conv.register_structure_hook_factory(_is_variadic, lambda t: _tuple_hook(conv, t))
        conv.register_structure_hook_factory(_is_fixed_tuple, lambda t: _fixed_hook(conv, t))
        conv.register_structure_hook_factory(_is_mapping, lambda t: _mapping_hook(conv, t))
        conv.register_structure_hook_factory(_is_frozenset, lambda t: _frozenset_hook(conv, t))
        for kind, hook in (
            (str, _text),
            (int, _whole),
            (bool, _bool),
            (Decimal, decimal),
            (datetime, _datetime),
            (date, _date),
        ):
            conv.register_structure_hook(kind, hook)
        # cattrs dispatches a class to its nearest registered base, and a str enum is a
        # str: register the enum bases themselves, which come first in its MRO
        for base in (enum.StrEnum, enum.IntEnum):
            conv.register_structure_hook(base, _any_enum)
        conv.register_structure_hook_factory(_is_enum, lambda t: _unary(_enum(t)))
        conv.register_structure_hook_func(
            lambda t: t is Any, _passthrough if detailed else _within_part(_passthrough)
        )
        if not detailed:  # plain data back out (only the fast converter unstructures)
            conv.register_unstructure_hook(Decimal, str)
            conv.register_unstructure_hook(datetime, datetime.isoformat)
            conv.register_unstructure_hook(date, date.isoformat)
            conv.register_unstructure_hook_func(_is_enum, lambda member: member.value)
            conv.register_unstructure_hook_func(_is_frozenset, lambda items: sorted(items))
        return conv


def _unary(hook: Hook) -> Callable[[object, object], object]:
    return lambda value, _: hook(value)


#: The types whose hooks check the limits of every value they accept.
_CHECKED_LEAVES: frozenset[object] = frozenset({str, int, bool, Decimal, datetime, date})
#: Nesting allowed below a part checked on its own: a part must sit no deeper than
#: ``MAX_DEPTH - _PART_DEPTH`` for the two to stay within :data:`MAX_DEPTH`.
_PART_DEPTH = MAX_DEPTH // 2


def _within_part(
    hook: Callable[[Any, Any], object],
) -> Callable[[object, object], object]:
    """``hook`` after a check of the limits of its whole value (nested at most
    :data:`_PART_DEPTH` levels): for values no checking leaf hook reads (``Any``, a
    registered hook, a recursive field).  Refusing here only sends the input to the
    exact check (:meth:`Structurer.load`)."""

    def structure(value: object, kind: object) -> object:
        if type(value) is str:
            if len(value) > MAX_TEXT or not value.isascii():
                _checked_text(value)
        elif value is not None and not _flat(value) and not within_limits(value, _PART_DEPTH):
            raise Invalid("is beyond the decoding limits")
        return hook(value, kind)

    return structure


def _flat(value: object) -> bool:
    """Whether ``value`` is a dict of short ASCII keys and plain values within the limits
    (custom fields, event properties): the common case, checked without a walk."""
    if type(value) is not dict:
        return False
    for key, item in value.items():
        if type(key) is not str or len(key) > MAX_TEXT or not key.isascii():
            return False
        kind = type(item)
        if kind is str:
            if len(item) > MAX_TEXT or not item.isascii():
                return False
        elif kind is int:
            if not -_INT_BOUND < item < _INT_BOUND:
                return False
        elif item is not None and kind is not bool:
            return False
    return True


def _reaches(kind: Any, target: type, registered: Callable[[object], bool]) -> bool:
    """Whether a value of ``kind`` can hold a ``target`` (through fields and arguments)."""
    seen: set[object] = set()
    todo: list[Any] = [kind]
    while todo:
        current = todo.pop()
        if current in seen or registered(current):
            continue
        seen.add(current)
        if current is target:
            return True
        supertype = getattr(current, "__supertype__", None)
        if supertype is not None:
            todo.append(supertype)
        todo.extend(_args(current))
        if isinstance(current, type) and attrs.has(current):
            todo.extend(f.type for f in _fields(current) if f.init)
    return False


def _recursive_field(
    cl: type, field: attrs.Attribute[Any], registered: Callable[[object], bool]
) -> bool:
    """Whether ``field`` of ``cl`` can hold a ``cl`` again (``children`` of a result)."""
    return _reaches(field.type, cl, registered)


def _fast_fields(conv: cattrs.Converter, cl: type, owner: Structurer) -> dict[str, Any]:
    """The field overrides of the fast converter's hook for ``cl``: renamed keys, and
    recursive fields read through :func:`_within_part`, so nesting stays bounded."""
    out = _renamed(cl)
    for field in _fields(cl):
        if not field.init or not _recursive_field(cl, field, owner._is_registered):
            continue
        kind = field.type
        resolved: list[Callable[[Any, Any], object]] = []

        def inner(value: Any, asked: Any, kind: Any = kind, resolved: list[Any] = resolved) -> Any:
            if not resolved:  # resolved on first use: the hook of cl is being built now
                resolved.append(conv.get_structure_hook(kind))
            return resolved[0](value, kind)

        hook = _within_part(inner)
        key = key_of(field)
        out[field.name] = override(rename=key if key != field.name else None, struct_hook=hook)
    return out


def _any_enum(value: object, kind: type[enum.Enum]) -> object:
    return _enum(kind)(value)


def _fields(cls: type) -> tuple[attrs.Attribute[Any], ...]:
    attrs.resolve_types(cls)
    return tuple(attrs.fields(cls))


def _name(kind: object) -> str:
    return kind.__name__ if isinstance(kind, type) else str(kind)


def _union_hook(conv: cattrs.Converter, kind: object) -> Callable[[object, object], object]:
    """``X | None`` (and ``Decimal | int | str``-style inputs): resolve the hook once.

    ``None`` stays ``None``; otherwise the first of Decimal, an enum, or the
    only other member decides the type.
    """
    members = [arg for arg in _args(kind) if arg is not type(None)]
    optional = len(members) < len(_args(kind))
    target = next(
        (m for m in members if m is Decimal),
        next((m for m in members if _is_enum(m)), members[0] if len(members) == 1 else None),
    )
    if target is None:
        raise TypeError(f"cannot structure {kind}: register a hook for it")
    inner = conv.get_structure_hook(target)
    base = target
    while hasattr(base, "__supertype__"):  # a NewType of str (an id) is read as a str
        base = base.__supertype__
    if optional and conv.get_structure_hook(base) is _text:  # the commonest field: in one call

        def text_or_none(value: object, _: object) -> object:
            if value is None:
                return None
            if type(value) is str and len(value) <= MAX_TEXT and value.isascii():
                return value
            return _text(value)

        return text_or_none

    def structure(value: object, _: object) -> object:
        if value is None and optional:
            return None
        return inner(value, target)

    return structure


def _tuple_hook(conv: cattrs.Converter, kind: object) -> Callable[[object, object], object]:
    """``tuple[X, ...]`` (or ``Sequence[X]``) from a list: every bad item, by index."""
    return _items_hook(conv, _args(kind)[0], kind)


def _items_hook(
    conv: cattrs.Converter, item_type: object, kind: Any
) -> Callable[[object, object], object]:
    inner = conv.get_structure_hook(item_type)
    detailed = conv.detailed_validation

    def structure(value: object, _: object) -> tuple[object, ...]:
        if not isinstance(value, list | tuple):
            raise Invalid(f"must be a list, got {json_type(value)}")
        if not value:
            return ()
        if not detailed:
            return tuple([inner(item, item_type) for item in value])
        return _items(((inner, item_type, item) for item in value), kind)

    return structure


def _fixed_hook(conv: cattrs.Converter, kind: Any) -> Callable[[object, object], object]:
    """``tuple[X, Y]`` from a list of exactly that many items."""
    item_types = _args(kind)
    hooks = [conv.get_structure_hook(t) for t in item_types]
    size = len(item_types)

    def structure(value: object, _: object) -> tuple[object, ...]:
        if not isinstance(value, list | tuple) or len(value) != size:
            raise Invalid(f"must be a list of {size} items, got {json_type(value)}")
        return _items(zip(hooks, item_types, value, strict=True), kind)

    return structure


def _items(
    parts: Iterable[tuple[Callable[[Any, Any], object], object, object]], kind: Any
) -> tuple[object, ...]:
    """Every item structured by its hook; every failure reported under its index."""
    out: list[object] = []
    errors: list[Exception] = []
    for index, (hook, item_type, item) in enumerate(parts):
        try:
            out.append(hook(item, item_type))
        except Exception as error:
            error.__notes__ = [IterableValidationNote(f"at index {index}", index, item_type)]
            errors.append(error)
    if errors:
        raise IterableValidationError("invalid items", errors, kind)
    return tuple(out)


def _mapping_hook(conv: cattrs.Converter, kind: object) -> Callable[[object, object], object]:
    """``dict[str, X]`` from a mapping: every bad value, by key."""
    key_type, value_type = _args(kind)
    keys = conv.get_structure_hook(key_type)
    values = conv.get_structure_hook(value_type)

    def structure(value: object, _: object) -> dict[object, object]:
        if not isinstance(value, Mapping):
            raise Invalid(f"must be a mapping, got {json_type(value)}")
        pairs = each_value(
            {key: (key, item) for key, item in value.items()},
            lambda pair: (keys(pair[0], key_type), values(pair[1], value_type)),
        )
        return dict(cast("list[tuple[object, object]]", list(pairs.values())))

    return structure


def each_value(mapping: Mapping[K, object], hook: Callable[[Any], V]) -> dict[K, V]:
    """``hook`` applied to every value of ``mapping``; every failure is reported under its key.

    For hooks of mapping-like types (custom fields, say): raise what this
    raises and the problems land at ``$.<path>.<key>``.
    """
    out: dict[K, V] = {}
    errors: list[Exception] = []
    for key, item in mapping.items():
        try:
            out[key] = hook(item)
        except Exception as error:
            error.__notes__ = [_KeyNote(str(key))]
            errors.append(error)
    if errors:
        raise _MapError("invalid values", errors)
    return out


def _frozenset_hook(conv: cattrs.Converter, kind: object) -> Callable[[object, object], object]:
    """``frozenset[X]`` from a list (or set) of X."""
    items = _items_hook(conv, _args(kind)[0], kind)

    def structure(value: object, _: object) -> frozenset[object]:
        if isinstance(value, set | frozenset):
            value = list(value)
        return frozenset(cast("tuple[object, ...]", items(value, kind)))

    return structure


def key_of(field: attrs.Attribute[Any]) -> str:
    """The key a field is read from: its name, or ``metadata={"key": ...}`` (``import``)."""
    key = field.metadata.get("key", field.name)
    return str(key)


def _renamed(cl: type) -> dict[str, Any]:
    return {a.name: override(rename=key_of(a)) for a in _fields(cl) if key_of(a) != a.name}


def _attrs_hook(conv: cattrs.Converter, cl: type) -> Callable[[object, object], object]:
    """cattrs' generated hook, plus unknown keys and the class's own checks of the fields
    that are valid reported *with* the problems of the fields that are not."""
    inner: Callable[[Any, Any], object] = make_dict_structure_fn(cl, conv, **_renamed(cl))
    allowed = frozenset(key_of(a) for a in attrs.fields(cl) if a.init)

    def structure(value: object, kind: object) -> object:
        if not isinstance(value, Mapping):
            raise Invalid(f"must be a mapping, got {json_type(value)}")
        errors: list[Exception] = []
        try:
            result = inner(value, kind)
        except ClassValidationError as error:
            errors.extend(error.exceptions)
            errors.extend(_own_checks(conv, cl, value))
        except ValidationError as error:  # the class's own checks, every field well-typed
            errors.append(error)
        else:
            if allowed.issuperset(value):
                return result
        if not allowed.issuperset(value):
            errors.append(ForbiddenExtraKeysError("", cl, set(value.keys() - allowed)))
        raise ClassValidationError(f"While structuring {cl.__name__}", errors, cl)

    return structure


def _own_checks(conv: cattrs.Converter, cl: type, value: Mapping[Any, Any]) -> list[Exception]:
    """The problems ``cl``'s constructor finds with the fields that structure validly.

    The refused fields are handed over as ``None``; what the constructor then says
    about them (or about the object as a whole, ``$``) is dropped, since the field's
    own problem is already reported.
    """
    arguments: dict[str, Any] = {}
    refused: list[str] = []
    for field in _fields(cl):
        if not field.init:
            continue
        key, alias = key_of(field), str(field.alias)
        if key not in value:
            if field.default is attrs.NOTHING:
                refused.append(key)
                arguments[alias] = None
            continue
        try:
            arguments[alias] = conv.structure(value[key], cast("type[Any]", field.type))
        except Exception:
            refused.append(key)
            arguments[alias] = None
    if not refused:  # every field structured: the constructor's own error is reported
        return []
    try:
        cl(**arguments)
    except ValidationError as error:

        def own(problem: Problem) -> bool:
            at = problem.path
            return at != "$" and not any(
                at == f"$.{key}" or at.startswith((f"$.{key}.", f"$.{key}[")) for key in refused
            )

        kept = [p for p in error.problems if own(p)]
        return [ValidationError(error.subject, kept)] if kept else []
    except Exception:  # a constructor that cannot take None for a refused field
        return []
    return []


# -- flattening cattrs' exception tree into problems -------------------------------------


def _problems(error: BaseException, path: str) -> list[Problem]:
    if isinstance(error, ValidationError):
        return [p.under(path) for p in error.problems]
    if isinstance(error, ForbiddenExtraKeysError):
        allowed = [key_of(a) for a in attrs.fields(error.cl) if a.init]
        return [
            Problem(f"{path}.{key}", unknown_field(key, allowed))
            for key in sorted(error.extra_fields, key=str)
        ]
    if isinstance(error, ClassValidationError | IterableValidationError | _MapError):
        keys = {}
        if isinstance(error, ClassValidationError) and attrs.has(error.cl):
            keys = {a.name: key_of(a) for a in attrs.fields(error.cl)}
        out: list[Problem] = []
        for sub in error.exceptions:
            out.extend(_problems(sub, path + _step(sub, keys)))
        return out
    if isinstance(error, KeyError):
        return [Problem(path, "is required")]
    if isinstance(error, Invalid):
        if error.at is None:
            return [Problem(path, error.message)]
        below = f"[{error.at}]" if isinstance(error.at, int) else f".{error.at}"
        return [Problem(path + below, error.message)]
    if isinstance(error, ExceptionGroup):
        return [p for sub in error.exceptions for p in _problems(sub, path)]
    return [Problem(path, f"{type(error).__name__}: {error}")]


def _step(error: BaseException, keys: Mapping[str, str]) -> str:
    for note in getattr(error, "__notes__", ()):
        if isinstance(note, AttributeValidationNote):
            return f".{keys.get(note.name, note.name)}"
        if isinstance(note, IterableValidationNote):
            return f"[{note.index}]"
        if isinstance(note, _KeyNote):
            return f".{note.key}"
    return ""


_DEFAULT = Structurer()


def structure(data: object, cls: type[T], *, subject: str | None = None) -> T:
    """``cls`` (an attrs class, or any type with hooks) from plain ``data``.

    Raises one :class:`~pipelinekit.ValidationError` (named ``subject``, or
    the class) listing every problem with its path.
    """
    return _DEFAULT.structure(data, cls, subject=subject)
