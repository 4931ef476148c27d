"""The typed domain core: value objects and the Lead, Prospect and Opportunity entities.

Imports only the standard library, attrs and python-statemachine.
"""

from .companies import Company
from .contacts import EmailAddress, Person, PhoneNumber, Seniority
from .custom import CustomValue, FrozenMap, custom_fields
from .engagement import Event
from .history import StageChange
from .ids import LeadId, OpportunityId, ProspectId, new_id, uuid7
from .leads import Lead
from .money import Money
from .opportunities import Opportunity, Outcome, ProbabilitySource
from .prospects import Prospect
from .sources import Channel, Source

__all__ = [
    "Channel",
    "Company",
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
    "ProbabilitySource",
    "Prospect",
    "ProspectId",
    "Seniority",
    "Source",
    "StageChange",
    "custom_fields",
    "new_id",
    "uuid7",
]
