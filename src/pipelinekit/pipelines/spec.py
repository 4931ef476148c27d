"""Pipeline definitions as data: stages, transitions and the guards they name.

A :class:`PipelineSpec` is an immutable, validated value.  Building one checks
the definition *as a whole* and raises one :class:`PipelineDefinitionError`
listing every problem with its path.  Stage meaning comes only from the
``kind`` flags (open / won / lost), never from names.  ``spec.version`` is a
stable content hash (sha256 of the canonical JSON form) that entities record
as ``pipeline_version``.
"""

from __future__ import annotations

import difflib
import enum
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Final

import attrs

from ..domain.opportunities import ProbabilitySource
from ..domain.paths import is_path
from ..errors import Problem
from .errors import PipelineDefinitionError
from .guards import GuardRegistry

__all__ = [
    "ANY_OPEN",
    "BUILTIN_FORECAST_CATEGORIES",
    "FORECAST_CATEGORIES",
    "ForecastCategory",
    "GuardSpec",
    "PipelineSpec",
    "StageKind",
    "StageSpec",
    "TransitionSpec",
    "forecast_category",
]

#: A transition source meaning "every open stage (other than the target)".
ANY_OPEN: Final = "*"

#: Forecast categories a stage may belong to (Salesforce's set, in snake case).
FORECAST_CATEGORIES: Final = frozenset(
    {"pipeline", "best_case", "commit", "most_likely", "closed", "omitted"}
)

#: The CRMs' names of the forecast categories (Salesforce's API values and labels,
#: HubSpot's labels), folded to lower case without spaces, and pipelinekit's own.
_CATEGORY_NAMES: Final = {
    "pipeline": "pipeline",
    "bestcase": "best_case",
    "best_case": "best_case",
    "upside": "best_case",
    "forecast": "commit",
    "commit": "commit",
    "mostlikely": "most_likely",
    "most_likely": "most_likely",
    "closed": "closed",
    "closedwon": "closed",
    "omitted": "omitted",
    "notforecasted": "omitted",
}


@attrs.frozen
class ForecastCategory:
    """A forecast category: its ``name`` (what stages name in ``forecast``), ``label``,
    ``order`` (where it comes in a forecast) and whether deals in it count as ``closed``."""

    name: str
    label: str
    order: int
    closed: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The definition form of this category."""
        return {"name": self.name, "label": self.label, "order": self.order, "closed": self.closed}


#: The built-in categories, in Salesforce's order; a pipeline may add its own (or relabel,
#: reorder these) with ``[[forecast_categories]]``.
BUILTIN_FORECAST_CATEGORIES: Final = (
    ForecastCategory("omitted", "Omitted", 0),
    ForecastCategory("pipeline", "Pipeline", 1),
    ForecastCategory("best_case", "Best case", 2),
    ForecastCategory("most_likely", "Most likely", 3),
    ForecastCategory("commit", "Commit", 4),
    ForecastCategory("closed", "Closed", 5, closed=True),
)


def check_categories(categories: object) -> list[Problem]:
    """Problems with a pipeline's declared ``forecast_categories``."""
    if not isinstance(categories, tuple | list):
        return [Problem("$.forecast_categories", "must be a list of categories")]
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, category in enumerate(categories):
        here = f"$.forecast_categories[{index}]"
        if not isinstance(category, ForecastCategory):
            problems.append(Problem(here, f"must be a forecast category, got {category!r}"))
            continue
        if not isinstance(category.name, str) or not _KEY.match(category.name):
            problems.append(
                Problem(f"{here}.name", f"must be a lower-case identifier, got {category.name!r}")
            )
        elif category.name in seen:
            problems.append(Problem(f"{here}.name", f"duplicate category {category.name!r}"))
        else:
            seen.add(category.name)
        if not isinstance(category.label, str) or not category.label.strip():
            problems.append(Problem(f"{here}.label", "must be a non-blank string"))
        if not isinstance(category.order, int) or isinstance(category.order, bool):
            problems.append(Problem(f"{here}.order", "must be an integer"))
        if not isinstance(category.closed, bool):
            problems.append(Problem(f"{here}.closed", "must be true or false"))
    return problems


