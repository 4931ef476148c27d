"""Checking one record against the store before it is created: warn, or block.

:func:`check` answers "would this new lead be a duplicate?" with the stored
records it matches and the explained :class:`~pipelinekit.dedupe.PairScore`
of each pair, exactly the pairs :func:`~pipelinekit.dedupe.find` would report
for it over the store plus the record: the same rules, the same blocks and
neighbourhoods, the same exclusions (leads archived by a merge, closed
opportunities, records linked to each other).

Cost: the storage ports have no lookup by email, domain or phone, so each call
reads every lead, prospect and opportunity of the store once (through
``iterate()``, in batches) and computes their match keys; only the pairs that
include the checked record are then scored.  A call is linear in the size of
the store; an import that checks many rows should read the store once and use
:func:`~pipelinekit.dedupe.find` instead.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from ..domain import Lead, Opportunity, Prospect
from ..errors import PipelinekitError, Problem, ValidationError
from ..storage import Storage, UnitOfWork
from .finding import _matched, _prepare
from .rules import MatchRules, default_rules
from .scoring import Entity, PairScore, Ref, Scorer, ref_of

__all__ = ["DuplicateCheck", "DuplicateRefused", "check"]


@attrs.frozen
class DuplicateCheck:
    """What :func:`check` found for one record.

    ``matches`` are the pairs of ``entity`` with stored records whose score
    reaches the rules' threshold, best score first (then by the other record's
    kind and id); each pair's ``parts`` explain its score.
    """

    entity: Ref
    matches: tuple[PairScore, ...]

    @property
    def duplicate(self) -> bool:
        """Whether the record matches at least one stored record."""
        return bool(self.matches)

    @property
    def records(self) -> tuple[Ref, ...]:
        """The stored records matched, in the order of ``matches``."""
        return tuple(_other(pair, self.entity) for pair in self.matches)

    def explain(self) -> str:
        """One line for the record, then one per match (its score and the rules that fired)."""
        if not self.matches:
            return f"{self.entity}: no duplicate"
        head = f"{self.entity}: {len(self.matches)} possible duplicate(s)"
        return "\n  ".join([head, *(pair.explain() for pair in self.matches)])

    def refuse(self) -> None:
        """Raise :class:`DuplicateRefused` if the record is a duplicate (the "block" mode)."""
        if self.matches:
            raise DuplicateRefused(self)


class DuplicateRefused(PipelinekitError, ValueError):
    """A record was refused because it duplicates stored records; ``check`` says which."""

    def __init__(self, check: DuplicateCheck) -> None:
        self.check = check
        found = ", ".join(map(str, check.records))
        super().__init__(f"{check.entity} duplicates {found}")

    def __reduce__(self) -> tuple[type[DuplicateRefused], tuple[DuplicateCheck]]:
        return (type(self), (self.check,))


def _other(pair: PairScore, entity: Ref) -> Ref:
    same = (pair.left.kind, pair.left.id) == (entity.kind, entity.id)
    return pair.right if same else pair.left


def _stored(uow: UnitOfWork) -> Iterable[Entity]:
    yield from uow.leads.iterate()
    yield from uow.prospects.iterate()
    yield from uow.opportunities.iterate()


def check(
    entity: Lead | Prospect | Opportunity,
    store: Storage | UnitOfWork,
    rules: MatchRules | None = None,
) -> DuplicateCheck:
    """The stored records ``entity`` duplicates under ``rules`` (:func:`default_rules` if not
    given), with the explained score of each pair.

    ``store`` is a :class:`~pipelinekit.storage.Storage` (read in a read-only
    unit of work) or an open :class:`~pipelinekit.storage.UnitOfWork` (its
    uncommitted writes are seen: check, then save, in one transaction).  A
    stored record with the same kind and id as ``entity`` is replaced by it
    (checking an edit does not match the record with itself).  Nothing is
    written.  The matches are exactly the pairs of ``entity`` that
    :func:`~pipelinekit.dedupe.find_pairs` finds over the store plus
    ``entity``; a lead archived by a merge or a closed opportunity matches
    nothing.  Each call reads the whole store once (see the module docs).
    """
    problems: list[Problem] = []
    if not isinstance(entity, Lead | Prospect | Opportunity):
        got = type(entity).__name__
        problems.append(Problem("$.entity", f"must be a Lead, Prospect or Opportunity, got {got}"))
    if not isinstance(store, Storage | UnitOfWork):
        problems.append(
            Problem("$.store", f"must be a Storage or UnitOfWork, got {type(store).__name__}")
        )
    if rules is not None and not isinstance(rules, MatchRules):
        problems.append(Problem("$.rules", f"must be MatchRules, got {type(rules).__name__}"))
    if problems:
        raise ValidationError("duplicate check", problems)
    rules = rules if rules is not None else default_rules()
    if isinstance(store, Storage):
        with store.unit_of_work(read_only=True) as uow:
            return _check(entity, uow, rules)
    return _check(entity, store, rules)


def _check(entity: Entity, uow: UnitOfWork, rules: MatchRules) -> DuplicateCheck:
    me = ref_of(entity)
    key = (me.kind, me.id)
    records = [e for e in _stored(uow) if (ref_of(e).kind, e.id) != key]
    records.append(entity)
    refs, keys = _prepare(records, rules)
    at = next((i for i, ref in enumerate(refs) if (ref.kind, ref.id) == key), None)
    if at is None:  # not a candidate: archived by a merge, or a closed deal
        return DuplicateCheck(me, ())
    scorer = Scorer(rules)
    pairs = [
        scorer.explained(refs[i], keys[i], refs[j], keys[j])
        for i, j in _matched(refs, keys, rules, scorer, only=at)
    ]
    pairs.sort(key=lambda p: (-p.score, _other(p, me)))
    return DuplicateCheck(me, tuple(pairs))
