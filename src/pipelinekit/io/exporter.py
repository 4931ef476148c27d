"""The export engine: stored entities as JSON Lines (complete, re-readable) or CSV rows.

JSON Lines holds each entity as :func:`pipelinekit.to_dict` gives it, so
:func:`pipelinekit.from_dict` reads every line back.  CSV is for people and
spreadsheets: leads in the import's columns (so a leads CSV imports into
another database), opportunities in the columns of :func:`opportunity_row`.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, Literal, TextIO

from ..domain import Lead, Opportunity, Prospect
from ..errors import Problem, ValidationError
from ..serialization import to_dict
from ..storage import Storage
from .errors import OutputFileError

__all__ = [
    "EXPORT_FORMATS",
    "EXPORT_KINDS",
    "ExportFormat",
    "ExportKind",
    "export_entities",
    "lead_row",
    "opportunity_row",
]

ExportKind = Literal["leads", "opportunities", "prospects"]
ExportFormat = Literal["jsonl", "csv"]
#: What can be exported: the repositories of a unit of work.
EXPORT_KINDS: Final[tuple[ExportKind, ...]] = ("leads", "opportunities", "prospects")
#: The export formats (prospects export as JSON Lines only).
EXPORT_FORMATS: Final[tuple[ExportFormat, ...]] = ("jsonl", "csv")


def lead_row(lead: Lead) -> dict[str, Any]:
    """A lead as a CSV row in the import's columns (see :data:`pipelinekit.io.FIELDS`).

    The external id (or the id, for a lead without one) comes first, then
    contact, company, source, owner, tags (``;``-separated), status and score.
    """
    c, co = lead.contact, lead.company
    revenue = co.annual_revenue if co else None
    return {
        "external_id": lead.external_id or lead.id,
        "name": c.name if c else None,
        "email": str(c.email) if c and c.email else None,
        "phone": c.phone.raw if c and c.phone else None,
        "job_title": c.job_title if c else None,
        "company": co.name if co else None,
        "domain": co.domain if co else None,
        "industry": co.industry if co else None,
        "employees": co.employees if co else None,
        "annual_revenue": revenue.amount if revenue else None,
        "currency": revenue.currency if revenue else None,
        "country": co.country if co else None,
        "source": lead.source.channel.value if lead.source else None,
        "source_detail": lead.source.detail if lead.source else None,
        "owner": lead.owner,
        "tags": ";".join(sorted(lead.tags)),
        "status": lead.status,
        "score": lead.qualification.score if lead.qualification else None,
    }


def opportunity_row(opportunity: Opportunity) -> dict[str, Any]:
    """An opportunity as a CSV row: id, name, pipeline, stage, outcome, amount, probability..."""
    deal = opportunity
    return {
        "id": deal.id,
        "name": deal.name,
        "pipeline": deal.pipeline,
        "stage": deal.stage,
        "outcome": deal.outcome,
        "amount": deal.amount.amount if deal.amount else None,
        "currency": deal.amount.currency if deal.amount else None,
        "probability": deal.probability,
        "lead_id": deal.lead_id,
        "closed_at": deal.closed_at.isoformat() if deal.closed_at else None,
        "lost_reason": deal.lost_reason,
    }


def export_entities(
    storage: Storage,
    out: str | Path | TextIO | None = None,
    *,
    kind: ExportKind = "leads",
    format: ExportFormat = "jsonl",
) -> int:
    """Write every stored entity of ``kind`` to ``out``; return how many were written.

    ``out`` is a file path (created or replaced), an open text file, or
    ``None`` for standard output.  Entities are read in id order in one
    read-only unit of work, a batch at a time, so exports larger than memory
    work.  ``kind`` is ``leads``, ``opportunities`` or ``prospects``;
    ``format`` is ``jsonl`` or ``csv`` (prospects: ``jsonl`` only).  Bad
    arguments raise one :class:`~pipelinekit.ValidationError`; a path that
    cannot be written raises :class:`OutputFileError`.
    """
    problems: list[Problem] = []
    if not isinstance(storage, Storage):
        kind_name = type(storage).__name__
        problems.append(Problem("$.storage", f"must be a pipelinekit Storage, got {kind_name}"))
    if kind not in EXPORT_KINDS:
        problems.append(
            Problem("$.kind", f"must be one of {', '.join(EXPORT_KINDS)}; got {kind!r}")
        )
    if format not in EXPORT_FORMATS:
        problems.append(
            Problem("$.format", f"must be one of {', '.join(EXPORT_FORMATS)}; got {format!r}")
        )
    elif format == "csv" and kind == "prospects":
        problems.append(Problem("$.format", "prospects export as jsonl only"))
    if problems:
        raise ValidationError("export_entities()", problems)
    with _opened(out) as handle, storage.unit_of_work(read_only=True) as uow:
        if format == "csv":
            if kind == "leads":
                return _write_csv(handle, map(lead_row, uow.leads.iterate()))
            return _write_csv(handle, map(opportunity_row, uow.opportunities.iterate()))
        entities: Iterable[Lead | Opportunity | Prospect]
        if kind == "leads":
            entities = uow.leads.iterate()
        elif kind == "opportunities":
            entities = uow.opportunities.iterate()
        else:
            entities = uow.prospects.iterate()
        count = 0
        for entity in entities:
            handle.write(json.dumps(to_dict(entity), ensure_ascii=False) + "\n")
            count += 1
        return count


@contextmanager
def _opened(out: str | Path | TextIO | None) -> Iterator[TextIO]:
    if out is None:
        yield sys.stdout
        return
    if not isinstance(out, str | Path):
        yield out
        return
    path = Path(out)
    try:
        handle = path.open("w", encoding="utf-8", newline="")
    except OSError as error:
        raise OutputFileError(path, error.strerror or str(error)) from error
    with handle:
        yield handle


def _write_csv(handle: TextIO, rows: Iterable[dict[str, Any]]) -> int:
    count = 0
    writer: csv.DictWriter[str] | None = None
    for row in rows:
        if writer is None:
            writer = csv.DictWriter(handle, fieldnames=list(row))
            writer.writeheader()
        writer.writerow(row)
        count += 1
    return count
