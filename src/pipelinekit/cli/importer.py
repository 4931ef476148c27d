"""Import leads from CSV or JSON Lines: map columns, validate every row, upsert the good ones.

This module is the engine behind ``pipelinekit import`` and needs no CLI
library, so scripts can call :func:`import_leads` directly.

* Each row becomes a :class:`~pipelinekit.Lead`; **every** problem of a bad
  row is reported as a :class:`RowError` (line number, field path, reason)
  and the row is skipped; good rows are committed in batches.
* Rows are upserted by ``external_id`` (the id in your system), so
  re-running an import never duplicates: unchanged rows write nothing.  An
  update changes only the fields the file imports (contact, company, source,
  owner, tags, notes; custom fields are merged): a lead's status, history,
  qualification, engagement and links are kept.  A row
  without an external id gets a stable one from a digest of its content
  (``row-<sha1>``).
* Columns map to lead fields by name (see :data:`DEFAULT_COLUMNS`); pass
  ``mapping={"email": "E-Mail"}`` to use other names.  Columns that map to no
  field become custom fields under their own name (``bant.budget``,
  ``seats``...), unless ``unmapped="ignore"``.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import attrs

from ..domain import Company, Lead, Money, Person, Source
from ..errors import PipelinekitError, Problem, ValidationError
from ..storage import Storage

__all__ = [
    "DEFAULT_COLUMNS",
    "FIELDS",
    "ImportFileError",
    "ImportSummary",
    "detect_format",
    "RowError",
    "import_leads",
    "not_utf8",
    "read_rows",
]

#: The lead fields a column can map to, and the column names recognised by default
#: (compared case-insensitively, ignoring spaces, dashes and underscores).
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
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
#: The field names a mapping may use.
FIELDS = tuple(DEFAULT_COLUMNS)
_FORMATS = ("csv", "jsonl")


class ImportFileError(PipelinekitError, ValueError):
    """The file itself cannot be imported (missing, unreadable, unknown format, no header)."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


@attrs.frozen
class RowError:
    """One problem of one rejected row: ``line`` in the file (a CSV header is line 1)."""

    line: int
    path: str
    reason: str
    external_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The error as plain data (for the error report and ``--json``)."""
        return {
            "line": self.line,
            "external_id": self.external_id,
            "path": self.path,
            "reason": self.reason,
        }


@attrs.frozen
class ImportSummary:
    """What an import did: rows read, inserted, updated, unchanged, rejected, and why."""

    rows: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    errors: tuple[RowError, ...] = attrs.field(repr=False)

    @property
    def ok(self) -> bool:
        """Whether every row was imported."""
        return self.rejected == 0

    def to_dict(self) -> dict[str, Any]:
        """The summary as plain data (errors included)."""
        return {
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "errors": [e.to_dict() for e in self.errors],
        }


def _key(name: str) -> str:
    return name.strip().lower().replace(" ", "").replace("-", "").replace("_", "")


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, out)
    else:
        out[prefix] = value


def not_utf8(error: UnicodeDecodeError, line: int | None = None) -> str:
    """What to tell the user about a file that is not UTF-8 (``line`` counted from 1).

    Without ``line``, it is worked out from the bytes the error holds (right
    when the whole file was decoded at once, as ``Path.read_text`` does).
    """
    if line is None:
        line = bytes(error.object[: error.start]).count(b"\n") + 1
    return f"not UTF-8 (line {line}): re-save the file as UTF-8"


def _check_utf8(path: Path) -> int:
    """The number of lines in ``path``; :class:`ImportFileError` if it is not UTF-8."""
    count = 0
    try:
        with path.open("rb") as handle:
            for count, raw in enumerate(handle, start=1):
                try:
                    raw.decode("utf-8")  # a UTF-8 character never spans a line break
                except UnicodeDecodeError as error:
                    raise ImportFileError(path, not_utf8(error, count)) from error
    except OSError as error:
        raise ImportFileError(path, f"cannot open: {error.strerror or error}") from error
    return count


def detect_format(path: Path, format: str | None = None) -> str:
    """``csv`` or ``jsonl``: ``format`` if given, else from the suffix (``.csv``, ``.jsonl``)."""
    fmt = (format or path.suffix.lstrip(".")).lower()
    fmt = {"ndjson": "jsonl", "json": "jsonl", "tsv": "csv"}.get(fmt, fmt)
    if fmt not in _FORMATS:
        raise ImportFileError(
            path,
            f"unknown format {fmt!r}: name the file .csv or .jsonl, or pass --format csv|jsonl",
        )
    return fmt


def read_rows(path: str | Path, format: str | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line, row)`` for each data row of a CSV or JSON Lines file.

    CSV rows map header names to strings (the header is line 1); JSON Lines
    objects are flattened (``{"company": {"name": ...}}`` gives
    ``company.name``).  A JSON line that does not parse yields a row
    ``{"__error__": reason}``, so it is reported like any bad row.
    """
    file = Path(path)
    fmt = detect_format(file, format)
    try:
        handle = file.open(encoding="utf-8-sig", newline="")
    except OSError as error:
        raise ImportFileError(file, f"cannot open: {error.strerror or error}") from error
    try:
        yield from _rows(file, fmt, handle)
    except UnicodeDecodeError as error:
        raise ImportFileError(file, "not UTF-8: re-save the file as UTF-8") from error


