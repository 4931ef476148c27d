"""Storage: repository and unit-of-work ports, and the in-memory adapter.

``import pipelinekit.storage`` needs no database library.  The SQL adapters
(SQLite, PostgreSQL) live in :mod:`pipelinekit.storage.sql`, behind the
``sql`` and ``postgres`` extras::

    from pipelinekit.storage import memory_storage
    from pipelinekit.storage.sql import sqlite_storage, postgres_storage

Every adapter passes the same contract suite
(:mod:`pipelinekit.testing.contracts`).  An adapter may also offer
:class:`AnalyticsQueries` (the optional analytics pushdown, defined in
:mod:`pipelinekit.analytics.ports`) on its units of work.
"""

from .erasure import ERASED, ErasureReport
from .errors import (
    ConcurrencyConflict,
    CorruptRecord,
    DuplicateExternalId,
    NotFound,
    ReadOnlyUnitOfWork,
    SchemaNotReady,
    SchemaVersionError,
    StorageBusy,
    StorageError,
    UnitOfWorkClosed,
)
from .memory import memory_storage
from .ports import (
    AnalyticsQueries,
    EventStore,
    FrequencyStore,
    LeadRepository,
    OpportunityRepository,
    ProspectRepository,
    Repository,
    ResultStore,
    Storage,
    StoredResult,
    UnitOfWork,
)
from .queries import LeadQuery, OpportunityQuery, Page, ProspectQuery, Query
from .records import EventRecord

__all__ = [
    "ERASED",
    "AnalyticsQueries",
    "ConcurrencyConflict",
    "CorruptRecord",
    "DuplicateExternalId",
    "ErasureReport",
    "EventRecord",
    "EventStore",
    "FrequencyStore",
    "LeadQuery",
    "LeadRepository",
    "NotFound",
    "OpportunityQuery",
    "OpportunityRepository",
    "Page",
    "ProspectQuery",
    "ProspectRepository",
    "Query",
    "ReadOnlyUnitOfWork",
    "Repository",
    "ResultStore",
    "SchemaNotReady",
    "SchemaVersionError",
    "Storage",
    "StorageBusy",
    "StorageError",
    "StoredResult",
    "UnitOfWork",
    "UnitOfWorkClosed",
    "memory_storage",
]
