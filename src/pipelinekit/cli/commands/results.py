"""``pipelinekit import-results``: qualification results scored elsewhere, stored once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .._context import interruptible, state
from .._printing import say

__all__ = ["import_results"]


def import_results(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="A Parquet file scored with results=True (Spark, Dask or score_table).",
            show_default=False,
            metavar="FILE",
        ),
    ],
) -> None:
    """Store the results of a scored Parquet file by entity id and fingerprint (idempotent)."""
    from ...arrow import import_results as store_results  # the arrow extra, needed only here

    storage = state(ctx).storage(must_exist=True)
    try:
        with interruptible(lambda: "nothing was stored: run it again"):
            count = store_results(storage, file)
    finally:
        storage.close()
    say(f"Stored the results of {count} rows of {file} (each result once per entity)")