def merged_categories(declared: Iterable[ForecastCategory]) -> tuple[ForecastCategory, ...]:
    """The built-in categories with ``declared`` added (a declared name replaces a built-in
    one), in order."""
    by_name = {c.name: c for c in BUILTIN_FORECAST_CATEGORIES}
    by_name.update({c.name: c for c in declared})
    return tuple(sorted(by_name.values(), key=lambda c: (c.order, c.name)))


def forecast_category(name: str) -> str | None:
    """pipelinekit's forecast category for a CRM's name of it, or ``None`` if unknown.

    ``BestCase`` / ``Best Case`` -> ``best_case``, ``Forecast`` / ``Commit`` ->
    ``commit`` (Salesforce's API value for Commit is ``Forecast``),
    ``MostLikely`` -> ``most_likely``, ``Omitted`` / ``Not forecasted`` ->
    ``omitted``, ``Pipeline`` and ``Closed`` as they are."""
    return _CATEGORY_NAMES.get("".join(name.split()).casefold())


_KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
#: The longest stage key or event name (a CRM's own ids and API values fit).
MAX_ID_LENGTH: Final = 255


def id_problem(value: object, what: str) -> str | None:
    """Why ``value`` cannot be a stage key or event name (``None`` if it can be one).

    Keys are external ids: any non-blank string of printable characters up to
    255 long, such as HubSpot's ``"12345678"`` or Salesforce's ``"Closed Won"``
    and ``"Id. Decision Makers"``; labels are separate."""
    if not isinstance(value, str):
        return f"{what} must be a string, got {type(value).__name__}"
    if not value.strip():
        return f"{what} must not be empty or blank"
    if len(value) > MAX_ID_LENGTH:
        return f"{what} must be at most {MAX_ID_LENGTH} characters, got {len(value)}"
    if not value.isprintable():
        return f"{what} must be printable characters (no tabs, newlines or control characters)"
    if value != value.strip():
        return f"{what} must not start or end with spaces, got {value!r}"
    return None


_HUNDRED = Decimal(100)
_ZERO = Decimal(0)


class StageKind(enum.StrEnum):
    """What a stage means: still open, closed won, or closed lost."""

    OPEN = "open"
    WON = "won"
    LOST = "lost"

    @property
    def is_closed(self) -> bool:
        """True for won and lost."""
        return self is not StageKind.OPEN


_DEFAULT_FORECAST = {StageKind.OPEN: "pipeline", StageKind.WON: "closed", StageKind.LOST: "omitted"}


@attrs.frozen
class GuardSpec:
    """A guard named in a definition: the registry name and its parameters."""

    name: str
    params: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, name: str, /, **params: Any) -> GuardSpec:
        """``GuardSpec.of("field_present", field="amount")`` (any parameter name, ``cls`` too)."""
        return cls(name, tuple(sorted((k, _freeze(v)) for k, v in params.items())))

    @property
    def kwargs(self) -> dict[str, Any]:
        """The parameters as keyword arguments for the guard factory."""
        return {key: _thaw(value) for key, value in self.params}

    def as_dict(self) -> dict[str, Any]:
        """The definition form: ``{"name": ..., **params}``."""
        return {"name": self.name, **self.kwargs}


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, float):
        return Decimal(str(value))
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


