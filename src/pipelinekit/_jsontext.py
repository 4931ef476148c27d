"""Compact JSON text of attrs instances, straight from a cattrs converter's unstructure hooks.

``json.dumps(converter.unstructure(obj), ensure_ascii=False, separators=(",", ":"))``
builds a dict per object and then walks it again to encode it; saving many
entities spends most of its time there.  :func:`text_writer` generates, once per
class, a function that writes the same text directly: one ``%`` template per
attrs class with its keys baked in, each value encoded by the cheapest exact
means its declared type and the converter's hook allow:

* a string-valued field (``str``, a ``NewType`` or ``StrEnum`` of it) whose hook is
  the identity: the JSON encoder's own string escaping;
* ``int`` (exactly ``int``, checked per value): ``int.__repr__``, as the encoder does;
* ``datetime`` / ``date`` / ``Decimal`` through the converter's own ``isoformat`` /
  ``str`` hooks: the hook's string, escaped;
* ``X | None``: ``null``, or ``X``'s encoding;
* an attrs class the converter unstructures with its generated hook (nothing
  registered for it), and a ``tuple[X, ...]`` of those: the generated writer of
  ``X``, recursively;
* anything else (a registered hook, a union, a set, a mapping): the converter's
  hook, then the JSON encoder, exactly as the dict path does it.

The keys and their order are the attrs fields', as cattrs' generated hooks
write them, so a field added to, removed from or renamed in a class changes
both paths alike; the text is byte for byte ``json.dumps`` of ``unstructure``
(a property test compares them on generated entities).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from datetime import date, datetime
from itertools import count
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.fns import identity

__all__ = ["text_writer"]

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_DUMPS = _ENCODER.encode
_ESCAPE = json.encoder.encode_basestring  # the encoder's own, for ensure_ascii=False
#: Hooks known to return a ``str`` (``str`` is the converter's hook of ``Decimal``): their
#: output is escaped, instead of encoded as any value.
_TEXT_HOOKS: tuple[object, ...] = (datetime.isoformat, date.isoformat, str)


def text_writer(
    converter: cattrs.Converter,
    cls: type,
    *,
    registered: Callable[[object], bool],
    first: Mapping[str, Any] | None = None,
    omit: Collection[str] = (),
) -> Callable[[Any], str]:
    """A function writing a ``cls`` instance as compact JSON text (see the module).

    ``registered(kind)`` says whether a hook was registered for ``kind`` (its
    instances are then encoded from that hook's output, not field by field);
    ``first`` are constant keys written before the fields (an entity's
    ``schema_version``); ``omit`` names top-level fields left out.
    """
    return _Generator(converter, registered).writer(cls, dict(first or {}), frozenset(omit))


class _Generator:
    def __init__(self, converter: cattrs.Converter, registered: Callable[[object], bool]) -> None:
        self._converter = converter
        self._registered = registered
        self._made: dict[type, str] = {}  # class -> the name of its writer in the namespace
        self._names = count()
        self._namespace: dict[str, Any] = {"_s": _ESCAPE, "_d": _any_value(), "_ir": int.__repr__}
        self._sources: list[str] = []

    def writer(self, cls: type, first: dict[str, Any], omit: frozenset[str]) -> Callable[..., str]:
        name = self._class(cls, first, omit)
        exec(compile("\n".join(self._sources), f"<pipelinekit json {cls.__name__}>", "exec"),
             self._namespace)  # fmt: skip
        made: Callable[..., str] = self._namespace[name]
        return made

    def _class(self, cls: type, first: dict[str, Any], omit: frozenset[str]) -> str:
        plain = not first and not omit
        if plain and cls in self._made:
            return self._made[cls]
        name = f"write_{cls.__name__}_{next(self._names)}"
        if plain:
            self._made[cls] = name  # before the fields: a class may hold itself
        attrs.resolve_types(cls)
        template = [_key(key) + _DUMPS(value).replace("%", "%%") for key, value in first.items()]
        values: list[str] = []
        for field in attrs.fields(cls):
            if field.name in omit:
                continue
            template.append(_key(field.name) + "%s")
            values.append(self._value(f"o.{field.name}", field.type))
        text = "{" + ",".join(template) + "}"
        self._sources.append(
            f"def {name}(o):\n    return {text!r} % ({''.join(v + ', ' for v in values)})\n"
        )
        return name

    def _value(self, expr: str, kind: Any) -> str:
        """An expression encoding ``expr``, a value of the declared type ``kind``."""
        if _is_optional(kind):
            (inner,) = [a for a in get_args(kind) if a is not NoneType]
            local = self._local()
            return f"('null' if ({local} := {expr}) is None else {self._value(local, inner)})"
        hook = self._converter.get_unstructure_hook(kind)
        if hook is identity:
            if _is_text(kind):
                return f"_s({expr})"
            if kind is int:
                local = self._local()
                return f"(_ir({local}) if ({local} := {expr}).__class__ is int else _d({local}))"
            return f"_d({expr})"
        if isinstance(kind, type) and attrs.has(kind) and not self._registered(kind):
            return f"{self._class(kind, {}, frozenset())}({expr})"
        if get_origin(kind) is tuple and len(get_args(kind)) == 2 and get_args(kind)[1] is ...:
            item = get_args(kind)[0]
            if isinstance(item, type) and attrs.has(item) and not self._registered(item):
                writer = self._class(item, {}, frozenset())
                local = self._local()
                return f"('[' + ','.join([{writer}({local}) for {local} in {expr}]) + ']')"
        hook_name = self._bind(hook)
        if any(hook is known for known in _TEXT_HOOKS):
            return f"_s({hook_name}({expr}))"
        return f"_d({hook_name}({expr}))"

    def _local(self) -> str:
        return f"_v{next(self._names)}"

    def _bind(self, value: object) -> str:
        name = f"_h{next(self._names)}"
        self._namespace[name] = value
        return name


def _any_value() -> Callable[[Any], str]:
    """``_DUMPS`` without its per-call set-up: the C encoder it builds for every call,
    built once (without the check for circular data, which documents cannot hold)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - a Python without the C accelerator
        return _DUMPS
    e = _ENCODER
    encode = make(
        None, e.default, _ESCAPE, None, e.key_separator, e.item_separator,
        e.sort_keys, e.skipkeys, e.allow_nan,
    )  # fmt: skip

    def dumps(value: Any) -> str:
        return "".join(encode(value, 0))

    return dumps


def _key(name: str) -> str:
    return (_ESCAPE(name) + ":").replace("%", "%%")


def _is_optional(kind: Any) -> bool:
    args = get_args(kind)
    return get_origin(kind) in (Union, UnionType) and len(args) == 2 and NoneType in args


def _is_text(kind: Any) -> bool:
    while hasattr(kind, "__supertype__"):  # typing.NewType
        kind = kind.__supertype__
    return isinstance(kind, type) and issubclass(kind, str)
