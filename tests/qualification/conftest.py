"""Shared fixtures: leads to score, and the example plugin installed into this venv."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipelinekit import Company, Lead, LeadId, Money, Person, Source
from pipelinekit.qualification import registry

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "docs" / "examples" / "pipelinekit-plugin-example"
AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def make_lead(
    ident: str = "lead-1",
    *,
    title: str | None = "CTO",
    email: str | None = "ada@acme.io",
    industry: str | None = "software",
    employees: int | None = 250,
    revenue: Money | None = None,
    country: str | None = "DE",
    channel: str | None = "referral",
    tags: frozenset[str] = frozenset(),
    custom: dict[str, Any] | None = None,
    **changes: Any,
) -> Lead:
    """A lead with the fields the tests' strategies read; pass None to leave one out."""
    return Lead(
        id=LeadId(ident),
        created_at=T0,
        updated_at=T0,
        contact=Person(name="Ada Lovelace", email=None, job_title=title)
        if email is None
        else Person.of("Ada Lovelace", email=email, job_title=title),
        company=Company(
            "Acme",
            domain="acme.io",
            industry=industry,
            employees=employees,
            annual_revenue=revenue,
            country=country,
        ),
        source=None if channel is None else Source(channel),  # type: ignore[arg-type]
        tags=tags,
        custom=custom or {},  # type: ignore[arg-type]
        **changes,
    )


@pytest.fixture(scope="session")
def example_plugin() -> Iterator[str]:
    """Install the example plugin package into the running venv, as a user would.

    From a clean clone this works the way CI runs: ``pip install -e ".[test]"``
    brings hatchling, and the plugin is built without build isolation (so
    offline) and installed without dependencies (pipelinekit is already there).
    It is reinstalled every session so edits to the example are always tested.
    """
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--force-reinstall",
            "--disable-pip-version-check",
            str(PLUGIN),
        ],
        check=True,
    )
    importlib.invalidate_caches()
    # a copy imported earlier in the session (from an older install) would shadow it
    for name in [m for m in sys.modules if m.split(".")[0] == "pipelinekit_plugin_example"]:
        del sys.modules[name]
    registry._reset()
    yield "email_domain"
    registry._reset()
