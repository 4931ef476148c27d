"""From a file's row to a lead: which column feeds which field, and every problem of a row."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal, TypeVar

from ..domain import Company, Lead, Money, Person, Source
from ..errors import Problem, ValidationError
from ..qualification import Item, checklist_answers
from ..validation import decimal_problem
from .formats import column_key

__all__ = ["DEFAULT_COLUMNS", "FIELDS", "Columns", "Unmapped", "imported_attributes", "lead_of"]

#: The lead fields a column can map to, and the column names recognised by default
#: (compared case-insensitively, ignoring spaces, dashes and underscores).
DEFAULT_COLUMNS: Final[Mapping[str, tuple[str, ...]]] = {
    "external_id": ("external_id", "id", "lead_id"),
    "name": ("name", "contact", "contact.name", "full_name"),
    "email": ("email", "contact.email", "e-mail"),
    "phone": ("phone", "contact.phone"),
    "job_title": ("job_title", "title", "contact.job_title"),
    "company": ("company", "company.name", "company_name", "account"),
    "domain": ("domain", "company.domain", "website"),
    "industry": ("industry", "company.industry"),
    "employees": ("employees", "company.employees", "company_size"),
    "annual_revenue": ("annual_revenue", "revenue", "company.annual_revenue"),
    "currency": ("currency",),
    "country": ("country", "company.country"),
    "region": ("region", "company.region"),
    "source": ("source", "channel", "source.channel"),
    "source_detail": ("source_detail", "source.detail", "campaign"),
    "owner": ("owner",),
    "tags": ("tags",),
    "notes": ("notes",),
}
#: The field names a column mapping may use.
FIELDS: Final = tuple(DEFAULT_COLUMNS)

#: What happens to columns that map to no field: kept as custom fields, or dropped.
Unmapped = Literal["custom", "ignore"]

#: The lead attribute each field of a row feeds.
_ATTRIBUTE_OF: Final = {
    "name": "contact",
    "email": "contact",
    "phone": "contact",
    "job_title": "contact",
    "company": "company",
    "domain": "company",
    "industry": "company",
    "employees": "company",
    "annual_revenue": "company",
    "currency": "company",
    "country": "company",
    "region": "company",
    "source": "source",
    "source_detail": "source",
    "owner": "owner",
    "tags": "tags",
    "notes": "notes",
}

T = TypeVar("T")


class Columns:
    """Which column of a file feeds which lead field (resolved once per header).

    ``mapping`` names the column for some fields (``{"email": "E-Mail"}``); the
    other fields take the first of their :data:`DEFAULT_COLUMNS` the header
    has.  ``extra`` lists the columns no field uses.  The mapping's field names
    are checked by the caller (see :func:`pipelinekit.io.import_leads`).
    """

    def __init__(self, header: Sequence[str], mapping: Mapping[str, str]) -> None:
        by_key = {column_key(name): name for name in header}
        self.field_of: dict[str, str] = {}
        for field, candidates in DEFAULT_COLUMNS.items():
            names = (mapping[field],) if field in mapping else candidates
            for name in names:
                column = by_key.get(column_key(name))
                if column is not None:
                    self.field_of[field] = column
                    break
        used = set(self.field_of.values())
        self.extra = [name for name in header if name not in used and name != "__error__"]

    def value(self, row: Mapping[str, object], field: str) -> object:
        """The raw value of ``field`` in ``row`` (``None`` when no column feeds it)."""
        column = self.field_of.get(field)
        return None if column is None else row.get(column)


def imported_attributes(columns: Columns) -> frozenset[str]:
    """The lead attributes the file's columns feed (``custom`` when unmapped columns exist)."""
    names = {_ATTRIBUTE_OF[f] for f in columns.field_of if f in _ATTRIBUTE_OF}
    if columns.extra:
        names.add("custom")
    return frozenset(names)


def text(value: object) -> str | None:
    """A cell as stripped text, ``None`` when empty."""
    if value is None:
        return None
    stripped = str(value).strip()
    return stripped or None


