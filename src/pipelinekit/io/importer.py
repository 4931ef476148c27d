"""The import engine: leads from a CSV or JSON Lines file into a storage, and the error report.

* Each row becomes a :class:`~pipelinekit.Lead`; **every** problem of a bad
  row is reported as a :class:`RowError` (line number, field path, reason)
  and the row is skipped; good rows are committed in batches.
* Rows are upserted by ``external_id`` (the id in your system), so
  re-running an import never duplicates: unchanged rows write nothing.  An
  update changes only the fields the file imports (contact, company, source,
  owner, tags, notes; custom fields are merged): a lead's status, history,
  qualification, engagement and links are kept.
* The error report (:func:`write_error_report`) lists the rejected rows' problems
  as CSV or JSON Lines, the file ``pipelinekit import`` writes.
"""

from __future__ import annotations

import csv
import difflib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal

import attrs

from ..dedupe import DuplicateCheck, DuplicateChecker, MatchRules, merge
from ..domain import Lead, Money
from ..errors import Problem, ValidationError
from ..storage import Storage, UnitOfWork
from .errors import ImportFileError, OutputFileError
from .formats import DELIMITERS, count_lines, csv_header, detect_format, read_rows
from .rows import FIELDS, Columns, Unmapped, imported_attributes, lead_of, text

__all__ = [
    "ERROR_REPORT_COLUMNS",
    "DuplicateDecision",
    "OnDuplicate",
    "ImportSummary",
    "RowError",
    "check_writable",
    "import_leads",
    "write_error_report",
]

#: The columns of a CSV error report (a JSON Lines report has the same keys).
ERROR_REPORT_COLUMNS: Final = ("line", "external_id", "path", "reason")
#: What an import does with a new row that duplicates a stored record or an earlier row.
OnDuplicate = Literal["flag", "skip", "merge"]
_ACTIONS = {"flag": "flagged", "skip": "skipped", "merge": "merged"}


@attrs.frozen
class DuplicateDecision:
    """What an import did with one row found to duplicate records.

    ``action`` is ``flagged`` (imported, the match recorded), ``skipped`` (not
    imported) or ``merged`` (imported, then merged into ``matches[0]``, the
    best match; ``merge_id`` undoes it).  ``matches`` are the records matched
    (``kind:id``), best first, and ``explanation`` one line per matched pair.
    ``lead_id`` is the lead the row was stored as (``None`` when skipped).
    """

    line: int
    external_id: str | None
    action: str
    matches: tuple[str, ...]
    score: Decimal
    explanation: str
    lead_id: str | None = None
    merge_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The decision as plain data (``--json``)."""
        return {
            "line": self.line,
            "external_id": self.external_id,
            "action": self.action,
            "matches": list(self.matches),
            "score": str(self.score),
            "explanation": self.explanation,
            "lead_id": self.lead_id,
            "merge_id": self.merge_id,
        }


@attrs.frozen
class RowError:
    """One problem of one rejected row: ``line`` in the file (a CSV header is line 1).

    ``path`` locates the problem in the lead (``$.company.employees``; ``$``
    for the row as a whole) and ``external_id`` is the row's id, if it has one.
    """

    line: int
    path: str
    reason: str
    external_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The error as plain data (a line of the error report, and ``--json``)."""
        return {
            "line": self.line,
            "external_id": self.external_id,
            "path": self.path,
            "reason": self.reason,
        }


@attrs.frozen
class ImportSummary:
    """What an import did: rows read, inserted, updated, unchanged, rejected, and why.

    ``rejected`` counts rows (a row may have several ``errors``);
    ``error_report`` is the file the errors were written to, if any;
    ``delimiter`` is the column separator a CSV file was read with (``None``
    for JSON Lines).
    """

    rows: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    errors: tuple[RowError, ...] = attrs.field(repr=False)
    error_report: Path | None = None
    delimiter: str | None = None
    duplicates: tuple[DuplicateDecision, ...] = attrs.field(default=(), repr=False)

    def count(self, action: str) -> int:
        """How many rows got the duplicate decision ``action`` (``flagged``, ``skipped``...)."""
        return sum(1 for d in self.duplicates if d.action == action)

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
            "delimiter": self.delimiter,
            "errors": [e.to_dict() for e in self.errors],
            "duplicates": [d.to_dict() for d in self.duplicates],
        }


