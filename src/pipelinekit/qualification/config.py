"""Strategies from plain data (dict, JSON, TOML): every built-in kind's settings, one module.

A qualifier configuration is a mapping with a ``kind`` (a registered
qualifier name, see :mod:`~pipelinekit.qualification.registry`) and that
kind's settings::

    kind = "icp"
    name = "saas-fit"
    total_cap = 100

    [groups]
    firmographic = 60

    [[criteria]]
    kind = "one_of"
    name = "industry"
    field = "company.industry"
    points = { software = 20, fintech = 15 }
    group = "firmographic"

Composites nest their children's configurations (``children = [...]`` or
``fit = {...}``).  Predicates and checklist readers are code, so a
configuration names them and :func:`build` receives them by name.

Each kind's settings are the keyword arguments of its Python factory,
described by the small ``_...Settings`` classes below and read by
:mod:`pipelinekit.validation` like every other pipelinekit input: every
problem at once with its path (``$.criteria[2].points.software``), the nearest
valid name for a misspelt key, then the factory's own checks of the values.
"""

from __future__ import annotations

import contextvars
import difflib
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, NewType, TypeVar

import attrs

from ..domain.results import Verdict
from ..errors import Problem, ValidationError
from ..validation import Invalid, Structurer, check_data, decode_toml, json_type
from .base import Band, Grade, Strategy
from .checklist import Item, anum, bant, champ, checklist, faint, gpctba_ci, item, meddpicc
from .composite import combined, gate, matrix, weighted
from .engagement import (
    Decay,
    EventGroup,
    Rule,
    engagement,
    event_group,
    half_life,
    linear_decay,
    no_decay,
    rule,
    step_decay,
    window,
)
from .errors import UnknownQualifier
from .grading import ProfileCriterion, graded, profile_grade
from .icp import (
    Criterion,
    MissingData,
    NumericBand,
    all_of,
    bands,
    icp_fit,
    one_of,
    pattern,
    predicate,
)
from .icp import present as present_criterion
from .predictive import predictive
from .registry import get_qualifier
from .rollup import rollup

__all__ = ["build", "from_toml"]

T = TypeVar("T")
_ZERO = Decimal(0)
_ONE = Decimal(1)
_NAMED: contextvars.ContextVar[Mapping[str, Callable[..., Any]]] = contextvars.ContextVar(
    "pipelinekit_qualification_named", default=MappingProxyType({})
)

#: Code a configuration names (an ICP predicate, a checklist reader), given to :func:`build`.
Named = NewType("Named", str)


# marks a field holding built objects: when it is refused, the factory is not called
_NESTED = {"nested": True}


# -- the settings of each kind -----------------------------------------------------------


@attrs.frozen(kw_only=True)
class _CriterionSettings:
    name: str
    field: str
    weight: Decimal = _ONE
    group: str | None = None
    missing: MissingData = MissingData.NEUTRAL
    penalty: Decimal = _ZERO
    required: bool = False


@attrs.frozen(kw_only=True)
class _OneOfSettings(_CriterionSettings):
    points: dict[str, Decimal]
    default: Decimal = _ZERO
    knockout: tuple[str, ...] = ()
    case_sensitive: bool = False


@attrs.frozen(kw_only=True)
class _BandsSettings(_CriterionSettings):
    bands: tuple[NumericBand, ...] = attrs.field(metadata=_NESTED)
    default: Decimal = _ZERO
    currency: str | None = None


@attrs.frozen(kw_only=True)
class _PatternSettings(_CriterionSettings):
    patterns: Any  # a mapping of regex to points, or a list of rules: the factory reads it
    default: Decimal = _ZERO
    case_sensitive: bool = False


@attrs.frozen(kw_only=True)
class _PresentSettings:
    name: str
    field: str
    points: Decimal = _ONE
    absent: Decimal = _ZERO
    weight: Decimal = _ONE
    group: str | None = None
    required: bool = False
    # what Criterion.config() lists for every kind; presence has no other policy
    missing: MissingData = MissingData.NEUTRAL
    penalty: Decimal = _ZERO


