"""Printing for the command: Rich tables for people, JSON for scripts, errors on stderr.

Every console here is made with Rich markup **off**, so text from users and
files (company names, file names, ``pip install "pipelinekit[diagrams]"``)
prints exactly as written: square brackets are never taken for styles.  The
only styling (the red ``error:``) is applied with :class:`rich.text.Text`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from ..analytics import (
    PipelineReport,
    ReportStep,
    TopLead,
    format_amount,
    key_label,
    report_date,
)
from ..io import DELIMITERS, ImportSummary
from ..pipelines import PipelineSpec

__all__ = [
    "console",
    "err_console",
    "print_error",
    "print_import",
    "print_json",
    "print_pipeline",
    "print_qualified",
    "print_report",
    "print_top",
    "progress_bar",
    "say",
]


def console() -> Console:
    """A console on the current stdout (looked up per call, so tests can capture it)."""
    return Console(file=sys.stdout, highlight=False, soft_wrap=False, markup=False)


def err_console() -> Console:
    """A console on stderr, for errors, notes and progress."""
    return Console(file=sys.stderr, highlight=False, markup=False)


def say(message: str) -> None:
    """A note for people on stderr (stdout stays clean for data)."""
    err_console().print(message)


def print_error(message: str, problems: Iterable[object] = ()) -> None:
    """``error: message`` on stderr, then one indented line per problem."""
    out = err_console()
    out.print(Text("error:", style="bold red"), message)
    for problem in problems:
        out.print(f"  {problem}")


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def print_json(data: Any) -> None:
    """Write ``data`` as one JSON document on stdout (Decimals as strings)."""
    sys.stdout.write(json.dumps(data, default=_default, indent=2, sort_keys=False) + "\n")


@contextmanager
def progress_bar(description: str, *, enabled: bool = True) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr; yields ``update(done, total)``.  Hidden when not ``enabled``."""
    if not enabled:
        yield lambda done, total: None
        return
    with Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console(),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _table(title: str, columns: Iterable[str], *, left: int = 1) -> Table:
    """A table whose first ``left`` columns are text (left-aligned) and the rest figures."""
    table = Table(title=title, title_justify="left", min_width=len(title))  # titles never wrap
    for i, name in enumerate(columns):
        table.add_column(name, justify="left" if i < left else "right")
    return table


def _keep_whole(table: Table, column: int, values: Iterable[str]) -> None:
    """Keys in ``column`` are never cut or wrapped: the column is as wide as its longest key."""
    widest = max((len(value) for value in values), default=0)
    table.columns[column].no_wrap = True
    table.columns[column].min_width = max(widest, len(str(table.columns[column].header)))


def _funnel(title: str, steps: Iterable[ReportStep], noun: str, share: str) -> Table:
    table = _table(title, ("step", noun, share, "of the step before"))
    for step in steps:
        step_rate = "" if step.step_rate is None else f"{step.step_rate:.1%}"
        table.add_row(step.label, f"{step.count:,}", f"{step.rate:.1%}", step_rate)
    return table


def print_report(report: PipelineReport, *, locale: str | None = None) -> None:
    """The report's date, its two funnels, conversion by source, open forecast and best leads.

    Amounts are written as ``locale`` writes money (see
    :func:`pipelinekit.analytics.format_amount`).
    """

    def money(amount: Decimal, currency: str | None) -> str:
        return format_amount(amount, currency, locale=locale)

    out = console()
    out.print(
        f"{report_date(report.as_of, locale=locale)}: {report.leads:,} leads, "
        f"{report.opportunities:,} opportunities in the {report.pipeline} pipeline"
    )
    out.print(
        _funnel("Lead funnel (furthest step reached)", report.lead_funnel, "leads", "of leads")
    )
    out.print(
        _funnel(
            f"Deal funnel: {report.pipeline} pipeline (stage or later entered)",
            report.deal_funnel,
            "opportunities",
            "of opportunities",
        )
    )
    sources = _table(
        "Lead conversion by source", ("source", "leads", "opportunities", "won", "lead to won")
    )
    for line in report.by_source.lines:
        sources.add_row(
            key_label(str(line.segment[0])),
            f"{line.leads:,}",
            f"{line.opportunities:,}",
            f"{line.won:,}",
            f"{line.lead_to_won or 0:.1%}",
        )
    out.print(sources)
    forecast = _table(
        "Forecast (open opportunities)", ("stage", "open deals", "amount", "weighted")
    )
    for stage in report.open_stages:
        forecast.add_row(
            stage.label or key_label(stage.stage),
            f"{stage.deals:,}",
            money(stage.amount, stage.currency),
            money(stage.weighted, stage.currency),
        )
    for total in report.open_totals:
        forecast.add_row(
            "Total",
            "",
            money(total.amount, total.currency),
            money(total.weighted, total.currency),
            style="bold",
        )
    out.print(forecast)
    for currency, amount in report.won:
        out.print(f"Won so far: {money(amount, currency)}")
    print_top(report.top_leads)