@attrs.frozen
class StageSpec:
    """One stage of a pipeline.

    ``probability`` is the stage default in percent (won stages 100, lost 0);
    ``forecast`` its forecast category; ``rotting_days`` how long an open
    entity may sit here before it counts as rotting; ``required_fields`` the
    field paths that must hold a value to enter the stage.
    """

    key: str
    label: str
    kind: StageKind = StageKind.OPEN
    probability: Decimal = _ZERO
    order: int = 0
    forecast: str = "pipeline"
    rotting_days: int | None = None
    required_fields: tuple[str, ...] = ()

    @property
    def is_closed(self) -> bool:
        """True for won and lost stages."""
        return self.kind is not StageKind.OPEN

    def effective_probability(
        self, manual: Decimal | None, automated: Decimal | None
    ) -> tuple[Decimal, ProbabilitySource]:
        """An opportunity's probability in this stage and where it comes from.

        The layers in order of precedence: a closed stage (won 100, lost 0),
        then the ``manual`` layer, then the ``automated`` one, then the stage
        default (:attr:`probability`).
        """
        if self.kind is StageKind.WON:
            return _HUNDRED, ProbabilitySource.CLOSED
        if self.kind is StageKind.LOST:
            return _ZERO, ProbabilitySource.CLOSED
        if manual is not None:
            return manual, ProbabilitySource.MANUAL
        if automated is not None:
            return automated, ProbabilitySource.AUTOMATED
        return self.probability, ProbabilitySource.STAGE_DEFAULT

    def as_dict(self) -> dict[str, Any]:
        """The definition form of this stage."""
        out: dict[str, Any] = {
            "key": self.key,
            "label": self.label,
            "kind": self.kind.value,
            "probability": str(self.probability),
            "order": self.order,
            "forecast": self.forecast,
        }
        if self.rotting_days is not None:
            out["rotting_days"] = self.rotting_days
        if self.required_fields:
            out["required_fields"] = list(self.required_fields)
        return out


