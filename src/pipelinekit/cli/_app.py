"""The ``pipelinekit`` command (Typer + Rich): demo, import, qualify, pipeline, report, export."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import attrs
import typer
from rich.table import Table

from ..clock import system_clock
from ..domain import Lead, Opportunity
from ..errors import PipelinekitError, Problem
from ..io import (
    FIELDS,
    ImportFileError,
    OutputFileError,
    check_writable,
    detect_format,
    export_entities,
    import_leads,
    not_utf8,
    write_error_report,
)
from ..pipelines import (
    Pipeline,
    PipelineDefinitionError,
    compile_pipeline,
    lead_lifecycle,
    loads_pipeline,
    sales_pipeline,
)
from ..storage import Storage
from . import _analytics as analytics
from ._output import console, err_console, print_json, progress_bar, why
from .exit_codes import ExitCode
from .settings import Settings, load_settings

app = typer.Typer(
    name="pipelinekit",
    help="Sales pipelines from the command line: demo data, imports, qualification, reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
pipeline_app = typer.Typer(
    help="Check, show and draw pipeline definitions "
    "(TOML files or a built-in: sales, lead_lifecycle).",
    no_args_is_help=True,
)
app.add_typer(pipeline_app, name="pipeline")


class UserError(PipelinekitError):
    """A mistake the user can fix: printed without a traceback, with an exit code."""

    def __init__(self, message: str, code: ExitCode, problems: tuple[Problem, ...] = ()) -> None:
        self.code = code
        self.problems = problems
        super().__init__(message)


@attrs.define
class _State:
    settings: Settings
    db_override: str | None = None
    debug: bool = False

    @property
    def db(self) -> str:
        return self.db_override or self.settings.db

    @property
    def db_label(self) -> str:
        """The database for messages and output, never with a password."""
        return attrs.evolve(self.settings, db=self.db).describe_db().removeprefix("sqlite:///")


def _state(ctx: typer.Context) -> _State:
    state = ctx.find_root().obj
    assert isinstance(state, _State)
    return state


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"pipelinekit {version('pipelinekit')}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="URL",
            help="SQLite file path or database URL (sqlite:///file, postgresql://user@host/db). "
            "Default: PIPELINEKIT_DB, then pipelinekit.toml's db, then ./pipelinekit.sqlite3.",
            show_default=False,
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            metavar="FILE",
            help="Settings file (default: ./pipelinekit.toml if present).",
        ),
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show Python tracebacks for errors.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Sales pipelines from the command line."""
    ctx.obj = _State(load_settings(config=config), db_override=db, debug=debug)


# -- helpers -------------------------------------------------------------------------------------


def _storage(state: _State, *, must_exist: bool = False) -> Storage:
    settings = attrs.evolve(state.settings, db=state.db)
    url = settings.database_url()
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if must_exist and not path.exists():
            raise UserError(
                f"no database at {path}: run `pipelinekit demo` or `pipelinekit import FILE` "
                "first, or point --db / PIPELINEKIT_DB at your database",
                ExitCode.STORAGE,
            )
        if not path.parent.exists():
            raise UserError(
                f"cannot create the database {path}: the folder {path.parent} does not exist",
                ExitCode.STORAGE,
            )
    try:
        from ..storage.sql import sql_storage
    except ImportError as error:
        raise UserError(str(error), ExitCode.MISSING_EXTRA) from error
    try:
        return sql_storage(url)
    except ImportError as error:
        raise UserError(
            f"{settings.describe_db()} needs a database driver: "
            'pip install "pipelinekit[postgres]" for PostgreSQL',
            ExitCode.MISSING_EXTRA,
        ) from error
    except ValueError as error:
        raise UserError(f"--db {settings.describe_db()}: {error}", ExitCode.USAGE) from error


def _now() -> datetime:
    # The command line is the application boundary: it reads the one default clock.
    return system_clock.now()


def _as_of(value: str | None) -> datetime:
    if value is None:
        return _now()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as error:
        raise UserError(
            f"--as-of {value!r} is not an ISO date or time (e.g. 2026-07-01 or 2026-07-01T09:00Z)",
            ExitCode.USAGE,
        ) from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _load_all(storage: Storage) -> tuple[list[Lead], list[Opportunity]]:
    with storage.unit_of_work(read_only=True) as uow:
        return list(uow.leads.iterate()), list(uow.opportunities.iterate())


