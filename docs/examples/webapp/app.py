"""A FastAPI app embedding pipelinekit, as docs/web-apps.md describes it.

Leads come in as request JSON, get qualified with BANT, are converted into
opportunities of the sales pipeline, deals move by events, and a report reads
the funnel and forecast.  The pattern:

* one engine, one storage and one compiled pipeline per process, shared by
  every request (made at startup, closed at shutdown);
* the schema as a deployment step (:func:`migrate`), the app only checks it;
* one unit of work per request through ``storage.run`` (sync endpoints) or
  ``AsyncStorage.run`` (async endpoints), which commits and retries
  conflicts, with the time of a change taken inside it, after reading;
* the app's own ``activity`` table written on ``uow.connection``, in the same
  transaction as the pipeline change;
* pipelinekit's errors mapped to HTTP statuses once, in one exception handler.

Run it (``pip install "pipelinekit[postgres]" fastapi uvicorn``)::

    export APP_DATABASE_URL=postgresql+psycopg://app@db/crm   # or sqlite:///crm.db
    python app.py migrate                  # the deployment step
    uvicorn --factory app:from_environment

The test suite runs this file with concurrent clients on SQLite and PostgreSQL
(``tests/storage/test_example_webapp.py``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from pipelinekit import (
    Clock,
    Lead,
    Money,
    PipelinekitError,
    Problem,
    SystemClock,
    ValidationError,
    analytics,
    from_dict,
    from_input,
    to_dict,
)
from pipelinekit.aio import AsyncStorage
from pipelinekit.lifecycle import apply_proposal, propose
from pipelinekit.pipelines import (
    ConversionError,
    InvalidTransition,
    PipelineMismatch,
    StaleTime,
    lead_lifecycle,
    sales_pipeline,
)
from pipelinekit.qualification import bant
from pipelinekit.storage import (
    ConcurrencyConflict,
    DuplicateExternalId,
    NotFound,
    StorageBusy,
)
from pipelinekit.storage.sql import SqlStorage, SqlUnitOfWork, sql_storage

# -- the application's own tables (its migrations are its business) -----------------

APP_TABLES = sa.MetaData()
#: One row per change the app made, written in the same transaction as the change.
activity = sa.Table(
    "activity",
    APP_TABLES,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("entity_kind", sa.String(20), nullable=False),
    sa.Column("entity_id", sa.String(64), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)


def migrate(database_url: str) -> None:
    """The deployment step: pipelinekit's schema (``pipelinekit db upgrade``), then the app's."""
    engine = sa.create_engine(database_url)
    try:
        with sql_storage(engine) as storage:
            storage.create_schema()
        APP_TABLES.create_all(engine)
    finally:
        engine.dispose()


# -- errors: one mapping to HTTP statuses ------------------------------------------


def status_for(error: PipelinekitError) -> tuple[int, dict[str, Any]]:
    """The HTTP status and body for an error pipelinekit raised (docs/web-apps.md's table)."""
    if isinstance(error, ValidationError):
        return 422, {"detail": [{"loc": p.path, "msg": p.message} for p in error.problems]}
    if isinstance(error, NotFound):
        return 404, {"detail": str(error)}
    if isinstance(
        error,
        ConcurrencyConflict
        | StaleTime
        | InvalidTransition
        | ConversionError
        | PipelineMismatch
        | DuplicateExternalId,
    ):
        return 409, {"detail": str(error)}
    if isinstance(error, StorageBusy):
        return 503, {"detail": str(error)}
    return 500, {"detail": "internal error"}


def _only(subject: str, body: Mapping[str, Any], keys: set[str]) -> None:
    """Refuse keys of a request body that the endpoint does not read, with their paths."""
    unknown = sorted(set(body) - keys)
    if unknown:
        expected = ", ".join(sorted(keys))
        problems = [Problem(f"$.{key}", f"unknown key; expected {expected}") for key in unknown]
        raise ValidationError(subject, problems)


def _plain(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Report rows as JSON: exact decimals as strings (JSON numbers would round them)."""
    return [{k: str(v) if isinstance(v, Decimal) else v for k, v in row.items()} for row in rows]


# -- the app -----------------------------------------------------------------------


#: Threads that may run units of work at once: FastAPI's thread pool for the sync endpoints
#: (40 threads) and asyncio's default executor, where ``AsyncStorage.run`` runs them.
THREADS = 40 + min(32, (os.cpu_count() or 1) + 4)


def create_app(
    database_url: str, *, pool_size: int = THREADS, clock: Clock | None = None
) -> FastAPI:
    """The FastAPI app on ``database_url``, whose schema :func:`migrate` has made.

    ``pool_size`` connections cover the threads that may run units of work at
    once (:data:`THREADS`), so no request waits for a connection; one that
    still waits longer than the pool's timeout gets ``StorageBusy`` (503).
    """
    clock = clock or SystemClock()
    lifecycle = lead_lifecycle()  # compiled once, shared by every request
    sales = sales_pipeline()
    qualifier = bant()
    # one per process: made at startup, closed at shutdown
    storage: SqlStorage | None = None
    astorage: AsyncStorage[SqlUnitOfWork] | None = None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal storage, astorage
        engine = sa.create_engine(database_url, pool_size=pool_size, max_overflow=0)
        storage = sql_storage(engine, auto_schema=False)
        try:
            storage.check_schema()  # a database nobody migrated fails here, not on a request
            astorage = AsyncStorage(storage)
            yield
        finally:
            storage.close()
            engine.dispose()
            storage = astorage = None

    def store() -> SqlStorage:
        assert storage is not None, "the app's lifespan has not started"
        return storage

    def astore() -> AsyncStorage[SqlUnitOfWork]:
        assert astorage is not None, "the app's lifespan has not started"
        return astorage

    app = FastAPI(title="pipelinekit example CRM", lifespan=lifespan)

    @app.exception_handler(PipelinekitError)
    async def pipelinekit_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, PipelinekitError)
        status, body = status_for(error)
        return JSONResponse(body, status_code=status)

    def record(uow: SqlUnitOfWork, kind: str, entity_id: str, action: str) -> None:
        """The app's own row, in the unit of work's transaction: committed (and retried) with it."""
        row = {"entity_kind": kind, "entity_id": entity_id, "action": action, "at": clock.now()}
        uow.connection.execute(sa.insert(activity).values(**row))

    # Sync endpoints: FastAPI runs them on its thread pool; storage.run blocks that thread.

    @app.post("/leads", status_code=201)
    def create_lead(body: dict[str, Any]) -> dict[str, Any]:
        def create(uow: SqlUnitOfWork) -> Lead:
            lead = uow.leads.save(from_input(Lead, body, clock=clock))
            record(uow, "lead", lead.id, "created")
            return lead

        return to_dict(store().run(create))

    @app.get("/leads/{lead_id}")
    def read_lead(lead_id: str) -> dict[str, Any]:
        lead = store().run(lambda uow: uow.leads.get(lead_id), read_only=True)
        return to_dict(lead)

    @app.post("/leads/{lead_id}/qualify")
    def qualify(lead_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Record the BANT answers in ``custom`` and move the lead as its verdict proposes."""
        _only("qualify", body, {"custom"})
        custom = body.get("custom", {})
        if not isinstance(custom, dict):
            raise ValidationError("qualify", [Problem("$.custom", "must be an object")])

        def run(uow: SqlUnitOfWork) -> Lead:
            lead = uow.leads.get(lead_id)
            now = clock.now()  # after reading
            if custom:
                lead = lead.evolve(custom={**lead.custom, **custom}, updated_at=now)
            result = qualifier.evaluate(lead, as_of=now)
            moved = apply_proposal(propose(lead, result), lead, clock=clock, result=result)
            if moved is None:  # the verdict proposes no move from here: keep the result
                lead = uow.leads.save(lead.evolve(qualification=result, updated_at=now))
            else:
                lead = uow.leads.save(moved.entity)
                uow.events.append_all(moved.events)
            record(uow, "lead", lead.id, f"qualified:{lead.status}")
            return lead

        lead = store().run(run)
        score = lead.qualification.score if lead.qualification else None
        return {"id": lead.id, "status": lead.status, "score": str(score), "version": lead.version}

    @app.post("/leads/{lead_id}/convert", status_code=201)
    def convert(lead_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Convert a qualified lead into an opportunity of the sales pipeline."""
        _only("convert", body, {"amount", "currency", "name"})
        # 422 with $.amount and $.currency, as in the body
        amount = from_dict(Money, {k: body[k] for k in ("amount", "currency") if k in body})

        def run(uow: SqlUnitOfWork) -> dict[str, Any]:
            lead = uow.leads.get(lead_id)
            done = lifecycle.convert(
                lead, pipeline=sales, amount=amount, name=body.get("name"), clock=clock
            )
            uow.leads.save(done.lead)  # a concurrent conversion makes this conflict: retried
            deal = uow.opportunities.save(done.opportunity)
            uow.events.append_all(done.events)
            record(uow, "lead", lead.id, "converted")
            record(uow, "opportunity", deal.id, "opened")
            return to_dict(deal)

        return store().run(run)

    # Async endpoints: the unit of work runs on a worker thread, the event loop stays free.

    @app.get("/deals/{deal_id}")
    async def read_deal(deal_id: str) -> dict[str, Any]:
        deal = await astore().run(lambda uow: uow.opportunities.get(deal_id), read_only=True)
        return to_dict(deal)

    @app.post("/deals/{deal_id}/events")
    async def fire(deal_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Fire a pipeline event on a deal (``advance``, ``win``, ``lose`` with ``reason``...)."""
        _only("fire", body, {"event", "to", "note", "reason", "competitor"})
        if not isinstance(body.get("event"), str):
            raise ValidationError("fire", [Problem("$.event", "must be the event's name")])

        def run(uow: SqlUnitOfWork) -> dict[str, Any]:
            deal = uow.opportunities.get(deal_id)
            moved = sales.fire(
                deal,
                body["event"],
                to=body.get("to"),
                note=body.get("note"),
                reason=body.get("reason"),
                competitor=body.get("competitor"),
                clock=clock,  # the move's time is taken now, after reading the deal
            )
            deal = uow.opportunities.save(moved.entity)
            uow.events.append_all(moved.events)
            record(uow, "opportunity", deal.id, f"{body['event']}:{deal.stage}")
            return {"id": deal.id, "stage": deal.stage, "version": deal.version}

        return await astore().run(run)

    @app.get("/report")
    async def report() -> dict[str, Any]:
        """Lead statuses, the deal funnel and the forecast, computed inside the database."""

        def run(uow: SqlUnitOfWork) -> dict[str, Any]:
            return {
                "leads": uow.leads.count_by_stage(),
                "funnel": _plain(analytics.funnel(uow, sales).to_dicts()),
                "forecast": _plain(analytics.forecast(uow, sales).to_dicts()),
            }

        return await astore().run(run, read_only=True)

    return app


def from_environment() -> FastAPI:
    """The app on ``APP_DATABASE_URL`` (for ``uvicorn --factory app:from_environment``)."""
    return create_app(os.environ["APP_DATABASE_URL"])


if __name__ == "__main__" and sys.argv[1:] == ["migrate"]:
    migrate(os.environ["APP_DATABASE_URL"])