def check_writable(path: str | Path) -> Path:
    """Refuse an output path that cannot be written, before doing the work (creates nothing).

    Raises :class:`OutputFileError` if ``path`` is a folder, its folder does
    not exist, or it may not be written; returns it as a :class:`~pathlib.Path`.
    """
    file = Path(path)
    folder = file.parent
    if file.is_dir():
        raise OutputFileError(file, "it is a folder")
    if not folder.is_dir():
        raise OutputFileError(file, f"no such folder {folder}")
    if not os.access(file if file.exists() else folder, os.W_OK):
        raise OutputFileError(file, "permission denied")
    return file


def write_error_report(errors: Iterable[RowError], path: str | Path) -> Path:
    """Write ``errors`` to ``path``: JSON Lines for ``.jsonl``/``.json``, CSV otherwise.

    The CSV has the columns :data:`ERROR_REPORT_COLUMNS`; each JSON line has
    the same keys.  Raises :class:`OutputFileError` if the file cannot be written.
    """
    file = Path(path)
    try:
        handle = file.open("w", encoding="utf-8", newline="")
    except OSError as error:
        raise OutputFileError(file, error.strerror or str(error)) from error
    with handle:
        if file.suffix.lower() in (".jsonl", ".json"):
            for row_error in errors:
                handle.write(json.dumps(row_error.to_dict()) + "\n")
        else:
            writer = csv.DictWriter(handle, fieldnames=list(ERROR_REPORT_COLUMNS))
            writer.writeheader()
            writer.writerows(e.to_dict() for e in errors)
    return file


def import_leads(
    path: str | Path,
    storage: Storage,
    *,
    at: datetime,
    mapping: Mapping[str, str] | None = None,
    format: str | None = None,
    currency: str = "EUR",
    unmapped: Unmapped = "custom",
    batch_size: int = 1000,
    progress: Callable[[int, int], None] | None = None,
    error_report: str | Path | None = None,
    on_duplicate: OnDuplicate | None = None,
    rules: MatchRules | None = None,
) -> ImportSummary:
    """Import leads from a CSV or JSON Lines file into ``storage``; return what happened.

    Bad rows are skipped and reported (every problem, with its line and
    field path); good rows are upserted by external id in batches of
    ``batch_size``, one transaction per batch.  ``at`` is the import time
    (new leads' ``created_at``).  Columns map to lead fields by name
    (:data:`~pipelinekit.io.DEFAULT_COLUMNS`); ``mapping={"email": "E-Mail"}``
    names other columns.  Columns that map to no field become custom fields
    under their own name, unless ``unmapped="ignore"``.  ``currency`` is used
    for revenue without a ``currency`` column.  ``progress(done, total)`` is
    called after each batch (rows read so far, and the rows in the file).

    With ``error_report``, the path is checked before anything is imported
    and, if rows were rejected, the report is written there
    (:func:`write_error_report`).  Bad arguments raise one
    :class:`~pipelinekit.ValidationError` listing them all; a file that
    cannot be imported raises :class:`ImportFileError` before anything is
    stored (a file that is not UTF-8 included).

    With ``on_duplicate`` (``flag``, ``skip`` or ``merge``), each row that is
    not already stored (by external id) is checked under ``rules``
    (:func:`~pipelinekit.dedupe.default_rules` if not given) against the
    store's leads, prospects and open opportunities and the rows imported
    before it; each duplicate's :class:`DuplicateDecision` is in
    ``duplicates``.  ``merge`` merges the row into the best-matching lead
    (flagging it when it matches only prospects or opportunities).  Each check
    reads only the stored records sharing a match key with the row (see
    :mod:`pipelinekit.dedupe.checking`).
    """
    _check_arguments(storage, at, mapping, currency, unmapped, batch_size)
    problems: list[Problem] = []
    if on_duplicate is not None and on_duplicate not in _ACTIONS:
        problems.append(
            Problem("$.on_duplicate", f"must be 'flag', 'skip' or 'merge', got {on_duplicate!r}")
        )
    if rules is not None and not isinstance(rules, MatchRules):
        problems.append(Problem("$.rules", f"must be MatchRules, got {type(rules).__name__}"))
    if problems:
        raise ValidationError("import_leads()", problems)
    file = Path(path)
    if not file.is_file():
        raise ImportFileError(file, "no such file")
    fmt = detect_format(file, format)
    report = None if error_report is None else check_writable(error_report)
    # progress counts data rows (a CSV file's first line is its header)
    total = max(0, count_lines(file) - (fmt == "csv"))
    delimiter = None
    if fmt == "csv":
        delimiter, header = csv_header(file)
        _check_recognised(file, delimiter, header, mapping or {})
    run = _Run(at=at, mapping=dict(mapping or {}), currency=currency, unmapped=unmapped)
    with storage.unit_of_work() as uow:
        if on_duplicate is not None:
            run.on_duplicate = on_duplicate
            run.checker = DuplicateChecker.of_store(uow, rules)
        for line, row in read_rows(file, fmt, delimiter=delimiter):
            run.add(line, row)
            if len(run.batch) >= batch_size:
                run.flush(uow)
                if progress is not None:
                    progress(run.rows, max(total, run.rows))
        if run.batch:
            run.flush(uow)
            if progress is not None:
                progress(run.rows, max(total, run.rows))
    if progress is not None:
        progress(run.rows, run.rows)
    errors = tuple(run.errors)
    if errors and report is not None:
        write_error_report(errors, report)
    return ImportSummary(
        rows=run.rows,
        inserted=run.inserted,
        updated=run.updated,
        unchanged=run.unchanged,
        rejected=len({e.line for e in errors}),
        errors=errors,
        error_report=report if errors else None,
        delimiter=delimiter,
        duplicates=tuple(run.duplicates),
    )


