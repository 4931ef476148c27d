"""``pipelinekit import``: leads from CSV or JSON Lines, bad rows to an error report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ...dedupe import load_rules
from ...errors import Problem
from ...io import (
    FIELDS,
    ImportFileError,
    check_writable,
    detect_format,
    import_leads,
    write_error_report,
)
from .._context import JsonOption, UserError, interruptible, now, state
from .._printing import print_import, print_json, progress_bar
from ..exit_codes import ExitCode

__all__ = ["import_file"]


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


def import_file(
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
    on_duplicate: Annotated[
        str | None,
        typer.Option(
            "--on-duplicate",
            metavar="flag|skip|merge",
            help="Check each new row for duplicates (store and earlier rows): flag imports it "
            "and records the match, skip leaves it out, merge merges it into the stored lead.",
        ),
    ] = None,
    rules_file: Annotated[
        Path | None,
        typer.Option(
            "--rules",
            metavar="FILE",
            help="Matching rules (TOML) for --on-duplicate; default: built-in.",
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Import leads from CSV or JSON Lines: good rows are stored, bad rows go to an error report.

    Rows are matched on external_id, so running the same import again
    changes nothing.  Exit code 1 means some rows were rejected (see the
    error report); 0 means every row was imported.
    """
    run = state(ctx)
    settings = run.settings
    mapping = {**settings.columns, **_parse_map(map_ or [])}
    # what can be refused is refused before the database is created
    if not file.is_file():
        raise ImportFileError(file, "no such file")
    detect_format(file, format or settings.import_format)
    if errors is not None:
        check_writable(errors)
    if on_duplicate is not None and on_duplicate not in ("flag", "skip", "merge"):
        problem = Problem("--on-duplicate", f"must be flag, skip or merge, got {on_duplicate!r}")
        raise UserError("bad --on-duplicate", ExitCode.USAGE, (problem,))
    if rules_file is not None and on_duplicate is None:
        problem = Problem("--rules", "only used with --on-duplicate")
        raise UserError("--rules without --on-duplicate", ExitCode.USAGE, (problem,))
    rules = None if rules_file is None else load_rules(rules_file)
    storage = run.storage()
    committed = [0, 0]  # rows read and committed so far, rows in the file

    def resume() -> str:
        done, total = committed
        again = "run the same command again to"
        if not done:
            return f"no row of {file} was committed; {again} import it"
        return (
            f"the first {done:,} of {total:,} rows of {file} were read and their good rows "
            f"committed; {again} resume (rows already stored are matched by external_id and "
            "left unchanged)"
        )

    try:
        with (
            interruptible(resume),
            progress_bar(f"Importing {file.name}", enabled=not json_out) as bar,
        ):

            def update(done: int, total: int) -> None:
                committed[:] = [done, total]
                bar(done, total)

            summary = import_leads(
                file,
                storage,
                at=now(),
                mapping=mapping,
                format=format or settings.import_format,
                currency=settings.currency,
                unmapped="ignore" if ignore_unmapped or settings.unmapped == "ignore" else "custom",
                batch_size=batch_size or settings.batch_size,
                progress=update,
                error_report=errors,
                on_duplicate=on_duplicate,  # type: ignore[arg-type]  # checked above
                rules=rules,
            )
    finally:
        storage.close()
    report = summary.error_report
    if summary.errors and report is None:
        report = write_error_report(summary.errors, file.with_name(file.name + ".errors.csv"))
    shown = None if report is None else str(report)
    if json_out:
        print_json({**summary.to_dict(), "error_report": shown})
    else:
        print_import(summary, title=f"Imported {file.name} into {run.db_label}", report=shown)
    if not summary.ok:
        raise typer.Exit(ExitCode.ROWS_REJECTED)
