"""Loading pipeline definitions from dicts and TOML files.

The data form mirrors :meth:`PipelineSpec.as_dict`::

    key = "sales"
    label = "Sales"

    [[stages]]
    key = "initial_contact"
    label = "Initial contact"
    probability = 10
    rotting_days = 14

    [[stages]]
    key = "closed_won"
    kind = "won"
    probability = 100

    [[transitions]]
    event = "advance"
    source = "initial_contact"        # a key, a list of keys, or "*" (any open stage)
    target = "qualification"
    guards = [{ name = "field_present", field = "amount" }]

Every problem in the file is reported at once, each with its path
(``$.stages[2].probability``, ``$.transitions[0].target``), in the words of
every pipelinekit loader (:mod:`pipelinekit.validation`): a misspelt key names
the nearest valid one.  The shape is checked first, then the definition as a
whole (stages, reachability, guards) with whatever parts were valid.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, NewType

import attrs

from ..errors import Problem, ValidationError
from ..validation import Invalid, Structurer, data_problems, decimal, decode_toml, json_type
from .errors import PipelineDefinitionError
from .guards import GuardRegistry, default_guards
from .spec import (
    GuardSpec,
    PipelineSpec,
    StageKind,
    StageSpec,
    TransitionSpec,
    check_definition,
    default_forecast,
)

__all__ = ["load_pipeline", "loads_pipeline", "pipeline_from_dict"]

#: A transition's sources: a stage key, a list of keys, or ``"*"``.
Sources = NewType("Sources", tuple[str, ...])
#: A stage probability in percent (a definition may give it as a float).
Percent = NewType("Percent", Decimal)


@attrs.frozen(kw_only=True)
class _Definition:
    key: str
    label: str | None = None
    description: str | None = None
    stages: tuple[Any, ...]
    transitions: tuple[Any, ...]


@attrs.frozen(kw_only=True)
class _Stage:
    key: str
    label: str | None = None
    kind: StageKind = StageKind.OPEN
    probability: Percent | None = None
    order: int | None = None
    forecast: str | None = None
    rotting_days: int | None = None
    required_fields: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class _Transition:
    event: str
    source: Sources
    target: str
    guards: tuple[GuardSpec, ...] = ()


def _sources(value: Any) -> Sources:
    if isinstance(value, str):
        return Sources((value,))
    if isinstance(value, list | tuple) and value and all(isinstance(s, str) for s in value):
        return Sources(tuple(value))
    raise Invalid(f"must be a stage key, a list of keys, or '*', got {json_type(value)}")


def _percent(value: Any) -> Percent:
    if isinstance(value, float):  # a definition's float is read as written (TOML, JSON)
        value = str(value)
    return Percent(decimal(value))


_SCALAR = (str, int, float, bool, Decimal)


def _guard(value: Any) -> GuardSpec:
    if isinstance(value, str):
        return GuardSpec.of(value)
    if not isinstance(value, Mapping) or not isinstance(value.get("name"), str):
        raise Invalid("must be a guard name or a mapping with 'name' and its parameters")
    params = {k: v for k, v in value.items() if k != "name"}
    bad = [
        Invalid("guard parameters are strings, numbers, booleans or lists of them", at=str(k))
        for k, v in params.items()
        if not isinstance(k, str) or not _parameter(v)
    ]
    if bad:
        raise ExceptionGroup("bad guard parameters", bad)
    return GuardSpec.of(value["name"], **params)


def _parameter(value: object) -> bool:
    if isinstance(value, list | tuple):
        return all(isinstance(v, _SCALAR) for v in value)
    return isinstance(value, _SCALAR)


_STRUCTURER = Structurer()
_STRUCTURER.register(Sources, _sources)
_STRUCTURER.register(Percent, _percent)
_STRUCTURER.register(GuardSpec, _guard)


def load_pipeline(path: str | Path, *, guards: GuardRegistry | None = None) -> PipelineSpec:
    """Read a pipeline definition from a TOML file (see the module docs for the format)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise PipelineDefinitionError(
            None, [Problem("$", f"cannot read {file}: {error.strerror or error}")]
        ) from error
    except UnicodeDecodeError as error:
        raise PipelineDefinitionError(
            None, [Problem("$", f"{file} is not UTF-8 (byte {error.start}): re-save it as UTF-8")]
        ) from error
    return loads_pipeline(text, guards=guards)


def loads_pipeline(text: str, *, guards: GuardRegistry | None = None) -> PipelineSpec:
    """Read a pipeline definition from TOML text (fractions are read as exact decimals)."""
    try:
        data = decode_toml(text, "pipeline definition")
    except ValidationError as error:
        raise PipelineDefinitionError(None, error.problems) from error
    return pipeline_from_dict(data, guards=guards)


def pipeline_from_dict(
    data: Mapping[str, Any], *, guards: GuardRegistry | None = None
) -> PipelineSpec:
    """Build a :class:`PipelineSpec` from plain data, checking every guard against ``guards``
    (the default registry if not given); raise one :class:`PipelineDefinitionError` with
    every problem."""
    registry = guards if guards is not None else default_guards()
    beyond = data_problems(data)
    if beyond:
        raise PipelineDefinitionError(None, beyond)
    top, problems = _STRUCTURER.salvage(data, _Definition)
    key = top.get("key")
    label = top.get("label", key.replace("_", " ").capitalize() if key is not None else None)
    stages: list[tuple[int, StageSpec]] = []
    for index, raw in enumerate(top.get("stages", ())):
        fields, found = _STRUCTURER.salvage(raw, _Stage, f"$.stages[{index}]")
        problems.extend(found)
        if "key" in fields:
            stages.append((index, _stage(fields, index)))
    transitions: list[tuple[int, TransitionSpec]] = []
    for index, raw in enumerate(top.get("transitions", ())):
        fields, found = _STRUCTURER.salvage(raw, _Transition, f"$.transitions[{index}]")
        problems.extend(found)
        if {"event", "source", "target"} <= fields.keys():
            transition = TransitionSpec(
                fields["event"], fields["source"], fields["target"], fields.get("guards", ())
            )
            transitions.append((index, transition))
    # The definition as a whole, from its valid parts; a value whose shape was
    # refused is not reported again.
    shaped = {p.path for p in problems}
    semantic = check_definition(key, label, stages, transitions, guards=registry)
    problems.extend(p for p in semantic if p.path not in shaped)
    if problems or key is None or label is None:
        raise PipelineDefinitionError(key, list(dict.fromkeys(problems)))
    return PipelineSpec(
        key=key,
        label=label,
        stages=tuple(s for _, s in stages),
        transitions=tuple(t for _, t in transitions),
        description=top.get("description"),
    )


def _stage(fields: dict[str, Any], index: int) -> StageSpec:
    key: str = fields["key"]
    kind: StageKind = fields.get("kind", StageKind.OPEN)
    probability = fields.get("probability")
    return StageSpec(
        key=key,
        label=fields.get("label") or key.replace("_", " ").capitalize(),
        kind=kind,
        probability=Decimal(100 if kind is StageKind.WON else 0)
        if probability is None
        else probability,
        order=fields.get("order", index),
        forecast=fields.get("forecast") or default_forecast(kind),
        rotting_days=fields.get("rotting_days"),
        required_fields=fields.get("required_fields", ()),
    )