@attrs.frozen
class TransitionSpec:
    """One transition: ``event`` moves from any of ``sources`` to ``target`` if all guards pass.

    ``sources`` may contain :data:`ANY_OPEN` (``"*"``) for every open stage.
    """

    event: str
    sources: tuple[str, ...]
    target: str
    guards: tuple[GuardSpec, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The definition form of this transition."""
        out: dict[str, Any] = {
            "event": self.event,
            "source": list(self.sources),
            "target": self.target,
        }
        if self.guards:
            out["guards"] = [g.as_dict() for g in self.guards]
        return out


@attrs.frozen(init=False)
class PipelineSpec:
    """A validated pipeline definition (see the module docs).

    Build one from Python with :class:`~pipelinekit.pipelines.PipelineBuilder`,
    from a dict with :func:`~pipelinekit.pipelines.pipeline_from_dict` or from
    TOML with :func:`~pipelinekit.pipelines.load_pipeline`; all three end here.
    Stages are kept in ``order``; the first one is where new entities start.
    """

    key: str
    label: str
    stages: tuple[StageSpec, ...]
    transitions: tuple[TransitionSpec, ...]
    description: str | None = None
    require_lost_reason: bool = True
    lost_reasons: tuple[str, ...] = ()
    forecast_categories: tuple[ForecastCategory, ...] = ()
    version: str = attrs.field(init=False, repr=False, eq=False)

    def __init__(
        self,
        key: str,
        label: str,
        stages: tuple[StageSpec, ...],
        transitions: tuple[TransitionSpec, ...],
        description: str | None = None,
        require_lost_reason: bool = True,
        lost_reasons: tuple[str, ...] = (),
        forecast_categories: tuple[ForecastCategory, ...] = (),
    ) -> None:
        problems = check_categories(forecast_categories)
        names = (
            {c.name for c in merged_categories(forecast_categories)}
            if not problems
            else set(FORECAST_CATEGORIES)
        )
        problems += check_definition(
            key,
            label,
            list(enumerate(stages)),
            list(enumerate(transitions)),
            guards=None,
            categories=frozenset(names),
        )
        problems += check_lost_reasons(require_lost_reason, lost_reasons)
        problems += _unhashable_params(transitions)
        if problems:
            raise PipelineDefinitionError(key if isinstance(key, str) else None, problems)
        ordered = tuple(sorted(stages, key=lambda s: s.order))
        self.__attrs_init__(
            key,
            label,
            ordered,
            transitions,
            description,
            require_lost_reason,
            tuple(lost_reasons),
            tuple(forecast_categories),
        )
        canonical = json.dumps(
            self.as_dict(), sort_keys=True, separators=(",", ":"), default=_canonical
        )
        # derived from the content, once: the field holds the hash, never anything else
        object.__setattr__(self, "version", hashlib.sha256(canonical.encode()).hexdigest())

    # -- views ---------------------------------------------------------------

    @property
    def first_stage(self) -> StageSpec:
        """Where new entities start (the first stage by order; always open)."""
        return self.stages[0]

    def stage(self, key: str) -> StageSpec:
        """The stage named ``key`` (``KeyError`` if there is none)."""
        for stage in self.stages:
            if stage.key == key:
                return stage
        raise KeyError(key)

    @property
    def stage_keys(self) -> tuple[str, ...]:
        """All stage keys, in order."""
        return tuple(s.key for s in self.stages)

    @property
    def events(self) -> tuple[str, ...]:
        """All event names, in first-use order."""
        return tuple(dict.fromkeys(t.event for t in self.transitions))

    def sources_of(self, transition: TransitionSpec) -> tuple[str, ...]:
        """The concrete source stages of ``transition`` (``*`` expanded)."""
        out: list[str] = []
        for source in transition.sources:
            if source == ANY_OPEN:
                out.extend(
                    s.key
                    for s in self.stages
                    if s.kind is StageKind.OPEN and s.key != transition.target
                )
            else:
                out.append(source)
        return tuple(dict.fromkeys(out))

    def as_dict(self) -> dict[str, Any]:
        """The definition as plain data (loads back into an equal spec)."""
        out: dict[str, Any] = {
            "key": self.key,
            "label": self.label,
            "stages": [s.as_dict() for s in self.stages],
            "transitions": [t.as_dict() for t in self.transitions],
        }
        if self.description is not None:
            out["description"] = self.description
        # written only when set, so definitions from before these settings keep their version
        if not self.require_lost_reason:
            out["require_lost_reason"] = False
        if self.lost_reasons:
            out["lost_reasons"] = list(self.lost_reasons)
        if self.forecast_categories:
            out["forecast_categories"] = [c.as_dict() for c in self.forecast_categories]
        return out

    @property
    def categories(self) -> tuple[ForecastCategory, ...]:
        """Every forecast category this pipeline knows (built-in and declared), in order."""
        return merged_categories(self.forecast_categories)

    def lost_reason_problem(self, reason: object) -> str | None:
        """Why ``reason`` cannot close a deal of this pipeline as lost (``None`` if it can).

        With ``require_lost_reason`` (the default) a reason must be given; with
        ``lost_reasons`` it must be one of them, or ``"other: <free text>"``
        when ``"other"`` is among them.
        """
        if reason is None or (isinstance(reason, str) and not reason.strip()):
            if not self.require_lost_reason:
                return None
            hint = f" (one of {_listed(self.lost_reasons)})" if self.lost_reasons else ""
            return (
                f"a lost reason is required{hint}: pass reason= (this pipeline sets "
                "require_lost_reason; a pipeline may opt out with require_lost_reason = false)"
            )
        if not isinstance(reason, str) or not self.lost_reasons or reason in self.lost_reasons:
            return None
        if OTHER_REASON in self.lost_reasons:
            head, sep, text = reason.partition(":")
            if head.strip() == OTHER_REASON and sep and text.strip():
                return None
        close = difflib.get_close_matches(reason, list(self.lost_reasons), n=1)
        other = f", or '{OTHER_REASON}: <your words>'" if OTHER_REASON in self.lost_reasons else ""
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return (
            f"lost reason {reason!r} is not one of this pipeline's lost reasons "
            f"({_listed(self.lost_reasons)}{other}){hint}"
        )


#: The allowed lost reason that admits free text: ``"other: went dark"``.
OTHER_REASON: Final = "other"


def _listed(names: Iterable[str]) -> str:
    return ", ".join(repr(n) for n in names)


def check_lost_reasons(require: object, reasons: object) -> list[Problem]:
    """Problems with the ``require_lost_reason`` / ``lost_reasons`` settings."""
    problems: list[Problem] = []
    if not isinstance(require, bool):
        problems.append(Problem("$.require_lost_reason", "must be true or false"))
    if not isinstance(reasons, tuple | list):
        problems.append(Problem("$.lost_reasons", "must be a list of reasons"))
        return problems
    seen: set[str] = set()
    for index, reason in enumerate(reasons):
        path = f"$.lost_reasons[{index}]"
        if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
            problems.append(Problem(path, "must be a non-blank string of at most 500 characters"))
        elif reason in seen:
            problems.append(Problem(path, f"duplicate lost reason {reason!r}"))
        else:
            seen.add(reason)
    return problems


def check_definition(
    key: object,
    label: object,
    stages: list[tuple[int, StageSpec]],
    transitions: list[tuple[int, TransitionSpec]],
    *,
    guards: GuardRegistry | None,
    categories: frozenset[str] = FORECAST_CATEGORIES,
) -> list[Problem]:
    """Every problem with a definition, with paths; ``guards`` also checks guard names and
    ``categories`` are the forecast categories a stage may name."""
    problems: list[Problem] = []
    add = problems.append
    if not isinstance(key, str) or not _KEY.match(key):
        add(Problem("$.key", f"must be a lower-case identifier like 'sales', got {key!r}"))
    if not isinstance(label, str) or not label.strip() or len(label) > 200:
        add(Problem("$.label", "must be a non-blank string of at most 200 characters"))
    if not stages:
        add(Problem("$.stages", "a pipeline needs at least one open, one won and one lost stage"))
        return problems
    kinds: dict[str, StageKind] = {}
    bad_stages = 0  # stages whose key or kind was refused: their knock-on effects are not
    unsure: set[str] = set()  # keys of stages whose kind was refused
    orders: dict[int, int] = {}
    first_index: dict[str, int] = {}
    for index, stage in stages:
        here = f"$.stages[{index}]"
        wrong = id_problem(stage.key, "a stage key")
        if wrong is None and stage.key == ANY_OPEN:
            wrong = "'*' means 'any open stage' in a transition's source; it cannot be a key"
        if wrong is not None:
            add(Problem(f"{here}.key", wrong))
            bad_stages += 1
            continue
        if stage.key in kinds:
            add(Problem(f"{here}.key", f"duplicate stage key {stage.key!r}"))
        if (
            not isinstance(stage.label, str)
            or not stage.label.strip()
            or len(stage.label) > MAX_ID_LENGTH
        ):
            add(Problem(f"{here}.label", "must be a non-blank string of at most 255 characters"))
        if not isinstance(stage.kind, StageKind):
            add(Problem(f"{here}.kind", f"must be open, won or lost, got {stage.kind!r}"))
            bad_stages += 1
            unsure.add(stage.key)
            continue
        kinds.setdefault(stage.key, stage.kind)
        first_index.setdefault(stage.key, index)
        p = stage.probability
        if not isinstance(p, Decimal) or not p.is_finite() or not _ZERO <= p <= _HUNDRED:
            shown = p if isinstance(p, Decimal) else repr(p)
            add(Problem(f"{here}.probability", f"must be a number from 0 to 100, got {shown}"))
        elif stage.kind is StageKind.WON and p != _HUNDRED:
            add(Problem(f"{here}.probability", f"a won stage has probability 100, got {p}"))
        elif stage.kind is StageKind.LOST and p != _ZERO:
            add(Problem(f"{here}.probability", f"a lost stage has probability 0, got {p}"))
        if not isinstance(stage.order, int) or isinstance(stage.order, bool):
            add(Problem(f"{here}.order", f"must be an integer, got {stage.order!r}"))
        elif stage.order in orders:
            add(
                Problem(
                    f"{here}.order",
                    f"order {stage.order} is also used by $.stages[{orders[stage.order]}]",
                )
            )
        else:
            orders[stage.order] = index
        if not isinstance(stage.forecast, str) or stage.forecast not in categories:
            known = forecast_category(stage.forecast) if isinstance(stage.forecast, str) else None
            close = [known] if known in categories else []
            if not close and isinstance(stage.forecast, str):
                close = difflib.get_close_matches(stage.forecast, sorted(categories), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            add(
                Problem(
                    f"{here}.forecast",
                    f"must be one of {', '.join(sorted(categories))} (or a category the "
                    f"pipeline declares in forecast_categories), got {stage.forecast!r}{hint}",
                )
            )
        if stage.rotting_days is not None:
            if (
                not isinstance(stage.rotting_days, int)
                or isinstance(stage.rotting_days, bool)
                or stage.rotting_days < 1
            ):
                add(Problem(f"{here}.rotting_days", "must be a whole number of days >= 1"))
            elif stage.kind.is_closed:
                add(Problem(f"{here}.rotting_days", "closed stages do not rot"))
        for position, path in enumerate(stage.required_fields):
            if not is_path(path):
                add(
                    Problem(
                        f"{here}.required_fields[{position}]",
                        f"must be a dotted field path like 'amount', got {path!r}",
                    )
                )
    kind_values = set(kinds.values())
    # A stage refused above (its key or kind) may be the missing one: its problem is
    # the root cause, and "needs a won stage" would only be its echo.
    if not bad_stages:
        if StageKind.OPEN not in kind_values:
            add(Problem("$.stages", "needs at least one open stage"))
        if StageKind.WON not in kind_values:
            add(Problem("$.stages", "needs a won stage (kind = 'won')"))
        if StageKind.LOST not in kind_values:
            add(Problem("$.stages", "needs a lost stage (kind = 'lost')"))
    valid_orders = [
        (s.order, s.key)
        for _, s in stages
        if isinstance(s.order, int) and s.key in kinds and isinstance(s.kind, StageKind)
    ]
    first = min(valid_orders)[1] if valid_orders else None
    if bad_stages:
        first = None  # which stage comes first, and what reaches what, is not known yet
    if first is not None and kinds[first] is not StageKind.OPEN:
        add(Problem("$.stages", f"the first stage ({first!r}) must be an open stage"))
        first = None  # reachability from a closed start would only add noise

    edges: dict[str, set[str]] = {k: set() for k in kinds}
    seen: dict[tuple[str, str, str], int] = {}
    for index, transition in transitions:
        here = f"$.transitions[{index}]"
        wrong = id_problem(transition.event, "an event name")
        if wrong is not None:
            add(Problem(f"{here}.event", wrong))
        target_ok = isinstance(transition.target, str) and transition.target in kinds
        if not target_ok and transition.target not in unsure:
            add(Problem(f"{here}.target", unknown_stage(transition.target, kinds)))
        if not transition.sources:
            add(Problem(f"{here}.source", "needs at least one source stage (or '*')"))
        concrete: list[str] = []
        for position, source in enumerate(transition.sources):
            spath = (
                f"{here}.source[{position}]" if len(transition.sources) > 1 else f"{here}.source"
            )
            if not isinstance(source, str):
                add(Problem(spath, f"must be a stage key, got {source!r}"))
            elif source == ANY_OPEN:
                concrete.extend(
                    k
                    for k, kind in kinds.items()
                    if kind is StageKind.OPEN and k != transition.target
                )
            elif source in unsure:
                continue  # its stage's kind was refused: that is the problem
            elif source not in kinds:
                add(Problem(spath, unknown_stage(source, kinds)))
            elif source == transition.target:
                add(Problem(spath, f"a stage cannot move to itself ({source!r})"))
            else:
                concrete.append(source)
        if target_ok:
            target_kind = kinds[transition.target]
            for source in dict.fromkeys(concrete):
                if kinds[source].is_closed and target_kind.is_closed:
                    add(
                        Problem(
                            here,
                            f"{source!r} -> {transition.target!r}: a closed stage can only be "
                            "reopened into an open stage",
                        )
                    )
                    continue
                triple = (str(transition.event), source, transition.target)
                if triple in seen:
                    add(
                        Problem(
                            here,
                            f"duplicates $.transitions[{seen[triple]}] "
                            f"({transition.event} from {source!r} to {transition.target!r})",
                        )
                    )
                else:
                    seen[triple] = index
                edges[source].add(transition.target)
        for position, guard in enumerate(transition.guards):
            gpath = f"{here}.guards[{position}]"
            if not isinstance(guard, GuardSpec) or not isinstance(guard.name, str):
                add(Problem(gpath, f"must be a guard, got {guard!r}"))
            elif guards is not None:
                problems.extend(guards.problems(guard.name, guard.kwargs, gpath))
    if first is not None:
        reachable = _reach(edges, [first])
        for index, stage in stages:
            if first_index.get(stage.key) != index:
                continue  # a duplicate key is reported once, above
            if stage.key not in reachable:
                add(
                    Problem(
                        f"$.stages[{index}]",
                        f"stage {stage.key!r} cannot be reached from the first stage {first!r}",
                    )
                )
        reverse: dict[str, set[str]] = {k: set() for k in kinds}
        for source, targets in edges.items():
            for target in targets:
                reverse[target].add(source)
        can_close = _reach(reverse, [k for k, kind in kinds.items() if kind.is_closed])
        for index, stage in stages:
            if first_index.get(stage.key) != index:
                continue
            if stage.kind is StageKind.OPEN and stage.key not in can_close:
                add(
                    Problem(
                        f"$.stages[{index}]",
                        f"open stage {stage.key!r} has no way to a won or lost stage",
                    )
                )
    return problems


def unknown_stage(name: object, keys: Iterable[str]) -> str:
    """``unknown stage 'x'`` with the nearest key (``did you mean 'y'?``) when one is close."""
    close = difflib.get_close_matches(str(name), list(keys), n=1) if isinstance(name, str) else []
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown stage {name!r}{hint}"


def _json_like(value: object) -> bool:
    """Whether a guard parameter can be written in a definition (and so hashed)."""
    if value is None or isinstance(value, str | bool | int | float | Decimal):
        return True
    if isinstance(value, list | tuple):
        return all(_json_like(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_like(v) for k, v in value.items())
    return False


def _unhashable_params(transitions: Iterable[object]) -> list[Problem]:
    """A problem for each guard parameter a definition cannot hold (say ``object()``)."""
    problems: list[Problem] = []
    for i, transition in enumerate(transitions):
        if not isinstance(transition, TransitionSpec):
            continue  # reported by the definition checks
        for j, guard in enumerate(transition.guards):
            if not isinstance(guard, GuardSpec) or not isinstance(guard.params, tuple):
                continue
            for pair in guard.params:
                if not (isinstance(pair, tuple) and len(pair) == 2):
                    continue
                name, value = pair
                if not _json_like(value):
                    problems.append(
                        Problem(
                            f"$.transitions[{i}].guards[{j}].{name}",
                            f"a guard parameter must be text, a number, a boolean, null, "
                            f"a list or a table, not {type(value).__name__}",
                        )
                    )
    return problems


def _canonical(value: object) -> object:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}  # tagged: Decimal("1.5") and "1.5" differ
    raise TypeError(f"cannot hash a {type(value).__name__} in a pipeline definition")


def _reach(edges: Mapping[str, Iterable[str]], start: list[str]) -> set[str]:
    seen = set(start)
    todo = list(start)
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def default_forecast(kind: StageKind) -> str:
    """The forecast category a stage of ``kind`` gets when none is given."""
    return _DEFAULT_FORECAST[kind]
