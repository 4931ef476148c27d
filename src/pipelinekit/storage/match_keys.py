"""Lookup keys of a record for finding its possible duplicates without reading the whole store.

Every stored lead, prospect and opportunity is indexed under the keys
:func:`match_keys` gives: its normalised email (``email:ada@acme.io``), the
domain of that email and its company's domain (``domain:acme.io``), and the
last :data:`PHONE_DIGITS` digits of its phone (``phone:0958``).
:meth:`UnitOfWork.records_by_match_keys <pipelinekit.storage.UnitOfWork.records_by_match_keys>`
returns the records indexed under any of the keys asked for; the built-in
adapters read an index, a third-party adapter that does not override it scans.

The keys find *candidates*, a superset of the records a duplicate rule can
match on: ``pipelinekit.dedupe.check`` scores each candidate with the rules.
The phone key is only the last digits so that one number written in E.164
(``+44 20 7946 0958``) and nationally (``020 7946 0958``) share it.
"""

from __future__ import annotations

from ..domain.companies import Company
from ..domain.contacts import Person
from ..domain.leads import Lead
from ..domain.opportunities import Opportunity
from ..domain.prospects import Prospect

__all__ = ["PHONE_DIGITS", "match_keys", "person_match_keys"]

#: How many trailing digits of a phone number its key keeps (the shortest national
#: significant numbers have four).
PHONE_DIGITS = 4


def match_keys(entity: Lead | Prospect | Opportunity) -> frozenset[str]:
    """The lookup keys of ``entity``: ``email:``, ``domain:`` and ``phone:`` values."""
    person = entity.person if isinstance(entity, Prospect) else entity.contact
    return person_match_keys(person, entity.company)


def person_match_keys(person: Person | None, company: Company | None) -> frozenset[str]:
    """The lookup keys of a record's ``person`` (a lead's or deal's contact) and ``company``."""
    keys: set[str] = set()
    if person is not None and person.email is not None:
        email = person.email.value.strip().lower()
        if email:
            keys.add(f"email:{email}")
            keys.add(f"domain:{email.rpartition('@')[2]}")
    if company is not None and company.domain:
        keys.add(f"domain:{company.domain}")
    if person is not None and person.phone is not None:
        digits = "".join(c for c in person.phone.normalised if c.isdigit())
        if digits:
            keys.add(f"phone:{digits[-PHONE_DIGITS:]}")
    return frozenset(keys)
