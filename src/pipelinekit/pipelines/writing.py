"""Writing a :class:`PipelineSpec` out as a TOML definition that loads back into an equal spec.

``dumps_pipeline(spec)`` is the inverse of
:func:`~pipelinekit.pipelines.loads_pipeline`; ``probability_unit="fraction"``
writes the stage probabilities as fractions (and says so in the file), as a
team coming from HubSpot may prefer to read them.  The standard library reads
TOML but does not write it, so this module writes the few shapes a definition
uses (strings, numbers, booleans, lists and inline tables) itself.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..domain.probability import Probability, ProbabilityUnit
from .spec import PipelineSpec

__all__ = ["dumps_pipeline", "write_pipeline"]


def dumps_pipeline(
    spec: PipelineSpec, *, probability_unit: ProbabilityUnit | str = ProbabilityUnit.PERCENT
) -> str:
    """The TOML text of ``spec`` (probabilities written in ``probability_unit``)."""
    unit = ProbabilityUnit(probability_unit)
    data = spec.as_dict()
    lines: list[str] = []
    for name in ("key", "label", "description"):
        if name in data:
            lines.append(f"{name} = {_value(data[name])}")
    # always said, so a pipeline of small percentages is never read as fractions
    lines.append(f"probability_unit = {_value(unit.value)}")
    for name in ("require_lost_reason", "lost_reasons", "forecast_categories"):
        if name in data:
            lines.append(f"{name} = {_value(data[name])}")
    for stage in data["stages"]:
        lines += ["", "[[stages]]"]
        for name, value in stage.items():
            if name == "probability":
                value = _in_unit(Decimal(value), unit)
            lines.append(f"{_key(name)} = {_value(value)}")
    for transition in data["transitions"]:
        lines += ["", "[[transitions]]"]
        for name, value in transition.items():
            shown = value[0] if name == "source" and len(value) == 1 else value
            lines.append(f"{_key(name)} = {_value(shown)}")
    return "\n".join(lines) + "\n"


def write_pipeline(
    spec: PipelineSpec,
    path: str | Path,
    *,
    probability_unit: ProbabilityUnit | str = ProbabilityUnit.PERCENT,
) -> Path:
    """Write :func:`dumps_pipeline` of ``spec`` to ``path`` (UTF-8) and return the path."""
    out = Path(path)
    out.write_text(dumps_pipeline(spec, probability_unit=probability_unit), encoding="utf-8")
    return out


def _in_unit(percent: Decimal, unit: ProbabilityUnit) -> Decimal:
    made = Probability.percent(percent)
    return made.as_fraction if unit is ProbabilityUnit.FRACTION else made.as_percent


def _key(name: str) -> str:
    return name if name.replace("_", "").isalnum() and name.isascii() else _value(name)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")  # read back exactly: loads_pipeline parses floats as Decimal
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        # a JSON string is a TOML basic string, but for DEL, which TOML wants escaped
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write a {type(value).__name__} into a pipeline definition")
