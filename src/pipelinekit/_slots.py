"""Building frozen attrs instances slot by slot, without their validating constructor.

One code generator serves every batch path that has *already proved* its values
valid: results a strategy builds from its checked configuration, entities the
bulk path moves, copies storage makes to stamp a new version.  The generated
function sets every slot exactly like attrs' own ``__init__`` (slot descriptors
are called directly, skipping the frozen ``__setattr__``), so an instance built
here is indistinguishable from a constructed one.

* :func:`builder` ``(cls)`` returns ``build(v0, v1, ...)`` taking every field in order;
* :func:`replacer` ``(cls, names)`` returns ``replace(src, v0, ...)``: a copy of
  ``src`` with the ``names`` fields replaced (no names: a plain copy).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

__all__ = ["builder", "replacer"]


# generated functions, per (class, replaced names); None stands for "every field"
_MADE: dict[tuple[type, tuple[str, ...] | None], Callable[..., Any]] = {}


def builder(cls: type, fixed: Mapping[str, object] | None = None) -> Callable[..., Any]:
    """``builder(Money)(Decimal(1), "EUR")``: a new instance from every field, in field order.

    ``fixed`` binds some fields to constants (one builder per strategy, say); the
    builder then takes the other fields, in field order.
    """
    if fixed:
        fields = [field.name for field in attrs.fields(cls)]
        unknown = set(fixed) - set(fields)
        if unknown:
            raise ValueError(f"{cls.__name__} has no fields {sorted(unknown)}")
        given = {name: f"v{i}" for i, name in enumerate(n for n in fields if n not in fixed)}
        constants = {name: f"_c{i}" for i, name in enumerate(fixed)}
        values = {f"_c{i}": value for i, value in enumerate(fixed.values())}
        return _generate(cls, given | constants, source=False, constants=values)
    made = _MADE.get((cls, None))
    if made is None:
        fields = [field.name for field in attrs.fields(cls)]
        given = {name: f"v{i}" for i, name in enumerate(fields)}
        made = _MADE[(cls, None)] = _generate(cls, given, source=False)
    return made


def replacer(cls: type, names: tuple[str, ...] = ()) -> Callable[..., Any]:
    """``replacer(Opportunity, ("stage", "history"))(entity, stage, history)``."""
    made = _MADE.get((cls, names))
    if made is None:
        unknown = set(names) - {field.name for field in attrs.fields(cls)}
        if unknown:
            raise ValueError(f"{cls.__name__} has no fields {sorted(unknown)}")
        given = {name: f"v{i}" for i, name in enumerate(names)}
        made = _MADE[(cls, names)] = _generate(cls, given, source=True)
    return made


def _generate(
    cls: type,
    given: dict[str, str],
    *,
    source: bool,
    constants: Mapping[str, object] | None = None,
) -> Callable[..., Any]:
    arguments = [value for value in given.values() if not value.startswith("_c")]
    params = ", ".join((["src"] if source else []) + arguments)
    lines = [f"def make({params}):", "    new = _new(_cls)"]
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls, "_set": object.__setattr__}
    namespace.update(constants or {})
    for position, field in enumerate(attrs.fields(cls)):
        value = given.get(field.name, f"src.{field.name}")
        slot = _slot(cls, field.name)
        if slot is None:
            lines.append(f"    _set(new, {field.name!r}, {value})")
        else:
            namespace[f"_s{position}"] = slot.__set__
            lines.append(f"    _s{position}(new, {value})")
    lines.append("    return new")
    exec("\n".join(lines), namespace)
    made: Callable[..., Any] = namespace["make"]
    made.__qualname__ = f"{'replace' if source else 'build'}_{cls.__name__}"
    return made


def _slot(cls: type, name: str) -> Any:
    """The slot descriptor of ``name`` (``None`` for a class without slots)."""
    for klass in cls.__mro__:
        descriptor = klass.__dict__.get(name)
        if descriptor is not None:
            return descriptor if type(descriptor).__name__ == "member_descriptor" else None
    return None
