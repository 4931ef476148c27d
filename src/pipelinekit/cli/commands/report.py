"""``pipelinekit report``: the funnel, the open forecast and the best leads; optionally HTML."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from ...analytics import PipelineReport, pipeline_report
from ...io import OutputFileError
from ...storage import Storage
from .._context import (
    JsonOption,
    LocaleOption,
    TopOption,
    interruptible,
    locale_for,
    now,
    state,
)
from .._printing import console, print_json, print_report

__all__ = ["report", "stored_report"]


def stored_report(storage: Storage, top: int, *, as_of: datetime | None = None) -> PipelineReport:
    """The pipeline report of everything in ``storage`` (one read-only unit of work).

    The storage computes the numbers where it can (SQL aggregates) and only the
    best leads are loaded, so memory does not grow with the data.
    """
    with storage.unit_of_work(read_only=True) as uow:
        return pipeline_report(uow, top=top, as_of=as_of)


def report(
    ctx: typer.Context,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html", metavar="FILE", help="Also write a standalone HTML report to this file."
        ),
    ] = None,
    top: TopOption = 10,
    locale: LocaleOption = None,
    json_out: JsonOption = False,
) -> None:
    """Print the lead and deal funnels, the forecast of open opportunities and the best leads."""
    run = state(ctx)
    storage = run.storage(must_exist=True)

    def resume() -> str:
        return "nothing was changed (report only reads); run it again"

    try:
        with interruptible(resume):
            data = stored_report(storage, top, as_of=now())
    finally:
        storage.close()
    if html is not None:
        from ...analytics.charts import render_html

        page = render_html(
            data,
            title=f"Pipeline report: {run.db_label}",
            charts="if-available",
            locale=locale_for(locale),
        )
        try:
            html.write_text(page, encoding="utf-8")
        except OSError as error:
            raise OutputFileError(html, error.strerror or str(error)) from error
    if json_out:
        print_json({**data.to_dict(), "html": str(html) if html else None})
        return
    print_report(data, locale=locale_for(locale))
    if html is not None:
        console().print(f"HTML report: {html}")
