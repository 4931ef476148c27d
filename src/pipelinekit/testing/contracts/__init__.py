"""Contract tests shipped with pipelinekit, for every storage adapter (ours and yours).

* :class:`StorageContract`: example-based tests of every documented behaviour.
* :class:`StatefulStorageContract`: a Hypothesis state machine that drives
  your adapter and the in-memory reference side by side and checks that they
  always agree.
* :class:`AnalyticsContract`: every analytics report computed from a unit of
  work of your storage equals the report computed from the entities (the proof
  of an :class:`~pipelinekit.analytics.ports.AnalyticsQueries` pushdown).

Subclass them in your test suite and implement ``make_storage()``; see
``docs/storage-adapters.md``.  Needs pytest and Hypothesis (the ``test`` extra).
"""

from .analytics import AnalyticsContract
from .stateful import StatefulStorageContract, storage_state_machine
from .storage import StorageContract

__all__ = [
    "AnalyticsContract",
    "StatefulStorageContract",
    "StorageContract",
    "storage_state_machine",
]
