"""The web-app guide's handlers (docs/web-apps.md) against PostgreSQL, with concurrent clients.

The page runs on SQLite in tests/test_docs.py; here the same blocks run with
``APP_DATABASE_URL`` pointing at a fresh PostgreSQL schema (through the
connection's ``search_path``), so the guide's assertions (no 500, no lost
update, one audit row per landed touch) hold on both databases.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from .conftest import postgres_url

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "web-apps.md"
_BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


@pytest.mark.postgres
def test_the_guides_app_holds_on_postgresql(
    pg_schema: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    schema = f"{pg_schema}_web"
    admin = sa.create_engine(postgres_url())
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.engine.make_url(postgres_url()).update_query_dict(
        {"options": f"-csearch_path={schema}"}
    )
    monkeypatch.setenv("APP_DATABASE_URL", url.render_as_string(hide_password=False))
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "web_app_guide"}
    try:
        for source in _BLOCK.findall(GUIDE.read_text(encoding="utf-8")):
            exec(compile(source, str(GUIDE), "exec", dont_inherit=True), namespace)
        with admin.connect() as conn:
            tables = set(
                conn.execute(
                    sa.text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": schema}
                ).scalars()
            )
        assert {"audit", "pipelinekit_leads"} <= tables  # it ran where it was told
    finally:
        for name in ("storage", "engine"):  # what the guide made, even if it stopped early
            made = namespace.get(name)
            if made is not None:
                made.close() if name == "storage" else made.dispose()  # type: ignore[attr-defined]
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
