"""Building a copy of a frozen attrs entity with some fields replaced, without re-validation.

Only for changes the caller has *proved* valid (the bulk path checks every
replaced value against the entity's invariants once per batch or per entity).
The generated function sets every slot exactly like attrs' own ``__init__``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import attrs


@functools.cache
def replacer(cls: type, names: tuple[str, ...]) -> Callable[..., Any]:
    """``replacer(Opportunity, ("stage", "history"))(entity, stage, history)``."""
    fields = [f.name for f in attrs.fields(cls)]
    unknown = set(names) - set(fields)
    if unknown:
        raise ValueError(f"{cls.__name__} has no fields {sorted(unknown)}")
    args = {name: f"v{i}" for i, name in enumerate(names)}
    lines = [f"def replace(src, {', '.join(args.values())}):", "    new = _new(_cls)"]
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls, "_set": object.__setattr__}
    for position, name in enumerate(fields):
        value = args.get(name, f"src.{name}")
        slot = _slot(cls, name)
        if slot is None:
            lines.append(f"    _set(new, {name!r}, {value})")
        else:
            # A slot's own setter skips the frozen-class __setattr__ lookup (~40% faster).
            namespace[f"_s{position}"] = slot.__set__
            lines.append(f"    _s{position}(new, {value})")
    lines.append("    return new")
    exec("\n".join(lines), namespace)
    return namespace["replace"]  # type: ignore[no-any-return]


def _slot(cls: type, name: str) -> Any:
    for klass in cls.__mro__:
        descriptor = klass.__dict__.get(name)
        if descriptor is not None:
            return descriptor if type(descriptor).__name__ == "member_descriptor" else None
    return None
