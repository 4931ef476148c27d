"""The ``pipelinekit`` Typer application: global options, and where each command is registered."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._context import State
from .commands import (
    backtest,
    db,
    dedupe,
    demo,
    export,
    import_,
    pipeline,
    qualify,
    report,
    results,
)
from .settings import load_settings

__all__ = ["app"]

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

dedupe_app = typer.Typer(
    help="Duplicates: list the clusters the matching rules find, merge them, undo a merge.",
    invoke_without_command=True,
)

db_app = typer.Typer(
    help="The storage schema as a deployment step: create or migrate it, or check it.",
    no_args_is_help=True,
)


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
    ctx.obj = State(load_settings(config=config), db_override=db, debug=debug)


app.command()(demo.demo)
app.command("import")(import_.import_file)
app.command()(qualify.qualify)
app.command()(report.report)
app.command()(export.export)
app.command("import-results")(results.import_results)
app.command()(backtest.backtest)
app.add_typer(pipeline_app, name="pipeline")
pipeline_app.command()(pipeline.validate)
pipeline_app.command()(pipeline.show)
pipeline_app.command()(pipeline.diagram)
pipeline_app.command(name="import")(pipeline.import_)
app.add_typer(dedupe_app, name="dedupe")
dedupe_app.callback(invoke_without_command=True)(dedupe.dedupe)
dedupe_app.command()(dedupe.undo)
app.add_typer(db_app, name="db")
db_app.command()(db.upgrade)
db_app.command()(db.check)
