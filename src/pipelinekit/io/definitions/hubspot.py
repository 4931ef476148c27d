"""HubSpot deal pipelines, as the CRM pipelines API returns them, into :class:`PipelineSpec`.

Reads the response of ``GET /crm/v3/pipelines/deals`` (``{"results": [pipeline,
...]}``) or of one pipeline (``GET /crm/v3/pipelines/deals/{pipelineId}``)::

    {"id": "default", "label": "Sales Pipeline", "displayOrder": 0, "stages": [
        {"id": "appointmentscheduled", "label": "Appointment Scheduled",
         "displayOrder": 0, "metadata": {"isClosed": "false", "probability": "0.2"}},
        ...]}

Stage ids become stage keys as they are (custom stages have numeric ids such
as ``"12345678"``), labels stay labels, stages are ordered by
``displayOrder``.  ``metadata.probability`` is a fraction (HubSpot writes
strings such as ``"0.2"``; numbers are read too) and is kept exactly.  A
closed stage at probability 1 is won, a closed stage at 0 is lost; archived
stages are left out.  HubSpot keeps forecast categories on deals, not
stages: open stages forecast as ``pipeline``, won ones ``closed``, lost ones
``omitted``.  The pipeline key is the pipeline id when it is a lower-case
identifier (``default``), else ``hubspot_<id>``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ...domain.probability import Probability
from ...errors import Problem
from ...pipelines import PipelineDefinitionError, PipelineSpec, StageKind
from .graph import ImportedStage, ImportGraph, build_spec
from .reading import read_source

__all__ = ["read_hubspot"]

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_ONE = Decimal(1)
_ZERO = Decimal(0)


def read_hubspot(
    source: str | Path | bytes | Mapping[str, Any], *, graph: ImportGraph | None = None
) -> tuple[PipelineSpec, ...]:
    """Every deal pipeline of a HubSpot pipelines API response (a file path, the JSON text
    as bytes, or the parsed data), each with ``graph``'s transitions.

    A bad file raises one :class:`~pipelinekit.pipelines.PipelineDefinitionError`
    listing every problem of every pipeline, each with its path
    (``$.results[0].stages[3].metadata.probability``).
    """
    data = _parsed(source)
    plan = graph or ImportGraph()
    if isinstance(data, Mapping) and "results" in data:
        pipelines = data["results"]
        if not isinstance(pipelines, list):
            raise _error([Problem("$.results", "must be a list of pipelines")])
        places = [(f"$.results[{i}]", p) for i, p in enumerate(pipelines)]
    elif isinstance(data, Mapping) and "stages" in data:
        places = [("$", data)]
    else:
        raise _error(
            [Problem("$", "expected a pipelines API response: an object with 'results' "
                          "(all pipelines) or 'stages' (one pipeline)")]
        )  # fmt: skip
    problems: list[Problem] = []
    specs: list[PipelineSpec] = []
    for path, pipeline in places:
        try:
            specs.append(_pipeline(path, pipeline, plan))
        except PipelineDefinitionError as error:
            problems.extend(error.problems)
    if problems:
        raise _error(problems)
    return tuple(specs)


def _error(problems: list[Problem]) -> PipelineDefinitionError:
    return PipelineDefinitionError(None, problems)


def _parsed(source: str | Path | bytes | Mapping[str, Any]) -> object:
    if isinstance(source, Mapping):
        return source
    raw = read_source(source)
    try:
        return json.loads(raw.decode("utf-8-sig"), parse_float=Decimal)
    except UnicodeDecodeError as error:
        raise _error(
            [Problem("$", f"not UTF-8 (byte {error.start}): re-save it as UTF-8")]
        ) from None
    except json.JSONDecodeError as error:
        raise _error(
            [Problem("$", f"invalid JSON at line {error.lineno} column {error.colno}: {error.msg}")]
        ) from None


def _pipeline(path: str, data: object, graph: ImportGraph) -> PipelineSpec:
    if not isinstance(data, Mapping):
        raise _error([Problem(path, "must be a pipeline object")])
    problems: list[Problem] = []
    ident = data.get("id", data.get("pipelineId"))
    if not isinstance(ident, str) or not ident.strip():
        problems.append(Problem(f"{path}.id", "must be the pipeline's id (a string)"))
        ident = None
    label = data.get("label")
    if not isinstance(label, str) or not label.strip():
        problems.append(Problem(f"{path}.label", "must be the pipeline's label (a string)"))
        label = None
    raw_stages = data.get("stages")
    if not isinstance(raw_stages, list) or not raw_stages:
        problems.append(Problem(f"{path}.stages", "must be a non-empty list of stages"))
        raw_stages = []
    found: list[tuple[Decimal, int, ImportedStage]] = []
    for index, raw in enumerate(raw_stages):
        stage_path = f"{path}.stages[{index}]"
        stage = _stage(stage_path, raw, problems)
        if stage is not None:
            order, made = stage
            found.append((order, index, made))
    if problems or ident is None or label is None:
        raise _error(problems)
    ordered = [stage for _, _, stage in sorted(found, key=lambda item: item[:2])]
    key = ident if _KEY.match(ident) else "hubspot_" + re.sub(r"[^a-z0-9]+", "_", ident.lower())
    return build_spec(
        key[:63].rstrip("_"),
        label,
        ordered,
        graph=graph,
        description=f"Imported from HubSpot deal pipeline {ident!r} ({label}).",
        source_path=path,
    )


def _stage(path: str, raw: object, problems: list[Problem]) -> tuple[Decimal, ImportedStage] | None:
    """``(displayOrder, stage)``, or ``None`` for an archived stage or one with problems."""
    if not isinstance(raw, Mapping):
        problems.append(Problem(path, "must be a stage object"))
        return None
    if _flag(raw.get("archived", False)) is True:
        return None
    before = len(problems)
    ident = raw.get("id", raw.get("stageId"))
    if not isinstance(ident, str) or not ident:
        problems.append(Problem(f"{path}.id", "must be the stage's id (a string)"))
    label = raw.get("label")
    if not isinstance(label, str) or not label.strip():
        problems.append(Problem(f"{path}.label", "must be the stage's label (a string)"))
    order = raw.get("displayOrder", 0)
    if isinstance(order, bool) or not isinstance(order, int | Decimal):
        problems.append(Problem(f"{path}.displayOrder", f"must be a number, got {order!r}"))
    metadata = raw.get("metadata")
    if not isinstance(metadata, Mapping):
        problems.append(
            Problem(f"{path}.metadata", "must be an object with 'probability' and 'isClosed'")
        )
        return None
    closed = _flag(metadata.get("isClosed", False))
    if closed is None:
        problems.append(
            Problem(f"{path}.metadata.isClosed", f"must be true or false, got "
                                                  f"{metadata.get('isClosed')!r}")
        )  # fmt: skip
    read = _fraction(metadata.get("probability"))
    if isinstance(read, str):
        problems.append(Problem(f"{path}.metadata.probability", read))
        return None
    fraction = read
    if len(problems) > before or closed is None:
        return None
    kind = StageKind.OPEN
    if closed:
        if fraction == _ONE:
            kind = StageKind.WON
        elif fraction == _ZERO:
            kind = StageKind.LOST
        else:
            problems.append(
                Problem(
                    f"{path}.metadata.probability",
                    f"a closed stage is won (probability 1.0) or lost (0.0), got {fraction}",
                )
            )
            return None
    assert isinstance(ident, str)
    assert isinstance(label, str)
    return Decimal(order), ImportedStage(
        path=path,
        key=ident,
        label=label,
        kind=kind,
        probability=Probability.fraction(fraction).as_percent,
    )


def _flag(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _fraction(value: object) -> Decimal | str:
    """The probability as an exact fraction, or why it is not one."""
    if value is None:
        return 'is required for a deal stage (a fraction such as "0.2")'
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        return f'must be a fraction such as "0.2", got {value!r}'
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return f'must be a fraction such as "0.2", got {value!r}'
    if not number.is_finite() or not _ZERO <= number <= _ONE:
        return f"must be a fraction from 0 to 1 (HubSpot's unit), got {value!r}"
    return number
