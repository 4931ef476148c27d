"""Personal-data erasure: remove a lead's personal data wherever it was copied.

What counts as personal: the contact's name, email address and phone number,
and free text (notes, stage-history notes, event properties and payload
fields that hold personal data or repeat any of those strings).  What stays,
for reporting: ids, statuses and stages, dates, owners, sources, companies,
amounts, scores and the structure of every stored record.

An external id that contains erased data (some systems key people by email)
is removed too.  A contact person is replaced by a placeholder ``Person(name="[erased]")``
that keeps the non-identifying job title and seniority.  A prospect's person
or an opportunity's contact is treated as the lead's person when their name,
email or phone matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from ..clock import Clock, resolve_time
from ..domain.contacts import Person
from ..domain.custom import FrozenMap
from ..domain.engagement import Event
from ..domain.history import StageChange
from ..domain.sources import Source
from ..qualification.results import QualificationResult
from ..serialization import from_dict, to_dict

if TYPE_CHECKING:
    from .ports import UnitOfWork

__all__ = ["ERASED", "PERSONAL_KEYS", "ErasureReport", "erase_personal_data"]

#: What erased text is replaced with.
ERASED = "[erased]"

#: Keys of event properties, custom fields and event payloads that always hold personal data.
PERSONAL_KEYS = frozenset(
    {
        "name",
        "first_name",
        "last_name",
        "full_name",
        "contact_name",
        "email",
        "email_address",
        "phone",
        "phone_number",
        "mobile",
        "address",
        "ip",
        "ip_address",
        "message",
        "comment",
        "comments",
        "note",
        "notes",
        "text",
        "body",
    }
)

_MIN_SUBSTRING = 4


@attrs.frozen
class ErasureReport:
    """What :func:`erase_personal_data` changed (ids only, never the erased data)."""

    lead_id: str
    prospect_ids: tuple[str, ...]
    opportunity_ids: tuple[str, ...]
    events_scrubbed: int
    results_scrubbed: int


class _Scrubber:
    """Replaces every occurrence of the erased strings (case-insensitively)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        items = {s.strip() for s in secrets if s and s.strip()}
        self.exact = frozenset(s.casefold() for s in items)
        long = sorted((s for s in items if len(s) >= _MIN_SUBSTRING), key=len, reverse=True)
        self.pattern = re.compile("|".join(map(re.escape, long)), re.IGNORECASE) if long else None

    def text(self, value: str) -> str:
        if value.strip().casefold() in self.exact:
            return ERASED
        if self.pattern is None:
            return value
        return self.pattern.sub(ERASED, value)

    def optional(self, value: str | None) -> str | None:
        return None if value is None else self.text(value)

    def json(self, value: Any, *, drop_keys: bool) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {
                k: self.json(v, drop_keys=drop_keys)
                for k, v in value.items()
                if not (drop_keys and k.casefold() in PERSONAL_KEYS)
            }
        if isinstance(value, list):
            return [self.json(v, drop_keys=drop_keys) for v in value]
        return value

    def mapping(self, value: FrozenMap) -> FrozenMap:
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key.casefold() in PERSONAL_KEYS:
                continue
            out[key] = self.text(item) if isinstance(item, str) else item
        return value if out == dict(value) else FrozenMap(out)


def _person_strings(person: Person | None) -> set[str]:
    if person is None:
        return set()
    out = {person.name or ""}
    if person.email is not None:
        out.add(person.email.value)
    if person.phone is not None:
        out |= {person.phone.raw, person.phone.normalised}
    return out - {""}


def _same_person(person: Person | None, reference: Person | None) -> bool:
    if person is None or reference is None:
        return False
    if (
        person.email is not None
        and reference.email is not None
        and person.email.value.casefold() == reference.email.value.casefold()
    ):
        return True
    if (
        person.phone is not None
        and reference.phone is not None
        and person.phone.normalised == reference.phone.normalised
    ):
        return True
    return (
        person.name is not None
        and reference.name is not None
        and person.name.strip().casefold() == reference.name.strip().casefold()
    )


def _placeholder(person: Person, scrub: _Scrubber) -> Person:
    return Person(
        name=ERASED, job_title=scrub.optional(person.job_title), seniority=person.seniority
    )


def _history(history: tuple[StageChange, ...]) -> tuple[StageChange, ...]:
    return tuple(attrs.evolve(c, note=None) if c.note is not None else c for c in history)


def _source(source: Source | None, scrub: _Scrubber) -> Source | None:
    if source is None or source.detail is None:
        return source
    detail = scrub.text(source.detail)
    return source if detail == source.detail else Source(source.channel, detail)


def _external_id(value: str | None, scrub: _Scrubber) -> str | None:
    # An external id that is (or contains) an email address or phone number is
    # personal data too; dropping it means a later import creates a new record.
    return None if value is None or scrub.text(value) != value else value


def _engagement(events: tuple[Event, ...], scrub: _Scrubber) -> tuple[Event, ...]:
    return tuple(Event(e.kind, e.at, scrub.mapping(e.properties)) for e in events)


