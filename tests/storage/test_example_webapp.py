"""The example FastAPI app of the web-app guide (docs/examples/webapp/app.py), under load.

The app is imported from the docs and driven through FastAPI's TestClient
(HTTP requests through the app's ASGI interface, its lifespan included) by
8 client threads at once, on a SQLite file and on a fresh PostgreSQL schema:
leads created from JSON, qualified, converted (several clients converting the
same lead at once), hot deals moved by every client at once, and the report.
Every answer must be one the guide's error table allows (never a 500), every
change that was answered with success must be in the database exactly once
(history, domain events and the app's own rows written in the same
transaction), and no lead may be converted twice.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa

from pipelinekit.storage import SchemaNotReady
from pipelinekit.storage.sql import sql_storage

from .conftest import postgres_url

pytest.importorskip("fastapi", reason="the test extra installs FastAPI for the example app")
from fastapi import Request
from fastapi.testclient import TestClient

APP_FILE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "webapp" / "app.py"
CLIENTS = 8
#: The statuses the guide's error table gives for what these requests can meet.
EXPECTED = {200, 201, 404, 409, 422}


@pytest.fixture(scope="module")
def webapp() -> Iterator[ModuleType]:
    spec = importlib.util.spec_from_file_location("pipelinekit_example_webapp", APP_FILE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # FastAPI resolves the endpoints' annotations through it
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database nobody has used: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crm.db'}"
        return
    schema = f"{request.getfixturevalue('pg_schema')}_app{next(_schemas)}"
    admin = sa.create_engine(postgres_url())
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.engine.make_url(postgres_url()).update_query_dict(
        {"options": f"-csearch_path={schema}"}
    )
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


_schemas = itertools.count()


@pytest.fixture
def client(webapp: ModuleType, database_url: str) -> Iterator[TestClient]:
    webapp.migrate(database_url)
    app = webapp.create_app(database_url, pool_size=CLIENTS + 4)
    app.state.in_flight = app.state.most_in_flight = 0

    @app.middleware("http")
    async def count_in_flight(request: Request, call_next: Any) -> Any:
        app.state.in_flight += 1  # the middleware runs on the event loop: no race
        app.state.most_in_flight = max(app.state.most_in_flight, app.state.in_flight)
        try:
            return await call_next(request)
        finally:
            app.state.in_flight -= 1

    with TestClient(app) as client:
        yield client


def lead_body(n: int) -> dict[str, Any]:
    return {
        "contact": {"name": f"Contact {n}", "email": f"c{n}@example.com"},
        "company": {"name": f"Company {n}", "employees": 10 + n},
        "external_id": f"crm-{n}",
    }


GOOD = {"bant.budget": "high", "bant.authority": "confirmed", "bant.need": "high"}
POOR = {"bant.budget": "low", "bant.need": "low"}
#: The event a client fires on a deal in each stage: round and round the sales pipeline.
NEXT = {
    "initial_contact": {"event": "advance", "note": "call"},
    "qualification": {"event": "advance"},
    "meeting": {"event": "advance", "note": "demo booked"},
    "proposal": {"event": "lose", "reason": "price", "competitor": "Globex"},
    "closed_lost": {"event": "reopen", "to": "initial_contact", "note": "they called back"},
}


def escaped(body: dict[str, Any]) -> dict[str, Any]:
    """Request arguments sending ``body`` as ASCII JSON (a lone surrogate as its escape)."""
    return {"content": json.dumps(body), "headers": {"content-type": "application/json"}}


def in_parallel(calls: list[Callable[[], Any]]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_a_database_nobody_migrated_stops_the_app_at_startup(
    webapp: ModuleType, tmp_path: Path
) -> None:
    app = webapp.create_app(f"sqlite:///{tmp_path / 'new.db'}")
    with pytest.raises(SchemaNotReady, match="pipelinekit"), TestClient(app):
        pass


def test_bad_requests_get_the_librarys_paths_and_statuses(client: TestClient) -> None:
    bad = client.post("/leads", json={"id": "mine", "contact": {"name": "Ada", "email": "nope"}})
    assert bad.status_code == 422
    assert [d["loc"] for d in bad.json()["detail"]] == ["$.contact.email", "$.id"]
    surrogate = client.post("/leads", **escaped({"company": {"name": "Acme \ud800"}}))
    assert surrogate.status_code == 422
    assert [d["loc"] for d in surrogate.json()["detail"]] == ["$.company.name"]

    lead = client.post("/leads", json=lead_body(1)).json()
    assert client.post("/leads", json=lead_body(1)).status_code == 409  # external id
    assert client.get("/leads/no-such-lead").status_code == 404
    assert client.get("/deals/no-such-deal").status_code == 404  # from an async endpoint
    assert client.post("/deals/no-such-deal/events", json={"event": "advance"}).status_code == 404
    unqualified = client.post(
        f"/leads/{lead['id']}/convert", json={"amount": "1", "currency": "EUR"}
    )
    assert unqualified.status_code == 409
    assert "not qualified" in unqualified.json()["detail"]
    money = client.post(f"/leads/{lead['id']}/convert", json={"amount": 1.5, "currency": "EURO"})
    assert money.status_code == 422
    assert [d["loc"] for d in money.json()["detail"]] == ["$.amount", "$.currency"]
    custom = client.post(f"/leads/{lead['id']}/qualify", json={"custom": {"x": [1]}, "y": 2})
    assert (custom.status_code, custom.json()["detail"][0]["loc"]) == (422, "$.y")
    custom = client.post(f"/leads/{lead['id']}/qualify", json={"custom": {"x": [1]}})
    assert (custom.status_code, custom.json()["detail"][0]["loc"]) == (422, "$.custom.x")

    assert client.post(f"/leads/{lead['id']}/qualify", json={"custom": GOOD}).status_code == 200
    deal = client.post(
        f"/leads/{lead['id']}/convert", json={"amount": "24000", "currency": "EUR"}
    ).json()
    note = client.post(
        f"/deals/{deal['id']}/events", **escaped({"event": "advance", "note": "\ud800"})
    )
    assert (note.status_code, note.json()["detail"][0]["loc"]) == (422, "$.note")
    wrong = client.post(f"/deals/{deal['id']}/events", json={"event": "win"})
    assert wrong.status_code == 409
    assert "allowed events from 'initial_contact': advance, lose" in wrong.json()["detail"]
    lose = client.post(f"/deals/{deal['id']}/events", json={"event": "lose"})
    assert (lose.status_code, "lost reason" in lose.json()["detail"]) == (409, True)
    # nothing above left a trace
    again = client.get(f"/deals/{deal['id']}").json()
    assert (again["stage"], again["version"]) == ("initial_contact", deal["version"])


def test_concurrent_clients_lose_nothing_and_never_get_a_500(
    client: TestClient, database_url: str
) -> None:
    answers: list[tuple[str, int]] = []

    def call(method: str, url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        response = client.request(method, url, json=body)
        answers.append((f"{method} {url.split('/')[1]}", response.status_code))
        return response.status_code, response.json()

    # 1. 48 leads created at once, every fourth body bad
    def create(n: int) -> tuple[int, Any]:
        body = lead_body(n)
        if n % 4 == 3:
            body["contact"]["email"] = "not an address"
        return call("POST", "/leads", body)

    created = in_parallel([lambda n=n: create(n) for n in range(48)])
    assert Counter(status for status, _ in created) == {201: 36, 422: 12}
    leads = {body["external_id"]: body["id"] for status, body in created if status == 201}

    # 2. each lead qualified, twice at once: the second sees the first's result
    def qualify(key: str) -> tuple[int, Any]:
        answers_of = GOOD if int(key.split("-")[1]) % 2 == 0 else POOR
        return call("POST", f"/leads/{leads[key]}/qualify", {"custom": answers_of})

    qualified = in_parallel([lambda k=k: qualify(k) for k in leads for _ in range(2)])
    assert {status for status, _ in qualified} == {200}
    statuses = {body["id"]: body["status"] for _, body in qualified}
    good = [lead_id for lead_id, status in statuses.items() if status == "qualified"]
    assert len(good) == 24
    assert Counter(statuses.values())["disqualified"] == 12

    # 3. every lead converted by three clients at once: one opportunity each
    def convert(lead_id: str) -> tuple[int, Any]:
        return call("POST", f"/leads/{lead_id}/convert", {"amount": "1000.50", "currency": "EUR"})

    converted = in_parallel([lambda i=i: convert(i) for i in statuses for _ in range(3)])
    deals = [body["id"] for status, body in converted if status == 201]
    assert len(deals) == len(good)
    assert {body["lead_id"] for status, body in converted if status == 201} == set(good)
    assert Counter(status for status, _ in converted) == {201: 24, 409: 3 * 36 - 24}

    # 4. two hot deals moved by every client at once, the others a little
    hot = deals[:2]
    rng = random.Random(19)

    def move(deal_id: str) -> tuple[str, int]:
        _, deal = call("GET", f"/deals/{deal_id}")
        status, _ = call("POST", f"/deals/{deal_id}/events", NEXT[deal["stage"]])
        return deal_id, status

    targets = [rng.choice(hot) for _ in range(200)] + [d for d in deals[2:] for _ in range(3)]
    rng.shuffle(targets)
    moves = in_parallel([lambda d=d: move(d) for d in targets])
    landed = Counter(deal_id for deal_id, status in moves if status == 200)
    assert all(landed[d] > 0 for d in hot)

    # 5. the report, while nothing else runs
    status, report = call("GET", "/report")
    assert status == 200

    # The clients were concurrent: the app had all of them in flight at once
    assert client.app.state.most_in_flight == CLIENTS  # type: ignore[attr-defined]
    # Never a 500, only what the guide's table allows, and the hot deals did conflict
    assert {status for _, status in answers} <= EXPECTED, Counter(answers)
    assert sum(1 for deal_id, status in moves if deal_id in hot and status == 409) > 0

    # Every success is in the database exactly once, with its app row and domain events
    with sql_storage(database_url) as storage, storage.unit_of_work(read_only=True) as uow:
        assert uow.leads.count() == 36
        assert uow.opportunities.count() == 24
        for deal_id in deals:
            deal = uow.opportunities.get(deal_id)
            assert len(deal.history) == 1 + landed[deal_id]  # opened, then each landed move
            changes = [
                e
                for e in uow.events.read(entity_kind="opportunity", entity_id=deal_id)
                if e.kind == "stage_changed"
            ]
            assert len(changes) == len(deal.history)
        by_stage = uow.opportunities.count_by_stage()
        lead_statuses = uow.leads.count_by_stage()
        rows = uow.connection.execute(  # type: ignore[attr-defined]
            sa.text("SELECT entity_kind, entity_id, action FROM activity")
        ).all()
    per_entity = Counter((kind, entity_id) for kind, entity_id, _ in rows)
    for deal_id in deals:
        assert per_entity["opportunity", deal_id] == 1 + landed[deal_id]
    for lead_id in statuses:
        # created, qualified twice, converted once if it was qualified
        assert per_entity["lead", lead_id] == 3 + (lead_id in good)
    assert Counter(action for *_, action in rows)["converted"] == 24

    assert report["leads"] == lead_statuses == {"converted": 24, "disqualified": 12}
    entered = {row["stage"]: row["entered"] for row in report["funnel"]}
    assert entered["initial_contact"] == 24
    assert sum(by_stage.values()) == 24
    still_open = sum(n for stage, n in by_stage.items() if not stage.startswith("closed"))
    assert sum(line["open_deals"] for line in report["forecast"]) == still_open > 0
    open_amount = sum(Decimal(line["open_amount"]) for line in report["forecast"])
    assert open_amount == Decimal("1000.50") * still_open


@pytest.mark.slow
def test_the_example_app_type_checks(tmp_path: Path) -> None:
    """The app is written as a typed application would be: ``mypy --strict`` accepts it."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(APP_FILE)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stdout
