"""Several pipelines side by side: find the one (and the version) an entity belongs to."""

from __future__ import annotations

from collections.abc import Iterator

from ..domain.leads import Lead
from ..domain.opportunities import Opportunity
from ..errors import PipelinekitError
from .pipeline import Pipeline

__all__ = ["PipelineSet", "UnknownPipeline"]


class UnknownPipeline(PipelinekitError, LookupError):
    """No pipeline with this key (or version) is known to the :class:`PipelineSet`."""

    def __init__(self, key: str, version: str | None, known: tuple[str, ...]) -> None:
        self.key = key
        self.version = version
        self.known = known
        what = f"pipeline {key!r}" + (f" version {version[:12]}" if version else "")
        super().__init__(f"unknown {what}; known pipelines: {', '.join(known) or 'none'}")

    def __reduce__(self) -> tuple[type[UnknownPipeline], tuple[str, str | None, tuple[str, ...]]]:
        return (type(self), (self.key, self.version, self.known))


class PipelineSet:
    """The pipelines an app uses, by key, each with every version it has seen.

    The last version added for a key is the current one.  Older versions stay
    available so an opportunity recorded under one can still be moved (or
    mapped to the current version with :meth:`Pipeline.change_pipeline`)::

        pipelines = PipelineSet(sales_pipeline(), lifecycle=lead_lifecycle())
        pipelines.for_entity(opportunity).fire(opportunity, "advance", at=now)
    """

    def __init__(self, *pipelines: Pipeline, lifecycle: Pipeline | None = None) -> None:
        self._versions: dict[str, dict[str, Pipeline]] = {}
        self._current: dict[str, Pipeline] = {}
        self.lifecycle = lifecycle
        for pipeline in pipelines:
            self.add(pipeline)

    def add(self, pipeline: Pipeline) -> None:
        """Add ``pipeline``; it becomes the current version of its key."""
        self._versions.setdefault(pipeline.key, {})[pipeline.version] = pipeline
        self._current[pipeline.key] = pipeline

    def get(self, key: str, version: str | None = None) -> Pipeline:
        """The current pipeline ``key``, or the given ``version`` of it."""
        versions = self._versions.get(key)
        if versions is None or (version is not None and version not in versions):
            raise UnknownPipeline(key, version, tuple(self._current))
        return versions[version] if version is not None else self._current[key]

    __getitem__ = get

    def for_entity(self, entity: Lead | Opportunity) -> Pipeline:
        """The pipeline ``entity`` moves through: a lead's lifecycle, or the pipeline and
        version an opportunity recorded (the current version when none is recorded)."""
        if isinstance(entity, Lead):
            if self.lifecycle is None:
                raise UnknownPipeline("lead lifecycle", None, tuple(self._current))
            return self.lifecycle
        return self.get(entity.pipeline, entity.pipeline_version)

    def versions(self, key: str) -> tuple[str, ...]:
        """The versions known for ``key``, oldest first."""
        return tuple(self._versions.get(key, ()))

    def __contains__(self, key: object) -> bool:
        return key in self._current

    def __iter__(self) -> Iterator[Pipeline]:
        return iter(self._current.values())

    def __len__(self) -> int:
        return len(self._current)

    def __repr__(self) -> str:
        return f"PipelineSet({', '.join(self._current)})"
