"""Which fields criteria may read (``company.employees``, ``custom.plan``), and how they show.

Reading itself is :mod:`pipelinekit.domain.paths`, shared with pipeline guards.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from ..domain.money import Money
from ..domain.paths import reader

# What each root path offers; ``custom.<key>`` takes any key.
FIELDS: Mapping[str, frozenset[str]] = {
    "contact": frozenset(["name", "email", "phone", "job_title", "seniority", "email.domain"]),
    "company": frozenset(
        ["name", "domain", "industry", "employees", "annual_revenue", "country", "region"]
    ),
    "source": frozenset(["channel", "detail"]),
    "tags": frozenset([""]),
    "status": frozenset([""]),
    "owner": frozenset([""]),
    "external_id": frozenset([""]),
    "persona": frozenset([""]),
}

#: Paths whose values are personal data: criteria report presence, never the value.
PERSONAL = frozenset(["contact.name", "contact.email", "contact.phone"])

Getter = Callable[[object], object]


def path_problem(path: object) -> str | None:
    """Why ``path`` is not a readable field path, or ``None`` when it is fine."""
    if not isinstance(path, str) or not path:
        return "must be a field path like 'company.industry' or 'custom.plan'"
    root, _, rest = path.partition(".")
    if root == "custom":
        return None if rest else "name the custom field: 'custom.<key>'"
    if root not in FIELDS:
        roots = ", ".join(sorted([*FIELDS, "custom"]))
        return f"unknown field {path!r}: paths start with one of {roots}"
    if rest not in FIELDS[root]:
        names = ", ".join(sorted(f"{root}.{n}" if n else root for n in FIELDS[root]))
        return f"unknown field {path!r}; choose one of {names}"
    return None


def getter(path: str) -> Getter:
    """A fast function reading ``path`` from a lead or prospect (``None`` when absent)."""
    return reader(path)


def is_missing(value: Any) -> bool:
    """Whether a value counts as unknown: ``None``, a blank string or an empty collection."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, frozenset | set | tuple | list):
        return not value
    return False


def observed(value: Any) -> str | int | bool | Decimal | date | datetime | None:
    """A value as a breakdown line shows it (enums by value, money as ``'1200 EUR'``)."""
    if value is None or isinstance(value, bool | int | Decimal | date | datetime):
        return value
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, str):
        return value
    if isinstance(value, Money):
        return f"{value.amount} {value.currency}"
    if isinstance(value, frozenset | set | tuple | list):
        return ", ".join(sorted(str(v) for v in value))
    return str(value)
