"""``pipelinekit qualify``: score the open leads, store the results, apply the verdicts.

The leads are read, scored, moved and saved a batch at a time (``--batch-size``),
one transaction per batch, so memory stays flat however many leads are stored
and an interrupted run keeps the batches it finished.  The verdicts of a batch
are applied through the lifecycle's bulk path (one compiled lookup per stage
and event, the same guards and history as a single move), and the domain
events of a batch are written in one statement.  A lead whose new result equals
its stored one (everything but the moment it was computed) and that does not
move is left as it is: running ``qualify`` again over unchanged leads writes
nothing.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Annotated

import attrs
import typer

from ...analytics import top_leads
from ...analytics.report import BestScored
from ...domain import Lead, QualificationResult
from ...errors import PipelinekitError
from ...io import not_utf8
from ...lifecycle import propose
from ...pipelines import DomainEvent, lead_lifecycle
from ...qualification import Strategy
from ...storage import UnitOfWork
from .._context import JsonOption, TopOption, UserError, as_of, interruptible, state
from .._printing import print_json, print_qualified, print_top, progress_bar
from ..exit_codes import ExitCode

__all__ = ["qualify"]

#: The lead statuses that are scored.
OPEN_STATUSES = ("new", "contacted", "nurturing", "qualified")


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
    """The counts so far, the verdicts and lifecycle moves applied, and the best leads."""

    def __init__(self, scorer: Strategy, when: datetime, *, apply: bool, top: int) -> None:
        self.scorer, self.when, self.apply, self.top = scorer, when, apply, top
        self.scored = 0
        self.unchanged = 0
        self.verdicts: Counter[str] = Counter()
        self.moves: Counter[str] = Counter()
        self._best = BestScored(top)
        self.lifecycle = lead_lifecycle()

    def best(self) -> list[Lead]:
        """The best-scored leads kept (at most ``top``)."""
        return self._best.leads()

    def _keep(self, leads: list[Lead]) -> None:
        for lead in leads:
            self._best.offer(lead)

    def flush(self, uow: UnitOfWork, batch: list[Lead]) -> None:
        """Score ``batch``, apply the verdicts, save the leads (and the events of the moves)."""
        updated: list[Lead] = []
        kept: list[Lead] = []
        # leads moving by the same event with the same note go through the bulk path together
        groups: dict[tuple[str, str | None], list[Lead]] = {}
        for lead, result in zip(
            batch, self.scorer.evaluate_many(batch, as_of=self.when), strict=True
        ):
            self.verdicts[result.verdict.value] += 1
            if self.apply and lead.history and lead.history[-1].at > self.when:
                raise UserError(
                    f"--as-of {self.when.isoformat()} is before lead {lead.id}'s last "
                    f"recorded change ({lead.history[-1].at.isoformat()}): qualify "
                    "as of a later time, or pass --no-apply to only score",
                    ExitCode.USAGE,
                )
            proposal = propose(lead, result) if self.apply else None
            if proposal is not None and proposal.event is not None:
                key = (proposal.event, proposal.reason)
                groups.setdefault(key, []).append(lead.evolve(qualification=result))
            elif same_result(lead.qualification, result):
                kept.append(lead)  # nothing to write: the stored result still holds
            else:
                updated.append(lead.evolve(qualification=result, updated_at=self.when))
        events: list[DomainEvent] = []
        for (event, note), leads in groups.items():
            done = self.lifecycle.bulk(
                leads, event, at=self.when, actor="qualification", note=note, strict=True
            )
            for before, after in zip(leads, done.moved, strict=True):
                self.moves[f"{before.status} -> {after.status}"] += 1
            updated.extend(done.moved)
            events.extend(done.events())
        uow.events.append_all(events)
        saved = uow.leads.save_all(updated)
        self.scored += len(saved) + len(kept)
        self.unchanged += len(kept)
        self._keep(saved)
        self._keep(kept)
        batch.clear()


_COMPARED = tuple(
    f.name for f in attrs.fields(QualificationResult) if f.name not in ("as_of", "children")
)


def same_result(stored: QualificationResult | None, new: QualificationResult) -> bool:
    """Whether ``new`` says what ``stored`` says: equal in everything but ``as_of``
    (the moment each was computed), their children alike."""
    if stored is None:
        return False
    if any(getattr(stored, name) != getattr(new, name) for name in _COMPARED):
        return False
    return len(stored.children) == len(new.children) and all(
        same_result(a, b) for a, b in zip(stored.children, new.children, strict=True)
    )


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
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size",
            metavar="N",
            min=1,
            help="Leads per batch and transaction (default: the import batch size, 1000).",
        ),
    ] = None,
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
    size = batch_size or run.settings.batch_size
    work = _Run(scorer, as_of(as_of_), apply=apply, top=top)
    storage = run.storage(must_exist=True)

    def resume() -> str:
        return "no lead was changed (qualify writes in one transaction); run it again"

    try:
        with interruptible(resume), storage.unit_of_work() as uow:
            total = uow.leads.count()
            with progress_bar("Qualifying", enabled=not json_out) as update:
                batch: list[Lead] = []
                for done, lead in enumerate(uow.leads.iterate(batch=size), start=1):
                    if lead.status in OPEN_STATUSES:
                        batch.append(lead)
                    if len(batch) >= size:
                        work.flush(uow, batch)
                        uow.commit()  # one transaction per batch: a stop keeps what is done
                        update(done, total)
                if batch:
                    work.flush(uow, batch)
                uow.commit()
                update(total, total)
    finally:
        storage.close()
    verdicts = dict(sorted(work.verdicts.items()))
    moves = dict(sorted(work.moves.items()))
    best = top_leads(work.best(), top)
    if json_out:
        print_json(
            {
                "strategy": scorer.name,
                "as_of": work.when,
                "scored": work.scored,
                "unchanged": work.unchanged,
                "verdicts": verdicts,
                "moves": moves,
                "top_leads": [lead.to_dict() for lead in best],
            }
        )
        return
    print_qualified(scorer.name, work.scored, verdicts, moves, unchanged=work.unchanged)
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
