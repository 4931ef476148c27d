"""Checking one record against the store before it is created: warn, or block.

:func:`check` answers "would this new lead be a duplicate?" with the stored
records it matches and the explained :class:`~pipelinekit.dedupe.PairScore`
of each pair, exactly the pairs :func:`~pipelinekit.dedupe.find` would report
for it over the store plus the record: the same rules, the same blocks and
neighbourhoods, the same exclusions (leads archived by a merge, closed
opportunities, records linked to each other).

Cost: the records a check compares are looked up by their match keys
(normalised email, email and company domain, phone digits:
:meth:`UnitOfWork.records_by_match_keys <pipelinekit.storage.UnitOfWork.records_by_match_keys>`),
which the built-in adapters answer from an index, so a check reads only the
records that share a key with the one checked.  The result is the same as
comparing against the whole store: every block a pair can come from is a key
the record shares.  Rule sets whose ``company_name`` or ``custom`` rules
bring candidates of their own (sorted neighbourhood over every company name;
custom fields are not indexed) are checked against every record instead.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import Any

import attrs

from ..domain import Lead, Opportunity, Prospect
from ..errors import PipelinekitError, Problem, ValidationError
from ..storage import Storage, UnitOfWork
from ..storage.match_keys import match_keys
from .finding import _candidates, _links, _matched, _passive, _prepare
from .rules import MatchRules, RuleKind, default_rules
from .scoring import Entity, PairScore, Ref, Scorer, keys_of, ref_of

__all__ = ["DuplicateCheck", "DuplicateChecker", "DuplicateRefused", "check"]


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


#: Match key prefixes (see pipelinekit.storage.match_keys) by the rules whose blocks they cover.
_PREFIXES = {
    RuleKind.EMAIL: "email",
    RuleKind.EMAIL_DOMAIN_NAME: "domain",
    RuleKind.COMPANY_DOMAIN: "domain",
    RuleKind.PHONE: "phone",
}


def _lookup_prefixes(rules: MatchRules) -> frozenset[str] | None:
    """The match key prefixes a check under ``rules`` looks up, or ``None`` when some rule
    brings candidates no key covers (then a check compares with every record)."""
    passive = _passive(rules)
    active = [rule.kind for i, rule in enumerate(rules.rules) if i not in passive]
    if any(kind not in _PREFIXES for kind in active):
        return None
    return frozenset(_PREFIXES[kind] for kind in active)


def _lookup_keys(entity: Entity, rules: MatchRules, prefixes: frozenset[str]) -> set[str]:
    """The match keys of ``entity`` its candidates share (public mail domains never block)."""
    keys = set()
    for key in match_keys(entity):
        prefix, _, value = key.partition(":")
        if prefix in prefixes and not (prefix == "domain" and value in rules.public_domains):
            keys.add(key)
    return keys


class DuplicateChecker:
    """Checks records one after another against a pool: given records, or a store.

    What an import needs: each incoming row checked against the store and the
    rows imported before it.  ``check(entity)`` gives what :func:`check` would
    give if the pool were the store; ``add(entity)`` puts a record into the
    pool (replacing a record of the same kind and id).  Over given records, a
    check costs time linear in the pool's size (their match keys are computed
    once, when a record is added); over a store (:meth:`of_store`), it reads
    only the records sharing a match key with the record checked.
    """

    def __init__(self, records: Iterable[Entity] = (), rules: MatchRules | None = None) -> None:
        self.rules = rules if rules is not None else default_rules()
        refs, keys = _prepare(records, self.rules)  # refuses what is not a record or rules
        self._scorer = Scorer(self.rules)
        self._cache: dict[Any, Any] = {}
        self._order = [(ref.kind, ref.id) for ref in refs]
        self._items = {(r.kind, r.id): (r, k) for r, k in zip(refs, keys, strict=True)}

        self._store: UnitOfWork | None = None
        self._prefixes: frozenset[str] = frozenset()
        self._added: dict[tuple[str, str], Entity] = {}
        self._added_by_key: dict[str, set[tuple[str, str]]] = {}

    @classmethod
    def of_store(cls, uow: UnitOfWork, rules: MatchRules | None = None) -> DuplicateChecker:
        """A checker whose pool is every lead, prospect and opportunity of ``uow``.

        The store is not read up front: each check looks up the records that
        share a match key with the record checked (see the module docs), and
        sees the records added since, which replace their stored copies.
        """
        checker = cls((), rules)
        prefixes = _lookup_prefixes(checker.rules)
        if prefixes is None:
            return cls(_stored(uow), checker.rules)
        checker._store = uow
        checker._prefixes = prefixes
        return checker

    def __len__(self) -> int:
        """The records in the pool (read so far, for a checker of a store)."""
        return len(self._order) + len(self._added)

    def _candidates_of(self, entity: Entity, store: UnitOfWork) -> DuplicateChecker:
        """A checker over the stored and added records sharing a match key with ``entity``."""
        keys = _lookup_keys(entity, self.rules, self._prefixes)
        found: dict[tuple[str, str], Entity] = {
            (ref_of(e).kind, str(e.id)): e for e in store.records_by_match_keys(keys)
        }
        for key in keys:
            for held in self._added_by_key.get(key, ()):
                found[held] = self._added[held]
        for held in found:
            if held in self._added:
                found[held] = self._added[held]
        return DuplicateChecker(found.values(), self.rules)

    def _keyed(self, entity: Entity) -> tuple[Ref, tuple[Any, ...]]:
        keys = (*keys_of(entity, self.rules, self._cache), _links(entity))
        return ref_of(entity), keys

    def add(self, entity: Entity) -> None:
        """Put ``entity`` into the pool (an archived lead or closed deal leaves it)."""
        _check_entity(entity)
        key = (ref_of(entity).kind, entity.id)
        if self._store is not None:
            self._added[key] = entity
            for one in match_keys(entity):
                self._added_by_key.setdefault(one, set()).add(key)
            return
        if key in self._items:
            del self._items[key]
            self._order.pop(bisect.bisect_left(self._order, key))
        if _candidates(entity):
            self._items[key] = self._keyed(entity)
            bisect.insort(self._order, key)

    def check(self, entity: Entity) -> DuplicateCheck:
        """The pool's records ``entity`` duplicates (the pool is not changed)."""
        _check_entity(entity)
        if self._store is not None:
            return self._candidates_of(entity, self._store).check(entity)
        me, mine = self._keyed(entity)
        key = (me.kind, me.id)
        if not _candidates(entity):  # archived by a merge, or a closed deal
            return DuplicateCheck(me, ())
        order = [k for k in self._order if k != key]
        at = bisect.bisect_left(order, key)
        order.insert(at, key)
        items = self._items
        refs = [me if k == key else items[k][0] for k in order]
        keys = [mine if k == key else items[k][1] for k in order]
        scorer = self._scorer
        pairs = [
            scorer.explained(refs[i], keys[i], refs[j], keys[j])
            for i, j in _matched(refs, keys, self.rules, scorer, only=at)
        ]
        pairs.sort(key=lambda p: (-p.score, _other(p, me)))
        return DuplicateCheck(me, tuple(pairs))


def _check_entity(entity: object) -> None:
    if not isinstance(entity, Lead | Prospect | Opportunity):
        got = type(entity).__name__
        problem = Problem("$.entity", f"must be a Lead, Prospect or Opportunity, got {got}")
        raise ValidationError("duplicate check", [problem])


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
    nothing.  A call reads only the records sharing a match key with
    ``entity`` (see the module docs).
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
    return DuplicateChecker.of_store(uow, rules).check(entity)