@attrs.frozen(kw_only=True)
class _PredicateSettings:
    name: str
    test: Named
    points: Decimal = _ONE
    otherwise: Decimal = _ZERO
    knockout: bool = False
    description: str | None = None
    weight: Decimal = _ONE
    group: str | None = None
    missing: MissingData = MissingData.NEUTRAL
    penalty: Decimal = _ZERO
    required: bool = False


@attrs.frozen(kw_only=True)
class _AllOfSettings:
    name: str
    criteria: tuple[Criterion, ...] = attrs.field(metadata=_NESTED)
    field: str | None = None  # Criterion.config() lists it; an AND-rule reads no field
    points: Decimal = _ONE
    otherwise: Decimal = _ZERO
    knockout: bool = False
    weight: Decimal = _ONE
    group: str | None = None
    missing: MissingData = MissingData.NEUTRAL
    penalty: Decimal = _ZERO
    required: bool = False


def _all_of_criterion(*, field: str | None = None, **settings: Any) -> Criterion:
    if field is not None:
        raise ValidationError(
            "all_of", [Problem("$.field", "an AND-rule reads its criteria's fields, not its own")]
        )
    return all_of(settings.pop("name"), settings.pop("criteria"), **settings)


def _bands_criterion(**settings: Any) -> Criterion:
    return bands(settings.pop("name"), settings.pop("field"), settings.pop("bands"), **settings)


def _one_of_criterion(**settings: Any) -> Criterion:
    return one_of(settings.pop("name"), settings.pop("field"), settings.pop("points"), **settings)


def _pattern_criterion(**settings: Any) -> Criterion:
    return pattern(
        settings.pop("name"), settings.pop("field"), settings.pop("patterns"), **settings
    )


def _present_criterion(
    *, missing: MissingData = MissingData.NEUTRAL, penalty: Decimal = _ZERO, **settings: Any
) -> Criterion:
    problems = []
    if missing is not MissingData.NEUTRAL:
        problems.append(Problem("$.missing", "a presence check has no missing-data policy"))
    if penalty:
        problems.append(Problem("$.penalty", "a presence check has no penalty; use absent"))
    if problems:
        raise ValidationError("present", problems)
    return present_criterion(settings.pop("name"), settings.pop("field"), **settings)


def _predicate_criterion(**settings: Any) -> Criterion:
    return predicate(settings.pop("name"), _resolved(settings.pop("test")), **settings)


_CRITERIA: dict[str, tuple[type, Callable[..., Criterion]]] = {
    "one_of": (_OneOfSettings, _one_of_criterion),
    "bands": (_BandsSettings, _bands_criterion),
    "pattern": (_PatternSettings, _pattern_criterion),
    "present": (_PresentSettings, _present_criterion),
    "predicate": (_PredicateSettings, _predicate_criterion),
    "all_of": (_AllOfSettings, _all_of_criterion),
}


@attrs.frozen(kw_only=True)
class _IcpSettings:
    name: str
    criteria: tuple[Criterion, ...] = attrs.field(metadata=_NESTED)
    groups: dict[str, Decimal | None] = attrs.field(factory=dict)
    total_cap: Decimal | None = None
    bands: tuple[Band, ...] = attrs.field(default=(), metadata=_NESTED)
    grades: tuple[Grade, ...] = attrs.field(default=(), metadata=_NESTED)
    min_coverage: Decimal = _ZERO
    scale: str = "points"
    floor: Decimal | None = None


@attrs.frozen(kw_only=True)
class _PresetSettings:
    name: str | None = None
    policy: str = "sum"
    k: int | None = None
    met_at: int | None = None
    floor: int | None = None
    gates: tuple[str, ...] = ()
    gate_at: int = 1
    bands: tuple[Band, ...] = attrs.field(default=(), metadata=_NESTED)
    min_known: int = 1
    prefix: str | None = None
    reader: Named | None = None


@attrs.frozen(kw_only=True)
class _ItemSettings:
    key: str
    label: str | None = None
    levels: Any = 5  # level names, or their count: item() reads it
    weight: Decimal = _ONE
    unknown: Any = ()  # an answer or a list of them: item() reads it
    unknown_level: int | None = None


