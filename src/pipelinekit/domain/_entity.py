"""Checks shared by the three entities (identity, times, version, tags, custom fields)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple, TypeVar, cast

from ._checks import BIG_INT, Checks, shown, unencodable
from .custom import FrozenMap, check_custom

__all__ = ["Common", "check_common", "check_tuple"]

T = TypeVar("T")
_EMPTY_TAGS: frozenset[str] = frozenset()


class Common(NamedTuple):
    """The normalised values of the fields every entity has (valid once checks pass)."""

    created_at: datetime
    updated_at: datetime
    tags: frozenset[str]
    custom: FrozenMap


def check_common(
    checks: Checks,
    id: object,
    created_at: object,
    updated_at: object,
    version: object,
    owner: object,
    external_id: object,
    notes: object,
    tags: object,
    custom: object,
) -> Common:
    """Validate the fields every entity has; return them normalised (UTC, frozen)."""
    if not isinstance(id, str) or not id.strip() or len(id) > 128:
        checks.add("$.id", f"must be a non-empty string of at most 128 characters, got {shown(id)}")
    created = checks.aware("$.created_at", created_at)
    updated = checks.aware("$.updated_at", updated_at)
    if created is not None and updated is not None and updated < created:
        checks.add("$.updated_at", "must not be before created_at")
    if not isinstance(version, int) or isinstance(version, bool) or not 0 <= version < BIG_INT:
        checks.add("$.version", f"must be an int >= 0, got {shown(version)}")
    checks.text("$.owner", owner, required=False, max_length=200)
    checks.text("$.external_id", external_id, required=False, max_length=200)
    checks.free_text("$.notes", notes)
    frozen = _tags(checks, tags)
    fields = check_custom(checks, "$.custom", custom)
    # Placeholders stand in for refused times: the caller raises before using them.
    epoch = datetime.min
    return Common(created or epoch, updated or epoch, frozen, fields)


def _tags(checks: Checks, tags: object) -> frozenset[str]:
    if not isinstance(tags, frozenset):
        if isinstance(tags, str | bytes | Mapping) or not isinstance(tags, Iterable):
            checks.add(
                "$.tags", f"must be a collection of strings (e.g. a set), got {type(tags).__name__}"
            )
            return _EMPTY_TAGS
        try:
            tags = frozenset(tags)
        except TypeError:
            checks.add("$.tags", "tags must be strings")
            return _EMPTY_TAGS
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip() or unencodable(tag):
            checks.add("$.tags", f"tags must be non-empty strings, got {shown(tag)}")
    return cast("frozenset[str]", tags)


def check_tuple(checks: Checks, path: str, value: object, kind: type[T]) -> tuple[T, ...]:
    """Validate a tuple (or list) of ``kind`` items and return it as a tuple.

    The result holds only ``kind`` items once ``checks`` has no problems.
    """
    if isinstance(value, list):
        value = tuple(value)
    if not isinstance(value, tuple):
        checks.add(path, f"must be a sequence of {kind.__name__}, got {type(value).__name__}")
        return ()
    items: tuple[Any, ...] = value
    for index, item in enumerate(items):
        if not isinstance(item, kind):
            checks.add(f"{path}[{index}]", f"must be a {kind.__name__}, got {type(item).__name__}")
    return items