def _result(result: QualificationResult | None, scrub: _Scrubber) -> QualificationResult | None:
    if result is None:
        return None
    doc = scrub.json(to_dict(result), drop_keys=False)
    return from_dict(QualificationResult, doc)


def _free_text(entity: Any) -> set[str]:
    found = {entity.notes or ""}
    for change in getattr(entity, "history", ()):
        found.add(change.note or "")
    return found - {""}


def erase_personal_data(
    uow: UnitOfWork, lead_id: str, *, at: datetime | None = None, clock: Clock | None = None
) -> ErasureReport:
    """Erase lead ``lead_id``'s personal data in ``uow`` (effective on ``uow.commit()``).

    Rewrites the lead, its prospect, its opportunities (each gets a new
    version and ``updated_at``), their stored qualification results and
    domain events, and appends a ``personal_data_erased`` event for the lead.
    Raises :class:`~pipelinekit.storage.errors.NotFound` for an unknown lead.
    """
    from .records import EventRecord

    now = resolve_time(at, clock)
    lead = uow.leads.get(lead_id)
    person = lead.contact
    prospect = uow.prospects.lookup(lead.prospect_id) if lead.prospect_id else None
    opportunities = {o.id: o for o in _opportunities_of(uow, lead_id)}
    if lead.opportunity_id and lead.opportunity_id not in opportunities:
        linked = uow.opportunities.lookup(lead.opportunity_id)
        if linked is not None:
            opportunities[linked.id] = linked

    secrets = _person_strings(person) | _free_text(lead)
    for event in lead.engagement:
        for key, value in event.properties.items():
            if key.casefold() in PERSONAL_KEYS and isinstance(value, str):
                secrets.add(value)
    prospect_is_person = prospect is not None and _same_person(prospect.person, person)
    if prospect is not None and prospect_is_person:
        secrets |= _person_strings(prospect.person) | _free_text(prospect)
    for opp in opportunities.values():
        if _same_person(opp.contact, person):
            secrets |= _person_strings(opp.contact)
        secrets |= _free_text(opp)
    scrub = _Scrubber(secrets)

    refs: list[tuple[str, str]] = [("lead", lead.id)]
    refs += [("prospect", prospect.id)] if prospect is not None else []
    refs += [("opportunity", oid) for oid in opportunities]

    # Results first, so saving the scrubbed entities finds their result already stored.
    results = 0
    for kind, entity_id in refs:
        for stored in uow.results._for_subject(kind, entity_id):
            doc = scrub.json(stored.doc, drop_keys=False)
            if doc != stored.doc:
                uow.results._replace(stored, type(stored).from_doc(kind, entity_id, doc))
                results += 1
    events = 0
    for kind, entity_id in refs:
        for record in uow.events.read(entity_kind=kind, entity_id=entity_id):
            payload = scrub.json(record.payload, drop_keys=True)
            if payload != record.payload:
                assert record.seq is not None
                uow.events._replace_payload(record.seq, payload)
                events += 1

    uow.leads.save(
        lead.evolve(
            contact=None if person is None else _placeholder(person, scrub),
            source=_source(lead.source, scrub),
            external_id=_external_id(lead.external_id, scrub),
            notes=None,
            history=_history(lead.history),
            engagement=_engagement(lead.engagement, scrub),
            custom=scrub.mapping(lead.custom),
            qualification=_result(lead.qualification, scrub),
            updated_at=max(now, lead.updated_at),
        )
    )
    if prospect is not None:
        uow.prospects.save(
            prospect.evolve(
                person=(
                    _placeholder(prospect.person, scrub)
                    if prospect_is_person and prospect.person is not None
                    else prospect.person
                ),
                notes=None if prospect_is_person else scrub.optional(prospect.notes),
                external_id=_external_id(prospect.external_id, scrub),
                custom=scrub.mapping(prospect.custom),
                fit=_result(prospect.fit, scrub),
                updated_at=max(now, prospect.updated_at),
            )
        )
    for opp in opportunities.values():
        contact = opp.contact
        if contact is not None and _same_person(contact, person):
            contact = _placeholder(contact, scrub)
        uow.opportunities.save(
            opp.evolve(
                name=scrub.text(opp.name),
                contact=contact,
                external_id=_external_id(opp.external_id, scrub),
                notes=None,
                history=_history(opp.history),
                lost_reason=scrub.optional(opp.lost_reason),
                competitor=scrub.optional(opp.competitor),
                custom=scrub.mapping(opp.custom),
                updated_at=max(now, opp.updated_at),
            )
        )
    uow.events.append(EventRecord("lead", lead.id, "personal_data_erased", now, {}))
    uow._erased()
    return ErasureReport(
        lead.id,
        (prospect.id,) if prospect is not None else (),
        tuple(opportunities),
        events,
        results,
    )


def _opportunities_of(uow: UnitOfWork, lead_id: str) -> list[Any]:
    from .queries import OpportunityQuery

    return list(uow.opportunities.find(OpportunityQuery(lead_id=lead_id, limit=None)).items)
