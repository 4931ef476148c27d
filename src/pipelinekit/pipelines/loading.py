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
(``$.stages[2].probability``, ``$.transitions[0].target``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..errors import Problem
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

_TOP = frozenset({"key", "label", "description", "stages", "transitions"})
_STAGE = frozenset(
    {"key", "label", "kind", "probability", "order", "forecast", "rotting_days", "required_fields"}
)
_TRANSITION = frozenset({"event", "source", "target", "guards"})


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
    """Read a pipeline definition from TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PipelineDefinitionError(None, [Problem("$", f"invalid TOML: {error}")]) from error
    return pipeline_from_dict(data, guards=guards)


def pipeline_from_dict(
    data: Mapping[str, Any], *, guards: GuardRegistry | None = None
) -> PipelineSpec:
    """Build a :class:`PipelineSpec` from plain data, checking every guard against ``guards``
    (the default registry if not given); raise one :class:`PipelineDefinitionError` with
    every problem."""
    registry = guards if guards is not None else default_guards()
    problems: list[Problem] = []
    if not isinstance(data, Mapping):
        raise PipelineDefinitionError(
            None, [Problem("$", f"must be a table/mapping, got {type(data).__name__}")]
        )
    _unknown(problems, "$", data, _TOP)
    key = data.get("key")
    label = data.get("label", key.replace("_", " ").capitalize() if isinstance(key, str) else None)
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        problems.append(Problem("$.description", "must be a string"))
        description = None
    stages = _list(problems, "$.stages", data.get("stages"))
    transitions = _list(problems, "$.transitions", data.get("transitions"))
    stage_specs: list[tuple[int, StageSpec]] = []
    for index, raw in enumerate(stages):
        stage = _stage(problems, f"$.stages[{index}]", raw, index)
        if stage is not None:
            stage_specs.append((index, stage))
    transition_specs: list[tuple[int, TransitionSpec]] = []
    for index, raw in enumerate(transitions):
        transition = _transition(problems, f"$.transitions[{index}]", raw)
        if transition is not None:
            transition_specs.append((index, transition))
    problems.extend(check_definition(key, label, stage_specs, transition_specs, guards=registry))
    name = key if isinstance(key, str) else None
    if problems:
        raise PipelineDefinitionError(name, _dedupe(problems))
    return PipelineSpec(
        key=key,  # type: ignore[arg-type]
        label=label,
        stages=tuple(s for _, s in stage_specs),
        transitions=tuple(t for _, t in transition_specs),
        description=description,
    )


def _dedupe(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def _unknown(
    problems: list[Problem], path: str, data: Mapping[str, Any], known: frozenset[str]
) -> None:
    for name in data:
        if name not in known:
            problems.append(
                Problem(
                    f"{path}.{name}", f"unknown field; expected one of {', '.join(sorted(known))}"
                )
            )


def _list(problems: list[Problem], path: str, value: object) -> list[Any]:
    if value is None:
        problems.append(Problem(path, "is required"))
        return []
    if not isinstance(value, list | tuple):
        problems.append(Problem(path, f"must be a list, got {type(value).__name__}"))
        return []
    return list(value)


def _stage(problems: list[Problem], path: str, raw: object, index: int) -> StageSpec | None:
    if not isinstance(raw, Mapping):
        problems.append(Problem(path, f"must be a table/mapping, got {type(raw).__name__}"))
        return None
    _unknown(problems, path, raw, _STAGE)
    key = raw.get("key")
    if not isinstance(key, str):
        problems.append(Problem(f"{path}.key", "is required (a lower-case identifier)"))
        return None
    raw_kind = raw.get("kind", "open")
    try:
        kind = StageKind(raw_kind)
    except ValueError:
        problems.append(Problem(f"{path}.kind", f"must be open, won or lost, got {raw_kind!r}"))
        return None
    default_p = 100 if kind is StageKind.WON else 0
    probability = _decimal(problems, f"{path}.probability", raw.get("probability", default_p))
    if probability is None:
        probability = Decimal(default_p)
    required = raw.get("required_fields", [])
    if not isinstance(required, list | tuple):
        problems.append(Problem(f"{path}.required_fields", "must be a list of field paths"))
        required = []
    return StageSpec(
        key=key,
        label=raw.get("label", key.replace("_", " ").capitalize()),
        kind=kind,
        probability=probability,
        order=raw.get("order", index),
        forecast=raw.get("forecast", default_forecast(kind)),
        rotting_days=raw.get("rotting_days"),
        required_fields=tuple(required),
    )


def _decimal(problems: list[Problem], path: str, value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        problems.append(Problem(path, f"must be a number from 0 to 100, got {value!r}"))
        return None
    try:
        result = Decimal(str(value).strip())
    except ArithmeticError:
        problems.append(Problem(path, f"must be a number from 0 to 100, got {value!r}"))
        return None
    return result


_SCALAR = (str, int, float, bool, Decimal)


def _param_ok(value: object) -> bool:
    if isinstance(value, list | tuple):
        return all(isinstance(v, _SCALAR) for v in value)
    return isinstance(value, _SCALAR)


def _transition(problems: list[Problem], path: str, raw: object) -> TransitionSpec | None:
    if not isinstance(raw, Mapping):
        problems.append(Problem(path, f"must be a table/mapping, got {type(raw).__name__}"))
        return None
    _unknown(problems, path, raw, _TRANSITION)
    source = raw.get("source")
    if isinstance(source, str):
        sources: tuple[str, ...] = (source,)
    elif isinstance(source, list | tuple) and all(isinstance(s, str) for s in source):
        sources = tuple(source)
    else:
        problems.append(
            Problem(f"{path}.source", "is required: a stage key, a list of keys, or '*'")
        )
        sources = ()
    target = raw.get("target")
    if not isinstance(target, str):
        problems.append(Problem(f"{path}.target", "is required (a stage key)"))
        target = ""
    guard_specs: list[GuardSpec] = []
    raw_guards = raw.get("guards", [])
    if not isinstance(raw_guards, list | tuple):
        problems.append(Problem(f"{path}.guards", "must be a list of guards"))
        raw_guards = []
    for position, item in enumerate(raw_guards):
        gpath = f"{path}.guards[{position}]"
        if isinstance(item, str):
            guard_specs.append(GuardSpec.of(item))
        elif isinstance(item, Mapping) and isinstance(item.get("name"), str):
            params = {k: v for k, v in item.items() if k != "name"}
            bad = [k for k, v in params.items() if not isinstance(k, str) or not _param_ok(v)]
            for name in bad:
                problems.append(
                    Problem(
                        f"{gpath}.{name}",
                        "guard parameters are strings, numbers, booleans or lists of them",
                    )
                )
            if not bad:
                guard_specs.append(GuardSpec.of(item["name"], **params))
        else:
            problems.append(
                Problem(gpath, "must be a guard name or a table with 'name' and its parameters")
            )
    event = raw.get("event")
    if not isinstance(event, str):
        problems.append(Problem(f"{path}.event", "is required (a lower-case identifier)"))
        return None
    if not sources or not target:
        return None
    return TransitionSpec(event=event, sources=sources, target=target, guards=tuple(guard_specs))
