"""The qualifier registry: names mapped to strategy factories, loaded lazily.

Built-in qualifiers and third-party ones register the same way, through the
``pipelinekit.qualifiers`` entry point group::

    [project.entry-points."pipelinekit.qualifiers"]
    email_domain = "my_package.qualifier:build"

An entry point names a *factory*: a callable taking a configuration mapping
(the keys of a qualifier config other than ``kind``) and returning a
strategy.  Nothing is imported until a name is asked for.  A plugin that
fails to import is reported once with a :class:`PluginWarning` naming it and
skipped; the others keep working.  When two distributions register the same
name, pipelinekit's own wins (else the first by distribution name) and a
warning names both.  Applications can also call
:func:`register_qualifier` directly.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from .base import Strategy
from .errors import PluginWarning, UnknownQualifier

__all__ = [
    "GROUP",
    "Factory",
    "available_qualifiers",
    "get_qualifier",
    "register_qualifier",
    "unregister_qualifier",
]

#: The entry point group qualifier plugins register in.
GROUP = "pipelinekit.qualifiers"

#: A qualifier factory: configuration mapping in, strategy out.
Factory = Callable[[Mapping[str, Any]], Strategy]

_lock = threading.Lock()
_registered: dict[str, Factory] = {}
_loaded: dict[str, Factory] = {}
_broken: dict[str, str] = {}
_shadowed: set[str] = set()


def register_qualifier(name: str, factory: Factory, *, replace: bool = False) -> None:
    """Register ``factory`` under ``name`` for this process.

    Refuses to shadow an existing registration unless ``replace=True``
    (an explicit registration wins over an entry point of the same name).
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError("a qualifier name must be a non-empty string")
    if not callable(factory):
        raise TypeError(f"the factory for {name!r} must be callable")
    with _lock:
        if name in _registered and not replace:
            raise ValueError(f"qualifier {name!r} is already registered; pass replace=True")
        _registered[name] = factory


def unregister_qualifier(name: str) -> None:
    """Remove an explicit registration (entry points are unaffected)."""
    with _lock:
        _registered.pop(name, None)


def _entry_points() -> dict[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    for point in sorted(entry_points(group=GROUP), key=_builtin_first):
        kept = found.setdefault(point.name, point)
        if kept is not point and kept.value != point.value and point.name not in _shadowed:
            _shadowed.add(point.name)
            warnings.warn(
                f"two qualifier plugins are named {point.name!r}: {kept.value} "
                f"({_dist(kept)}) is used, {point.value} ({_dist(point)}) is ignored",
                PluginWarning,
                stacklevel=4,
            )
    return found


def _dist(point: EntryPoint) -> str:
    return point.dist.name if point.dist is not None else "unknown distribution"


def _builtin_first(point: EntryPoint) -> tuple[int, str]:
    dist = point.dist.name if point.dist is not None else ""
    return (0 if dist == "pipelinekit" else 1, f"{dist}:{point.value}")


def available_qualifiers() -> tuple[str, ...]:
    """Every name that can be asked for (without importing any plugin), sorted."""
    names = set(_registered) | set(_loaded) | set(_entry_points())
    return tuple(sorted(names - set(_broken)))


def get_qualifier(name: str) -> Factory:
    """The factory registered under ``name``, importing its plugin on first use.

    Raises :class:`UnknownQualifier` (listing the available names) when there
    is no such qualifier or its plugin could not be loaded (that case also
    warns once with :class:`PluginWarning`).
    """
    with _lock:
        if name in _registered:
            return _registered[name]
        if name in _loaded:
            return _loaded[name]
    if name not in _broken:
        point = _entry_points().get(name)
        if point is not None:
            factory = _load(name, point)
            if factory is not None:
                with _lock:
                    _loaded[name] = factory
                return factory
    raise UnknownQualifier(name, available_qualifiers())


def _load(name: str, point: EntryPoint) -> Factory | None:
    dist = _dist(point)
    try:
        factory = point.load()
        if not callable(factory):
            raise TypeError(f"{point.value} is not callable")
    except Exception as error:
        message = f"{type(error).__name__}: {error}"
        _broken[name] = message
        warnings.warn(
            f"qualifier plugin {name!r} ({point.value}, from {dist}) could not be loaded "
            f"and is skipped: {message}",
            PluginWarning,
            stacklevel=3,
        )
        return None
    return factory  # type: ignore[no-any-return]


def _reset() -> None:
    """Forget loaded and broken plugins (tests, or after installing a plugin at run time)."""
    with _lock:
        _loaded.clear()
        _broken.clear()
        _shadowed.clear()
