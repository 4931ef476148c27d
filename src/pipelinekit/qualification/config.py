"""Build strategies from plain data (a dict, JSON or TOML), with every problem and its path.

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
Errors list every problem with its path (``$.criteria[2].points.software``).
"""

from __future__ import annotations

import contextvars
import tomllib
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from ..errors import Problem, ValidationError
from .base import Band, Grade, Strategy
from .checklist import anum, bant, champ, checklist, faint, gpctba_ci, item, meddpicc
from .composite import gate, matrix, weighted
from .engagement import engagement, half_life, no_decay, rule, step_decay, window
from .icp import bands, icp_fit, one_of, pattern, predicate, present
from .registry import get_qualifier

__all__ = ["build", "from_toml"]

_NAMED: contextvars.ContextVar[Mapping[str, Callable[..., Any]]] = contextvars.ContextVar(
    "pipelinekit_qualification_named", default=MappingProxyType({})
)


class _Reader:
    """Collects problems while reading one mapping at one path."""

    def __init__(self, data: Any, path: str, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        if not isinstance(data, Mapping):
            problems.append(Problem(path, f"must be a table/mapping, got {type(data).__name__}"))
            data = {}
        self.data: Mapping[str, Any] = data

    def at(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path != "$" else f"$.{key}"

    def allow(self, *keys: str) -> None:
        extra = sorted(set(self.data) - set(keys))
        for key in extra:
            self.problems.append(Problem(self.at(key), f"unknown key; allowed: {', '.join(keys)}"))

    def need(self, key: str) -> Any:
        if key not in self.data:
            self.problems.append(Problem(self.at(key), "is required"))
        return self.data.get(key)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def options(self, *keys: str) -> dict[str, Any]:
        return {k: self.data[k] for k in keys if k in self.data}

    def call(self, path: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ValidationError as error:
            self.problems.extend(p.under(path) for p in error.problems)
        except TypeError as error:
            self.problems.append(Problem(path, f"wrong settings: {error}"))
        return None

    def items(self, key: str) -> list[tuple[str, Any]]:
        value = self.data.get(key)
        if value is None:
            return []
        if isinstance(value, str) or not isinstance(value, Sequence):
            self.problems.append(Problem(self.at(key), "must be a list"))
            return []
        return [(f"{self.at(key)}[{i}]", v) for i, v in enumerate(value)]


def _done(problems: list[Problem], subject: str) -> None:
    if problems:
        raise ValidationError(subject, problems)


def _bands_and_grades(r: _Reader) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "bands" in r.data:
        found = []
        for path, spec in r.items("bands"):
            sub = _Reader(spec, path, r.problems)
            sub.allow("name", "min", "verdict")
            band = sub.call(path, Band, sub.need("name"), sub.need("min"), sub.need("verdict"))
            if band is not None:
                found.append(band)
        out["bands"] = found
    if "grades" in r.data:
        grades = []
        for path, spec in r.items("grades"):
            sub = _Reader(spec, path, r.problems)
            sub.allow("letter", "min")
            grade = sub.call(path, Grade, sub.need("letter"), sub.need("min"))
            if grade is not None:
                grades.append(grade)
        out["grades"] = grades
    return out


_COMMON = ("name", "field", "weight", "group", "missing", "penalty", "required")
_CRITERIA: dict[str, tuple[Callable[..., Any], tuple[str, ...]]] = {
    "one_of": (one_of, ("points", "default", "knockout", "case_sensitive")),
    "bands": (bands, ("bands", "default", "currency")),
    "pattern": (pattern, ("patterns", "default", "case_sensitive")),
    "present": (present, ("points", "absent")),
    "predicate": (predicate, ("test", "points", "otherwise", "knockout", "description")),
}


def _criterion(path: str, spec: Any, problems: list[Problem]) -> Any:
    r = _Reader(spec, path, problems)
    kind = r.need("kind")
    if not isinstance(kind, str) or kind not in _CRITERIA:
        if kind is not None:
            problems.append(
                Problem(
                    r.at("kind"), f"unknown criterion kind {kind!r}; use {', '.join(_CRITERIA)}"
                )
            )
        return None
    func, own = _CRITERIA[kind]
    if kind == "present":
        allowed = ("kind", "name", "field", "weight", "group", "required", *own)
    elif kind == "predicate":
        allowed = ("kind", *(k for k in _COMMON if k != "field"), *own)
    else:
        allowed = ("kind", *_COMMON, *own)
    r.allow(*allowed)
    options = r.options(*(k for k in allowed if k not in ("kind", "name", "field")))
    name = r.need("name")
    if kind == "predicate":
        test_name = options.pop("test", None)
        test = _NAMED.get().get(test_name) if isinstance(test_name, str) else None
        if test is None:
            known = ", ".join(sorted(_NAMED.get())) or "none were passed to build()"
            problems.append(
                Problem(r.at("test"), f"unknown predicate {test_name!r}; known: {known}")
            )
            return None
        return r.call(path, func, name, test, **options)
    field = r.need("field")
    if kind == "bands":
        ranges = options.pop("bands", None)
        if ranges is None:
            problems.append(Problem(r.at("bands"), "is required"))
            return None
        return r.call(path, func, name, field, ranges, **options)
    if kind in ("one_of", "pattern"):
        key = "points" if kind == "one_of" else "patterns"
        table = options.pop(key, None)
        if table is None:
            problems.append(Problem(r.at(key), "is required"))
            return None
        return r.call(path, func, name, field, table, **options)
    return r.call(path, func, name, field, **options)


def _icp(config: Mapping[str, Any]) -> Strategy:
    problems: list[Problem] = []
    r = _Reader(config, "$", problems)
    r.allow("name", "criteria", "groups", "total_cap", "bands", "grades", "min_coverage")
    name = r.need("name")
    criteria = [_criterion(p, spec, problems) for p, spec in r.items("criteria")]
    if "criteria" not in r.data:
        r.need("criteria")
    extras = _bands_and_grades(r)
    _done(problems, "icp")
    built = r.call(
        "$",
        icp_fit,
        name,
        criteria,
        **r.options("groups", "total_cap", "min_coverage"),
        **extras,
    )
    _done(problems, "icp")
    return built  # type: ignore[no-any-return]


_CHECKLIST_OPTIONS = ("policy", "k", "met_at", "floor", "gates", "gate_at", "min_known", "prefix")


def _reader_option(r: _Reader) -> dict[str, Any]:
    if "reader" not in r.data:
        return {}
    wanted = r.data["reader"]
    found = _NAMED.get().get(wanted) if isinstance(wanted, str) else None
    if found is None:
        r.problems.append(Problem(r.at("reader"), f"unknown reader {wanted!r}; pass it to build()"))
    return {"reader": found}


def _preset(factory: Callable[..., Any], label: str) -> Callable[[Mapping[str, Any]], Strategy]:
    def build_preset(config: Mapping[str, Any]) -> Strategy:
        problems: list[Problem] = []
        r = _Reader(config, "$", problems)
        r.allow("name", "bands", "reader", *_CHECKLIST_OPTIONS)
        extras = _bands_and_grades(r)
        named = _reader_option(r)
        _done(problems, label)
        built = r.call("$", factory, **r.options("name", *_CHECKLIST_OPTIONS), **extras, **named)
        _done(problems, label)
        return built  # type: ignore[no-any-return]

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
    problems: list[Problem] = []
    r = _Reader(config, "$", problems)
    r.allow("name", "items", "bands", "reader", *_CHECKLIST_OPTIONS)
    found = []
    for path, spec in r.items("items"):
        sub = _Reader(spec, path, problems)
        sub.allow("key", "label", "levels")
        entry = sub.call(path, item, sub.need("key"), sub.get("label"), sub.get("levels", 5))
        if entry is not None:
            found.append(entry)
    if "items" not in r.data:
        r.need("items")
    extras = _bands_and_grades(r)
    named = _reader_option(r)
    name = r.need("name")
    _done(problems, "checklist")
    built = r.call("$", checklist, name, found, **r.options(*_CHECKLIST_OPTIONS), **extras, **named)
    _done(problems, "checklist")
    return built  # type: ignore[no-any-return]


_DECAYS: dict[str, tuple[Callable[..., Any], tuple[str, ...]]] = {
    "half_life": (half_life, ("days",)),
    "step": (step_decay, ("rate", "every_days")),
    "window": (window, ("days",)),
    "none": (no_decay, ()),
}


def build_icp(config: Mapping[str, Any]) -> Strategy:
    """Build an ICP fit strategy from a mapping (see the module docs for the shape)."""
    return _icp(config)


def build_engagement(config: Mapping[str, Any]) -> Strategy:
    """Build an engagement strategy: ``rules = [...]``, ``decay = {form = ..., ...}``."""
    problems: list[Problem] = []
    r = _Reader(config, "$", problems)
    r.allow("name", "rules", "decay", "total_cap", "floor", "bands", "unmatched")
    rules = []
    for path, spec in r.items("rules"):
        sub = _Reader(spec, path, problems)
        sub.allow("name", "kind", "points", "where", "daily_cap", "cap")
        made = sub.call(
            path,
            rule,
            sub.need("name"),
            sub.need("kind"),
            sub.need("points"),
            **sub.options("where", "daily_cap", "cap"),
        )
        if made is not None:
            rules.append(made)
    if "rules" not in r.data:
        r.need("rules")
    decay = None
    if "decay" in r.data:
        sub = _Reader(r.data["decay"], r.at("decay"), problems)
        form = sub.need("form")
        if not isinstance(form, str) or form not in _DECAYS:
            if form is not None:
                problems.append(
                    Problem(sub.at("form"), f"unknown decay {form!r}; use {', '.join(_DECAYS)}")
                )
        else:
            func, keys = _DECAYS[form]
            sub.allow("form", *keys)
            decay = sub.call(sub.path, func, *(sub.need(k) for k in keys))
    extras = _bands_and_grades(r)
    name = r.need("name")
    _done(problems, "engagement")
    built = r.call(
        "$",
        engagement,
        name,
        rules,
        decay=decay,
        **r.options("total_cap", "floor", "unmatched"),
        **extras,
    )
    _done(problems, "engagement")
    return built  # type: ignore[no-any-return]


def _child(path: str, spec: Any, problems: list[Problem]) -> Strategy | None:
    try:
        return _build(spec)
    except ValidationError as error:
        problems.extend(p.under(path) for p in error.problems)
    return None


def build_weighted(config: Mapping[str, Any]) -> Strategy:
    """Build a weighted blend: ``parts = [{weight = 3, strategy = {...}}, ...]``."""
    problems: list[Problem] = []
    r = _Reader(config, "$", problems)
    r.allow("name", "parts", "missing", "bands")
    parts = []
    for path, spec in r.items("parts"):
        sub = _Reader(spec, path, problems)
        sub.allow("weight", "strategy")
        child = _child(sub.at("strategy"), sub.need("strategy"), problems)
        if child is not None:
            parts.append((child, sub.get("weight", 1)))
    if "parts" not in r.data:
        r.need("parts")
    extras = _bands_and_grades(r)
    name = r.need("name")
    _done(problems, "weighted")
    built = r.call("$", weighted, name, parts, **r.options("missing"), **extras)
    _done(problems, "weighted")
    return built  # type: ignore[no-any-return]


def build_matrix(config: Mapping[str, Any]) -> Strategy:
    """Build a fit x engagement matrix: ``fit = {...}``, ``engagement = {...}``."""
    problems: list[Problem] = []
    r = _Reader(config, "$", problems)
    r.allow(
        "name", "fit", "engagement", "weights", "fit_cuts", "engagement_cuts", "grid", "missing"
    )
    fit = _child(r.at("fit"), r.need("fit"), problems)
    eng = _child(r.at("engagement"), r.need("engagement"), problems)
    name = r.need("name")
    options = r.options("weights", "fit_cuts", "engagement_cuts", "grid", "missing")
    for key in ("weights", "fit_cuts", "engagement_cuts"):
        if key in options:
            value = options[key]
            if not isinstance(value, list | tuple) or len(value) != 2:
                problems.append(Problem(r.at(key), "must be a list of two numbers"))
            else:
                options[key] = tuple(value)
    _done(problems, "matrix")
    built = r.call("$", matrix, name, fit, eng, **options)
    _done(problems, "matrix")
    return built  # type: ignore[no-any-return]


def build_gate(config: Mapping[str, Any]) -> Strategy:
    """Build a gate: ``children = [{...}, ...]``, ``mode = "all"`` or ``"any"``."""
    problems: list[Problem] = []
    r = _Reader(config, "$", problems)
    r.allow("name", "children", "mode")
    children = [_child(p, spec, problems) for p, spec in r.items("children")]
    if "children" not in r.data:
        r.need("children")
    name = r.need("name")
    _done(problems, "gate")
    built = r.call("$", gate, name, children, **r.options("mode"))
    _done(problems, "gate")
    return built  # type: ignore[no-any-return]


def _build(config: Any) -> Strategy:
    if not isinstance(config, Mapping):
        raise ValidationError(
            "qualifier", [Problem("$", f"must be a mapping, got {type(config).__name__}")]
        )
    kind = config.get("kind")
    if not isinstance(kind, str):
        raise ValidationError("qualifier", [Problem("$.kind", "is required: a qualifier name")])
    from .errors import UnknownQualifier

    try:
        factory = get_qualifier(kind)
    except UnknownQualifier as error:
        raise ValidationError("qualifier", [Problem("$.kind", str(error))]) from error
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
    token = _NAMED.set(dict(named or {}))
    try:
        return _build(config)
    finally:
        _NAMED.reset(token)


def from_toml(text: str, *, named: Mapping[str, Callable[..., Any]] | None = None) -> Strategy:
    """Build a strategy from TOML text (numbers with a fraction are read as exact Decimals)."""
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as error:
        raise ValidationError("qualifier", [Problem("$", f"invalid TOML: {error}")]) from error
    return build(data, named=named)
