"""``pipelinekit export``: stored entities as JSON Lines or CSV, to a file or stdout."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, TypeVar

import typer

from ...io import EXPORT_FORMATS, EXPORT_KINDS, export_entities
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
            metavar="jsonl|csv",
            help="jsonl (complete, re-readable) or csv (leads: the import columns).",
        ),
    ] = "jsonl",
    out: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Output file (default: stdout).")
    ] = None,
) -> None:
    """Export stored entities as JSON Lines (pipelinekit.from_dict reads each line back) or CSV."""
    chosen_kind = _choice(kind, EXPORT_KINDS)
    chosen_format = _choice(format, EXPORT_FORMATS)
    if chosen_kind is None:
        raise UserError(f"--kind {kind!r}: use leads, opportunities or prospects", ExitCode.USAGE)
    if chosen_format is None:
        raise UserError(f"--format {format!r}: use jsonl or csv", ExitCode.USAGE)
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
