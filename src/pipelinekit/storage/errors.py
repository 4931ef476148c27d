"""Errors raised by storage adapters, all rooted in :class:`pipelinekit.PipelinekitError`.

Adapters translate their driver's exceptions into these at the boundary and
keep the original as ``__cause__``; a caller never has to catch a driver
exception.
"""

from __future__ import annotations

from ..errors import PipelinekitError

__all__ = [
    "ConcurrencyConflict",
    "CorruptRecord",
    "DuplicateExternalId",
    "NotFound",
    "ReadOnlyUnitOfWork",
    "SchemaNotReady",
    "SchemaVersionError",
    "StorageBusy",
    "StorageError",
    "UnitOfWorkClosed",
]


class StorageError(PipelinekitError):
    """A storage operation failed (a translated driver error, or a misuse of the storage API).

    ``retryable`` says whether running the same unit of work again may succeed
    (a lock timeout, a serialization failure, a lost connection).
    """

    retryable: bool = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable


class StorageBusy(StorageError):
    """The database stayed locked or unavailable longer than allowed; retry later."""

    retryable = True


class UnitOfWorkClosed(StorageError):
    """A unit of work was used outside its ``with`` block or after it finished."""


class ReadOnlyUnitOfWork(StorageError):
    """A write was attempted in a unit of work opened with ``read_only=True``."""


class SchemaVersionError(StorageError):
    """The database schema was written by a newer pipelinekit than the one running.

    ``found`` is the version recorded in the database, ``supported`` the newest
    version this pipelinekit knows how to use.
    """

    def __init__(self, found: int, supported: int) -> None:
        self.found = found
        self.supported = supported
        super().__init__(
            f"the database has pipelinekit storage schema version {found}, but this "
            f"pipelinekit supports up to version {supported}: upgrade pipelinekit"
        )

    def __reduce__(self) -> tuple[type[SchemaVersionError], tuple[int, int]]:
        return (type(self), (self.found, self.supported))


class SchemaNotReady(StorageError):
    """The database has no pipelinekit schema, or an older one, and this storage may not migrate.

    Raised by a storage opened with ``auto_schema=False`` (and by
    ``check_schema()``): run ``pipelinekit --db URL db upgrade`` (or call
    ``storage.create_schema()``) in the deployment step first.  ``found`` is the
    version recorded in the database (0: no schema), ``needed`` the one this
    pipelinekit uses.
    """

    def __init__(self, found: int, needed: int) -> None:
        self.found = found
        self.needed = needed
        state = "has no pipelinekit schema" if found == 0 else f"has schema version {found}"
        super().__init__(
            f"the database {state}, and this pipelinekit needs version {needed}: run "
            "`pipelinekit --db URL db upgrade` (or storage.create_schema()) before opening it "
            "with auto_schema=False"
        )

    def __reduce__(self) -> tuple[type[SchemaNotReady], tuple[int, int]]:
        return (type(self), (self.found, self.needed))


class NotFound(StorageError, LookupError):
    """No stored ``kind`` (``lead``, ``prospect``, ``opportunity``) has the id ``key``."""

    def __init__(self, kind: str, key: str) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"no {kind} with id {key!r}")

    def __reduce__(self) -> tuple[type[NotFound], tuple[str, str]]:
        return (type(self), (self.kind, self.key))


class ConcurrencyConflict(StorageError):
    """A write was based on a version that is no longer the stored one; nothing was changed.

    ``expected`` is the version the write was based on (0 for "not stored
    yet"), ``actual`` the version stored now (``None`` when the entity is gone).
    Reload the entity, re-apply the change and save again.
    """

    retryable = True

    def __init__(self, kind: str, entity_id: str, expected: int, actual: int | None) -> None:
        self.kind = kind
        self.entity_id = entity_id
        self.expected = expected
        self.actual = actual
        if expected == 0:
            detail = f"it is already stored (version {actual})"
        elif actual is None:
            detail = "it is not stored (deleted, or never saved)"
        else:
            detail = f"the stored version is {actual}"
        super().__init__(
            f"cannot save {kind} {entity_id!r} based on version {expected}: {detail}; "
            "reload it, re-apply the change and save again"
        )

    def __reduce__(self) -> tuple[type[ConcurrencyConflict], tuple[str, str, int, int | None]]:
        return (type(self), (self.kind, self.entity_id, self.expected, self.actual))


class DuplicateExternalId(StorageError):
    """Another stored ``kind`` already uses ``external_id`` (external ids are unique per kind).

    ``existing_id`` is the id of the entity that holds it (``None`` if unknown).
    Use :meth:`~pipelinekit.storage.Repository.upsert` to update by external id.
    """

    def __init__(self, kind: str, external_id: str, existing_id: str | None) -> None:
        self.kind = kind
        self.external_id = external_id
        self.existing_id = existing_id
        held = f" by {existing_id!r}" if existing_id else ""
        super().__init__(
            f"external id {external_id!r} is already used{held} for another {kind}; "
            "use upsert() to update the stored one"
        )

    def __reduce__(self) -> tuple[type[DuplicateExternalId], tuple[str, str, str | None]]:
        return (type(self), (self.kind, self.external_id, self.existing_id))


class CorruptRecord(StorageError):
    """A stored document cannot be read back: not JSON, or not a valid entity any more.

    ``table`` and ``entity_id`` name the record (``entity_id`` is ``None`` when
    even that cannot be found), ``problem`` says what is wrong with it.  Other
    records stay readable; repair or delete this one (it was written by
    something other than pipelinekit, or damaged on disk).
    """

    def __init__(self, table: str, entity_id: str | None, problem: str) -> None:
        self.table = table
        self.entity_id = entity_id
        self.problem = problem
        super().__init__(f"corrupt record {entity_id!r} in table {table!r}: {problem}")

    def __reduce__(self) -> tuple[type[CorruptRecord], tuple[str, str | None, str]]:
        return (type(self), (self.table, self.entity_id, self.problem))
