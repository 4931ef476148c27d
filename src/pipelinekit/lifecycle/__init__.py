"""Where qualification meets the lead lifecycle: verdicts become lifecycle moves.

Strategies (:mod:`pipelinekit.qualification`) and stage machines
(:mod:`pipelinekit.pipelines`) are siblings that never import each other; this
layer sits above both and combines them:

* :func:`propose` turns a :class:`~pipelinekit.QualificationResult` into a
  :class:`Proposal` (the lifecycle event it calls for, with a
  :class:`Hysteresis` band against flapping and staleness instead of demotion);
* :func:`apply_proposal` fires that event through the lifecycle pipeline.
"""

from .apply import apply_proposal
from .proposals import Hysteresis, Proposal, propose, propose_many

__all__ = ["Hysteresis", "Proposal", "apply_proposal", "propose", "propose_many"]
