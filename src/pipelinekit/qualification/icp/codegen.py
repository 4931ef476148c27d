"""The ICP code generator: all of a strategy's criteria compiled into one scoring function.

Each criterion becomes a :class:`Plan`: how to read its value (the same
path reading as :mod:`pipelinekit.domain.paths`) and two caches of outcomes
per value (points and flags; or the breakdown line).  :func:`generate` then
writes one function per strategy that reads every value, looks each outcome
up, sums the groups under their caps and the total under the total cap, with
no call per criterion on a cache hit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from ...domain import paths
from ...domain.custom import CustomValue
from ...domain.results import BreakdownLine, CriterionStatus
from .._fields import PERSONAL, is_missing, observed
from ..results import trusted_line
from .criteria import Criterion, MissingData, num, signed

__all__ = ["BLOCK", "CACHE_LIMIT", "KNOWN", "KO", "UNCONFIRMED", "Plan", "generate"]

CACHE_LIMIT = 100_000  # outcomes/lines kept per criterion (flyweights)

# flags an outcome carries
KNOWN = 1
KO = 2
BLOCK = 4
UNCONFIRMED = 8

T = TypeVar("T")
_ZERO = Decimal(0)
_ONE = Decimal(1)
_N = CriterionStatus.NO_MATCH
_U = CriterionStatus.UNKNOWN
_K = CriterionStatus.KNOCKOUT
_KNOWN, _KO, _BLOCK, _UNCONFIRMED, _CACHE_LIMIT = KNOWN, KO, BLOCK, UNCONFIRMED, CACHE_LIMIT

_Outcome = tuple[Decimal, int]  # weighted points, flags
_Explained = tuple[BreakdownLine, int]


class Plan:
    """One criterion prepared for fast evaluation: a reader and two outcome caches."""

    __slots__ = (
        "criterion",
        "evidence",
        "explained",
        "group",
        "hide",
        "missing_line",
        "missing_outcome",
        "outcomes",
        "read",
        "tagged",
    )

    def __init__(self, criterion: Criterion, group: int) -> None:
        self.criterion = criterion
        self.group = group
        # every line of this criterion cites the same field: one tuple for all
        self.evidence = (f"$.{criterion.field}",) if criterion.field else ()
        self.read = criterion.read()
        self.hide = criterion.field in PERSONAL
        field = criterion.field or ""
        self.tagged = field.startswith("custom.") and not criterion.presence
        self.outcomes: dict[Any, _Outcome] = {}
        self.explained: dict[Any, _Explained] = {}
        status, points, reason, flags = self._unknown()
        self.missing_outcome: _Outcome = (points, flags)
        self.missing_line: _Explained = (self._line(status, points, reason, None), flags)

    def _unknown(self) -> tuple[CriterionStatus, Decimal, str, int]:
        c = self.criterion
        policy = c.missing
        if c.presence:
            status, points, reason = c.classify(None)
            points = points * c.weight
            if c.required and status is _N:
                return _K, points, reason + "; required", _KO
            return status, points, reason, _KNOWN
        if policy is MissingData.ZERO:
            if c.required:
                return _K, _ZERO, "no data, counted as no match; required", _KO
            return _N, _ZERO, "no data, counted as no match", 0
        if policy is MissingData.PENALTY:
            flags = _UNCONFIRMED if c.required else 0
            return _U, -c.penalty, f"no data: penalty {signed(-c.penalty)}", flags
        if policy is MissingData.BLOCK:
            return _U, _ZERO, "no data: this criterion is needed to score", _BLOCK
        flags = _UNCONFIRMED if c.required else 0
        return _U, _ZERO, "no data (neutral)", flags

    def _known(self, value: Any) -> tuple[CriterionStatus, Decimal, str, int]:
        c = self.criterion
        status, points, reason = c.classify(value)
        if status is _U:
            policy_status, policy_points, policy_reason, flags = self._unknown()
            return policy_status, policy_points, f"{reason}; {policy_reason}", flags
        weighted = points * c.weight
        if c.weight != _ONE and points:
            reason = f"{reason} ({signed(points)} x weight {num(c.weight)})"
        if status is _K:
            return _K, weighted, reason, _KNOWN | _KO
        if c.required and status is _N:
            return _K, weighted, f"{reason}; required", _KNOWN | _KO
        return status, weighted, reason, _KNOWN

    def _line(
        self, status: CriterionStatus, points: Decimal, reason: str, value: Any
    ) -> BreakdownLine:
        c = self.criterion
        shown: CustomValue
        if c.presence:
            shown = value is not None and value is not False and not is_missing(value)
        elif c.field is None:  # a predicate: its answer, True, False or None
            shown = value if value is None or isinstance(value, bool) else None
        elif self.hide:
            shown = None if value is None else not is_missing(value)
        else:
            shown = observed(value)
        return trusted_line(c.name, status, points, reason, shown, None, c.group, self.evidence)

    def key(self, value: Any) -> Any:
        # Custom fields mix types, and True == 1 == Decimal(1) in a dict: key
        # their outcomes by type as well so each keeps its own line.
        return (value.__class__, value) if self.tagged else value

    def outcome(self, value: Any) -> _Outcome:
        """Points and flags for ``value`` (cached per value)."""
        return self._cached(self.outcomes, value, self.missing_outcome, self._scored)

    def explain(self, value: Any) -> _Explained:
        """The breakdown line and flags for ``value`` (cached per value)."""
        return self._cached(self.explained, value, self.missing_line, self._explained)

    def _scored(self, value: Any) -> _Outcome:
        _, points, _, flags = self._known(value)
        return points, flags

    def _explained(self, value: Any) -> _Explained:
        status, points, reason, flags = self._known(value)
        return self._line(status, points, reason, value), flags

    def _cached(self, cache: dict[Any, T], value: Any, missing: T, make: Callable[[Any], T]) -> T:
        if value is None:
            return missing
        try:
            key = self.key(value)
            found = cache.get(key)
        except TypeError:  # an unhashable value is worked out every time
            found, cacheable = None, False
        else:
            cacheable = True
        if found is None:
            found = missing if is_missing(value) and not self.criterion.presence else make(value)
            if cacheable and len(cache) < _CACHE_LIMIT:
                cache[key] = found
        return found


def _expr(plan: Plan, i: int, env: dict[str, Any], direct: bool) -> tuple[str, set[str]]:
    """Source for reading criterion ``i``'s value, and the subject roots it needs.

    The path itself is read as :mod:`pipelinekit.domain.paths` reads it (in
    ``direct`` mode: plain attribute access, for the domain's own types).
    """
    field = plan.criterion.field
    if field is None:  # predicates read the subject themselves
        env[f"R{i}"] = plan.read
        return f"R{i}(subject)", set()
    inner, root = paths.expression(field, env, direct=direct)
    if plan.criterion.presence:  # presence, as a bool (see the present criterion's read)
        env["_COLLECTIONS"] = (frozenset, set, tuple, list)
        return (
            f"(_t{i} := {inner}) is not None"
            f" and not (_t{i}.__class__ is str and not _t{i}.strip())"
            f" and not (_t{i}.__class__ in _COLLECTIONS and not _t{i})",
            {root},
        )
    return inner, {root}


def generate(
    plans: Sequence[Plan],
    caps: Sequence[Decimal | None],
    total_cap: Decimal | None,
    explain: bool,
    safe: Callable[[Any], Any] | None = None,
) -> Callable[[Any], Any]:
    """Compile the per-subject loop into one function (no call per criterion on cache hits).

    Returns ``(items, flags, known, score, over)``: items are breakdown lines
    (``explain``) or each criterion's flags; ``score`` has every cap applied; ``over`` says
    whether a cap cut anything (then the lines still need trimming).  Given a
    ``safe`` variant, nested fields are read with plain attribute access and a
    subject lacking one falls back to ``safe``.
    """
    direct = safe is not None
    env: dict[str, Any] = {"_ZERO": _ZERO, "TOTAL": total_cap}
    groups = len(caps)
    body = ["def run(subject):"]
    roots: set[str] = set()
    reads = []
    for i, plan in enumerate(plans):
        expr, needs = _expr(plan, i, env, direct)
        roots |= needs
        reads.append(expr)
        env[f"C{i}"] = plan.explained if explain else plan.outcomes
        env[f"S{i}"] = plan.explain if explain else plan.outcome
    for root in sorted(roots):
        body.extend(f"    {line}" for line in paths.root_lines(root))
    for i, (expr, plan) in enumerate(zip(reads, plans, strict=True)):
        body.append(f"    v{i} = ({expr})")
        # each criterion's own key style (see Plan.key); an unhashable value
        # (a list in a field) misses the cache and goes to the safe reader
        key = f"(v{i}.__class__, v{i})" if plan.tagged else f"v{i}"
        body.append("    try:")
        body.append(f"        o{i} = C{i}.get({key})")
        body.append("    except TypeError:")
        body.append(f"        o{i} = None")
        body.append(f"    if o{i} is None: o{i} = S{i}(v{i})")
        body.append(f"    i{i}, f{i} = o{i}")
    n = len(plans)
    suffix = ".points" if explain else ""

    def value(i: int) -> str:
        return f"i{i}{suffix}"

    # explained: the breakdown lines; scores only: each criterion's flags
    items = ", ".join(f"i{i}" if explain else f"f{i}" for i in range(n))
    flags = " | ".join(f"f{i}" for i in range(n))
    known = " + ".join(f"(f{i} & 1)" for i in range(n))
    terms = [value(i) for i, p in enumerate(plans) if p.group < 0]
    over = []
    for g in range(groups):
        members = [value(i) for i, p in enumerate(plans) if p.group == g]
        body.append(f"    g{g} = {' + '.join(members) if members else '_ZERO'}")
        if caps[g] is None:
            terms.append(f"g{g}")
        else:
            env[f"CAP{g}"] = caps[g]
            terms.append(f"(g{g} if g{g} <= CAP{g} else CAP{g})")
            over.append(f"g{g} > CAP{g}")
    body.append(f"    t = {' + '.join(terms) if terms else '_ZERO'}")
    if total_cap is not None:
        over.append("t > TOTAL")
        body.append("    over = " + (" or ".join(over)))
        body.append("    if t > TOTAL: t = TOTAL")
    else:
        body.append("    over = " + (" or ".join(over) if over else "False"))
    body.append(f"    return ({items},), {flags}, {known}, t, over")
    if safe is not None:
        env["SAFE"] = safe
        body = [body[0], "    try:", *("    " + line for line in body[1:])]
        body += ["    except AttributeError:", "        return SAFE(subject)"]
    exec(compile("\n".join(body), "<pipelinekit icp>", "exec"), env)
    run: Callable[[Any], Any] = env["run"]
    return run
