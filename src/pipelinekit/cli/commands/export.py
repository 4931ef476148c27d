"""``pipelinekit export``: stored entities as JSON Lines or CSV, to a file or stdout."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, TypeVar

import typer

from ...io import EXPORT_FORMATS, EXPORT_KINDS, ExportKind, export_entities
from .._context import UserError, interruptible, state
from .._printing import say
from ..exit_codes import ExitCode

__all__ = ["export"]

T = TypeVar("T", bound=str)


def _choice(value: str, choices: tuple[T, ...]) -> T | None:
    return next((choice for choice in choices if choice == value), None)


def export(
    ctx: typer.Context,
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            metavar="leads|opportunities|prospects",
            help="leads, opportunities or prospects.",
        ),
    ] = "leads",
    format: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="jsonl|csv|parquet",
            help="jsonl (complete, re-readable), csv (leads: the import columns) or parquet "
            "(the Arrow schema, for Spark and Dask; needs --out and the arrow extra).",
        ),
    ] = "jsonl",
    out: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Output file (default: stdout).")
    ] = None,
) -> None:
    """Export stored entities as JSON Lines (pipelinekit.from_dict reads each line back), CSV
    or Parquet."""
    chosen_kind = _choice(kind, EXPORT_KINDS)
    if format == "parquet" and chosen_kind is not None:
        _export_parquet(ctx, chosen_kind, out)
        return
    chosen_format = _choice(format, EXPORT_FORMATS)
    if chosen_kind is None:
        raise UserError(f"--kind {kind!r}: use leads, opportunities or prospects", ExitCode.USAGE)
    if chosen_format is None:
        raise UserError(f"--format {format!r}: use jsonl, csv or parquet", ExitCode.USAGE)
    if chosen_format == "csv" and chosen_kind == "prospects":
        raise UserError("prospects export as jsonl only: pass --format jsonl", ExitCode.USAGE)
    storage = state(ctx).storage(must_exist=True)

    def resume() -> str:
        where = f"{out} may be incomplete" if out else "the output may be incomplete"
        return f"nothing was changed in the database, but {where}; run it again"

    try:
        with interruptible(resume):
            count = export_entities(storage, out, kind=chosen_kind, format=chosen_format)
    finally:
        storage.close()
    if count == 0:
        say(f"No {kind} are stored in {state(ctx).db_label}: nothing was exported.")
    elif out:
        say(f"Exported {count} {kind} to {out}")


def _export_parquet(ctx: typer.Context, kind: ExportKind, out: Path | None) -> None:
    if out is None:
        raise UserError("--format parquet writes a file: pass --out FILE", ExitCode.USAGE)
    from ...arrow import export_parquet  # the arrow extra, needed only here

    storage = state(ctx).storage(must_exist=True)
    try:
        with interruptible(lambda: f"nothing was changed in the database; {out} may be incomplete"):
            count = export_parquet(storage, out, kind=kind)
    finally:
        storage.close()
    say(f"Exported {count} {kind} to {out}")