@attrs.frozen(kw_only=True)
class _ChecklistSettings(_PresetSettings):
    name: str
    items: tuple[Item, ...] = attrs.field(metadata=_NESTED)


@attrs.frozen(kw_only=True)
class _RuleSettings:
    name: str
    kind: Any  # an event kind or a list of them: rule() reads it
    points: Decimal
    where: dict[str, Any] | None = None
    daily_cap: int | None = None
    cap: Decimal | None = None
    minimum: Decimal | None = None
    group: str | None = None
    times: Any = None  # a list like ["between", 1, 3]: rule() reads it
    first_only: bool = False


@attrs.frozen(kw_only=True)
class _GroupSettings:
    name: str
    limit: Decimal | None = None
    minimum: Decimal | None = None
    decay: Decay | None = attrs.field(default=None, metadata=_NESTED)
    decay_negative: bool = False


# ``days`` / ``every_days`` are the older spellings of ``every`` (in days)
@attrs.frozen(kw_only=True)
class _Period:
    every: Decimal | None = None
    unit: str = "days"
    days: Decimal | None = None


@attrs.frozen(kw_only=True)
class _Rated:
    rate: Decimal
    every: Decimal | None = None
    unit: str = "days"
    every_days: Decimal | None = None


@attrs.frozen(kw_only=True)
class _None:
    pass


def _periodic(factory: Callable[..., Decay]) -> Callable[..., Decay]:
    def make(
        *,
        every: Any = None,
        unit: str = "days",
        days: Any = None,
        every_days: Any = None,
        **rest: Any,
    ) -> Decay:
        given = {"every": every, "days": days, "every_days": every_days}
        named = [k for k, v in given.items() if v is not None]
        if len(named) != 1:
            raise ValidationError("decay", [Problem("$.every", "give the period once, as every")])
        key = named[0]
        try:
            return factory(every=given[key], unit=unit, **rest)
        except ValidationError as error:  # report the key as the configuration spelt it
            problems = [
                Problem(f"$.{key}", p.message) if p.path == "$.every" else p for p in error.problems
            ]
            raise ValidationError("decay", problems) from None

    return make


_DECAYS: dict[str, tuple[type, Callable[..., Decay]]] = {
    "half_life": (_Period, _periodic(half_life)),
    "step": (_Rated, _periodic(step_decay)),
    "linear": (_Rated, _periodic(linear_decay)),
    "window": (_Period, _periodic(window)),
    "none": (_None, no_decay),
}


@attrs.frozen(kw_only=True)
class _EngagementSettings:
    name: str
    rules: tuple[Rule, ...] = attrs.field(metadata=_NESTED)
    decay: Decay | None = attrs.field(default=None, metadata=_NESTED)
    total_cap: Decimal = Decimal(100)
    floor: Decimal = _ZERO
    bands: tuple[Band, ...] = attrs.field(default=(), metadata=_NESTED)
    unmatched: str = "null"
    groups: tuple[EventGroup, ...] = attrs.field(default=(), metadata=_NESTED)
    decay_negative: bool = False


@attrs.frozen(kw_only=True)
class _PartSettings:
    strategy: Strategy = attrs.field(metadata=_NESTED)
    weight: Decimal = _ONE


@attrs.frozen(kw_only=True)
class _WeightedSettings:
    name: str
    parts: tuple[_PartSettings, ...] = attrs.field(metadata=_NESTED)
    missing: str = "block"
    bands: tuple[Band, ...] = attrs.field(default=(), metadata=_NESTED)


@attrs.frozen(kw_only=True)
class _MatrixSettings:
    name: str
    fit: Strategy = attrs.field(metadata=_NESTED)
    engagement: Strategy = attrs.field(metadata=_NESTED)
    weights: tuple[Decimal, Decimal] = (_ONE, _ONE)
    fit_cuts: tuple[Decimal, Decimal] = (Decimal(70), Decimal(40))
    engagement_cuts: tuple[Decimal, Decimal] = (Decimal(70), Decimal(40))
    grid: dict[str, Verdict] | None = None
    missing: str = "block"
    cuts_in: str = "percent"


