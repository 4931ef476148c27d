"""A plain-text account of a result: the score, the verdict, and every line of why."""

from __future__ import annotations

from decimal import Decimal

from ..errors import Problem, ValidationError
from .results import QualificationResult

__all__ = ["describe"]


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def _points(value: Decimal) -> str:
    text = _num(value)
    return f"+{text}" if value > 0 else text


def describe(result: QualificationResult, *, indent: str = "  ") -> str:
    """Explain ``result`` in a few lines a salesperson can read.

    The first line gives the strategy, the score on its scale (``unscored``
    when there is none, never 0), grade, band and verdict; then one line per
    breakdown line (points, criterion, status, reason); children of a
    composite follow, indented.
    """
    problems: list[Problem] = []
    if not isinstance(result, QualificationResult):
        problems.append(
            Problem("$.result", f"expected a QualificationResult, got {type(result).__name__}")
        )
    if not isinstance(indent, str):
        problems.append(Problem("$.indent", f"must be a string, got {type(indent).__name__}"))
    if problems:
        raise ValidationError("describe", problems)
    lines: list[str] = []
    _describe(result, lines, "", indent)
    return "\n".join(lines)


def _describe(result: QualificationResult, out: list[str], pad: str, indent: str) -> None:
    score = (
        "unscored"
        if result.score is None
        else f"{_num(result.score)} of {_num(result.scale_min)}-{_num(result.scale_max)}"
    )
    extras = [f"grade {result.grade}" if result.grade else "", f"band {result.band}" if
              result.band and result.band != result.grade else ""]  # fmt: skip
    detail = ", ".join(e for e in extras if e)
    head = f"{pad}{result.strategy}: {score}{f' ({detail})' if detail else ''}"
    head += f" -> {result.verdict.value.replace('_', ' ')}"
    if result.knockouts:
        head += f"; knocked out by {', '.join(result.knockouts)}"
    if result.stale:
        head += "; stale (engagement decayed)"
    out.append(head)
    width = max((len(_points(line.points)) for line in result.breakdown), default=0)
    for line in result.breakdown:
        status = line.status.value.replace("_", " ")
        out.append(
            f"{pad}{indent}{_points(line.points):>{width}}  {line.criterion} [{status}]: "
            f"{line.reason}"
        )
    for child in result.children:
        _describe(child, out, pad + indent, indent)
