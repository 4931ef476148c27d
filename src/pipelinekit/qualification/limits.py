"""How a limit (a cap or a floor) is charged to the breakdown lines it clips.

When a group or a score goes over its limit, the lines keep adding up exactly
to the counted points: the excess is taken off some of them.  Which ones does
not depend on the order criteria or rules were listed in: the largest
contributions count first and the smallest lose first (ties broken by the
criterion's name).  Over a cap, positive lines lose points; under a floor,
negative lines give points back, the least negative first.  A clipped line
keeps its raw points in its reason (``-25 points, -4 counted under the floor
of 0``).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from ..domain.results import BreakdownLine
from .results import trusted_line

__all__ = ["charge", "num"]

_ZERO = Decimal(0)


def num(value: Decimal) -> str:
    """A number as breakdown reasons show it (``12.5``, ``-4``, ``0``)."""
    return format(value.normalize(), "f") if value else "0"


def charge(
    lines: list[BreakdownLine],
    members: Sequence[int],
    excess: Decimal,
    what: str,
    *,
    mark_cap: Decimal | None = None,
) -> None:
    """Take ``excess`` off ``lines[members]`` (positive: over a cap; negative: under a floor).

    ``what`` names the limit in the reason (``"group 'web' limit of 30"``);
    ``mark_cap`` is recorded as the clipped lines' ``cap``.
    """
    if not excess:
        return
    over = excess > 0
    left = abs(excess)
    chosen = [j for j in members if (lines[j].points > 0 if over else lines[j].points < 0)]
    # the smallest contributions lose first; equal ones in reverse name order, so
    # that of two equal lines the one named first keeps its points (two stable sorts)
    chosen.sort(key=lambda j: lines[j].criterion, reverse=True)
    chosen.sort(key=lambda j: abs(lines[j].points))
    for j in chosen:
        if left <= 0:
            break
        line = lines[j]
        cut = min(abs(line.points), left)
        left -= cut
        kept = line.points - cut if over else line.points + cut
        lines[j] = trusted_line(
            line.criterion,
            line.status,
            kept,
            f"{line.reason}; {num(line.points)} points, {num(kept)} counted under the {what}",
            line.observed,
            mark_cap if mark_cap is not None else line.cap,
            line.group,
            line.evidence,
        )
