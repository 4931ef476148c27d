"""Named, parameterised guards: the only conditions a pipeline definition can name.

A guard definition in a pipeline is data (``{name = "field_compare", field =
"amount", op = ">=", value = 1000}``); this module turns it into a
:class:`Guard` through a :class:`GuardRegistry`.  Nothing is ever evaluated
from a string: a registry maps names to factories written in Python, and an
application adds its own with :meth:`GuardRegistry.register`.

A guard checks a *subject*: the entity as it would look after the move's own
inputs are applied (``lose(reason=...)`` makes ``lost_reason`` visible to the
``lost_reason_given`` guard).  Fields are read by dotted path with
:func:`read_field` (built on :mod:`pipelinekit.domain.paths`, which
qualification criteria use too): ``amount``, ``custom.seats``,
``qualification.score``, ``contact.email``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any, Final

import attrs

from .._plugins import PluginRegistry, PluginSource
from ..domain.money import Money
from ..domain.paths import is_path, reader, step
from ..domain.results import Verdict
from ..errors import Problem
from .errors import UnknownGuard

__all__ = [
    "ENTRY_POINT_GROUP",
    "MISSING",
    "Guard",
    "GuardCheck",
    "GuardParameterError",
    "GuardRegistry",
    "Subject",
    "default_guards",
    "read_field",
]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


#: What :func:`read_field` returns for a path that leads nowhere (or to ``None``).
MISSING: Final = _Missing()

_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")


class Subject:
    """What a guard looks at: an entity plus the pending inputs of the move."""

    __slots__ = ("entity", "overrides")

    def __init__(self, entity: object, overrides: Mapping[str, object] | None = None) -> None:
        self.entity = entity
        self.overrides: Mapping[str, object] = overrides or {}

    def get(self, path: str) -> object:
        """The value at dotted ``path``, or :data:`MISSING`."""
        return read_field(self.entity, path, self.overrides)

    def __repr__(self) -> str:
        return f"Subject({type(self.entity).__name__})"


def read_field(entity: object, path: str, overrides: Mapping[str, object] | None = None) -> object:
    """Read a dotted field path from an entity; :data:`MISSING` when absent or ``None``.

    The first segment is an attribute of the entity (or a pending override);
    the following ones are attributes or mapping keys, so ``custom.seats``
    reads the ``seats`` custom field and ``qualification.score`` the latest
    qualification score.
    """
    head, _, rest = path.partition(".")
    if overrides and head in overrides:
        value = overrides[head]
        if rest:
            value = None if value is None else _within(value, rest)
    elif is_path(path):
        value = reader(path)(entity)
    else:
        value = _within(entity, path)
    if value is None:
        return MISSING
    if isinstance(value, str) and not value.strip():
        return MISSING
    if isinstance(value, frozenset | tuple) and not value:
        return MISSING
    return value


def _within(value: object, rest: str) -> object:
    # the rest of a path below a pending override, or a path that is not dotted
    for part in rest.split("."):
        value = step(value, part)
        if value is None:
            break
    return value


#: A guard's check: ``None`` when the move may go ahead, else the reason it may not.
GuardCheck = Callable[[Subject], str | None]


class GuardParameterError(ValueError):
    """Raised by a guard factory for a bad parameter (``param`` names it)."""

    def __init__(self, param: str, message: str) -> None:
        self.param = param
        self.message = message
        super().__init__(f"{param}: {message}")


@attrs.frozen(eq=False)
class Guard:
    """A resolved guard: its name, its parameters and the check they configure.

    Call :meth:`check` with a :class:`Subject`; it returns ``None`` when the
    guard passes and the reason otherwise.  ``label`` is how diagrams and
    errors name it, e.g. ``field_compare(field='amount', op='>=', value=1000)``.
    """

    name: str
    params: tuple[tuple[str, Any], ...]
    check: GuardCheck = attrs.field(repr=False)
    #: The guard's name with its parameters.
    label: str = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        args = ", ".join(f"{key}={_show(value)}" for key, value in self.params)
        object.__setattr__(self, "label", f"{self.name}({args})" if args else self.name)

    def __str__(self) -> str:
        return self.label


def _show(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return repr(value)


@attrs.frozen
class _GuardType:
    name: str
    factory: Callable[..., GuardCheck] = attrs.field(repr=False)
    description: str


def _plugin_guard(name: str, loaded: object) -> _GuardType:
    if not callable(loaded):
        raise TypeError(f"the {name!r} entry point is not callable")
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"guard names are lower-case identifiers, got {name!r}")
    return _GuardType(name, loaded, loaded.__doc__ or "")


class GuardRegistry:
    """Maps guard names to factories; pipeline definitions can only name registered guards.

    A factory takes the guard's parameters as keyword arguments, validates
    them (raising :class:`GuardParameterError` or ``TypeError``) and returns
    the check: a function of a :class:`Subject` returning ``None`` (pass) or
    the reason for refusing.  :func:`default_guards` holds the built-ins and
    the guards installed packages contribute; an app registers its own there
    or in a copy (:meth:`copy`).
    """

    def __init__(self) -> None:
        self._types: PluginRegistry[_GuardType] = PluginRegistry("guard", identifiers=True)

    @classmethod
    def _over(cls, types: PluginRegistry[_GuardType]) -> GuardRegistry:
        registry = cls()
        registry._types = types
        return registry

    def register(
        self, name: str, factory: Callable[..., GuardCheck], *, description: str = ""
    ) -> None:
        """Register ``factory`` under ``name`` (a lower-case identifier, not yet taken)."""
        self._types.register(
            name, _GuardType(name, factory, description or (factory.__doc__ or ""))
        )

    def unregister(self, name: str) -> None:
        """Remove a guard registered in code (no error if it is not registered)."""
        self._types.unregister(name)

    def copy(self) -> GuardRegistry:
        """A new registry with the same guards, to extend without touching this one."""
        return GuardRegistry._over(self._types.copy())

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def __iter__(self) -> Iterator[str]:
        return iter(self._types)

    def describe(self, name: str) -> str:
        """The guard's description (its factory's docstring by default)."""
        return self._get(name).description

    def _get(self, name: str) -> _GuardType:
        found = self._types.get(name)
        if found is None:
            raise UnknownGuard(name, self._types.names(), self._types.why_missing(name))
        return found

    def resolve(self, name: str, params: Mapping[str, Any]) -> Guard:
        """Build the guard ``name`` with ``params``; raise :class:`UnknownGuard` or
        :class:`GuardParameterError` on bad input."""
        kind = self._get(name)
        check = kind.factory(**params)
        return Guard(name, tuple(sorted(params.items())), check)

    def problems(self, name: str, params: Mapping[str, Any], path: str) -> list[Problem]:
        """Every problem with naming guard ``name`` with ``params`` at ``path``."""
        try:
            self.resolve(name, params)
        except UnknownGuard as error:
            known = ", ".join(error.known)
            return [Problem(f"{path}.name", f"{error.describe()}; registered: {known}")]
        except GuardParameterError as error:
            return [Problem(f"{path}.{error.param}", error.message)]
        except TypeError as error:
            return [Problem(path, f"bad parameters for guard {name!r}: {error}")]
        return []

    def __repr__(self) -> str:
        return f"GuardRegistry({', '.join(self)})"


# ---------------------------------------------------------------------------
# Built-in guards


def _field_param(field: object) -> str:
    if not isinstance(field, str) or not is_path(field):
        raise GuardParameterError(
            "field", f"must be a dotted field path like 'amount' or 'custom.seats', got {field!r}"
        )
    return field


def _number(param: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise GuardParameterError(param, f"must be a number, got {value!r}")
    try:
        result = Decimal(str(value))
    except ArithmeticError:
        raise GuardParameterError(param, f"must be a number, got {value!r}") from None
    if not result.is_finite():
        raise GuardParameterError(param, f"must be a finite number, got {value!r}")
    return result


def field_present(*, field: str) -> GuardCheck:
    """Passes when ``field`` holds a value (not missing, ``None``, blank or empty)."""
    path = _field_param(field)

    def check(subject: Subject) -> str | None:
        if subject.get(path) is MISSING:
            return f"{path} is required"
        return None

    return check


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "in": lambda a, b: a in b,
    "not_in": lambda a, b: a not in b,
}


def _comparable(value: object) -> object:
    if isinstance(value, Money):
        return value.amount
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return Decimal(str(value))
    if hasattr(value, "value") and isinstance(value, str):  # str enums compare by value
        return str(value)
    return value


def field_compare(*, field: str, op: str, value: object) -> GuardCheck:
    """Passes when ``field <op> value`` holds (``==, !=, <, <=, >, >=, in, not_in``).

    Money compares by amount; numbers compare as decimals; a missing field fails.
    """
    path = _field_param(field)
    if op not in _OPS:
        raise GuardParameterError("op", f"must be one of {', '.join(_OPS)}, got {op!r}")
    if op in ("in", "not_in"):
        if not isinstance(value, list | tuple):
            raise GuardParameterError("value", f"must be a list for {op!r}, got {value!r}")
        expected: object = tuple(_comparable(v) for v in value)
    elif op in ("<", "<=", ">", ">="):
        expected = _number("value", value)
    else:
        if value is None:
            raise GuardParameterError("value", "must not be empty; use field_present instead")
        expected = _comparable(value)
    compare = _OPS[op]

    def check(subject: Subject) -> str | None:
        actual = subject.get(path)
        if actual is MISSING:
            return f"{path} is missing"
        left = _comparable(actual)
        try:
            ok = compare(left, expected)
        except TypeError:
            return f"{path} ({type(actual).__name__}) cannot be compared with {value!r}"
        if not ok:
            return f"{path} must be {op} {_show(value)}"
        return None

    return check


def min_score(*, min: object) -> GuardCheck:
    """Passes when the latest qualification has a score of at least ``min``.

    A lead that cannot be scored (``score`` is ``None``) fails: unscored is never 0.
    """
    threshold = _number("min", min)

    def check(subject: Subject) -> str | None:
        score = subject.get("qualification.score")
        if score is MISSING:
            return "no qualification score"
        assert isinstance(score, Decimal)
        if score < threshold:
            return f"qualification score {score} is below {threshold}"
        return None

    return check


def verdict_in(*, verdicts: object) -> GuardCheck:
    """Passes when the latest qualification's verdict is one of ``verdicts``."""
    if isinstance(verdicts, str):
        verdicts = [verdicts]
    if not isinstance(verdicts, list | tuple) or not verdicts:
        raise GuardParameterError("verdicts", "must be a non-empty list of verdicts")
    known = {v.value for v in Verdict}
    for item in verdicts:
        if item not in known:
            raise GuardParameterError(
                "verdicts", f"unknown verdict {item!r}; one of {', '.join(sorted(known))}"
            )
    wanted = frozenset(str(v) for v in verdicts)

    def check(subject: Subject) -> str | None:
        verdict = subject.get("qualification.verdict")
        if verdict is MISSING:
            return "no qualification verdict"
        if str(verdict) not in wanted:
            return f"qualification verdict {verdict!s} is not one of {', '.join(sorted(wanted))}"
        return None

    return check


def lost_reason_given() -> GuardCheck:
    """Passes when a lost reason is given (``lose(reason=...)``)."""

    def check(subject: Subject) -> str | None:
        if subject.get("lost_reason") is MISSING:
            return "a lost reason is required: pass reason= to lose()"
        return None

    return check


#: Entry-point group through which installed packages contribute guards
#: (``name = "package.module:factory"``).
ENTRY_POINT_GROUP: Final = "pipelinekit.guards"


def _builtins() -> GuardRegistry:
    source = PluginSource(ENTRY_POINT_GROUP, "guard", _plugin_guard)
    registry = GuardRegistry._over(PluginRegistry("guard", source, identifiers=True))
    for factory in (field_present, field_compare, min_score, verdict_in, lost_reason_given):
        registry.register(factory.__name__, factory)
    return registry


_DEFAULT = _builtins()


def default_guards() -> GuardRegistry:
    """The process-wide registry: the built-in guards, the guards installed packages
    contribute through the ``pipelinekit.guards`` entry-point group (each loaded on first
    use; a broken one warns once with :class:`~pipelinekit.PluginWarning`, is skipped,
    and naming it later says why), and any the app registered."""
    return _DEFAULT
