"""Reading an entity's fields by dotted path: ``amount``, ``company.employees``, ``custom.plan``.

Guards (``field_present``, ``field_compare``) and qualification criteria name
the fields they look at this way, and both read them through this one module:

* :func:`reader` returns a compiled function reading one path from a subject
  (``None`` when any step is absent or ``None``);
* :func:`root_lines` and :func:`expression` give the *source* of the same read,
  for code generators that inline many paths into one function (the ICP
  strategy's batch scorer).

The first step reads an attribute of the subject; every later one a mapping
key or an attribute.  Below ``custom`` (which must be a mapping) the rest of
the path is one key, dots included: ``custom.bant.budget`` reads the custom
field ``bant.budget``.  The ``contact`` root falls back to ``person``, so one
path reads a lead's contact and a prospect's person alike.
Code generated in *direct* mode uses plain attribute access (fast, for the
domain's own types) and raises ``AttributeError`` where the safe form would
give ``None``; callers fall back to the safe form then.
"""

from __future__ import annotations

import functools
import keyword
import re
from collections.abc import Callable, Mapping
from typing import Final

__all__ = ["ROOT_FALLBACKS", "expression", "is_path", "reader", "root_lines", "step"]

#: A root read from another attribute when the subject's own is ``None``.
ROOT_FALLBACKS: Final = {"contact": "person"}

_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_-]+)*$")


def is_path(text: object) -> bool:
    """Whether ``text`` is a dotted field path (``amount``, ``custom.seats``)."""
    return isinstance(text, str) and _PATH.match(text) is not None


def step(value: object, name: str) -> object:
    """One step of a path: a mapping's key or an object's attribute (``None`` if absent)."""
    if isinstance(value, Mapping):
        return value.get(name)
    return getattr(value, name, None)


def root_lines(root: str, *, subject: str = "subject") -> list[str]:
    """Source lines binding ``_<root>`` to the subject's root attribute (with its fallback)."""
    lines = [f"_{root} = getattr({subject}, {root!r}, None)"]
    fallback = ROOT_FALLBACKS.get(root)
    if fallback is not None:
        lines.append(f"if _{root} is None: _{root} = getattr({subject}, {fallback!r}, None)")
    return lines


def expression(path: str, env: dict[str, object], *, direct: bool = False) -> tuple[str, str]:
    """The source reading ``path`` from the ``_<root>`` variable, and that root.

    Names the expression needs are added to ``env`` (``_step``, and one
    constant per mapping key, so any key text is safe in the source).
    """
    root, *rest = path.split(".")
    env["_step"] = step
    expr = f"_{root}"
    if root == "custom" and rest:
        # custom fields are a mapping of scalars under keys that may contain dots
        # ("bant.budget"): the rest of the path is one key
        name = f"_K{sum(1 for k in env if k.startswith('_K'))}"
        env[name] = ".".join(rest)
        return f"(None if {expr} is None else {expr}.get({name}))", root
    for part in rest:
        if direct and part.isidentifier() and not keyword.iskeyword(part):
            read = f"{expr}.{part}"
        else:
            read = f"_step({expr}, {part!r})"
        expr = f"(None if {expr} is None else {read})"
    return expr, root


@functools.lru_cache(maxsize=4096)
def reader(path: str) -> Callable[[object], object]:
    """A compiled function reading ``path`` from a subject; ``None`` when absent.

    Raises ``ValueError`` for text that is not a dotted path (see :func:`is_path`).
    """
    if not is_path(path):
        raise ValueError(f"not a dotted field path: {path!r}")
    env: dict[str, object] = {}
    expr, root = expression(path, env)
    body = ["def read(subject):", *(f"    {line}" for line in root_lines(root))]
    body.append(f"    return {expr}")
    exec(compile("\n".join(body), f"<pipelinekit path {path}>", "exec"), env)
    read = env["read"]
    assert callable(read)
    return read
