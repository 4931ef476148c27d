"""Contract tests shipped with pipelinekit, for every storage adapter (ours and yours).

* :class:`StorageContract`: example-based tests of every documented behaviour.
* :class:`StatefulStorageContract`: a Hypothesis state machine that drives
  your adapter and the in-memory reference side by side and checks that they
  always agree.

Subclass both in your test suite and implement ``make_storage()``; see
``docs/storage.md``.  Needs pytest and Hypothesis (the ``test`` extra).
"""

from .stateful import StatefulStorageContract, storage_state_machine
from .storage import StorageContract

__all__ = ["StatefulStorageContract", "StorageContract", "storage_state_machine"]
