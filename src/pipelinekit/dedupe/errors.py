"""Errors of duplicate finding and merging (all :class:`~pipelinekit.PipelinekitError`)."""

from __future__ import annotations

from ..errors import PipelinekitError

__all__ = ["DedupeDependencyError", "MergeRefused", "UnmergeRefused"]


class DedupeDependencyError(PipelinekitError, ImportError):
    """Fuzzy rules need rapidfuzz: ``pip install "pipelinekit[dedupe]"``."""

    def __init__(self) -> None:
        super().__init__(
            "fuzzy matching rules (email_domain_name, company_name) need rapidfuzz: install "
            'the dedupe extra with `pip install "pipelinekit[dedupe]"`'
        )


class MergeRefused(PipelinekitError, ValueError):
    """A merge was refused before anything was written; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)

    def __reduce__(self) -> tuple[type[MergeRefused], tuple[str]]:
        return (type(self), (self.reason,))


class UnmergeRefused(PipelinekitError, ValueError):
    """An undo was refused before anything was written: a record changed since the merge
    (``changed`` lists ``kind:id`` of each), or the merge was already undone."""

    def __init__(self, merge_id: str, reason: str, changed: tuple[str, ...] = ()) -> None:
        self.merge_id = merge_id
        self.reason = reason
        self.changed = changed
        super().__init__(f"cannot undo merge {merge_id}: {reason}")

    def __reduce__(self) -> tuple[type[UnmergeRefused], tuple[str, str, tuple[str, ...]]]:
        return (type(self), (self.merge_id, self.reason, self.changed))