@attrs.frozen(kw_only=True)
class _CombinedSettings:
    name: str
    fit: Strategy = attrs.field(metadata=_NESTED)
    engagement: Strategy = attrs.field(metadata=_NESTED)
    limit: Decimal | None = Decimal(100)
    floor: Decimal | None = None
    bands: tuple[Band, ...] = attrs.field(default=(), metadata=_NESTED)
    missing: str = "block"


@attrs.frozen(kw_only=True)
class _ProfileCriterionSettings:
    criterion: Criterion = attrs.field(metadata=_NESTED)
    up: int = 2
    down: int | None = None


@attrs.frozen(kw_only=True)
class _GradeSettings:
    name: str
    criteria: tuple[ProfileCriterion, ...] = attrs.field(metadata=_NESTED)
    start: str = "D"
    bands: tuple[Band, ...] = attrs.field(default=(), metadata=_NESTED)


@attrs.frozen(kw_only=True)
class _RollupSettings:
    name: str
    strategy: Strategy = attrs.field(metadata=_NESTED)
    members: str = "contacts"
    aggregate: str = "sum"
    limit: Decimal | None = Decimal(100)
    bands: tuple[Band, ...] = attrs.field(default=(), metadata=_NESTED)


@attrs.frozen(kw_only=True)
class _GateSettings:
    name: str
    children: tuple[Strategy, ...] = attrs.field(metadata=_NESTED)
    mode: str = "all"


# -- reading them ------------------------------------------------------------------------


def _call(factory: Callable[..., T], settings: type, data: object, subject: str) -> T:
    """``factory(**settings read from data)``, or one ValidationError with every problem.

    The shape comes first (unknown keys, missing ones, wrong types, refused
    nested objects); a value of the wrong type is still handed to the factory
    as given, so its own checks of the other values are reported as well
    (a problem the shape already reported is not repeated).
    """
    fields, problems = _STRUCTURER.salvage(data, settings)
    if problems:
        declared = {a.name: a for a in attrs.fields(settings)}
        shaped = {p.path for p in problems}
        given = data if isinstance(data, Mapping) else {}
        for name, value in given.items():
            field = declared.get(name)
            if field is None or name in fields:
                continue
            if field.metadata.get("nested"):
                raise ValidationError(subject, problems)
            fields[name] = value
        if any(a.default is attrs.NOTHING and a.name not in fields for a in declared.values()):
            raise ValidationError(subject, problems)
    else:
        shaped = set()
    try:
        made = factory(**fields)
    except ValidationError as error:
        problems.extend(p for p in error.problems if p.path not in shaped)
    except TypeError as error:
        problems.append(Problem("$", f"wrong settings: {error}"))
    if problems:
        raise ValidationError(subject, problems)
    return made


def _named(value: object) -> Named:
    """Code a configuration refers to by name, from the ``named`` mapping given to build()."""
    known = _NAMED.get()
    if not isinstance(value, str) or value not in known:
        listed = ", ".join(sorted(known)) or "none were passed to build()"
        raise Invalid(f"unknown name {value!r}; known: {listed}")
    return Named(value)


def _kind_of(
    value: object, kinds: Mapping[str, object], what: str, key: str = "kind"
) -> tuple[str, dict[object, object]]:
    """The kind a mapping names under ``key``, and the rest of its settings."""
    if not isinstance(value, Mapping):
        raise Invalid(f"must be a mapping, got {json_type(value)}")
    kind = value.get(key)
    if kind is None:
        raise Invalid("is required", at=key)
    if not isinstance(kind, str) or kind not in kinds:
        raise Invalid(f"unknown {what} {kind!r}; use {', '.join(kinds)}", at=key)
    return kind, {k: v for k, v in value.items() if k != key}


def _criterion(value: object) -> Criterion:
    kind, rest = _kind_of(value, _CRITERIA, "criterion kind")
    settings, factory = _CRITERIA[kind]
    return _call(factory, settings, rest, kind)


def _decay(value: object) -> Decay:
    form, rest = _kind_of(value, _DECAYS, "decay", key="form")
    settings, factory = _DECAYS[form]
    return _call(factory, settings, rest, form)


