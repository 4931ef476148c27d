"""``pipelinekit demo``: generate, store, qualify and convert demo leads; report them."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from .._context import (
    JsonOption,
    LocaleOption,
    TopOption,
    interruptible,
    locale_for,
    now,
    state,
)
from .._printing import print_json, print_report, progress_bar, say
from .report import stored_report

__all__ = ["demo"]

_BATCH = 1000


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
    locale: LocaleOption = None,
    json_out: JsonOption = False,
) -> None:
    """Generate demo data, store, qualify and convert it; print funnel, forecast and top leads.

    The demo's six months end today.  Uses the default SQLite database unless
    --db says otherwise.  Running it again with the same seed finds the data
    already stored and just reports.
    """
    from ...demo import run_scenario, synthetic_leads

    run = state(ctx)
    storage = run.storage()
    stored = False

    def resume() -> str:
        if stored:
            return f"the demo data is stored in {run.db_label}; `pipelinekit report` shows it"
        return "nothing was stored (the demo data is written in one transaction); run it again"

    try:
        with interruptible(resume):
            # the story ends today (midnight UTC), so the demo's dates and `qualify`'s agree
            as_of = now().replace(hour=0, minute=0, second=0, microsecond=0)
            with storage.unit_of_work(read_only=True) as uow:
                present = uow.leads.by_external_id(f"demo-{seed}-00000") is not None
            if present:
                if not json_out:
                    say(f"Demo data for seed {seed} is already in {run.db_label}; reporting it.")
            else:
                with progress_bar("Generating and working leads", enabled=not json_out) as update:
                    begins = as_of - timedelta(days=180)
                    generated = synthetic_leads(leads, seed=seed, start=begins)
                    outcome = run_scenario(generated, as_of=as_of, seed=seed, progress=update)
                with (
                    progress_bar("Storing", enabled=not json_out) as update,
                    storage.unit_of_work() as uow,
                ):
                    total = len(outcome.leads) + len(outcome.opportunities)
                    for start in range(0, len(outcome.leads), _BATCH):
                        uow.leads.upsert_all(outcome.leads[start : start + _BATCH])
                        update(min(start + _BATCH, len(outcome.leads)), total)
                    uow.opportunities.save_all(outcome.opportunities)
                    uow.events.append_all(outcome.events)
                    uow.commit()
                    stored = True
                    update(total, total)
                if not json_out:
                    say(
                        f"Stored {len(outcome.leads)} leads and {len(outcome.opportunities)} "
                        f"opportunities in {run.db_label} (as of {as_of.date()})."
                    )
            report = stored_report(storage, top, as_of=now())
    finally:
        storage.close()
    if json_out:
        print_json({"db": run.db_label, "seed": seed, **report.to_dict()})
    else:
        print_report(report, locale=locale_for(locale))
