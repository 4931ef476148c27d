"""The :class:`Pipeline`: the one public way to move leads and opportunities.

A thin facade: the compiled machinery (:class:`~.machine.PipelineMachine`)
plus the moves, one group per module of :mod:`pipelinekit.pipelines.operations`
(transitions, conversion, probability, opening, timing, bulk).  Those modules
work on the machinery and never import this class; it is made of them.
"""

from __future__ import annotations

from .operations.bulk import Bulk
from .operations.conversion import Conversions
from .operations.opening import Opening
from .operations.probability import Probabilities
from .operations.timing import Timing
from .operations.transitions import Transitions

__all__ = ["Pipeline"]


class Pipeline(Transitions, Conversions, Probabilities, Opening, Timing, Bulk):
    """A compiled pipeline: move leads and opportunities through its stages.

    Get one with :func:`~pipelinekit.pipelines.compile_pipeline` (cached per
    spec version and guard registry).  The moves: :meth:`fire`, :meth:`move`,
    :meth:`win`, :meth:`lose`, :meth:`reopen`, :meth:`open`, :meth:`convert`,
    :meth:`set_probability`, :meth:`change_pipeline` and :meth:`bulk`; the
    questions: :meth:`explain`, :meth:`available_events` and
    :meth:`is_rotting`.  Each move returns a new entity plus the domain
    events, and leaves the input untouched when it raises.  Introspection
    (``spec``, ``stages``, ``allowed_events``, ``candidates``,
    ``machine_class``) comes from :class:`~.machine.PipelineMachine`.
    """