def _rule(value: object) -> Rule:
    def make(*, name: str, kind: str | list[str], points: Decimal, **options: Any) -> Rule:
        return rule(name, kind, points, **options)

    return _call(make, _RuleSettings, value, "rule")


def _group(value: object) -> EventGroup:
    def make(*, name: str, **options: Any) -> EventGroup:
        return event_group(name, **options)

    return _call(make, _GroupSettings, value, "event_group")


def _profile_criterion(value: object) -> ProfileCriterion:
    def make(*, criterion: Criterion, **options: Any) -> ProfileCriterion:
        return graded(criterion, **options)

    return _call(make, _ProfileCriterionSettings, value, "graded")


def _item(value: object) -> Item:
    def make(
        *, key: str, label: str | None = None, levels: list[str] | int = 5, **options: Any
    ) -> Item:
        return item(key, label, levels, **options)

    return _call(make, _ItemSettings, value, "item")


def _strategy(value: object) -> Strategy:
    # a composite's config() lists each child as {name, version, config}
    if isinstance(value, Mapping) and "kind" not in value and "config" in value:
        return _build(value["config"])
    return _build(value)


_STRUCTURER = Structurer()
_STRUCTURER.register(Named, _named)
_STRUCTURER.register(Criterion, _criterion)
_STRUCTURER.register(Decay, _decay)
_STRUCTURER.register(Rule, _rule)
_STRUCTURER.register(EventGroup, _group)
_STRUCTURER.register(ProfileCriterion, _profile_criterion)
_STRUCTURER.register(Item, _item)
_STRUCTURER.register(Strategy, _strategy)


def _resolved(name: object) -> Any:
    # the code a name stands for; anything else is handed on for the factory to refuse
    if isinstance(name, str):
        return _NAMED.get().get(name, name)
    return name


def _preset(
    factory: Callable[..., Strategy], label: str
) -> Callable[[Mapping[str, Any]], Strategy]:
    def make(*, reader: str | None = None, **options: Any) -> Strategy:
        named = {} if reader is None else {"reader": _resolved(reader)}
        return factory(**options, **named)

    def build_preset(config: Mapping[str, Any]) -> Strategy:
        return _call(make, _PresetSettings, config, label)

    build_preset.__doc__ = f"Build the {label} checklist preset from a configuration mapping."
    return build_preset


build_bant = _preset(bant, "bant")
build_meddpicc = _preset(meddpicc, "meddpicc")
build_champ = _preset(champ, "champ")
build_anum = _preset(anum, "anum")
build_faint = _preset(faint, "faint")
build_gpctba_ci = _preset(gpctba_ci, "gpctba_ci")


def build_checklist(config: Mapping[str, Any]) -> Strategy:
    """Build a custom checklist (``items = [{key, label, levels}]``) from a mapping."""

    def make(
        *, name: str, items: tuple[Item, ...], reader: str | None = None, **options: Any
    ) -> Strategy:
        named = {} if reader is None else {"reader": _resolved(reader)}
        return checklist(name, items, **options, **named)

    return _call(make, _ChecklistSettings, config, "checklist")


def build_icp(config: Mapping[str, Any]) -> Strategy:
    """Build an ICP fit strategy from a mapping (see the module docs for the shape)."""

    def make(*, name: str, criteria: tuple[Criterion, ...], **options: Any) -> Strategy:
        return icp_fit(name, criteria, **options)

    return _call(make, _IcpSettings, config, "icp")


def build_engagement(config: Mapping[str, Any]) -> Strategy:
    """Build an engagement strategy: ``rules = [...]``, ``decay = {form = ..., ...}``."""

    def make(*, name: str, rules: tuple[Rule, ...], **options: Any) -> Strategy:
        return engagement(name, rules, **options)

    return _call(make, _EngagementSettings, config, "engagement")


def build_weighted(config: Mapping[str, Any]) -> Strategy:
    """Build a weighted blend: ``parts = [{weight = 3, strategy = {...}}, ...]``."""

    def make(*, name: str, parts: tuple[_PartSettings, ...], **options: Any) -> Strategy:
        pairs = [(part.strategy, part.weight) for part in parts]
        return weighted(name, pairs, **options)

    return _call(make, _WeightedSettings, config, "weighted")


