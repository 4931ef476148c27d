"""Salesforce opportunity stages, as the Metadata API retrieves them, into a :class:`PipelineSpec`.

Reads ``standardValueSets/OpportunityStage.standardValueSet-meta.xml``::

    <StandardValueSet xmlns="http://soap.sforce.com/2006/04/metadata">
        <sorted>false</sorted>
        <standardValue>
            <fullName>Id. Decision Makers</fullName>
            <default>false</default>
            <label>Id. Decision Makers</label>
            <closed>false</closed>
            <forecastCategory>Pipeline</forecastCategory>
            <probability>60</probability>
            <won>false</won>
        </standardValue>
        ...
    </StandardValueSet>

Each ``standardValue`` is a stage, in file order: ``fullName`` (the API value)
is the key as it is, ``label`` the label, ``closed`` / ``won`` the kind,
``probability`` the default probability in percent (Salesforce's unit) and
``forecastCategory`` (``Pipeline``, ``BestCase``, ``Forecast`` for Commit,
``MostLikely``, ``Closed``, ``Omitted``) the forecast category.  The XML is
parsed with ``defusedxml`` (the ``salesforce`` extra), which refuses entity
expansion and external entities.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ...domain.probability import Probability
from ...errors import PipelinekitError, Problem
from ...pipelines import PipelineDefinitionError, PipelineSpec, StageKind, forecast_category
from .graph import ImportedStage, ImportGraph, build_spec
from .reading import read_source

__all__ = ["MissingExtra", "read_salesforce"]

_NS = "{http://soap.sforce.com/2006/04/metadata}"
_HUNDRED = Decimal(100)
_ZERO = Decimal(0)


class MissingExtra(PipelinekitError, ImportError):
    """A reader needs an optional dependency that is not installed; the message says which."""


def read_salesforce(
    source: str | Path | bytes,
    *,
    key: str = "salesforce",
    label: str = "Salesforce opportunities",
    graph: ImportGraph | None = None,
) -> PipelineSpec:
    """The pipeline of a Salesforce ``OpportunityStage.standardValueSet-meta.xml`` file (a
    path, or its bytes), with ``graph``'s transitions, under ``key`` and ``label``.

    A bad file raises one :class:`~pipelinekit.pipelines.PipelineDefinitionError`
    listing every problem, each with its path (``$.standardValue[3].probability``).
    """
    root = _root(read_source(source))
    if _local(root.tag) != "StandardValueSet":
        raise _error([Problem("$", f"expected a <StandardValueSet>, got <{_local(root.tag)}>")])
    problems: list[Problem] = []
    stages: list[ImportedStage] = []
    values = [child for child in root if _local(child.tag) == "standardValue"]
    if not values:
        problems.append(Problem("$.standardValue", "has no <standardValue> entries"))
    for index, value in enumerate(values):
        stage = _stage(f"$.standardValue[{index}]", value, problems)
        if stage is not None:
            stages.append(stage)
    if problems:
        raise _error(problems)
    return build_spec(
        key,
        label,
        stages,
        graph=graph or ImportGraph(),
        description="Imported from Salesforce OpportunityStage values.",
        source_path="$",
    )


def _error(problems: list[Problem]) -> PipelineDefinitionError:
    return PipelineDefinitionError(None, problems)


def _root(data: bytes) -> Any:
    try:
        from defusedxml import DefusedXmlException
        from defusedxml.ElementTree import ParseError, fromstring
    except ImportError:
        raise MissingExtra(
            "reading Salesforce metadata needs defusedxml: pip install 'pipelinekit[salesforce]'"
        ) from None
    try:
        return fromstring(data, forbid_dtd=True)
    except ParseError as error:
        line, column = getattr(error, "position", (0, 0))
        raise _error([Problem("$", f"invalid XML at line {line} column {column}")]) from None
    except DefusedXmlException as error:
        raise _error([Problem("$", f"refused XML: {type(error).__name__}")]) from None


def _local(tag: object) -> str:
    return str(tag).removeprefix(_NS).rpartition("}")[2]


def _stage(path: str, element: Any, problems: list[Problem]) -> ImportedStage | None:
    fields: dict[str, str] = {}
    for child in element:
        fields[_local(child.tag)] = (child.text or "").strip()
    before = len(problems)
    key = fields.get("fullName")
    if not key:
        problems.append(Problem(f"{path}.fullName", "is required (the stage's API value)"))
    closed = _flag(path, "closed", fields, problems)
    won = _flag(path, "won", fields, problems)
    probability = _percent(path, fields.get("probability"), problems)
    category = None
    if fields.get("forecastCategory"):
        category = forecast_category(fields["forecastCategory"])
        if category is None:
            problems.append(
                Problem(
                    f"{path}.forecastCategory",
                    f"unknown forecast category {fields['forecastCategory']!r}; expected "
                    "Pipeline, BestCase, Forecast, MostLikely, Closed or Omitted",
                )
            )
    if won and closed is False:
        problems.append(Problem(f"{path}.won", "a won stage must be closed (closed = true)"))
    if len(problems) > before or key is None:
        return None
    kind = StageKind.WON if won else StageKind.LOST if closed else StageKind.OPEN
    if probability is None:
        probability = _HUNDRED if kind is StageKind.WON else _ZERO
    return ImportedStage(
        path=path,
        key=key,
        label=fields.get("label") or key,
        kind=kind,
        probability=probability,
        forecast=category,
    )


def _flag(path: str, name: str, fields: dict[str, str], problems: list[Problem]) -> bool | None:
    text = fields.get(name, "false").lower()
    if text not in ("true", "false"):
        problems.append(Problem(f"{path}.{name}", f"must be true or false, got {text!r}"))
        return None
    return text == "true"


def _percent(path: str, text: str | None, problems: list[Problem]) -> Decimal | None:
    if text is None or text == "":
        return None
    try:
        return Probability.percent(Decimal(text)).as_percent
    except (InvalidOperation, PipelinekitError):
        problems.append(
            Problem(
                f"{path}.probability",
                f"must be a percentage from 0 to 100 (Salesforce's unit), got {text!r}",
            )
        )
        return None