def lead_of(
    row: Mapping[str, Any],
    columns: Columns,
    *,
    at: datetime,
    currency: str = "EUR",
    unmapped: Unmapped = "custom",
) -> Lead:
    """Build a lead from one row; raise :class:`ValidationError` listing every problem.

    A row without an external id gets a stable one from a digest of its
    content (``row-<sha1>``), so importing it again finds it.
    """
    problems: list[Problem] = []
    if "__error__" in row:
        problems.append(Problem("$", str(row["__error__"])))
    get = columns.value
    name, email, phone, title = (text(get(row, f)) for f in ("name", "email", "phone", "job_title"))
    contact = None
    if name or email or phone or title:
        contact = _capture(
            problems,
            "$.contact",
            lambda: Person.of(name, email=email, phone=phone, job_title=title),
        )
    employees = _whole(problems, "$.company.employees", get(row, "employees"))
    amount = _number(problems, "$.company.annual_revenue", get(row, "annual_revenue"))
    money_currency = text(get(row, "currency")) or currency
    revenue = None
    if amount is not None:
        revenue = _capture(
            problems, "$.company.annual_revenue", lambda: Money(amount, money_currency)
        )
    company_name = text(get(row, "company"))
    company = None
    domain, industry, country, region = (
        text(get(row, f)) for f in ("domain", "industry", "country", "region")
    )
    if company_name or employees is not None or domain or industry or country or region:
        company = _capture(
            problems,
            "$.company",
            lambda: Company(
                company_name or "",
                domain=domain,
                industry=industry,
                employees=employees,
                annual_revenue=revenue,
                country=(country or "").upper() or None,
                region=region,
            ),
        )
    channel = text(get(row, "source"))
    source = None
    if channel:
        detail = text(get(row, "source_detail"))
        source = _capture(
            problems, "$.source", lambda: Source(channel.lower().replace(" ", "_"), detail)
        )
    tags_text = text(get(row, "tags"))
    tags = [t.strip() for t in (tags_text or "").replace(";", ",").split(",") if t.strip()]
    custom: dict[str, Any] = {}
    if unmapped == "custom":
        answers = checklist_answers()
        for column in columns.extra:
            value = _custom_value(row.get(column))
            if value is None:
                continue
            answered = answers.get(column)
            if answered is not None and not isinstance(answered.level(value), int):
                reason = _bad_answer(column, value, answered)
                problems.append(Problem(f"$.custom.{column}", reason))
            custom[column] = value
    external_id = text(get(row, "external_id")) or _digest(row)
    if problems:
        raise ValidationError("Lead", problems)
    if contact is None and company is None:
        reason = "a lead needs a contact (name, email, phone) or a company"
        if not columns.field_of:
            reason += f"; no column of this row is a lead field (fields: {', '.join(FIELDS)})"
        raise ValidationError("Lead", [Problem("$", reason)])
    return Lead.create(
        contact=contact,
        company=company,
        source=source,
        owner=text(get(row, "owner")),
        tags=tags,
        custom=custom,
        external_id=external_id,
        notes=text(get(row, "notes")),
        at=at,
    )


def _bad_answer(column: str, value: object, answered: Item) -> str:
    """Why a checklist answer would be scored as unknown, and the answers accepted."""
    shown = repr(value) if isinstance(value, str) else str(value)
    levels = ", ".join(answered.levels)
    return f"{shown} is not an answer for {column}: use one of {levels} (or 0-{answered.max})"


def _digest(row: Mapping[str, object]) -> str:
    content = json.dumps({k: str(v) for k, v in row.items()}, sort_keys=True).encode()
    return f"row-{hashlib.sha1(content, usedforsecurity=False).hexdigest()}"


def _number(problems: list[Problem], path: str, value: object) -> Decimal | None:
    raw = text(value)
    if raw is None:
        return None
    cleaned = raw.replace(",", "").replace("_", "").replace(" ", "")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        problems.append(Problem(path, f"not a number: {raw!r}"))
        return None
    if not number.is_finite():
        problems.append(Problem(path, f"not a finite number: {raw!r}"))
        return None
    beyond = decimal_problem(number)
    if beyond is not None:
        problems.append(Problem(path, beyond))
        return None
    return number


def _whole(problems: list[Problem], path: str, value: object) -> int | None:
    number = _number(problems, path, value)
    if number is None:
        return None
    if number != number.to_integral_value():
        problems.append(Problem(path, f"must be a whole number, got {text(value)!r}"))
        return None
    return int(number)


def _custom_value(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, list | dict):
        # a list or object cell is kept as its JSON text (decimals written as strings)
        return json.dumps(value, sort_keys=True, default=str)
    return value


def _capture(problems: list[Problem], prefix: str, build: Callable[[], T]) -> T | None:
    try:
        return build()
    except ValidationError as error:
        problems.extend(p.under(prefix) for p in error.problems)
        return None