def _money(amount: str, currency: str) -> str:
    return f"{float(amount):,.2f} {currency}".strip()


def _print_funnel(rows: list[dict[str, Any]]) -> None:
    table = Table(title="Funnel", title_justify="left")
    table.add_column("step")
    table.add_column("count", justify="right")
    table.add_column("of leads", justify="right")
    table.add_column("of previous", justify="right")
    for row in rows:
        step_rate = "" if row["step_rate"] is None else f"{row['step_rate']:.1%}"
        table.add_row(row["step"], str(row["count"]), f"{row['rate']:.1%}", step_rate)
    console().print(table)


def _print_forecast(data: dict[str, Any]) -> None:
    table = Table(title="Forecast (open opportunities)", title_justify="left")
    for name, justify in (
        ("stage", "left"),
        ("deals", "right"),
        ("amount", "right"),
        ("weighted", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in data["stages"]:
        table.add_row(
            row["stage"],
            str(row["count"]),
            _money(row["amount"], row["currency"]),
            _money(row["weighted"], row["currency"]),
        )
    for currency, totals in data["open"].items():
        table.add_row(
            "total",
            "",
            _money(totals["amount"], currency),
            _money(totals["weighted"], currency),
            style="bold",
        )
    console().print(table)
    for currency, amount in data["won"].items():
        console().print(f"Won so far: {_money(amount, currency)}")


def _lead_label(lead: Lead) -> str:
    company = lead.company.name if lead.company else None
    title = lead.contact.job_title if lead.contact and lead.contact.job_title else None
    return " / ".join(x for x in (company, title) if x) or str(lead.id)


def _top_rows(leads: list[Lead], count: int) -> list[dict[str, Any]]:
    out = []
    for lead in analytics.top_leads(leads, count):
        result = lead.qualification
        assert result is not None
        out.append(
            {
                "id": lead.id,
                "external_id": lead.external_id,
                "lead": _lead_label(lead),
                "status": lead.status,
                "score": result.score,
                "verdict": result.verdict.value,
                "why": why(result),
            }
        )
    return out


def _print_top(rows: list[dict[str, Any]]) -> None:
    table = Table(title="Best leads (and why they scored)", title_justify="left")
    table.add_column("lead")
    table.add_column("score", justify="right")
    table.add_column("status")
    table.add_column("why", overflow="fold")
    for row in rows:
        table.add_row(row["lead"], f"{row['score']:.1f}", row["status"], row["why"])
    console().print(table)


def _report_data(storage: Storage, top: int) -> dict[str, Any]:
    leads, deals = _load_all(storage)
    sales = sales_pipeline()
    return {
        "leads": len(leads),
        "opportunities": len(deals),
        "lead_status": dict(sorted(Counter(x.status for x in leads).items())),
        "funnel": analytics.funnel(leads, deals, sales),
        "forecast": analytics.forecast(deals, sales),
        "by_source": analytics.conversion_by_source(leads, deals, sales),
        "top_leads": _top_rows(leads, top),
    }


def _print_sources(rows: list[dict[str, Any]]) -> None:
    table = Table(title="Lead conversion by source", title_justify="left")
    for name in ("source", "leads", "opportunities", "won", "lead -> won"):
        table.add_column(name, justify="left" if name == "source" else "right")
    for row in rows:
        table.add_row(
            str(row["source"]), str(row["leads"]), str(row["opportunities"]), str(row["won"]),
            f"{row['lead_to_won']:.1%}",
        )  # fmt: skip
    console().print(table)


def _print_report(data: dict[str, Any]) -> None:
    _print_funnel(data["funnel"])
    _print_sources(data["by_source"])
    _print_forecast(data["forecast"])
    _print_top(data["top_leads"])


JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")
]
TopOption = Annotated[
    int, typer.Option("--top", metavar="N", min=0, help="How many best leads to list.")
]


# -- demo ----------------------------------------------------------------------------------------


@app.command()
def demo(
    ctx: typer.Context,
    leads: Annotated[
        int,
        typer.Option(
            "--leads", metavar="N", min=1, max=100_000, help="How many leads to generate."
        ),
    ] = 500,
    seed: Annotated[
        int, typer.Option("--seed", metavar="N", help="Random seed: the same seed, the same data.")
    ] = 25,
    top: TopOption = 5,
    json_out: JsonOption = False,
) -> None:
    """Generate demo data, store, qualify and convert it; print funnel, forecast and top leads.

    Uses the default SQLite database unless --db says otherwise.  Running it
    again with the same seed finds the data already stored and just reports.
    """
    from ..demo import DEFAULT_START, run_scenario, synthetic_leads

    state = _state(ctx)
    storage = _storage(state)
    try:
        as_of = DEFAULT_START + timedelta(days=180)
        first_id = f"demo-{seed}-00000"
        with storage.unit_of_work(read_only=True) as uow:
            present = uow.leads.by_external_id(first_id) is not None
        if present:
            if not json_out:
                err_console().print(
                    f"Demo data for seed {seed} is already in {state.db_label}; reporting it."
                )
        else:
            with progress_bar("Generating and working leads", enabled=not json_out) as update:
                generated = synthetic_leads(leads, seed=seed)
                outcome = run_scenario(generated, as_of=as_of, seed=seed, progress=update)
            with (
                progress_bar("Storing", enabled=not json_out) as update,
                storage.unit_of_work() as uow,
            ):
                total = len(outcome.leads) + len(outcome.opportunities)
                for start in range(0, len(outcome.leads), 1000):
                    uow.leads.upsert_all(outcome.leads[start : start + 1000])
                    update(min(start + 1000, len(outcome.leads)), total)
                uow.opportunities.save_all(outcome.opportunities)
                uow.events.append_all(outcome.events)
                uow.commit()
                update(total, total)
            if not json_out:
                err_console().print(
                    f"Stored {len(outcome.leads)} leads and {len(outcome.opportunities)} "
                    f"opportunities in {state.db_label} (as of {as_of.date()})."
                )
        data = _report_data(storage, top)
    finally:
        storage.close()
    if json_out:
        print_json({"db": state.db_label, "seed": seed, **data})
        return
    _print_report(data)


# -- import --------------------------------------------------------------------------------------


def _parse_map(values: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    problems = []
    for value in values:
        field, sep, column = value.partition("=")
        field = field.strip()
        if not sep or not column.strip():
            problems.append(
                Problem(f"--map {value}", "write it as FIELD=COLUMN, e.g. email=E-Mail")
            )
        elif field not in FIELDS:
            problems.append(
                Problem(f"--map {value}", f"unknown field {field!r}; fields: {', '.join(FIELDS)}")
            )
        else:
            mapping[field] = column.strip()
    if problems:
        raise UserError("bad column mapping", ExitCode.USAGE, tuple(problems))
    return mapping


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(help="A .csv or .jsonl file of leads.", show_default=False, metavar="FILE"),
    ],
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            metavar="FIELD=COLUMN",
            help="FIELD=COLUMN, repeatable (e.g. --map email=E-Mail). "
            "Also settable in pipelinekit.toml [import.columns].",
        ),
    ] = None,
    format: Annotated[
        str | None,
        typer.Option(
            "--format", metavar="csv|jsonl", help="csv or jsonl (default: from the file suffix)."
        ),
    ] = None,
    errors: Annotated[
        Path | None,
        typer.Option(
            "--errors",
            metavar="FILE",
            help="Where to write the error report (.csv or .jsonl); "
            "default: FILE.errors.csv next to FILE.",
        ),
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", metavar="N", min=1, help="Rows per transaction.")
    ] = None,
    ignore_unmapped: Annotated[
        bool,
        typer.Option(
            "--ignore-unmapped",
            help="Drop columns that map to no field (default: keep them as custom fields).",
        ),
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """Import leads from CSV or JSON Lines: good rows are stored, bad rows go to an error report.

    Rows are matched on external_id, so running the same import again
    changes nothing.  Exit code 1 means some rows were rejected (see the
    error report); 0 means every row was imported.
    """
    state = _state(ctx)
    settings = state.settings
    mapping = {**settings.columns, **_parse_map(map_ or [])}
    if not file.is_file():
        raise ImportFileError(file, "no such file")
    detect_format(file, format or settings.import_format)  # before creating any database
    if errors is not None:
        check_writable(errors)  # before opening the database: the report must not be lost
    storage = _storage(state)
    try:
        with progress_bar(f"Importing {file.name}", enabled=not json_out) as update:
            summary = import_leads(
                file,
                storage,
                at=_now(),
                mapping=mapping,
                format=format or settings.import_format,
                currency=settings.currency,
                unmapped="ignore" if ignore_unmapped or settings.unmapped == "ignore" else "custom",
                batch_size=batch_size or settings.batch_size,
                progress=update,
                error_report=errors,
            )
    finally:
        storage.close()
    report_path = summary.error_report
    if summary.errors and report_path is None:
        report_path = write_error_report(summary.errors, file.with_name(file.name + ".errors.csv"))
    if json_out:
        print_json({**summary.to_dict(), "error_report": str(report_path) if report_path else None})
    else:
        table = Table(title=f"Imported {file.name} into {state.db_label}", title_justify="left")
        for name in ("rows", "inserted", "updated", "unchanged", "rejected"):
            table.add_column(name, justify="right")
        table.add_row(
            *(
                str(getattr(summary, n))
                for n in ("rows", "inserted", "updated", "unchanged", "rejected")
            )
        )
        console().print(table)
        if summary.errors:
            shown = Table(title="Rejected rows (first 10 problems)", title_justify="left")
            for name in ("line", "field", "reason"):
                shown.add_column(name)
            for error in summary.errors[:10]:
                shown.add_row(str(error.line), error.path, error.reason)
            console().print(shown)
            count = len(summary.errors)
            console().print(
                f"Error report: {report_path} ({count} problem{'' if count == 1 else 's'})"
            )
    if not summary.ok:
        raise typer.Exit(ExitCode.ROWS_REJECTED)


# -- qualify -------------------------------------------------------------------------------------


def _strategy(path: str | None) -> Any:
    from ..demo import demo_scorer
    from ..qualification import from_toml

    if path is None:
        return demo_scorer()
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise UserError(
            f"cannot read the strategy file {file}: {error.strerror}", ExitCode.INPUT
        ) from error
    except UnicodeDecodeError as error:
        raise UserError(f"{file}: {not_utf8(error)}", ExitCode.INPUT) from error
    try:
        return from_toml(text)
    except PipelinekitError as error:
        problems = getattr(error, "problems", ())
        raise UserError(
            f"{file}: not a valid qualifier definition (see docs/qualification.md)",
            ExitCode.INPUT,
            tuple(problems),
        ) from error


@app.command()
def qualify(
    ctx: typer.Context,
    strategy: Annotated[
        str | None,
        typer.Option(
            "--strategy",
            metavar="FILE",
            help="A qualifier definition (TOML). Default: pipelinekit.toml "
            "[qualify] strategy, else the demo fit score (ICP fit + BANT).",
        ),
    ] = None,
    apply: Annotated[
        bool,
        typer.Option(
            "--apply/--no-apply", help="Move leads through the lifecycle by their verdict."
        ),
    ] = True,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", metavar="TIME", help="Score as of this ISO time (default: now)."),
    ] = None,
    top: TopOption = 10,
    json_out: JsonOption = False,
) -> None:
    """Score open leads (new, contacted, nurturing, qualified); store results; apply verdicts."""
    from ..qualification import apply_proposal, propose

    state = _state(ctx)
    scorer = _strategy(strategy or state.settings.strategy)
    when = _as_of(as_of)
    storage = _storage(state, must_exist=True)
    try:
        moves: Counter[str] = Counter()
        verdicts: Counter[str] = Counter()
        scored: list[Lead] = []
        with storage.unit_of_work() as uow:
            total = uow.leads.count()
            with progress_bar("Qualifying", enabled=not json_out) as update:
                batch: list[Lead] = []

                def flush() -> None:
                    results = scorer.evaluate_many(batch, as_of=when)
                    updated = []
                    for lead, result in zip(batch, results, strict=True):
                        verdicts[result.verdict.value] += 1
                        moved = None
                        if apply and lead.history and lead.history[-1].at > when:
                            raise UserError(
                                f"--as-of {when.isoformat()} is before lead {lead.id}'s last "
                                f"recorded change ({lead.history[-1].at.isoformat()}): qualify "
                                "as of a later time, or pass --no-apply to only score",
                                ExitCode.USAGE,
                            )
                        if apply:
                            moved = apply_proposal(
                                propose(lead, result), lead, at=when, result=result
                            )
                        if moved is not None:
                            moves[f"{lead.status} -> {moved.entity.status}"] += 1
                            updated.append(moved.entity)
                            uow.events.append_all(moved.events)
                        else:
                            updated.append(lead.evolve(qualification=result, updated_at=when))
                    scored.extend(uow.leads.save_all(updated))
                    batch.clear()

                for done, lead in enumerate(uow.leads.iterate(), start=1):
                    if lead.status in ("new", "contacted", "nurturing", "qualified"):
                        batch.append(lead)
                    if len(batch) >= 500:
                        flush()
                        update(done, total)
                if batch:
                    flush()
                update(total, total)
            uow.commit()
    finally:
        storage.close()
    data = {
        "strategy": scorer.name,
        "as_of": when,
        "scored": len(scored),
        "verdicts": dict(sorted(verdicts.items())),
        "moves": dict(sorted(moves.items())),
        "top_leads": _top_rows(scored, top),
    }
    if json_out:
        print_json(data)
        return
    table = Table(title=f"Qualified {len(scored)} leads with {scorer.name}", title_justify="left")
    table.add_column("verdict")
    table.add_column("leads", justify="right")
    for verdict, count in data["verdicts"].items():
        table.add_row(verdict, str(count))
    console().print(table)
    if moves:
        moved_table = Table(title="Lifecycle moves", title_justify="left")
        moved_table.add_column("move")
        moved_table.add_column("leads", justify="right")
        for move, count in data["moves"].items():
            moved_table.add_row(move, str(count))
        console().print(moved_table)
    _print_top(data["top_leads"])


