"""Loading pipeline definitions from dicts and TOML files.

The data form mirrors :meth:`PipelineSpec.as_dict`::

    key = "sales"
    label = "Sales"
    probability_unit = "percent"      # or "fraction" (0.2 for 20 %); percent if left out

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

Probabilities are kept in one canonical form, exact percent, whatever unit
the file declares: a pipeline written in fractions with ``probability_unit =
"fraction"`` loads into the same :class:`PipelineSpec` (same ``version``) as
the one written in percent.  Values that read as the other unit (a won stage
at 1, or every open stage at 1 or less with no unit declared) are refused with
a message naming ``probability_unit``.

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

from ..domain.probability import Probability, ProbabilityUnit, range_problem
from ..errors import Problem, ValidationError
from ..validation import Invalid, Structurer, data_problems, decimal, decode_toml, json_type
from .errors import PipelineDefinitionError
from .guards import GuardRegistry, default_guards
from .spec import (
    ForecastCategory,
    GuardSpec,
    PipelineSpec,
    StageKind,
    StageSpec,
    TransitionSpec,
    check_categories,
    check_definition,
    check_lost_reasons,
    default_forecast,
    merged_categories,
)

__all__ = ["load_pipeline", "loads_pipeline", "pipeline_from_dict"]

#: A transition's sources: a stage key, a list of keys, or ``"*"``.
Sources = NewType("Sources", tuple[str, ...])
#: A stage probability as written, in the definition's ``probability_unit``.
Written = NewType("Written", Decimal)


@attrs.frozen(kw_only=True)
class _Definition:
    key: str
    label: str | None = None
    description: str | None = None
    probability_unit: ProbabilityUnit | None = None
    require_lost_reason: bool = True
    lost_reasons: tuple[str, ...] = ()
    forecast_categories: tuple[ForecastCategory, ...] = ()
    stages: tuple[Any, ...]
    transitions: tuple[Any, ...]


@attrs.frozen(kw_only=True)
class _Stage:
    key: str
    label: str | None = None
    kind: StageKind = StageKind.OPEN
    probability: Written | None = None
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


def _written(value: Any) -> Written:
    if isinstance(value, Probability):
        return Written(value.as_percent)  # pipeline_from_dict reads it back in its unit
    if isinstance(value, float):  # a definition's float is read as written (TOML, JSON)
        value = str(value)
    return Written(decimal(value))


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
_STRUCTURER.register(Written, _written)
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
    unit = top.get("probability_unit")
    raw_stages = list(enumerate(top.get("stages", ())))
    stages: list[tuple[int, StageSpec]] = []
    written: list[tuple[int, dict[str, Any]]] = []
    for index, raw in raw_stages:
        fields, found = _STRUCTURER.salvage(raw, _Stage, f"$.stages[{index}]")
        problems.extend(found)
        written.append((index, fields))
        if isinstance(raw, Mapping) and isinstance(raw.get("probability"), Probability):
            fields["probability"] = _in_unit(raw["probability"], unit)
        if isinstance(raw, Mapping) and "kind" in raw and "kind" not in fields:
            # refused above: kept as written so the definition check knows this stage
            # exists but not what it means, and reports nothing that follows from it
            fields["kind"] = raw["kind"]
    unit_declared = isinstance(data, Mapping) and "probability_unit" in data
    problems.extend(_unit_problems(written, unit, unit_declared))
    for index, fields in written:
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
    own_categories = top.get("forecast_categories", ())
    category_problems = check_categories(own_categories)
    names = frozenset(
        c.name for c in merged_categories(() if category_problems else own_categories)
    )
    semantic = check_definition(key, label, stages, transitions, guards=registry, categories=names)
    semantic += category_problems
    semantic += check_lost_reasons(
        top.get("require_lost_reason", True), top.get("lost_reasons", ())
    )
    problems.extend(p for p in semantic if p.path not in shaped)
    if problems or key is None or label is None:
        raise PipelineDefinitionError(key, list(dict.fromkeys(problems)))
    return PipelineSpec(
        key=key,
        label=label,
        stages=tuple(s for _, s in stages),
        transitions=tuple(t for _, t in transitions),
        description=top.get("description"),
        require_lost_reason=top.get("require_lost_reason", True),
        lost_reasons=top.get("lost_reasons", ()),
        forecast_categories=own_categories,
    )


def _in_unit(value: Probability, unit: ProbabilityUnit | None) -> Decimal:
    """A :class:`Probability` given to a definition, written in the definition's unit."""
    return value.as_fraction if unit is ProbabilityUnit.FRACTION else value.as_percent


def _unit_problems(
    stages: list[tuple[int, dict[str, Any]]], unit: ProbabilityUnit | None, declared: bool
) -> list[Problem]:
    """Probabilities out of range for the unit, or that read as the other unit.

    A problem here is at the stage's ``probability`` path, so the definition
    check does not report the same value again in percent terms."""
    problems: list[Problem] = []
    chosen = unit or ProbabilityUnit.PERCENT
    open_values: list[Decimal] = []
    for index, fields in stages:
        value = fields.get("probability")
        if not isinstance(value, Decimal):
            continue
        path = f"$.stages[{index}].probability"
        kind = fields.get("kind", StageKind.OPEN)
        wrong = range_problem(value, chosen)
        if wrong is not None:
            problems.append(Problem(path, wrong))
            fields.pop("probability")
        elif chosen is ProbabilityUnit.PERCENT and kind is StageKind.WON and value == 1:
            problems.append(
                Problem(
                    path,
                    "a won stage has probability 100 in percent, got 1: if this pipeline "
                    "writes probabilities as fractions, declare probability_unit = 'fraction'",
                )
            )
            fields.pop("probability")
        else:
            fields["probability"] = chosen.to_percent(value)
            if kind is StageKind.OPEN:
                open_values.append(value)
    if (
        not declared
        and open_values
        and all(v <= 1 for v in open_values)
        and any(0 < v < 1 for v in open_values)
    ):
        shown = ", ".join(str(v) for v in open_values[:4])
        problems.append(
            Problem(
                "$.probability_unit",
                f"every open stage probability is 1 or less ({shown}), which reads as "
                "fractions: declare probability_unit = 'fraction' (or 'percent' if these "
                "really are percentages)",
            )
        )
    return problems


def _label_of(key: str) -> str:
    """A stage's label when none is given: ``closed_won`` reads "Closed won"; an external id
    (``"Closed Won"``, ``"12345678"``) is shown as written."""
    if key.isascii() and key.replace("_", "").isalnum() and key == key.lower():
        return key.replace("_", " ").capitalize()
    return key


def _stage(fields: dict[str, Any], index: int) -> StageSpec:
    key: str = fields["key"]
    kind: StageKind = fields.get("kind", StageKind.OPEN)
    probability = fields.get("probability")
    return StageSpec(
        key=key,
        label=fields.get("label") or _label_of(key),
        kind=kind,
        probability=Decimal(100 if kind is StageKind.WON else 0)
        if probability is None
        else probability,
        order=fields.get("order", index),
        forecast=fields.get("forecast")
        or (default_forecast(kind) if isinstance(kind, StageKind) else "pipeline"),
        rotting_days=fields.get("rotting_days"),
        required_fields=fields.get("required_fields", ()),
    )