def print_top(leads: Iterable[TopLead]) -> None:
    """The best leads and why they scored."""
    table = _table("Best leads (and why they scored)", ("lead", "score"))
    table.add_column("status")
    table.add_column("why", overflow="fold")
    for lead in leads:
        table.add_row(lead.label, f"{lead.score:.1f}", key_label(lead.status), lead.why)
    console().print(table)


def print_import(summary: ImportSummary, *, title: str, report: str | None) -> None:
    """An import's counts, its first problems and where the error report is."""
    out = console()
    names = ("rows", "inserted", "updated", "unchanged", "rejected")
    counts = _table(title, names, left=0)
    counts.add_row(*(str(getattr(summary, name)) for name in names))
    out.print(counts)
    if summary.delimiter is not None:
        out.print(f"Columns separated by {DELIMITERS.get(summary.delimiter, summary.delimiter)}.")
    if summary.duplicates:
        found = _table(
            "Duplicates", ("line", "external_id", "decision", "matches", "score"), left=4
        )
        for item in summary.duplicates:
            found.add_row(
                str(item.line),
                item.external_id or "",
                item.action,
                ", ".join(item.matches),
                str(item.score),
            )
        out.print(found)
    if not summary.errors:
        return
    shown = _table("Rejected rows (first 10 problems)", ("line", "field", "reason"), left=3)
    for error in summary.errors[:10]:
        shown.add_row(str(error.line), error.path, error.reason)
    out.print(shown)
    count = len(summary.errors)
    out.print(f"Error report: {report} ({count} problem{'' if count == 1 else 's'})")


def print_qualified(
    strategy: str,
    scored: int,
    verdicts: Mapping[str, int],
    moves: Mapping[str, int],
    *,
    unchanged: int = 0,
) -> None:
    """How many leads got which verdict (and how many kept their stored result), and the
    lifecycle moves applied."""
    out = console()
    table = _table(f"Qualified {scored} leads with {strategy}", ("verdict", "leads"))
    for verdict, count in verdicts.items():
        table.add_row(verdict, str(count))
    out.print(table)
    if unchanged:
        out.print(f"{unchanged} kept their stored result (unchanged, nothing written)")
    if moves:
        moved = _table("Lifecycle moves", ("move", "leads"))
        for move, count in moves.items():
            moved.add_row(move, str(count))
        out.print(moved)


def print_pipeline(spec: PipelineSpec) -> None:
    """A pipeline's stages and transitions."""
    out = console()
    names = ("stage", "label", "kind", "win %", "forecast", "rots after")
    stages = _table(f"{spec.label} ({spec.key})", names, left=len(names))
    _keep_whole(stages, 0, (s.key for s in spec.stages))
    _keep_whole(stages, 1, (s.label for s in spec.stages))
    for s in sorted(spec.stages, key=lambda s: s.order):
        stages.add_row(
            s.key,
            s.label,
            s.kind.value,
            f"{s.probability}%",
            s.forecast,
            f"{s.rotting_days} days" if s.rotting_days else "",
        )
    out.print(stages)
    moves = _table("Transitions", ("event", "from", "to", "guards"), left=4)
    _keep_whole(moves, 0, (t.event for t in spec.transitions))
    _keep_whole(moves, 2, (t.target for t in spec.transitions))
    for t in spec.transitions:
        moves.add_row(t.event, ", ".join(t.sources), t.target, ", ".join(g.name for g in t.guards))
    out.print(moves)
