"""``pipelinekit backtest``: how well would each strategy have ranked the stored leads?"""

from __future__ import annotations

from typing import Annotated, Literal

import attrs
import typer

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
        str | None,
        typer.Option(
            "--split",
            metavar="TIME",
            help="Score the leads open at this ISO time, as they were then (required "
            "unless --current).",
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
    json_out: JsonOption = False,
) -> None:
    """Backtest strategies on point-in-time snapshots: ROC-AUC, PR-AUC, lift, Brier."""
    if outcome not in ("converted", "won"):
        raise UserError(f"--outcome must be converted or won, got {outcome!r}", ExitCode.USAGE)
    if split is None and not current:
        raise UserError("--split TIME is required (or --current)", ExitCode.USAGE)
    when = None if split is None else as_of(split)
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
    report = run_backtest(scorers, leads, split=when, deals=deals, outcome=kind, mode=mode)
    if json_out:
        data = attrs.asdict(report, recurse=True)
        data["winners"] = report.winners()
        print_json(data)
        return
    typer.echo(report.table())