def _check_recognised(
    file: Path, delimiter: str, header: list[str], mapping: Mapping[str, str]
) -> None:
    """Refuse a CSV file none of whose columns feeds a lead field (a wrong separator, say)."""
    if Columns(header, mapping).field_of:
        return
    shown = ", ".join(repr(name) for name in header[:8]) + (", ..." if len(header) > 8 else "")
    raise ImportFileError(
        file,
        f"no column is recognised as a lead field: the header, split at each "
        f"{DELIMITERS.get(delimiter, repr(delimiter))}, gives {shown}. Name the columns "
        f"{', '.join(FIELDS)} (case, spaces and dashes ignored), or map yours to "
        "fields (--map FIELD=COLUMN on the command line); columns may be separated by "
        "commas, semicolons or tabs",
    )


def _check_arguments(
    storage: object,
    at: object,
    mapping: Mapping[str, str] | None,
    currency: str,
    unmapped: object,
    batch_size: object,
) -> None:
    problems: list[Problem] = []
    if not isinstance(storage, Storage):
        kind = type(storage).__name__
        problems.append(Problem("$.storage", f"must be a pipelinekit Storage, got {kind}"))
    if not isinstance(at, datetime) or at.utcoffset() is None:
        problems.append(Problem("$.at", f"must be a timezone-aware datetime, got {at!r}"))
    if mapping is not None and not isinstance(mapping, Mapping):
        kind = type(mapping).__name__
        problems.append(Problem("$.mapping", f"must map lead fields to column names, got {kind}"))
    for field, column in (mapping or {}).items():
        if field not in FIELDS:
            close = difflib.get_close_matches(str(field), FIELDS, n=1)
            fix = f"did you mean {close[0]!r}?" if close else f"fields are: {', '.join(FIELDS)}"
            problems.append(
                Problem(f"$.mapping.{field}", f"unknown lead field {field!r} in the mapping; {fix}")
            )
        elif not isinstance(column, str) or not column.strip():
            problems.append(Problem(f"$.mapping.{field}", f"must be a column name, got {column!r}"))
    try:
        Money(0, currency)
    except ValidationError as error:
        problems.extend(p for p in error.problems if p.path == "$.currency")
    if unmapped not in ("custom", "ignore"):
        problems.append(Problem("$.unmapped", f"must be 'custom' or 'ignore', got {unmapped!r}"))
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        problems.append(Problem("$.batch_size", f"must be a whole number >= 1, got {batch_size!r}"))
    if problems:
        raise ValidationError("import_leads()", problems)


