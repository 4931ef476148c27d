"""Reading a definition file's bytes, every failure a :class:`PipelineDefinitionError`."""

from __future__ import annotations

from pathlib import Path

from ...errors import Problem
from ...pipelines import PipelineDefinitionError

__all__ = ["read_source"]


def read_source(source: str | Path | bytes) -> bytes:
    """The bytes of ``source``: a path (``str`` or :class:`~pathlib.Path`) or the bytes."""
    if isinstance(source, bytes):
        return source
    path = Path(source)
    try:
        return path.read_bytes()
    except OSError as error:
        raise PipelineDefinitionError(
            None, [Problem("$", f"cannot read {path}: {error.strerror or error}")]
        ) from None
