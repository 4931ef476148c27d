"""Checks shared by the three entities (identity, times, version, tags, custom fields)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ._checks import Checks, set_attr
from .custom import check_custom

_EMPTY_TAGS: frozenset[str] = frozenset()


def check_common(self: Any, checks: Checks) -> None:
    """Validate and normalise the fields every entity has."""
    if not isinstance(self.id, str) or not self.id.strip() or len(self.id) > 128:
        checks.add("$.id", f"must be a non-empty string of at most 128 characters, got {self.id!r}")
    created = checks.aware("$.created_at", self.created_at)
    updated = checks.aware("$.updated_at", self.updated_at)
    if created is not None and updated is not None and updated < created:
        checks.add("$.updated_at", "must not be before created_at")
    if not isinstance(self.version, int) or isinstance(self.version, bool) or self.version < 0:
        checks.add("$.version", f"must be an int >= 0, got {self.version!r}")
    checks.text("$.owner", self.owner, required=False, max_length=200)
    checks.text("$.external_id", self.external_id, required=False, max_length=200)
    checks.free_text("$.notes", self.notes)
    tags = self.tags
    if not isinstance(tags, frozenset):
        if isinstance(tags, str | bytes | Mapping) or not isinstance(tags, Iterable):
            checks.add(
                "$.tags", f"must be a collection of strings (e.g. a set), got {type(tags).__name__}"
            )
            tags = _EMPTY_TAGS
        else:
            try:
                tags = frozenset(tags)
            except TypeError:
                checks.add("$.tags", "tags must be strings")
                tags = _EMPTY_TAGS
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip():
            checks.add("$.tags", f"tags must be non-empty strings, got {tag!r}")
    custom = check_custom(checks, "$.custom", self.custom)
    if checks.problems:
        return
    if created is not self.created_at:
        set_attr(self, "created_at", created)
    if updated is not self.updated_at:
        set_attr(self, "updated_at", updated)
    if tags is not self.tags:
        set_attr(self, "tags", tags)
    if custom is not self.custom:
        set_attr(self, "custom", custom)


def check_tuple(checks: Checks, path: str, value: Any, kind: type) -> tuple[Any, ...]:
    """Validate a tuple (or list) of ``kind`` items and return it as a tuple."""
    if isinstance(value, list):
        value = tuple(value)
    if not isinstance(value, tuple):
        checks.add(path, f"must be a sequence of {kind.__name__}, got {type(value).__name__}")
        return ()
    for index, item in enumerate(value):
        if not isinstance(item, kind):
            checks.add(f"{path}[{index}]", f"must be a {kind.__name__}, got {type(item).__name__}")
    return value