class _Run:
    """One import in progress: the rows seen, the batch to write, the counts and the errors."""

    def __init__(
        self, *, at: datetime, mapping: dict[str, str], currency: str, unmapped: Unmapped
    ) -> None:
        self.at = at
        self.mapping = mapping
        self.currency = currency
        self.unmapped: Unmapped = unmapped
        self.rows = self.inserted = self.updated = self.unchanged = 0
        self.errors: list[RowError] = []
        self.batch: list[tuple[Lead, frozenset[str], int]] = []
        self._seen: dict[str, int] = {}
        self._keys: dict[str, None] = {}
        self._columns: Columns | None = None
        self.on_duplicate: OnDuplicate | None = None
        self.checker: DuplicateChecker | None = None
        self.duplicates: list[DuplicateDecision] = []

    def add(self, line: int, row: dict[str, Any]) -> None:
        """Read one row: a lead into the batch, or its problems into the errors."""
        self.rows += 1
        columns = self._columns
        if columns is None or not self._keys.keys() >= row.keys():
            # JSON Lines rows may bring new keys as they go: map them too
            self._keys.update(dict.fromkeys(k for k in row if isinstance(k, str)))
            columns = self._columns = Columns(list(self._keys), self.mapping)
        try:
            lead = lead_of(row, columns, at=self.at, currency=self.currency, unmapped=self.unmapped)
        except ValidationError as error:
            ident = text(columns.value(row, "external_id"))
            self.errors.extend(RowError(line, p.path, p.message, ident) for p in error.problems)
            return
        ext = lead.external_id or ""
        first = self._seen.setdefault(ext, line)
        if first != line:
            reason = f"duplicate of line {first} in this file"
            self.errors.append(RowError(line, "$.external_id", reason, ext))
            return
        self.batch.append((lead, imported_attributes(columns), line))

    def flush(self, uow: UnitOfWork) -> None:
        """Write the batch (one transaction): new leads inserted, changed ones updated."""
        # the versions stored before this batch tell inserted, updated and unchanged apart
        before = uow.leads.by_external_ids(
            lead.external_id for lead, _, _ in self.batch if lead.external_id is not None
        )
        writes: list[Lead] = []
        for new, fields, line in self.batch:
            old = before.get(new.external_id or "")
            if old is None:
                if self.checker is None or self._new_row(uow, new, line, writes):
                    writes.append(new)
                    self.inserted += 1
                continue
            try:
                merged = _merge(old, new, fields)
            except ValidationError as error:
                self.errors.extend(
                    RowError(line, p.path, p.message, new.external_id) for p in error.problems
                )
                continue
            if attrs.evolve(merged, updated_at=old.updated_at) == old:
                self.unchanged += 1  # the imported fields are as stored: write nothing
                continue
            writes.append(merged)
            self.updated += 1
            if self.checker is not None:
                self.checker.add(merged)
        if writes:
            # each write is either new (version 0) or the stored lead evolved (its stored
            # version), so a plain save inserts or updates without looking the ids up again
            uow.leads.save_all(writes)
            uow.commit()
        self.batch.clear()

    def _new_row(self, uow: UnitOfWork, new: Lead, line: int, writes: list[Lead]) -> bool:
        """Check a new row for duplicates; whether it is still to be written (and counted)."""
        assert self.checker is not None
        found = self.checker.check(new)
        if not found.duplicate:
            self.checker.add(new)
            return True
        action = self.on_duplicate or "flag"
        leads = [ref.id for ref in found.records if ref.kind == "lead"]
        if action == "merge" and not leads:
            action = "flag"  # only leads are merged
        decision = _decision(line, new, found, _ACTIONS[action])
        if action == "skip":
            self.duplicates.append(decision)
            return False
        if action == "flag":
            self.duplicates.append(attrs.evolve(decision, lead_id=new.id))
            self.checker.add(new)
            return True
        # merge: store what comes before, then the row, then merge it into its best match
        if writes:
            uow.leads.save_all(writes)
            writes.clear()
        stored = uow.leads.save(new)
        result = merge(uow, [leads[0], stored.id], into=leads[0], at=self.at)
        self.checker.add(result.survivor)
        for archived in result.archived:
            self.checker.add(archived)
        self.duplicates.append(
            attrs.evolve(
                decision, matches=(f"lead:{leads[0]}",), lead_id=stored.id, merge_id=result.merge_id
            )
        )
        return False


def _decision(line: int, new: Lead, found: DuplicateCheck, action: str) -> DuplicateDecision:
    return DuplicateDecision(
        line=line,
        external_id=new.external_id,
        action=action,
        matches=tuple(map(str, found.records)),
        score=found.matches[0].score,
        explanation="\n".join(pair.explain() for pair in found.matches),
    )


def _merge(stored: Lead, imported: Lead, attributes: frozenset[str]) -> Lead:
    """``stored`` with the imported ``attributes`` of ``imported``; the rest (status, history,
    qualification, engagement, links, custom fields the file lacks) is kept."""
    changes: dict[str, Any] = {
        name: getattr(imported, name) for name in attributes if name != "custom"
    }
    if "custom" in attributes:
        changes["custom"] = {**stored.custom, **imported.custom}
    return stored.evolve(**changes, updated_at=imported.updated_at)
