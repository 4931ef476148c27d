"""The qualifier registry: names mapped to strategy factories, loaded lazily.

Built-in qualifiers and third-party ones register the same way, through the
``pipelinekit.qualifiers`` entry point group::

    [project.entry-points."pipelinekit.qualifiers"]
    email_domain = "my_package.qualifier:build"

An entry point names a *factory*: a callable taking a configuration mapping
(the keys of a qualifier config other than ``kind``) and returning a
strategy.  Nothing is imported until a name is asked for.  A plugin that
fails to import is reported once with a :class:`PluginWarning` naming it and
skipped, and asking for it later raises :class:`UnknownQualifier` saying why;
the others keep working.  When two distributions register the same name,
pipelinekit's own wins (else the first by distribution name) and a warning
names both.  Guard plugins follow the same rules (one registry implementation,
:mod:`pipelinekit._plugins`).  Applications can also call
:func:`register_qualifier` directly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .._plugins import PluginRegistry, PluginSource
from .base import Strategy
from .errors import UnknownQualifier

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


def _factory(name: str, loaded: object) -> Factory:
    if not callable(loaded):
        raise TypeError(f"the {name!r} entry point is not callable")
    factory: Factory = loaded
    return factory


_REGISTRY: PluginRegistry[Factory] = PluginRegistry(
    "qualifier", PluginSource(GROUP, "qualifier", _factory)
)


def register_qualifier(name: str, factory: Factory, *, replace: bool = False) -> None:
    """Register ``factory`` under ``name`` for this process.

    Refuses to shadow an existing registration unless ``replace=True``
    (an explicit registration wins over an entry point of the same name).
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError("a qualifier name must be a non-empty string")
    if not callable(factory):
        raise TypeError(f"the factory for {name!r} must be callable")
    _REGISTRY.register(name, factory, replace=replace)


def unregister_qualifier(name: str) -> None:
    """Remove an explicit registration (entry points are unaffected)."""
    _REGISTRY.unregister(name)


def available_qualifiers() -> tuple[str, ...]:
    """Every name that can be asked for (without importing any plugin), sorted."""
    return _REGISTRY.names()


def get_qualifier(name: str) -> Factory:
    """The factory registered under ``name``, importing its plugin on first use.

    Raises :class:`UnknownQualifier` (listing the available names) when there
    is no such qualifier, or when its plugin could not be loaded: that case
    also warns once with :class:`PluginWarning`, and the error says why.
    """
    factory = _REGISTRY.get(name)
    if factory is None:
        raise UnknownQualifier(name, available_qualifiers(), _REGISTRY.why_missing(name))
    return factory


def _reset() -> None:
    """Forget loaded and broken plugins (tests, or after installing a plugin at run time)."""
    _REGISTRY.reset()
