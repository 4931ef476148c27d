"""``pipelinekit db upgrade | check``: the storage schema as a deployment step."""

from __future__ import annotations

import typer

from ...storage.sql import SCHEMA_VERSION
from .._context import state

__all__ = ["check", "upgrade"]


def upgrade(ctx: typer.Context) -> None:
    """Create the storage schema, or migrate it to this pipelinekit's version.

    Idempotent, and safe when several processes run it at once (they queue on
    a lock): run it in the deployment step before starting the application.
    """
    storage = state(ctx).storage()
    try:
        found = storage.create_schema()
    finally:
        storage.close()
    if found == 0:
        typer.echo(f"created the storage schema (version {SCHEMA_VERSION})")
    elif found < SCHEMA_VERSION:
        typer.echo(f"migrated the storage schema from version {found} to {SCHEMA_VERSION}")
    else:
        typer.echo(f"the storage schema is up to date (version {SCHEMA_VERSION})")


def check(ctx: typer.Context) -> None:
    """Exit with the storage code (5) unless the schema is this pipelinekit's version."""
    storage = state(ctx).storage()
    try:
        storage.check_schema()
    finally:
        storage.close()
    typer.echo(f"the storage schema is up to date (version {SCHEMA_VERSION})")