def build_matrix(config: Mapping[str, Any]) -> Strategy:
    """Build a fit x engagement matrix: ``fit = {...}``, ``engagement = {...}``."""

    def make(*, name: str, fit: Strategy, engagement: Strategy, **options: Any) -> Strategy:
        return matrix(name, fit, engagement, **options)

    return _call(make, _MatrixSettings, config, "matrix")


def build_combined(config: Mapping[str, Any]) -> Strategy:
    """Build a combined (fit + engagement points) score: ``fit = {...}``, ``engagement = {...}``."""

    def make(*, name: str, fit: Strategy, engagement: Strategy, **options: Any) -> Strategy:
        return combined(name, fit, engagement, **options)

    return _call(make, _CombinedSettings, config, "combined")


def build_grade(config: Mapping[str, Any]) -> Strategy:
    """Build a Pardot-style grade: ``criteria = [{criterion = {...}, up = 2}]``."""

    def make(*, name: str, criteria: tuple[ProfileCriterion, ...], **options: Any) -> Strategy:
        return profile_grade(name, criteria, **options)

    return _call(make, _GradeSettings, config, "grade")


def build_rollup(config: Mapping[str, Any]) -> Strategy:
    """Build a roll-up: ``strategy = {...}`` evaluated on each of a subject's members."""

    def make(*, name: str, strategy: Strategy, **options: Any) -> Strategy:
        return rollup(name, strategy, **options)

    return _call(make, _RollupSettings, config, "rollup")


def build_gate(config: Mapping[str, Any]) -> Strategy:
    """Build a gate: ``children = [{...}, ...]``, ``mode = "all"`` or ``"any"``."""

    def make(*, name: str, children: tuple[Strategy, ...], **options: Any) -> Strategy:
        return gate(name, children, **options)

    return _call(make, _GateSettings, config, "gate")


def build_predictive(config: Mapping[str, Any]) -> Strategy:
    """Build a predictive strategy: ``stages``, ``fields``, ``segment``, learnt ``table``."""
    known = {
        "name",
        "stages",
        "fields",
        "segment",
        "tag_minimum",
        "qualify_at",
        "review_at",
        "table",
    }
    unknown = sorted(set(config) - known, key=str)
    if unknown:
        raise ValidationError(
            "predictive", [Problem(f"$.{key}", "unknown setting") for key in unknown]
        )
    if "stages" not in config:
        raise ValidationError("predictive", [Problem("$.stages", "is required")])
    return predictive(**config)


def _build(config: object) -> Strategy:
    if not isinstance(config, Mapping):
        raise ValidationError(
            "qualifier", [Problem("$", f"must be a mapping, got {json_type(config)}")]
        )
    kind = config.get("kind")
    if not isinstance(kind, str):
        raise ValidationError("qualifier", [Problem("$.kind", "is required: a qualifier name")])
    try:
        factory = get_qualifier(kind)
    except UnknownQualifier as error:
        close = difflib.get_close_matches(kind, error.available, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValidationError("qualifier", [Problem("$.kind", f"{error}{hint}")]) from error
    rest = {k: v for k, v in config.items() if k != "kind"}
    strategy = factory(rest)
    if not isinstance(strategy, Strategy):
        raise ValidationError(
            "qualifier",
            [Problem("$.kind", f"the {kind!r} factory returned {type(strategy).__name__}")],
        )
    return strategy


def build(
    config: Mapping[str, Any], *, named: Mapping[str, Callable[..., Any]] | None = None
) -> Strategy:
    """Build a strategy from a configuration mapping.

    ``named`` supplies the code a configuration refers to by name: ICP
    predicates (``test = "has_budget"``) and checklist readers.  Raises
    :class:`~pipelinekit.ValidationError` listing every problem with its path.
    """
    check_data(config, "qualifier")
    token = _NAMED.set(dict(named or {}))
    try:
        return _build(config)
    finally:
        _NAMED.reset(token)


def from_toml(text: str, *, named: Mapping[str, Callable[..., Any]] | None = None) -> Strategy:
    """Build a strategy from TOML text (numbers with a fraction are read as exact Decimals)."""
    return build(decode_toml(text, "qualifier"), named=named)