# -- report and export ---------------------------------------------------------------------------


@app.command()
def report(
    ctx: typer.Context,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html", metavar="FILE", help="Also write a standalone HTML report to this file."
        ),
    ] = None,
    top: TopOption = 10,
    json_out: JsonOption = False,
) -> None:
    """Print the funnel, the forecast of open opportunities and the best leads."""
    state = _state(ctx)
    storage = _storage(state, must_exist=True)
    try:
        data = _report_data(storage, top)
        if html is not None:
            from ._html import charts_svg, render_html

            _, deals = _load_all(storage)
            page = render_html(
                data, title=f"pipelinekit report: {state.db_label}", charts=charts_svg(deals)
            )
            try:
                html.write_text(page, encoding="utf-8")
            except OSError as error:
                raise UserError(f"cannot write {html}: {error.strerror}", ExitCode.INPUT) from error
    finally:
        storage.close()
    if json_out:
        print_json({**data, "html": str(html) if html else None})
        return
    _print_report(data)
    if html is not None:
        console().print(f"HTML report: {html}")


@app.command()
def export(
    ctx: typer.Context,
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            metavar="leads|opportunities|prospects",
            help="leads, opportunities or prospects.",
        ),
    ] = "leads",
    format: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="jsonl|csv",
            help="jsonl (complete, re-readable) or csv (leads: the import columns).",
        ),
    ] = "jsonl",
    out: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Output file (default: stdout).")
    ] = None,
) -> None:
    """Export stored entities as JSON Lines (pipelinekit.from_dict reads each line back) or CSV."""
    if kind not in ("leads", "opportunities", "prospects"):
        raise UserError(f"--kind {kind!r}: use leads, opportunities or prospects", ExitCode.USAGE)
    if format not in ("jsonl", "csv"):
        raise UserError(f"--format {format!r}: use jsonl or csv", ExitCode.USAGE)
    if format == "csv" and kind == "prospects":
        raise UserError("prospects export as jsonl only: pass --format jsonl", ExitCode.USAGE)
    state = _state(ctx)
    storage = _storage(state, must_exist=True)
    try:
        count = export_entities(storage, out, kind=kind, format=format)  # type: ignore[arg-type]
    finally:
        storage.close()
    if out:
        err_console().print(f"Exported {count} {kind} to {out}")


