"""The typed domain core: value objects, qualification results and the three entities.

The ground floor of pipelinekit: it imports only the standard library, attrs
and :mod:`pipelinekit.errors` / :mod:`pipelinekit.clock`, so importing an
entity loads nothing of pipelines, qualification or storage.
"""

from .companies import Company
from .contacts import EmailAddress, Person, PhoneNumber, Seniority
from .custom import CustomValue, FrozenMap, custom_fields
from .engagement import Event
from .history import ProbabilityChange, StageChange
from .ids import LeadId, OpportunityId, ProspectId, new_id, uuid7
from .leads import Lead
from .money import Money
from .opportunities import Opportunity, Outcome, ProbabilitySource
from .probability import Probability, ProbabilityUnit
from .prospects import Prospect
from .results import BreakdownLine, CriterionStatus, QualificationResult, Verdict
from .sources import Channel, Source

__all__ = [
    "BreakdownLine",
    "Channel",
    "Company",
    "CriterionStatus",
    "CustomValue",
    "EmailAddress",
    "Event",
    "FrozenMap",
    "Lead",
    "LeadId",
    "Money",
    "Opportunity",
    "OpportunityId",
    "Outcome",
    "Person",
    "PhoneNumber",
    "Probability",
    "ProbabilityChange",
    "ProbabilitySource",
    "ProbabilityUnit",
    "Prospect",
    "ProspectId",
    "QualificationResult",
    "Seniority",
    "Source",
    "StageChange",
    "Verdict",
    "custom_fields",
    "new_id",
    "uuid7",
]
