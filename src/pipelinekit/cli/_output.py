"""Printing for the command: Rich tables for people, JSON for scripts, errors on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..qualification import BreakdownLine, QualificationResult

__all__ = ["console", "err_console", "print_json", "progress_bar", "why"]


def console() -> Console:
    """A console on the current stdout (looked up per call, so tests can capture it)."""
    return Console(file=sys.stdout, highlight=False, soft_wrap=False)


def err_console() -> Console:
    """A console on stderr, for errors and progress."""
    return Console(file=sys.stderr, highlight=False)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def print_json(data: Any) -> None:
    """Write ``data`` as one JSON document on stdout (Decimals as strings)."""
    sys.stdout.write(json.dumps(data, default=_default, indent=2, sort_keys=False) + "\n")


@contextmanager
def progress_bar(description: str, *, enabled: bool = True) -> Iterator[Any]:
    """A progress bar on stderr; yields ``update(done, total)``.  Hidden when not ``enabled``."""
    if not enabled:
        yield lambda done, total: None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console(),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def why(result: QualificationResult | None, count: int = 3) -> str:
    """The few criteria that gave a result the most points, as one line."""
    if result is None:
        return "not scored"
    lines: list[BreakdownLine] = []
    stack = [result]
    while stack:
        current = stack.pop()
        if current.children:
            stack.extend(current.children)
        else:
            lines.extend(current.breakdown)
    lines.sort(key=lambda line: -line.points)
    best = [
        f"{line.criterion} +{line.points.normalize():f} ({line.reason.split('; ')[0]})"
        for line in lines[:count]
        if line.points > 0
    ]
    return "; ".join(best) or "no criterion gave points"
