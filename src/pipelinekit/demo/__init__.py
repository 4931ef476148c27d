"""Synthetic demo data: seeded, realistic leads and the sales story the demo tells.

* :func:`synthetic_leads` generates leads (sources, companies, contacts,
  BANT answers, months of engagement events) for demos and experiments;
* :func:`run_scenario` qualifies them with :func:`demo_scorer` (an ICP fit
  score blended with BANT), converts the qualified ones and works the deals
  through the classic five-stage sales pipeline: about one lead in 25 becomes a customer.

Needs nothing beyond pipelinekit's core dependencies::

    from pipelinekit.demo import DEFAULT_START, run_scenario, synthetic_leads

    leads = synthetic_leads(500, seed=25)
    outcome = run_scenario(leads, as_of=DEFAULT_START + timedelta(days=180))
"""

from .dataset import DEFAULT_START, seeded_id, synthetic_leads
from .scenario import DemoOutcome, demo_icp, demo_scorer, run_scenario

__all__ = [
    "DEFAULT_START",
    "DemoOutcome",
    "demo_icp",
    "demo_scorer",
    "run_scenario",
    "seeded_id",
    "synthetic_leads",
]
