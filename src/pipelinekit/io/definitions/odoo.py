"""Odoo CRM stages, exported as CSV from *CRM > Configuration > Stages*, into a
:class:`PipelineSpec`.

Odoo's export writes either the technical field names (``id``, ``name``,
``sequence``, ``is_won``; the "import-compatible" export) or their labels
(``External ID``, ``Stage Name``, ``Sequence``, ``Is Won Stage?``); both are
read, other columns (``fold``, ``team_id``, ``requirements``) are ignored.

* the key is the External ID when the export has one (``crm.stage_lead1``), else
  the stage name; the label is the name;
* stages are ordered as Odoo orders them: by sequence, then name;
* a stage marked won is the won stage; every other stage is open;
* Odoo closes a lost opportunity by archiving it with a lost reason, not by
  moving it to a stage, so the pipeline gets one lost stage, ``lost``; pass
  Odoo's lost reasons (*CRM > Configuration > Lost Reasons*) as
  ``lost_reasons=`` to allow only those;
* Odoo computes probabilities per opportunity, not per stage: open stages get
  the ``probability`` column in percent when the export has one (older Odoo
  versions), else 0.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ...domain.probability import Probability
from ...errors import PipelinekitError, Problem
from ...pipelines import PipelineDefinitionError, PipelineSpec, StageKind
from .graph import ImportedStage, ImportGraph, build_spec
from .reading import read_source

__all__ = ["read_odoo"]

_COLUMNS = {
    "id": "id",
    "external id": "id",
    "name": "name",
    "stage name": "name",
    "sequence": "sequence",
    "is_won": "is_won",
    "is won stage?": "is_won",
    "probability": "probability",
    "probability (%)": "probability",
}
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no", ""})


def read_odoo(
    source: str | Path | bytes,
    *,
    key: str = "odoo",
    label: str = "Odoo opportunities",
    lost_reasons: Iterable[str] = (),
    graph: ImportGraph | None = None,
) -> PipelineSpec:
    """The pipeline of an Odoo ``crm.stage`` CSV export (a path, or its bytes) with a
    ``lost`` stage and ``graph``'s transitions (see the module docs).

    A bad file raises one :class:`~pipelinekit.pipelines.PipelineDefinitionError`
    listing every problem with its line and column (``$.line[3].is_won``).
    """
    raw = read_source(source)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        message = f"not UTF-8 (byte {error.start}): re-save it as UTF-8"
        raise PipelineDefinitionError(None, [Problem("$", message)]) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = {h: _COLUMNS.get(h.strip().lower()) for h in reader.fieldnames or ()}
    if "name" not in columns.values():
        raise PipelineDefinitionError(
            None, [Problem("$", "needs a 'name' (or 'Stage Name') column: the stage names")]
        )
    problems: list[Problem] = []
    found: list[tuple[int, str, ImportedStage]] = []
    for line, row in enumerate(reader, start=2):
        values = {field: (row.get(h) or "").strip() for h, field in columns.items() if field}
        stage = _stage(f"$.line[{line}]", values, problems)
        if stage is not None:
            found.append(stage)
    if problems:
        raise PipelineDefinitionError(None, problems)
    stages = [stage for _, _, stage in sorted(found, key=lambda item: item[:2])]
    stages.append(
        ImportedStage(
            path="$", key="lost", label="Lost", kind=StageKind.LOST, probability=Decimal(0)
        )
    )
    return build_spec(
        key,
        label,
        stages,
        graph=graph or ImportGraph(),
        description="Imported from Odoo CRM stages.",
        source_path="$",
        lost_reasons=tuple(lost_reasons),
    )


def _stage(
    path: str, values: dict[str, str], problems: list[Problem]
) -> tuple[int, str, ImportedStage] | None:
    before = len(problems)
    name = values.get("name", "")
    if not name:
        problems.append(Problem(f"{path}.name", "is required (the stage's name)"))
    sequence = 0
    if values.get("sequence"):
        try:
            sequence = int(values["sequence"])
        except ValueError:
            problems.append(
                Problem(f"{path}.sequence", f"must be a whole number, got {values['sequence']!r}")
            )
    won_text = values.get("is_won", "").lower()
    if won_text not in _TRUE | _FALSE:
        problems.append(Problem(f"{path}.is_won", f"must be true or false, got {won_text!r}"))
    probability = Decimal(0)
    if values.get("probability"):
        try:
            probability = Probability.percent(Decimal(values["probability"])).as_percent
        except (InvalidOperation, PipelinekitError):
            problems.append(
                Problem(
                    f"{path}.probability",
                    f"must be a percentage from 0 to 100, got {values['probability']!r}",
                )
            )
    if len(problems) > before:
        return None
    won = won_text in _TRUE
    return (
        sequence,
        name,
        ImportedStage(
            path=path,
            key=values.get("id") or name,
            label=name,
            kind=StageKind.WON if won else StageKind.OPEN,
            probability=Decimal(100) if won else probability,
            forecast=None,
        ),
    )
