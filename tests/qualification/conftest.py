"""Shared fixtures: leads to score, and the example plugin installed into this venv."""

from __future__ import annotations

import importlib
import site
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, distribution
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
    """Install the example plugin package (editable, no deps) into the running venv.

    A clean clone gets it the same way CI does: ``pip install -e ".[test]"`` brings
    hatchling, and this fixture installs the plugin without build isolation, so it
    works offline.  An existing installation is reused.
    """
    try:
        distribution("pipelinekit-plugin-example")
    except PackageNotFoundError:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--no-build-isolation",
                "--disable-pip-version-check",
                "-e",
                str(PLUGIN),
            ],
            check=True,
        )
        # Pick up the new .pth file and distribution metadata in this process.
        site.addsitedir(sysconfig.get_paths()["purelib"])
        importlib.invalidate_caches()
    registry._reset()
    yield "email_domain"
    registry._reset()
