"""Diagrams of pipelines: Mermaid and Markdown with no extra dependency; DOT, SVG and PNG
through the ``diagrams`` extra (pydot) plus Graphviz's ``dot`` program.

Pass an entity to highlight its current stage.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..domain.leads import Lead
from ..domain.opportunities import Opportunity
from ..errors import PipelinekitError
from .guards import Subject
from .machine import Chart, PipelineMachine

__all__ = ["DiagramDependencyError", "to_dot", "to_markdown", "to_mermaid", "write_image"]

_IMAGE_FORMATS = ("svg", "png")


class DiagramDependencyError(PipelinekitError, ImportError):
    """A diagram format needs something that is not installed; the message says what."""


def _target(pipeline: PipelineMachine, entity: Lead | Opportunity | None) -> type[Chart] | Chart:
    if entity is None:
        return pipeline.machine_class
    _, stage = pipeline.locate(entity, "diagram")
    return pipeline.bind(stage, Subject(entity))[0]


def to_mermaid(pipeline: PipelineMachine, entity: Lead | Opportunity | None = None) -> str:
    """Mermaid ``stateDiagram-v2`` source; ``entity``'s stage is highlighted."""
    return format(_target(pipeline, entity), "mermaid")


def to_markdown(pipeline: PipelineMachine) -> str:
    """A Markdown table of the pipeline's transitions (source, event, target, guards)."""
    return format(pipeline.machine_class, "md")


def _require_pydot() -> None:
    try:
        import pydot  # noqa: F401
    except ImportError:
        raise DiagramDependencyError(
            "DOT, SVG and PNG diagrams need pydot: pip install 'pipelinekit[diagrams]'"
        ) from None


def to_dot(pipeline: PipelineMachine, entity: Lead | Opportunity | None = None) -> str:
    """Graphviz DOT source (needs the ``diagrams`` extra)."""
    _require_pydot()
    return format(_target(pipeline, entity), "dot")


def write_image(
    pipeline: PipelineMachine,
    path: str | Path,
    *,
    entity: Lead | Opportunity | None = None,
    format: str | None = None,
) -> Path:
    """Render the pipeline to an SVG or PNG file (format from ``path``'s suffix by default).

    Needs the ``diagrams`` extra and Graphviz's ``dot`` program (Debian/Ubuntu:
    ``apt-get install graphviz``); raises :class:`DiagramDependencyError`
    naming what to install when either is missing.
    """
    out = Path(path)
    fmt = (format or out.suffix.lstrip(".")).lower()
    if fmt not in _IMAGE_FORMATS:
        raise ValueError(f"image format must be one of {', '.join(_IMAGE_FORMATS)}, got {fmt!r}")
    _require_pydot()
    if shutil.which("dot") is None:
        raise DiagramDependencyError(
            "SVG and PNG diagrams need Graphviz's 'dot' program on PATH: install the "
            "'graphviz' package (apt-get install graphviz, brew install graphviz) "
            "or see https://graphviz.org/download/"
        )
    from statemachine.contrib.diagram import DotGraphMachine

    graph = DotGraphMachine(_target(pipeline, entity)).get_graph()  # type: ignore[no-untyped-call]  # python-statemachine leaves it untyped
    data = graph.create(format=fmt)
    out.write_bytes(data)
    return out
