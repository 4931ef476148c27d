"""``pipelinekit backtest``: how well would each strategy have ranked the stored leads?"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Annotated, Literal

import attrs
import typer

from ...backtest import BacktestReport, RollingReport, rolling_backtest
from ...backtest import backtest as run_backtest
from ...domain import Lead, Opportunity
from .._context import JsonOption, UserError, as_of, state
from .._printing import print_json
from ..exit_codes import ExitCode
from .qualify import _strategy

__all__ = ["backtest"]


def backtest(
    ctx: typer.Context,
    strategies: Annotated[
        list[str] | None,
        typer.Option(
            "--strategy",
            metavar="FILE",
            help="A qualifier definition (TOML); repeat to compare several. "
            "Default: the demo fit score.",
        ),
    ] = None,
    split: Annotated[
        list[str] | None,
        typer.Option(
            "--split",
            metavar="TIME",
            help="Score the leads open at this ISO time, as they were then (required "
            "unless --current); repeat for rolling windows, each ending at the next split.",
        ),
    ] = None,
    outcome: Annotated[
        str,
        typer.Option("--outcome", help="What counts as a success: converted or won."),
    ] = "converted",
    current: Annotated[
        bool,
        typer.Option(
            "--current",
            help="Score the leads as they are now, on a random half (shows leakage).",
        ),
    ] = False,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            metavar="FILE",
            help="Also write the report as an HTML page with gains and calibration charts.",
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Backtest strategies on point-in-time snapshots: ROC-AUC, PR-AUC, lift, Brier."""
    if outcome not in ("converted", "won"):
        raise UserError(f"--outcome must be converted or won, got {outcome!r}", ExitCode.USAGE)
    if not split and not current:
        raise UserError("--split TIME is required (or --current)", ExitCode.USAGE)
    if split and current:
        raise UserError("--split and --current exclude each other", ExitCode.USAGE)
    times = [as_of(text) for text in split or ()]
    if any(b <= a for a, b in itertools.pairwise(times)):
        raise UserError("repeated --split times must increase", ExitCode.USAGE)
    paths: list[str | None] = list(strategies) if strategies else [None]
    scorers = [_strategy(path) for path in paths]
    if len({s.name for s in scorers}) != len(scorers):
        raise UserError("the strategies need distinct names", ExitCode.USAGE)
    storage = state(ctx).storage(must_exist=True)
    try:
        with storage.unit_of_work(read_only=True) as uow:
            leads: list[Lead] = list(uow.leads.iterate())
            deals: list[Opportunity] = list(uow.opportunities.iterate())
    finally:
        storage.close()
    mode: Literal["snapshot", "current"] = "current" if current else "snapshot"
    kind: Literal["converted", "won"] = "won" if outcome == "won" else "converted"
    report: BacktestReport | RollingReport
    if len(times) > 1:
        report = rolling_backtest(scorers, leads, splits=times, deals=deals, outcome=kind)
    else:
        when = times[0] if times else None
        report = run_backtest(scorers, leads, split=when, deals=deals, outcome=kind, mode=mode)
    if html is not None:
        try:
            html.write_text(report.html(), encoding="utf-8")
        except OSError as error:
            raise UserError(f"cannot write {html}: {error.strerror}", ExitCode.INPUT) from error
    if json_out:
        data = attrs.asdict(report, recurse=True)
        if isinstance(report, BacktestReport):
            data["winners"] = report.winners()
        else:
            data["winners"] = [window.winners() for window in report.windows]
        print_json(data)
        return
    typer.echo(report.table())
