"""``pipelinekit pipeline validate|show|diagram|import``: check, show, draw and import
pipeline definitions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import attrs
import typer

from ...io import (
    MissingExtra,
    OutputFileError,
    not_utf8,
    read_hubspot,
    read_odoo,
    read_salesforce,
)
from ...pipelines import (
    DiagramDependencyError,
    Pipeline,
    PipelineDefinitionError,
    PipelineSpec,
    compile_pipeline,
    dumps_pipeline,
    lead_lifecycle,
    loads_pipeline,
    sales_pipeline,
    to_dot,
    to_markdown,
    to_mermaid,
    write_image,
)
from .._context import JsonOption, UserError
from .._printing import console, print_json, print_pipeline, say
from ..exit_codes import ExitCode

__all__ = ["diagram", "import_", "show", "validate"]

FileArg = Annotated[
    str,
    typer.Argument(
        help="A pipeline TOML file, or 'sales' / 'lead_lifecycle'.",
        show_default=False,
        metavar="FILE",
    ),
]
_BUILTINS = {"sales": sales_pipeline, "lead_lifecycle": lead_lifecycle}
_TEXT_FORMATS = {"mermaid": to_mermaid, "markdown": to_markdown, "dot": to_dot}


def _pipeline(source: str) -> Pipeline:
    """A built-in pipeline by name, or a compiled TOML file (every problem reported)."""
    if source in _BUILTINS and not Path(source).exists():
        return _BUILTINS[source]()
    path = Path(source)
    if not path.is_file():
        raise UserError(
            f"{source}: no such file (give a pipeline TOML file, or a built-in: "
            "sales, lead_lifecycle)",
            ExitCode.INPUT,
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise UserError(f"{path}: {not_utf8(error)}", ExitCode.INPUT) from error
    except OSError as error:
        raise UserError(f"cannot read {path}: {error.strerror or error}", ExitCode.INPUT) from error
    try:
        return compile_pipeline(loads_pipeline(text))
    except PipelineDefinitionError as error:
        raise UserError(
            f"{path}: {len(error.problems)} problem(s) in the pipeline definition "
            "(see docs/howto-pipeline-toml.md)",
            ExitCode.INVALID,
            tuple(error.problems),
        ) from error


def validate(file: FileArg, json_out: JsonOption = False) -> None:
    """Check a pipeline definition; list every problem with its path. Exit code 1 if invalid."""
    try:
        pipeline = _pipeline(file)
    except UserError as error:
        if json_out and error.code is ExitCode.INVALID:
            print_json({"valid": False, "problems": [attrs.asdict(p) for p in error.problems]})
            raise typer.Exit(ExitCode.INVALID) from None
        raise
    if json_out:
        print_json({"valid": True, "key": pipeline.key, "version": pipeline.version})
    else:
        console().print(
            f"{file}: pipeline '{pipeline.key}' is valid "
            f"({len(pipeline.spec.stages)} stages, version {pipeline.version[:12]})"
        )


def _as_data(pipeline: Pipeline) -> dict[str, Any]:
    spec = pipeline.spec
    return {
        "key": spec.key,
        "label": spec.label,
        "version": pipeline.version,
        "stages": [
            {
                "key": s.key,
                "label": s.label,
                "kind": s.kind.value,
                "order": s.order,
                "probability": s.probability,
                "forecast": s.forecast,
                "rotting_days": s.rotting_days,
            }
            for s in spec.stages
        ],
        "transitions": [
            {
                "event": t.event,
                "sources": list(t.sources),
                "target": t.target,
                "guards": [g.name for g in t.guards],
            }
            for t in spec.transitions
        ],
    }


def show(file: FileArg, json_out: JsonOption = False) -> None:
    """Show a pipeline's stages and transitions."""
    pipeline = _pipeline(file)
    if json_out:
        print_json(_as_data(pipeline))
    else:
        print_pipeline(pipeline.spec)


