"""Merging duplicate leads without losing anything, and undoing a merge.

:func:`merge` keeps one lead (the *survivor*) and archives the others: they
stay stored, with every field, custom field, engagement event and history row
they had, their status set to ``merged`` (a history entry records the move)
and their custom field ``merged_into`` naming the survivor.  The survivor
takes, field by field, the value the :class:`MergePolicy` picks, the union of
everyone's tags, custom fields and engagement events; opportunities of the
archived leads are re-pointed to it.  Qualification results stay with the lead
they scored (stored results are a record of what was computed for a subject):
the survivor keeps its own, and can be qualified again.  One ``merged`` domain event, about the
survivor, holds the full before-image of every record the merge wrote, so
:func:`unmerge` restores them exactly.

Everything happens in the caller's unit of work, with optimistic concurrency:
a record changed since it was read (or since :func:`~pipelinekit.dedupe.find`
saw it) makes the merge fail with
:class:`~pipelinekit.storage.ConcurrencyConflict` and nothing is written; the
caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from ..clock import Clock, resolve_time
from ..domain import Company, FrozenMap, Lead, Opportunity, Person, StageChange, new_id
from ..errors import Problem, ValidationError
from ..serialization import from_dict, to_dict
from ..storage import ConcurrencyConflict, EventRecord, OpportunityQuery, UnitOfWork
from .errors import MergeRefused, UnmergeRefused
from .finding import MERGED_STATUS, DuplicateCluster
from .scoring import Ref

__all__ = [
    "MERGE_FIELDS",
    "MERGED_INTO",
    "STRATEGIES",
    "MergePolicy",
    "MergeResult",
    "UnmergeResult",
    "merge",
    "merges_of",
    "unmerge",
]

#: The custom field of an archived lead that names the lead it was merged into.
MERGED_INTO = "merged_into"
#: How a field's value is chosen among the merged records.
STRATEGIES = ("survivor", "newest", "longest")
_PERSON = ("name", "email", "phone", "job_title", "seniority")
_COMPANY = ("name", "domain", "industry", "employees", "annual_revenue", "country", "region")
#: The fields a policy can choose per field (``custom`` covers every custom field).
MERGE_FIELDS = (
    *(f"contact.{f}" for f in _PERSON),
    *(f"company.{f}" for f in _COMPANY),
    "source",
    "owner",
    "notes",
    "custom",
)


@attrs.frozen
class MergePolicy:
    """Which record's value the survivor keeps, per field.

    ``default`` applies to every field not in ``fields``:

    * ``survivor``: the survivor's value; if it has none, the first value of the
      others, most recently updated first;
    * ``newest``: the value of the most recently updated record that has one;
    * ``longest``: the longest value (as text); ties go as for ``survivor``.

    Tags and engagement events are always the union; custom fields are the
    union too, a key held with different values getting the ``custom``
    strategy's one.  Values not kept stay on the archived records and in the
    merge event (``MergeResult.conflicts`` lists them).
    """

    default: str = "survivor"
    fields: Mapping[str, str] = attrs.field(factory=dict, converter=dict)

    def __attrs_post_init__(self) -> None:
        problems = []
        if self.default not in STRATEGIES:
            problems.append(Problem("$.default", _strategy_message(self.default)))
        for key, value in self.fields.items():
            if key not in MERGE_FIELDS:
                problems.append(
                    Problem(
                        f"$.fields.{key}",
                        f"unknown field; expected one of {', '.join(MERGE_FIELDS)}",
                    )
                )
            elif value not in STRATEGIES:
                problems.append(Problem(f"$.fields.{key}", _strategy_message(value)))
        if problems:
            raise ValidationError("MergePolicy", problems)

    def strategy(self, field: str) -> str:
        """The strategy for ``field``."""
        return self.fields.get(field, self.default)


def _strategy_message(value: object) -> str:
    return f"must be one of {', '.join(STRATEGIES)}, got {value!r}"


@attrs.frozen
class MergeResult:
    """What a merge wrote: the survivor, the archived leads, the re-pointed opportunities.

    ``conflicts`` maps each field whose records held different values to the id
    of the record whose value was kept; ``event`` is the stored ``merged``
    event (pass it, or ``merge_id``, to :func:`unmerge`).
    """

    merge_id: str
    survivor: Lead
    archived: tuple[Lead, ...]
    opportunities: tuple[Opportunity, ...]
    conflicts: Mapping[str, str]
    event: EventRecord


@attrs.frozen
class UnmergeResult:
    """What an undo restored (every record as it was before the merge, at a new version)."""

    merge_id: str
    leads: tuple[Lead, ...]
    opportunities: tuple[Opportunity, ...]


# -- merging ------------------------------------------------------------------------------------


def merge(
    uow: UnitOfWork,
    cluster: DuplicateCluster | Iterable[str],
    *,
    into: str | None = None,
    policy: MergePolicy | None = None,
    at: datetime | None = None,
    clock: Clock | None = None,
    actor: str | None = None,
) -> MergeResult:
    """Merge the leads of ``cluster`` (a found cluster, or lead ids) into one.

    The survivor is ``into`` if given, else the most advanced lead: one
    converted to an opportunity first, then one linked to a prospect, then the
    one with the newest activity (update, engagement event or move), then the
    oldest id.  Raises :class:`~pipelinekit.dedupe.MergeRefused` (nothing
    written) for fewer than two leads, records that are not leads, an ``into``
    outside the cluster or a lead already archived by a merge, and
    :class:`~pipelinekit.storage.ConcurrencyConflict` when a lead of a found
    cluster changed since it was found.  The caller commits ``uow``.
    """
    now = resolve_time(at, clock)
    policy = policy if policy is not None else MergePolicy()
    if not isinstance(policy, MergePolicy):
        raise ValidationError("merge", [Problem("$.policy", "must be a MergePolicy")])
    refs = _refs(cluster)
    leads = [uow.leads.get(ref.id) for ref in refs]
    for ref, lead in zip(refs, leads, strict=True):
        if ref.version and lead.version != ref.version:
            raise ConcurrencyConflict("lead", lead.id, ref.version, lead.version)
        if lead.status == MERGED_STATUS:
            raise MergeRefused(f"lead {lead.id} was already merged into another lead")
    if into is not None and into not in {lead.id for lead in leads}:
        raise MergeRefused(f"lead {into} to merge into is not one of the leads merged")
    survivor = next(x for x in leads if x.id == into) if into else max(leads, key=_advancement)
    others = sorted((x for x in leads if x is not survivor), key=_recency, reverse=True)
    ordered = [survivor, *others]
    conflicts: dict[str, str] = {}
    merged = _survivor(ordered, policy, conflicts, now)
    archived = [
        lead.evolve(
            status=MERGED_STATUS,
            custom=lead.custom.set(MERGED_INTO, survivor.id),
            history=(*lead.history, StageChange(lead.status, MERGED_STATUS, "merge", now, actor)),
            updated_at=max(now, lead.updated_at),
        )
        for lead in others
    ]
    deals: dict[str, Opportunity] = {}
    for lead in others:
        for deal in uow.opportunities.find(OpportunityQuery(lead_id=lead.id, limit=None)).items:
            deals.setdefault(deal.id, deal)
    moved = [
        deal.evolve(lead_id=survivor.id, updated_at=max(now, deal.updated_at))
        for deal in sorted(deals.values(), key=lambda d: d.id)
    ]
    saved_leads = uow.leads.save_all([merged, *archived])
    saved_deals = uow.opportunities.save_all(moved)
    merge_id = new_id(now)
    before = [("lead", lead) for lead in ordered] + [("opportunity", d) for d in deals.values()]
    after: dict[tuple[str, str], int] = {("lead", x.id): x.version for x in saved_leads}
    after.update({("opportunity", d.id): d.version for d in saved_deals})
    payload = {
        "merge_id": merge_id,
        "survivor": survivor.id,
        "merged": [lead.id for lead in others],
        "actor": actor,
        "conflicts": conflicts,
        "records": [
            {"kind": kind, "id": e.id, "version": after[(kind, e.id)], "before": to_dict(e)}
            for kind, e in before
        ],
    }
    event = uow.events.append(EventRecord("lead", survivor.id, "merged", now, payload))
    return MergeResult(
        merge_id, saved_leads[0], tuple(saved_leads[1:]), tuple(saved_deals), conflicts, event
    )


def _refs(cluster: DuplicateCluster | Iterable[str]) -> list[Ref]:
    if isinstance(cluster, DuplicateCluster):
        refs = list(cluster.members)
    elif isinstance(cluster, str) or not isinstance(cluster, Iterable):
        raise ValidationError(
            "merge", [Problem("$.cluster", "must be a DuplicateCluster or lead ids")]
        )
    else:
        refs = []
        for index, item in enumerate(cluster):
            if not isinstance(item, str) or not item:
                raise ValidationError(
                    "merge", [Problem(f"$.cluster[{index}]", "must be a lead id")]
                )
            refs.append(Ref("lead", item))
    others = [str(r) for r in refs if r.kind != "lead"]
    if others:
        raise MergeRefused(
            f"only leads are merged; convert or link the others instead: {', '.join(others)}"
        )
    unique = list({r.id: r for r in refs}.values())
    if len(unique) < 2:
        raise MergeRefused("a merge needs at least two different leads")
    return unique


def _activity(lead: Lead) -> datetime:
    times = [lead.updated_at, *(e.at for e in lead.engagement), *(h.at for h in lead.history)]
    return max(times)


def _advancement(lead: Lead) -> tuple[Any, ...]:
    # max() picks the survivor: converted, then linked to a prospect, then newest, oldest id
    return (
        lead.opportunity_id is not None,
        lead.prospect_id is not None,
        _activity(lead),
        _Reverse(lead.id),
    )


def _recency(lead: Lead) -> tuple[datetime, _Reverse]:
    return (lead.updated_at, _Reverse(lead.id))


@attrs.frozen
class _Reverse:
    """Orders ids backwards (so ``max`` prefers the smallest)."""

    value: str

    def __lt__(self, other: _Reverse) -> bool:
        return self.value > other.value


def _empty(value: object) -> bool:
    return value is None or value == ""


def _pick(field: str, values: Sequence[tuple[str, Any, datetime]], policy: MergePolicy,
          conflicts: dict[str, str]) -> Any:  # fmt: skip
    """Choose among ``(lead id, value, updated_at)`` in survivor order."""
    present = [(i, v, t) for i, v, t in values if not _empty(v)]
    if not present:
        return None
    strategy = policy.strategy("custom" if field.startswith("custom.") else field)
    if strategy == "newest":
        chosen = max(enumerate(present), key=lambda x: (x[1][2], -x[0]))[1]
    elif strategy == "longest":
        chosen = max(enumerate(present), key=lambda x: (len(str(x[1][1])), -x[0]))[1]
    else:
        chosen = present[0]
    if any(_differs(v, chosen[1]) for _, v, _ in present):
        conflicts[field] = chosen[0]
    return chosen[1]


def _differs(a: object, b: object) -> bool:
    return a != b or type(a) is not type(b)


def _survivor(ordered: list[Lead], policy: MergePolicy, conflicts: dict[str, str],
              now: datetime) -> Lead:  # fmt: skip
    survivor = ordered[0]

    def pick(field: str, get: Any) -> Any:
        return _pick(field, [(x.id, get(x), x.updated_at) for x in ordered], policy, conflicts)

    person: dict[str, Any] = {
        f: pick(f"contact.{f}", lambda x, f=f: getattr(x.contact, f, None)) for f in _PERSON
    }
    company: dict[str, Any] = {
        f: pick(f"company.{f}", lambda x, f=f: getattr(x.company, f, None)) for f in _COMPANY
    }
    custom: dict[str, Any] = {}
    for key in dict.fromkeys(k for x in ordered for k in x.custom):
        custom[key] = pick(f"custom.{key}", lambda x, key=key: x.custom.get(key))
    events = list(dict.fromkeys(e for x in ordered for e in x.engagement))
    events.sort(key=lambda e: e.at)
    return survivor.evolve(
        contact=Person(**person) if any(not _empty(v) for v in person.values()) else None,
        company=Company(**company) if company["name"] is not None else None,
        source=pick("source", lambda x: x.source),
        owner=pick("owner", lambda x: x.owner),
        notes=pick("notes", lambda x: x.notes),
        tags=frozenset().union(*(x.tags for x in ordered)),
        custom=FrozenMap(custom),
        engagement=tuple(events),
        prospect_id=next((x.prospect_id for x in ordered if x.prospect_id), None),
        opportunity_id=next((x.opportunity_id for x in ordered if x.opportunity_id), None),
        updated_at=max(now, survivor.updated_at),
    )


# -- undoing ------------------------------------------------------------------------------------


def merges_of(uow: UnitOfWork, lead_id: str) -> list[EventRecord]:
    """The ``merged`` events of merges into ``lead_id``, oldest first."""
    return [e for e in uow.events.read(entity_kind="lead", entity_id=lead_id) if e.kind == "merged"]


def _find_merge(uow: UnitOfWork, merge_id: str) -> EventRecord:
    after = None
    while True:
        batch = uow.events.read(after=after, limit=1000)
        for record in batch:
            if record.kind == "merged" and record.payload.get("merge_id") == merge_id:
                return record
        if len(batch) < 1000:
            raise UnmergeRefused(merge_id, "no merge has this id")
        after = batch[-1].seq


def unmerge(
    uow: UnitOfWork,
    merge: MergeResult | EventRecord | str,
    *,
    at: datetime | None = None,
    clock: Clock | None = None,
    actor: str | None = None,
) -> UnmergeResult:
    """Undo a merge: every record it wrote is stored again exactly as it was before.

    ``merge`` is the :class:`MergeResult`, its ``merged`` event, or its
    ``merge_id`` (looked up among the stored events).  Versions move on (a
    version never goes back, so no writer holding an old one can overwrite the
    restored record); an ``unmerged`` event is appended.  Raises
    :class:`~pipelinekit.dedupe.UnmergeRefused` (nothing written) when a
    record changed since the merge, or the merge was already undone.
    """
    now = resolve_time(at, clock)
    if isinstance(merge, MergeResult):
        record = merge.event
    elif isinstance(merge, EventRecord):
        record = merge
    elif isinstance(merge, str):
        record = _find_merge(uow, merge)
    else:
        raise ValidationError(
            "unmerge", [Problem("$.merge", "must be a MergeResult, its event or its merge id")]
        )
    payload = record.payload
    merge_id = str(payload.get("merge_id", ""))
    if record.kind != "merged" or not merge_id:
        raise UnmergeRefused(merge_id or "?", "this event is not a merge")
    survivor = payload["survivor"]
    for event in uow.events.read(entity_kind="lead", entity_id=survivor):
        if event.kind == "unmerged" and event.payload.get("merge_id") == merge_id:
            raise UnmergeRefused(merge_id, "it was already undone")
    restored: dict[str, list[Any]] = {"lead": [], "opportunity": []}
    changed = []
    for item in payload["records"]:
        kind = item["kind"]
        repository: Any = uow.leads if kind == "lead" else uow.opportunities
        current = repository.lookup(item["id"])
        if current is None or current.version != item["version"]:
            changed.append(f"{kind}:{item['id']}")
            continue
        cls: Any = Lead if kind == "lead" else Opportunity
        before = from_dict(cls, item["before"])
        restored[kind].append(attrs.evolve(before, version=current.version))
    if changed:
        raise UnmergeRefused(merge_id, "records changed since the merge", tuple(changed))
    leads = uow.leads.save_all(restored["lead"])
    deals = uow.opportunities.save_all(restored["opportunity"])
    uow.events.append(
        EventRecord("lead", survivor, "unmerged", now, {"merge_id": merge_id, "actor": actor})
    )
    return UnmergeResult(merge_id, tuple(leads), tuple(deals))