def _rows(file: Path, fmt: str, handle: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    with handle:
        if fmt == "csv":
            delimiter = "\t" if file.suffix.lower() == ".tsv" else ","
            reader = csv.DictReader(handle, delimiter=delimiter)
            if reader.fieldnames is None:
                raise ImportFileError(file, "the file is empty: a CSV import needs a header line")
            _check_header(file, reader.fieldnames)
            for row in reader:
                extra = row.pop(None, None)
                if extra:
                    row["__error__"] = f"{len(extra)} more value(s) than header columns"
                yield reader.line_num, row
            return
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                data = json.loads(text, parse_float=Decimal)
            except json.JSONDecodeError as error:
                yield number, {"__error__": f"not valid JSON: {error.msg} (column {error.colno})"}
                continue
            if not isinstance(data, dict):
                yield (
                    number,
                    {"__error__": f"a line must hold a JSON object, got {type(data).__name__}"},
                )
                continue
            flat: dict[str, Any] = {}
            _flatten("", data, flat)
            yield number, flat


def _check_header(file: Path, header: Sequence[str]) -> None:
    """Refuse a header that names a column twice (compared as column names are matched)."""
    seen: dict[str, list[str]] = {}
    for name in header:
        seen.setdefault(_key(name), []).append(name)
    repeated = [names for names in seen.values() if len(names) > 1]
    if repeated:
        listed = "; ".join(" and ".join(repr(n) for n in names) for names in repeated)
        raise ImportFileError(
            file, f"duplicate column(s) in the header: {listed}; give each column its own name"
        )


class _Columns:
    """Resolves, once per file, which column feeds which field."""

    def __init__(self, header: Sequence[str], mapping: Mapping[str, str]) -> None:
        unknown = sorted(set(mapping) - set(FIELDS))
        if unknown:
            raise ValueError(
                f"unknown lead field(s) in the column mapping: {', '.join(unknown)}; "
                f"fields are: {', '.join(FIELDS)}"
            )
        by_key = {_key(name): name for name in header}
        self.field_of: dict[str, str] = {}
        for field, candidates in DEFAULT_COLUMNS.items():
            names = (mapping[field],) if field in mapping else candidates
            for name in names:
                column = by_key.get(_key(name))
                if column is not None:
                    self.field_of[field] = column
                    break
        used = set(self.field_of.values())
        self.extra = [name for name in header if name not in used and name != "__error__"]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _number(problems: list[Problem], path: str, value: Any, *, whole: bool) -> Any:
    text = _text(value)
    if text is None:
        return None
    cleaned = text.replace(",", "").replace("_", "").replace(" ", "")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        problems.append(Problem(path, f"not a number: {text!r}"))
        return None
    if not number.is_finite():
        problems.append(Problem(path, f"not a finite number: {text!r}"))
        return None
    if whole:
        if number != number.to_integral_value():
            problems.append(Problem(path, f"must be a whole number, got {text!r}"))
            return None
        return int(number)
    return number


def _custom_value(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True)
    return value


def _capture(problems: list[Problem], prefix: str, build: Callable[[], Any]) -> Any:
    try:
        return build()
    except ValidationError as error:
        problems.extend(p.under(prefix) for p in error.problems)
        return None


def _lead_from_row(
    row: Mapping[str, Any],
    columns: _Columns,
    *,
    at: datetime,
    currency: str = "EUR",
    unmapped: str = "custom",
) -> Lead:
    """Build a lead from one row; raise :class:`ValidationError` listing every problem."""
    problems: list[Problem] = []
    if "__error__" in row:
        problems.append(Problem("$", str(row["__error__"])))

    def get(field: str) -> Any:
        column = columns.field_of.get(field)
        return None if column is None else row.get(column)

    name, email, phone, title = (_text(get(f)) for f in ("name", "email", "phone", "job_title"))
    contact = None
    if name or email or phone or title:
        contact = _capture(
            problems,
            "$.contact",
            lambda: Person.of(name, email=email, phone=phone, job_title=title),
        )
    employees = _number(problems, "$.company.employees", get("employees"), whole=True)
    revenue_amount = _number(
        problems, "$.company.annual_revenue", get("annual_revenue"), whole=False
    )
    money_currency = _text(get("currency")) or currency
    revenue = None
    if revenue_amount is not None:
        revenue = _capture(
            problems, "$.company.annual_revenue", lambda: Money(revenue_amount, money_currency)
        )
    company_name = _text(get("company"))
    company = None
    company_fields = (get("domain"), get("industry"), get("country"), get("region"))
    if company_name or employees is not None or any(_text(v) for v in company_fields):
        company = _capture(
            problems,
            "$.company",
            lambda: Company(
                company_name or "",
                domain=_text(get("domain")),
                industry=_text(get("industry")),
                employees=employees,
                annual_revenue=revenue,
                country=(_text(get("country")) or "").upper() or None,
                region=_text(get("region")),
            ),
        )
    channel = _text(get("source"))
    source = None
    if channel:
        source = _capture(
            problems,
            "$.source",
            lambda: Source(channel.lower().replace(" ", "_"), _text(get("source_detail"))),
        )
    tags_text = _text(get("tags"))
    tags = (
        [t.strip() for t in tags_text.replace(";", ",").split(",") if t.strip()]
        if tags_text
        else []
    )
    custom: dict[str, Any] = {}
    if unmapped == "custom":
        for column in columns.extra:
            value = _custom_value(row.get(column))
            if value is not None:
                custom[column] = value
    external_id = _text(get("external_id"))
    if external_id is None:
        digest = hashlib.sha1(
            json.dumps({k: str(v) for k, v in row.items()}, sort_keys=True).encode(),
            usedforsecurity=False,
        )
        external_id = f"row-{digest.hexdigest()}"
    if problems:
        raise ValidationError("Lead", problems)
    if contact is None and company is None:
        raise ValidationError(
            "Lead", [Problem("$", "a lead needs a contact (name, email, phone) or a company")]
        )
    return Lead.create(
        contact=contact,
        company=company,
        source=source,
        owner=_text(get("owner")),
        tags=tags,
        custom=custom,
        external_id=external_id,
        notes=_text(get("notes")),
        at=at,
    )


#: The lead attribute each field of a row feeds.
_ATTRIBUTE_OF = {
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


def _imported_attributes(columns: _Columns) -> frozenset[str]:
    """The lead attributes the file's columns feed (``custom`` when unmapped columns exist)."""
    names = {_ATTRIBUTE_OF[f] for f in columns.field_of if f in _ATTRIBUTE_OF}
    if columns.extra:
        names.add("custom")
    return frozenset(names)


def _merge(stored: Lead, imported: Lead, attributes: frozenset[str]) -> Lead:
    """``stored`` with the imported ``attributes`` of ``imported``; the rest (status, history,
    qualification, engagement, links, custom fields the file lacks) is kept."""
    changes: dict[str, Any] = {
        name: getattr(imported, name) for name in attributes if name != "custom"
    }
    if "custom" in attributes:
        changes["custom"] = {**stored.custom, **imported.custom}
    return stored.evolve(**changes, updated_at=imported.updated_at)


def import_leads(
    path: str | Path,
    storage: Storage,
    *,
    at: datetime,
    mapping: Mapping[str, str] | None = None,
    format: str | None = None,
    currency: str = "EUR",
    unmapped: str = "custom",
    batch_size: int = 1000,
    progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Import leads from a CSV or JSON Lines file into ``storage``; return what happened.

    Bad rows are skipped and reported (every problem, with its line and
    field path); good rows are upserted by external id in batches of
    ``batch_size``, one transaction per batch.  ``progress(done, total)`` is
    called after each batch (rows read so far, and the rows in the file).
    ``at`` is the import time (new leads' ``created_at``).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if unmapped not in ("custom", "ignore"):
        raise ValueError(f"unmapped must be 'custom' or 'ignore', got {unmapped!r}")
    file = Path(path)
    if not file.is_file():
        raise ImportFileError(file, "no such file")
    fmt = detect_format(file, format)
    # checked before the first batch is committed, so a file that is not UTF-8
    # is refused whole; progress counts data rows (a CSV file's first line is its header)
    total = max(0, _check_utf8(file) - (fmt == "csv"))
    rows = read_rows(file, fmt)
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    counts = {"rows": 0, "inserted": 0, "updated": 0, "unchanged": 0}
    columns: _Columns | None = None
    keys: dict[str, None] = {}
    batch: list[tuple[Lead, frozenset[str], int]] = []

    def flush(uow: Any) -> None:
        if not batch:
            return
        # the versions stored before this batch tell inserted, updated and unchanged apart
        before = uow.leads.by_external_ids(
            lead.external_id for lead, _, _ in batch if lead.external_id is not None
        )
        writes: list[Lead] = []
        for new, fields, line in batch:
            old = before.get(new.external_id)
            if old is None:
                writes.append(new)
                counts["inserted"] += 1
                continue
            try:
                merged = _merge(old, new, fields)
            except ValidationError as error:
                errors.extend(
                    RowError(line, p.path, p.message, new.external_id) for p in error.problems
                )
                continue
            if attrs.evolve(merged, updated_at=old.updated_at) == old:
                counts["unchanged"] += 1  # the imported fields are as stored: write nothing
                continue
            writes.append(merged)
            counts["updated"] += 1
        if writes:
            uow.leads.upsert_all(writes)
            uow.commit()
        batch.clear()
        if progress is not None:
            progress(counts["rows"], max(total, counts["rows"]))

    with storage.unit_of_work() as uow:
        for line, row in rows:
            counts["rows"] += 1
            if columns is None or not keys.keys() >= row.keys():
                # JSON Lines rows may bring new keys as they go: map them too
                keys.update(dict.fromkeys(k for k in row if isinstance(k, str)))
                columns = _Columns(list(keys), mapping or {})
            try:
                lead = _lead_from_row(row, columns, at=at, currency=currency, unmapped=unmapped)
            except ValidationError as error:
                ident = _text(row.get(columns.field_of.get("external_id", ""), None))
                errors.extend(RowError(line, p.path, p.message, ident) for p in error.problems)
                continue
            ext = lead.external_id or ""
            if ext in seen:
                errors.append(
                    RowError(
                        line, "$.external_id", f"duplicate of line {seen[ext]} in this file", ext
                    )
                )
                continue
            seen[ext] = line
            batch.append((lead, _imported_attributes(columns), line))
            if len(batch) >= batch_size:
                flush(uow)
        flush(uow)
    if progress is not None:
        progress(counts["rows"], counts["rows"])
    rejected = len({e.line for e in errors})
    return ImportSummary(
        rows=counts["rows"],
        inserted=counts["inserted"],
        updated=counts["updated"],
        unchanged=counts["unchanged"],
        rejected=rejected,
        errors=tuple(errors),
    )
