"""Typed custom fields: the fields apps add for themselves, without subclassing."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeAlias

from ._checks import Checks, fail

__all__ = ["CustomValue", "FrozenMap", "custom_fields"]

#: The value types a custom field (or an event property) may hold.  They
#: round-trip exactly through :func:`pipelinekit.to_dict`.
CustomValue: TypeAlias = str | int | bool | Decimal | date | datetime | None

_SCALARS = (str, int, bool, Decimal, date, type(None))


class FrozenMap(Mapping[str, CustomValue]):
    """An immutable, hashable mapping of string keys to :data:`CustomValue`."""

    __slots__ = ("_data", "_hash")

    def __init__(self, data: Mapping[str, CustomValue] | None = None) -> None:
        self._data: dict[str, CustomValue] = dict(data) if data else {}
        self._hash: int | None = None

    def __getitem__(self, key: str) -> CustomValue:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._data.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenMap):
            return self._data == other._data
        if isinstance(other, Mapping):
            return self._data == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"

    def set(self, key: str, value: CustomValue) -> FrozenMap:
        """Return a copy with ``key`` set to ``value``."""
        return custom_fields({**self._data, key: value})

    def remove(self, key: str) -> FrozenMap:
        """Return a copy without ``key`` (no error if it is absent)."""
        return FrozenMap({k: v for k, v in self._data.items() if k != key})


EMPTY = FrozenMap()


def check_custom(checks: Checks, path: str, value: object) -> FrozenMap:
    """Validate a custom-fields mapping, recording problems, and freeze it."""
    if value is None:
        return EMPTY
    if not isinstance(value, Mapping):
        checks.add(path, f"must be a mapping of names to values, got {type(value).__name__}")
        return EMPTY
    if isinstance(value, FrozenMap):
        return value
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            checks.add(f"{path}[{key!r}]", "keys must be non-empty strings")
        elif not isinstance(item, _SCALARS):
            checks.add(
                f"{path}.{key}",
                f"unsupported value type {type(item).__name__}: use str, int, bool, Decimal, "
                "date, datetime or None",
            )
        elif isinstance(item, float):  # pragma: no cover - float is not in _SCALARS
            checks.add(f"{path}.{key}", "floats are refused: use Decimal")
        elif isinstance(item, Decimal) and not item.is_finite():
            checks.add(f"{path}.{key}", "must be a finite number")
        elif isinstance(item, datetime) and item.utcoffset() is None:
            checks.add(f"{path}.{key}", "naive datetime refused: pass a timezone-aware one")
    return FrozenMap(value)


def custom_fields(data: Mapping[str, Any] | None = None, /, **fields: Any) -> FrozenMap:
    """Build a validated :class:`FrozenMap` (``custom_fields(plan="gold", seats=12)``)."""
    checks = Checks()
    result = check_custom(checks, "$", {**(data or {}), **fields})
    if checks.problems:
        fail(FrozenMap, checks.problems)
    return result
