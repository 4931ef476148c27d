"""``pipelinekit qualify``: score the open leads, store the results, apply the verdicts."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from ...analytics import top_leads
from ...domain import Lead
from ...errors import PipelinekitError
from ...io import not_utf8
from ...lifecycle import apply_proposal, propose
from ...qualification import Strategy
from ...storage import UnitOfWork
from .._context import JsonOption, TopOption, UserError, as_of, interruptible, state
from .._printing import print_json, print_qualified, print_top, progress_bar
from ..exit_codes import ExitCode

__all__ = ["qualify"]

#: The lead statuses that are scored.
OPEN_STATUSES = ("new", "contacted", "nurturing", "qualified")
_BATCH = 500


def _strategy(path: str | None) -> Strategy:
    from ...demo import demo_scorer
    from ...qualification import from_toml

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
        raise UserError(
            f"{file}: not a valid qualifier definition (see docs/qualification.md)",
            ExitCode.INPUT,
            tuple(getattr(error, "problems", ())),
        ) from error


class _Run:
    """The leads scored so far, their verdicts and the lifecycle moves applied."""

    def __init__(self, scorer: Strategy, when: datetime, *, apply: bool) -> None:
        self.scorer, self.when, self.apply = scorer, when, apply
        self.scored: list[Lead] = []
        self.verdicts: Counter[str] = Counter()
        self.moves: Counter[str] = Counter()

    def flush(self, uow: UnitOfWork, batch: list[Lead]) -> None:
        """Score ``batch``, apply the verdicts, save the leads (and the events of the moves)."""
        updated = []
        for lead, result in zip(
            batch, self.scorer.evaluate_many(batch, as_of=self.when), strict=True
        ):
            self.verdicts[result.verdict.value] += 1
            moved = None
            if self.apply:
                if lead.history and lead.history[-1].at > self.when:
                    raise UserError(
                        f"--as-of {self.when.isoformat()} is before lead {lead.id}'s last "
                        f"recorded change ({lead.history[-1].at.isoformat()}): qualify "
                        "as of a later time, or pass --no-apply to only score",
                        ExitCode.USAGE,
                    )
                moved = apply_proposal(propose(lead, result), lead, at=self.when, result=result)
            if moved is not None:
                self.moves[f"{lead.status} -> {moved.entity.status}"] += 1
                updated.append(moved.entity)
                uow.events.append_all(moved.events)
            else:
                updated.append(lead.evolve(qualification=result, updated_at=self.when))
        self.scored.extend(uow.leads.save_all(updated))
        batch.clear()


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
    as_of_: Annotated[
        str | None,
        typer.Option("--as-of", metavar="TIME", help="Score as of this ISO time (default: now)."),
    ] = None,
    top: TopOption = 10,
    json_out: JsonOption = False,
    preview_: Annotated[
        str | None,
        typer.Option(
            "--preview",
            metavar="FILE",
            help="Only show what the draft qualifier definition (TOML) would change "
            "against the stored results: moves, grades, causes. Writes nothing.",
        ),
    ] = None,
) -> None:
    """Score open leads (new, contacted, nurturing, qualified); store results; apply verdicts."""
    run = state(ctx)
    if preview_ is not None:
        _preview(ctx, _strategy(preview_), as_of(as_of_), json_out=json_out)
        return
    scorer = _strategy(strategy or run.settings.strategy)
    work = _Run(scorer, as_of(as_of_), apply=apply)
    storage = run.storage(must_exist=True)

    def resume() -> str:
        return "no lead was changed (qualify writes in one transaction); run it again"

    try:
        with interruptible(resume), storage.unit_of_work() as uow:
            total = uow.leads.count()
            with progress_bar("Qualifying", enabled=not json_out) as update:
                batch: list[Lead] = []
                for done, lead in enumerate(uow.leads.iterate(), start=1):
                    if lead.status in OPEN_STATUSES:
                        batch.append(lead)
                    if len(batch) >= _BATCH:
                        work.flush(uow, batch)
                        update(done, total)
                if batch:
                    work.flush(uow, batch)
                update(total, total)
            uow.commit()
    finally:
        storage.close()
    verdicts = dict(sorted(work.verdicts.items()))
    moves = dict(sorted(work.moves.items()))
    best = top_leads(work.scored, top)
    if json_out:
        print_json(
            {
                "strategy": scorer.name,
                "as_of": work.when,
                "scored": len(work.scored),
                "verdicts": verdicts,
                "moves": moves,
                "top_leads": [lead.to_dict() for lead in best],
            }
        )
        return
    print_qualified(scorer.name, len(work.scored), verdicts, moves)
    print_top(best)


def _preview(ctx: typer.Context, draft: Strategy, when: datetime, *, json_out: bool) -> None:
    """Print what ``draft`` would change for the open leads with a stored result."""
    from ...qualification import preview

    storage = state(ctx).storage(must_exist=True)
    try:
        with storage.unit_of_work() as uow:
            leads = [
                lead
                for lead in uow.leads.iterate()
                if lead.status in OPEN_STATUSES and lead.qualification is not None
            ]
    finally:
        storage.close()
    try:
        report = preview(draft, leads, as_of=when)
    except PipelinekitError as error:
        raise UserError(
            f"cannot preview {draft.name!r} against the stored results",
            ExitCode.INPUT,
            tuple(getattr(error, "problems", ()))[:20],
        ) from error
    if json_out:
        print_json(
            {
                "draft": report.draft,
                "as_of": when,
                "subjects": len(report.changes),
                "raised": report.raised,
                "lowered": report.lowered,
                "unchanged": report.unchanged,
                "faded": report.faded,
                "band_shifts": list(report.band_shifts),
                "causes": {k: str(v) for k, v in report.causes().items()},
            }
        )
        return
    typer.echo(report.summary())
    table = report.table()
    if "\n" in table:
        typer.echo("")
        typer.echo(table)