def diagram(
    file: FileArg,
    format: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="mermaid|markdown|dot|svg|png",
            help="mermaid, markdown, dot, svg or png.",
        ),
    ] = "mermaid",
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help="Output file (required for svg and png)."),
    ] = None,
) -> None:
    """Draw a pipeline: Mermaid or a Markdown table (no extra needed), DOT, SVG or PNG."""
    pipeline = _pipeline(file)
    try:
        if format in ("svg", "png"):
            if out is None:
                raise UserError(
                    f"--format {format} writes a file: pass --out FILE.{format}", ExitCode.USAGE
                )
            try:
                write_image(pipeline, out, format=format)
            except OSError as error:
                raise OutputFileError(out, error.strerror or str(error)) from error
            say(f"Wrote {out}")
            return
        render = _TEXT_FORMATS.get(format)
        if render is None:
            raise UserError(
                f"--format {format!r}: use mermaid, markdown, dot, svg or png", ExitCode.USAGE
            )
        text = render(pipeline)
    except DiagramDependencyError as error:
        raise UserError(str(error), ExitCode.MISSING_EXTRA) from error
    if out is None:
        sys.stdout.write(text + "\n")
        return
    try:
        out.write_text(text + "\n", encoding="utf-8")
    except OSError as error:
        raise OutputFileError(out, error.strerror or str(error)) from error
    say(f"Wrote {out}")


_SOURCES = {".json": "hubspot", ".xml": "salesforce", ".csv": "odoo"}


def import_(
    file: Annotated[
        Path,
        typer.Argument(
            help="A HubSpot pipelines API response (.json), a Salesforce "
            "OpportunityStage.standardValueSet-meta.xml file or an Odoo crm.stage export (.csv).",
            show_default=False,
            metavar="FILE",
        ),
    ],
    source: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="hubspot|salesforce|odoo",
            help="What FILE is (default: from its suffix: .json hubspot, .xml salesforce, "
            ".csv odoo).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", metavar="DIR", help="Write each pipeline to DIR/<key>.toml (else stdout)."
        ),
    ] = None,
    unit: Annotated[
        str,
        typer.Option(
            "--unit", metavar="percent|fraction", help="Write probabilities in this unit."
        ),
    ] = "percent",
    key: Annotated[
        str | None,
        typer.Option("--key", help="The pipeline key (Salesforce, Odoo; HubSpot uses its ids)."),
    ] = None,
) -> None:
    """Import pipeline definitions from HubSpot, Salesforce or Odoo as pipelinekit TOML."""
    kind = source or _SOURCES.get(file.suffix.lower())
    if kind not in ("hubspot", "salesforce", "odoo"):
        raise UserError(
            f"{file}: say what it is with --from hubspot, salesforce or odoo", ExitCode.USAGE
        )
    if unit not in ("percent", "fraction"):
        raise UserError(f"--unit {unit!r}: use percent or fraction", ExitCode.USAGE)
    if not file.is_file():
        raise UserError(f"{file}: no such file", ExitCode.INPUT)
    try:
        specs: tuple[PipelineSpec, ...]
        if kind == "hubspot":
            specs = read_hubspot(file)
        elif kind == "salesforce":
            specs = (read_salesforce(file, key=key or "salesforce"),)
        else:
            specs = (read_odoo(file, key=key or "odoo"),)
    except MissingExtra as error:
        raise UserError(str(error), ExitCode.MISSING_EXTRA) from error
    except PipelineDefinitionError as error:
        raise UserError(
            f"{file}: {len(error.problems)} problem(s) in the {kind} definition",
            ExitCode.INVALID,
            tuple(error.problems),
        ) from error
    texts = [(spec.key, dumps_pipeline(spec, probability_unit=unit)) for spec in specs]
    if out is None:
        for name, text in texts:
            sys.stdout.write(f"# {name}.toml\n{text}\n")
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in texts:
            (out / f"{name}.toml").write_text(text, encoding="utf-8")
    except OSError as error:
        raise OutputFileError(out, error.strerror or str(error)) from error
    say(f"Wrote {len(texts)} pipeline(s) to {out}")
