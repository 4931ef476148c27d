"""Named plugins from entry-point groups: the one registry behind guards and qualifiers.

A :class:`PluginRegistry` maps names to items: the ones an application
registers in code, and the ones installed packages contribute through an
entry-point group (a :class:`PluginSource`).  Entry points are listed without
importing anything and loaded on first use.  The same rules hold for every
kind of plugin:

* two distributions offering one name: pipelinekit's own wins, else the first
  by distribution name, and one :class:`~pipelinekit.errors.PluginWarning`
  names both;
* a plugin that fails to load gives one ``PluginWarning`` naming it and why,
  is skipped (it is no longer listed) and the others keep working; asking for
  it later gets the reason (:meth:`PluginRegistry.why_missing`), which the
  caller's error carries.
"""

from __future__ import annotations

import re
import threading
import warnings
from collections.abc import Callable, Iterator
from importlib.metadata import EntryPoint, entry_points
from typing import Generic, TypeVar

from .errors import PluginWarning

__all__ = ["PluginRegistry", "PluginSource"]

T = TypeVar("T")
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")


def _dist(point: EntryPoint) -> str:
    return point.dist.name if point.dist is not None else "unknown distribution"


def _builtin_first(point: EntryPoint) -> tuple[int, str]:
    dist = point.dist.name if point.dist is not None else ""
    return (0 if dist == "pipelinekit" else 1, f"{dist}:{point.value}")


class PluginSource(Generic[T]):
    """The entry points of one group, loaded lazily by name.

    ``kind`` names the plugins in messages (``"qualifier"``, ``"guard"``);
    ``make`` turns a loaded object into an item, raising ``TypeError`` or
    ``ValueError`` for one that cannot serve (it is then reported as broken).
    """

    def __init__(self, group: str, kind: str, make: Callable[[str, object], T]) -> None:
        self.group = group
        self.kind = kind
        self._make = make
        self._lock = threading.Lock()
        self._broken: dict[str, str] = {}
        self._shadowed: set[str] = set()

    def points(self) -> dict[str, EntryPoint]:
        """The group's entry points by name (nothing imported), one per name."""
        found: dict[str, EntryPoint] = {}
        for point in sorted(entry_points(group=self.group), key=_builtin_first):
            kept = found.setdefault(point.name, point)
            if kept is not point and kept.value != point.value:
                with self._lock:
                    first = point.name not in self._shadowed
                    self._shadowed.add(point.name)
                if first:
                    warnings.warn(
                        f"two {self.kind} plugins are named {point.name!r}: {kept.value} "
                        f"({_dist(kept)}) is used, {point.value} ({_dist(point)}) is ignored",
                        PluginWarning,
                        stacklevel=4,
                    )
        return found

    def names(self) -> frozenset[str]:
        """The names plugins offer, less the ones that failed to load."""
        return frozenset(self.points()) - set(self._broken)

    def load(self, name: str) -> T | None:
        """The item plugin ``name`` provides; ``None`` if there is none or it is broken."""
        if name in self._broken:
            return None
        point = self.points().get(name)
        if point is None:
            return None
        try:
            return self._make(name, point.load())
        except KeyboardInterrupt:
            raise
        except BaseException as error:
            # One broken plugin must not break the others, nor end the process: a
            # plugin calling sys.exit() at import is contained like any other error.
            reason = f"{type(error).__name__}: {error}"
            with self._lock:
                first = name not in self._broken
                self._broken[name] = reason
            if first:
                warnings.warn(
                    f"{self.kind} plugin {name!r} ({point.value}, from {_dist(point)}) could "
                    f"not be loaded and is skipped: {reason}",
                    PluginWarning,
                    stacklevel=4,
                )
            return None

    def why_broken(self, name: str) -> str | None:
        """Why plugin ``name`` could not be loaded, or ``None``."""
        return self._broken.get(name)

    def reset(self) -> None:
        """Forget broken and shadowed plugins (tests, or after installing one at run time)."""
        with self._lock:
            self._broken.clear()
            self._shadowed.clear()


class PluginRegistry(Generic[T]):
    """Items by name: registered in code, or from a :class:`PluginSource` on first use.

    An explicit registration wins over a plugin of the same name.  ``kind``
    names the items in messages; with ``identifiers=True`` names must be
    lower-case identifiers (``has_tag``).
    """

    def __init__(
        self, kind: str, source: PluginSource[T] | None = None, *, identifiers: bool = False
    ) -> None:
        self.kind = kind
        self._source = source
        self._identifiers = identifiers
        self._lock = threading.Lock()
        self._registered: dict[str, T] = {}
        self._loaded: dict[str, T] = {}

    def register(self, name: str, item: T, *, replace: bool = False) -> None:
        """Register ``item`` as ``name``; a name already taken is refused unless ``replace``."""
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"a {self.kind} name must be a non-empty string")
        if self._identifiers and not _IDENTIFIER.fullmatch(name):
            raise ValueError(f"{self.kind} names are lower-case identifiers, got {name!r}")
        with self._lock:
            if name in self._registered and not replace:
                raise ValueError(
                    f"a {self.kind} named {name!r} is already registered; pass replace=True"
                )
            self._registered[name] = item

    def unregister(self, name: str) -> None:
        """Remove a registration made in code (no error if there is none)."""
        with self._lock:
            self._registered.pop(name, None)

    def get(self, name: str) -> T | None:
        """The item registered as ``name``, loading its plugin on first use; else ``None``."""
        with self._lock:
            found = self._registered.get(name)
            if found is None:
                found = self._loaded.get(name)
        if found is not None or self._source is None:
            return found
        loaded = self._source.load(name)
        if loaded is not None:
            with self._lock:
                loaded = self._loaded.setdefault(name, loaded)
        return loaded

    def why_missing(self, name: str) -> str | None:
        """Why ``name`` is not available although a plugin offers it (its load error)."""
        return None if self._source is None else self._source.why_broken(name)

    def names(self) -> tuple[str, ...]:
        """Every name that can be asked for (no plugin is imported), sorted."""
        offered = self._source.names() if self._source is not None else frozenset()
        return tuple(sorted({*self._registered, *self._loaded, *offered}))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def copy(self) -> PluginRegistry[T]:
        """A new registry with the same items and plugins, to change without touching this one."""
        other: PluginRegistry[T] = PluginRegistry(
            self.kind, self._source, identifiers=self._identifiers
        )
        with self._lock:
            other._registered = dict(self._registered)
            other._loaded = dict(self._loaded)
        return other

    def reset(self) -> None:
        """Forget loaded and broken plugins (explicit registrations stay)."""
        with self._lock:
            self._loaded.clear()
        if self._source is not None:
            self._source.reset()
