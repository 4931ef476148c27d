"""Typed custom fields: the fields apps add for themselves, without subclassing."""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeAlias, TypeVar, overload

from ._checks import BIG_INT, BIG_INT_MESSAGE, SURROGATE_MESSAGE, Checks, fail, shown, unencodable

_T = TypeVar("_T")

__all__ = ["CustomValue", "FrozenMap", "custom_fields"]

#: The value types a custom field (or an event property) may hold.  They
#: round-trip exactly through :func:`pipelinekit.to_dict`.
CustomValue: TypeAlias = str | int | bool | Decimal | date | datetime | None

_SCALARS = (str, int, bool, Decimal, date, type(None))


class FrozenMap(Mapping[str, CustomValue]):
    """An immutable, hashable mapping of string keys to :data:`CustomValue`."""

    __slots__ = ("_data", "_hash")

    def __init__(self, data: Mapping[str, CustomValue] | None = None) -> None:
        items: dict[str, CustomValue] = dict(data) if data else {}
        if items:
            checks = Checks()
            _check_items(checks, "$", items)
            if checks.problems:
                fail(FrozenMap, checks.problems)
        self._data = items
        self._hash: int | None = None

    @classmethod
    def _trusted(cls, data: dict[str, CustomValue]) -> FrozenMap:
        """Wrap ``data`` that has already been validated (and is not shared)."""
        new = cls.__new__(cls)
        new._data = data
        new._hash = None
        return new

    def __getitem__(self, key: str) -> CustomValue:
        return self._data[key]

    # the dict's own lookups: scoring reads event properties millions of times
    @overload
    def get(self, key: str, /) -> CustomValue | None: ...
    @overload
    def get(self, key: str, /, default: CustomValue | _T) -> CustomValue | _T: ...
    def get(self, key: str, /, default: object = None) -> object:
        """The value for ``key``, or ``default``."""
        return self._data.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def items(self) -> ItemsView[str, CustomValue]:
        """The dict's own view (saving serialises every entity's custom fields)."""
        return self._data.items()

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._data.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        # Type-aware: True == 1 in Python, but they are different field values
        # (and serialise differently), so they must not compare equal here.
        if isinstance(other, FrozenMap):
            theirs = other._data
        elif isinstance(other, Mapping):
            theirs = dict(other)
        else:
            return NotImplemented
        mine = self._data
        return mine == theirs and all(type(mine[k]) is type(theirs[k]) for k in mine)

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"

    def set(self, key: str, value: CustomValue) -> FrozenMap:
        """Return a copy with ``key`` set to ``value``."""
        return custom_fields({**self._data, key: value})

    def remove(self, key: str) -> FrozenMap:
        """Return a copy without ``key`` (no error if it is absent)."""
        return FrozenMap._trusted({k: v for k, v in self._data.items() if k != key})


EMPTY = FrozenMap()


def value_problem(item: object) -> str | None:
    """Why ``item`` cannot be a :data:`CustomValue`, or ``None`` when it can."""
    if not isinstance(item, _SCALARS):
        return (
            f"unsupported value type {type(item).__name__}: use str, int, bool, Decimal, "
            "date, datetime or None"
        )
    if isinstance(item, int) and not -BIG_INT < item < BIG_INT:
        return BIG_INT_MESSAGE
    if isinstance(item, Decimal) and not item.is_finite():
        return "must be a finite number"
    if isinstance(item, Decimal) and (
        len(item.as_tuple().digits) > 100 or abs(item.adjusted()) > 100
    ):  # as every loader refuses: it could not be read back
        return "must have at most 100 digits and an exponent within ±100"
    if isinstance(item, str) and "\x00" in item:
        return "must not contain NUL characters (databases such as PostgreSQL cannot store them)"
    if isinstance(item, str) and unencodable(item):
        return SURROGATE_MESSAGE
    if isinstance(item, datetime) and item.utcoffset() is None:
        return "naive datetime refused: pass a timezone-aware one"
    return None


def check_custom(checks: Checks, path: str, value: object) -> FrozenMap:
    """Validate a custom-fields mapping, recording problems, and freeze it."""
    if value is None:
        return EMPTY
    if isinstance(value, FrozenMap):
        return value  # validated when it was built
    if not isinstance(value, Mapping):
        checks.add(path, f"must be a mapping of names to values, got {type(value).__name__}")
        return EMPTY
    before = len(checks.problems)
    _check_items(checks, path, value)
    if len(checks.problems) > before:
        return EMPTY
    return FrozenMap._trusted(dict(value))


def _check_items(checks: Checks, path: str, value: Mapping[Any, Any]) -> None:
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            checks.add(f"{path}[{shown(key)}]", "keys must be non-empty strings")
            continue
        if unencodable(key):
            checks.add(f"{path}[{key!r}]", f"key {SURROGATE_MESSAGE}")
            continue
        problem = value_problem(item)
        if problem is not None:
            checks.add(f"{path}.{key}", problem)


def custom_fields(data: Mapping[str, Any] | None = None, /, **fields: Any) -> FrozenMap:
    """Build a validated :class:`FrozenMap` (``custom_fields(plan="gold", seats=12)``)."""
    return FrozenMap({**(data or {}), **fields})
