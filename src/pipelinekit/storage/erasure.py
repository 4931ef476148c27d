"""Personal-data erasure rules: what of a lead's data is personal, and its erased form.

This module decides *what* to erase; :meth:`pipelinekit.storage.UnitOfWork.erase_personal_data`
reads the records, applies :func:`plan_erasure` and writes the result.

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
import warnings
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

import attrs

from ..clock import Clock
from ..domain import (
    Event,
    FrozenMap,
    Lead,
    Opportunity,
    Person,
    ProbabilityChange,
    Prospect,
    QualificationResult,
    Source,
    StageChange,
)
from ..qualification.predictive import SMOOTHING, FrequencyRow
from ..serialization import from_dict, to_dict

__all__ = [
    "ERASED",
    "PERSONAL_KEYS",
    "Erasure",
    "ErasureReport",
    "erase_personal_data",
    "plan_erasure",
]

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
    """What ``uow.erase_personal_data()`` changed (ids only, never the erased data)."""

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
            if key.casefold() in PERSONAL_KEYS or self.text(key) != key:
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


def _history(history: tuple[StageChange, ...], scrub: _Scrubber) -> tuple[StageChange, ...]:
    return tuple(
        attrs.evolve(c, note=None, actor=scrub.optional(c.actor))
        if c.note is not None or scrub.optional(c.actor) != c.actor
        else c
        for c in history
    )


def _probability_history(
    history: tuple[ProbabilityChange, ...], scrub: _Scrubber
) -> tuple[ProbabilityChange, ...]:
    return tuple(
        attrs.evolve(c, actor=scrub.optional(c.actor)) if scrub.optional(c.actor) != c.actor else c
        for c in history
    )


def _tags(tags: frozenset[str], scrub: _Scrubber) -> frozenset[str]:
    # A tag repeating an erased string ("mail:ada@example.com") keeps its
    # non-personal part ("mail:[erased]"); one that was nothing but the string goes.
    out = {scrub.text(tag) for tag in tags} - {ERASED}
    return tags if out == tags else frozenset(out)


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


def plan_erasure(
    lead: Lead,
    prospect: Prospect | None,
    opportunities: Iterable[Opportunity],
    *,
    now: datetime,
) -> Erasure:
    """The erased forms of ``lead`` and the records copied from it, as of ``now``.

    ``prospect`` is the lead's prospect (if any) and ``opportunities`` every
    opportunity linked to it.  The result holds the entities to save (each
    with ``updated_at`` moved to ``now`` if later) and scrubs stored result
    documents and event payloads (:meth:`Erasure.result_doc`,
    :meth:`Erasure.event_payload`).  Nothing is read or written here.
    """
    deals = list(opportunities)
    person = lead.contact
    secrets = _person_strings(person) | _free_text(lead)
    for event in lead.engagement:
        for key, value in event.properties.items():
            if key.casefold() in PERSONAL_KEYS and isinstance(value, str):
                secrets.add(value)
    prospect_is_person = prospect is not None and _same_person(prospect.person, person)
    if prospect is not None and prospect_is_person:
        secrets |= _person_strings(prospect.person) | _free_text(prospect)
    for opp in deals:
        if _same_person(opp.contact, person):
            secrets |= _person_strings(opp.contact)
        secrets |= _free_text(opp)
    scrub = _Scrubber(secrets)

    erased_lead = lead.evolve(
        contact=None if person is None else _placeholder(person, scrub),
        source=_source(lead.source, scrub),
        external_id=_external_id(lead.external_id, scrub),
        notes=None,
        tags=_tags(lead.tags, scrub),
        history=_history(lead.history, scrub),
        engagement=_engagement(lead.engagement, scrub),
        custom=scrub.mapping(lead.custom),
        qualification=_result(lead.qualification, scrub),
        updated_at=max(now, lead.updated_at),
    )
    erased_prospect = None
    if prospect is not None:
        erased_prospect = prospect.evolve(
            person=(
                _placeholder(prospect.person, scrub)
                if prospect_is_person and prospect.person is not None
                else prospect.person
            ),
            notes=None if prospect_is_person else scrub.optional(prospect.notes),
            external_id=_external_id(prospect.external_id, scrub),
            tags=_tags(prospect.tags, scrub),
            custom=scrub.mapping(prospect.custom),
            fit=_result(prospect.fit, scrub),
            updated_at=max(now, prospect.updated_at),
        )
    erased_deals = []
    for opp in deals:
        contact = opp.contact
        if contact is not None and _same_person(contact, person):
            contact = _placeholder(contact, scrub)
        erased_deals.append(
            opp.evolve(
                name=scrub.text(opp.name),
                contact=contact,
                external_id=_external_id(opp.external_id, scrub),
                notes=None,
                tags=_tags(opp.tags, scrub),
                history=_history(opp.history, scrub),
                probability_history=_probability_history(opp.probability_history, scrub),
                lost_reason=scrub.optional(opp.lost_reason),
                competitor=scrub.optional(opp.competitor),
                custom=scrub.mapping(opp.custom),
                updated_at=max(now, opp.updated_at),
            )
        )
    return Erasure(erased_lead, erased_prospect, tuple(erased_deals), scrub)


@attrs.frozen
class Erasure:
    """The outcome of :func:`plan_erasure`: erased entities, and how to scrub stored documents."""

    lead: Lead
    prospect: Prospect | None
    opportunities: tuple[Opportunity, ...]
    _scrub: _Scrubber = attrs.field(repr=False, eq=False)

    @property
    def subjects(self) -> tuple[tuple[str, str], ...]:
        """``(entity kind, id)`` of every record whose results and events need scrubbing."""
        refs: list[tuple[str, str]] = [("lead", self.lead.id)]
        if self.prospect is not None:
            refs.append(("prospect", self.prospect.id))
        refs += [("opportunity", opp.id) for opp in self.opportunities]
        return tuple(refs)

    def result_doc(self, doc: dict[str, Any]) -> dict[str, Any]:
        """A stored qualification result's document with the erased strings replaced."""
        scrubbed: dict[str, Any] = self._scrub.json(doc, drop_keys=False)
        return scrubbed

    def event_payload(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A stored event's payload without personal keys and with the erased strings replaced."""
        scrubbed: dict[str, Any] = self._scrub.json(payload, drop_keys=True)
        return scrubbed

    def frequency_rows(self, rows: Iterable[FrequencyRow]) -> list[FrequencyRow] | None:
        """A predictive model's counts with the erased strings replaced, or ``None`` if unchanged.

        A counted value that repeats erased data (a tag holding an email
        address, say) is renamed as the erased deals now read, and rows that
        become one are added up as a recount would (the smoothing counted once),
        so the stored counts still equal a rebuild from the stored deals.
        """
        merged: dict[tuple[str | None, str, str], list[Any]] = {}
        changed = False
        for row in rows:
            segment = self._scrub.optional(row.segment)
            key = (segment, row.field, self._scrub.text(row.value))
            changed = changed or key != (row.segment, row.field, row.value)
            held = merged.get(key)
            if held is None:
                merged[key] = [row.won, row.lost, row.closed]
            else:
                held[0] += row.won - SMOOTHING
                held[1] += row.lost - SMOOTHING
                held[2] += row.closed
        if not changed:
            return None
        return [FrequencyRow(s, f, v, w, lo, c) for (s, f, v), (w, lo, c) in merged.items()]


class _Erases(Protocol):
    def erase_personal_data(
        self, lead_id: str, *, at: datetime | None = ..., clock: Clock | None = ...
    ) -> ErasureReport: ...


def erase_personal_data(
    uow: _Erases, lead_id: str, *, at: datetime | None = None, clock: Clock | None = None
) -> ErasureReport:
    """Deprecated: call ``uow.erase_personal_data(lead_id, at=...)``, the one way to erase."""
    warnings.warn(
        "pipelinekit.storage.erasure.erase_personal_data(uow, ...) is deprecated; "
        "call uow.erase_personal_data(lead_id, at=...) instead",
        DeprecationWarning,
        stacklevel=2,
    )
    return uow.erase_personal_data(lead_id, at=at, clock=clock)
