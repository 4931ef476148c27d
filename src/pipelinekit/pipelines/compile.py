"""Compiling a :class:`~.spec.PipelineSpec` once per version into a :class:`~.pipeline.Pipeline`.

:func:`compile_pipeline` builds the machinery (:mod:`.machine`) behind the
:class:`~.pipeline.Pipeline` facade and caches it per spec version and guard
registry, so every caller shares one compiled pipeline.
"""

from __future__ import annotations

import threading

from .guards import GuardRegistry, default_guards
from .pipeline import Pipeline
from .spec import PipelineSpec

__all__ = ["Pipeline", "compile_pipeline"]

_CACHE: dict[tuple[str, GuardRegistry], Pipeline] = {}
_LOCK = threading.Lock()


def compile_pipeline(spec: PipelineSpec, *, guards: GuardRegistry | None = None) -> Pipeline:
    """Compile ``spec`` (once per spec version and guard registry) into a :class:`Pipeline`.

    Unknown guards or bad guard parameters raise :class:`PipelineDefinitionError`.
    """
    registry = guards if guards is not None else default_guards()
    key = (spec.version, registry)
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is None:
            cached = _CACHE[key] = Pipeline(spec, registry)
        return cached