# -- pipeline ------------------------------------------------------------------------------------


def _pipeline(source: str) -> Pipeline:
    builtins = {"sales": sales_pipeline, "lead_lifecycle": lead_lifecycle}
    if source in builtins and not Path(source).exists():
        return builtins[source]()
    path = Path(source)
    if not path.is_file():
        raise UserError(
            f"{source}: no such file (give a pipeline TOML file, or a built-in: "
            "sales, lead_lifecycle)",
            ExitCode.INPUT,
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise UserError(f"{path}: {not_utf8(error)}", ExitCode.INPUT) from error
    except OSError as error:
        raise UserError(f"cannot read {path}: {error.strerror or error}", ExitCode.INPUT) from error
    try:
        return compile_pipeline(loads_pipeline(text))
    except PipelineDefinitionError as error:
        raise UserError(
            f"{path}: {len(error.problems)} problem(s) in the pipeline definition "
            "(see docs/howto-pipeline-toml.md)",
            ExitCode.INVALID,
            tuple(error.problems),
        ) from error


FileArg = Annotated[
    str,
    typer.Argument(
        help="A pipeline TOML file, or 'sales' / 'lead_lifecycle'.",
        show_default=False,
        metavar="FILE",
    ),
]


@pipeline_app.command()
def validate(file: FileArg, json_out: JsonOption = False) -> None:
    """Check a pipeline definition; list every problem with its path. Exit code 1 if invalid."""
    try:
        pipeline = _pipeline(file)
    except UserError as error:
        if json_out and error.code is ExitCode.INVALID:
            print_json({"valid": False, "problems": [attrs.asdict(p) for p in error.problems]})
            raise typer.Exit(ExitCode.INVALID) from None
        raise
    if json_out:
        print_json({"valid": True, "key": pipeline.key, "version": pipeline.version})
    else:
        console().print(
            f"{file}: pipeline '{pipeline.key}' is valid "
            f"({len(pipeline.spec.stages)} stages, version {pipeline.version[:12]})"
        )


@pipeline_app.command()
def show(file: FileArg, json_out: JsonOption = False) -> None:
    """Show a pipeline's stages and transitions."""
    pipeline = _pipeline(file)
    spec = pipeline.spec
    if json_out:
        print_json(
            {
                "key": spec.key,
                "label": spec.label,
                "version": pipeline.version,
                "stages": [
                    {
                        "key": s.key,
                        "label": s.label,
                        "kind": s.kind.value,
                        "order": s.order,
                        "probability": s.probability,
                        "forecast": s.forecast,
                        "rotting_days": s.rotting_days,
                    }
                    for s in spec.stages
                ],
                "transitions": [
                    {
                        "event": t.event,
                        "sources": list(t.sources),
                        "target": t.target,
                        "guards": [g.name for g in t.guards],
                    }
                    for t in spec.transitions
                ],
            }
        )
        return
    stages = Table(title=f"{spec.label} ({spec.key})", title_justify="left")
    for name in ("stage", "label", "kind", "probability", "forecast", "rotting days"):
        stages.add_column(name)
    for s in sorted(spec.stages, key=lambda s: s.order):
        stages.add_row(
            s.key, s.label, s.kind.value, f"{s.probability}%", s.forecast, str(s.rotting_days or "")
        )
    console().print(stages)
    moves = Table(title="Transitions", title_justify="left")
    for name in ("event", "from", "to", "guards"):
        moves.add_column(name)
    for t in spec.transitions:
        moves.add_row(t.event, ", ".join(t.sources), t.target, ", ".join(g.name for g in t.guards))
    console().print(moves)


@pipeline_app.command()
def diagram(
    file: FileArg,
    format: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="mermaid|markdown|dot|svg|png",
            help="mermaid, markdown, dot, svg or png.",
        ),
    ] = "mermaid",
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help="Output file (required for svg and png)."),
    ] = None,
) -> None:
    """Draw a pipeline: Mermaid or a Markdown table (no extra needed), DOT, SVG or PNG."""
    from ..pipelines.diagrams import (
        DiagramDependencyError,
        to_dot,
        to_markdown,
        to_mermaid,
        write_image,
    )

    pipeline = _pipeline(file)
    renderers = {"mermaid": to_mermaid, "markdown": to_markdown, "dot": to_dot}
    try:
        if format in ("svg", "png"):
            if out is None:
                raise UserError(
                    f"--format {format} writes a file: pass --out FILE.{format}", ExitCode.USAGE
                )
            try:
                write_image(pipeline, out, format=format)
            except OSError as error:
                raise OutputFileError(out, error.strerror or str(error)) from error
            err_console().print(f"Wrote {out}")
            return
        if format not in renderers:
            raise UserError(
                f"--format {format!r}: use mermaid, markdown, dot, svg or png", ExitCode.USAGE
            )
        text = renderers[format](pipeline)
    except DiagramDependencyError as error:
        raise UserError(str(error), ExitCode.MISSING_EXTRA) from error
    if out is None:
        sys.stdout.write(text + "\n")
    else:
        try:
            out.write_text(text + "\n", encoding="utf-8")
        except OSError as error:
            raise OutputFileError(out, error.strerror or str(error)) from error
        err_console().print(f"Wrote {out}")


__all__ = ["ImportFileError", "UserError", "app"]
