"""Finding duplicates at scale: blocking, pair scoring, clusters.

Records are compared only within *blocks*: for each rule, the records that
share its key (the same email, phone, company domain, custom value; the same
email domain for a name rule).  A pair is scored once under every rule,
whichever block brought it, so its score does not depend on blocking.  For
every rule but ``company_name``, a pair the rule fires on always shares one of
the rule's blocks: blocking never misses a duplicate that a comparison of
every pair would find, as long as no block is larger than ``max_block``.
``company_name`` compares each record with its ``window`` neighbours in the
order of normalised company names (sorted neighbourhood).  A larger block (thousands of leads at
one company domain) is compared by *sorted neighbourhood*: its records sorted
by name, each compared with the ``window`` that follow it.

Clusters are the transitive closures of the pairs whose score reaches the
threshold: if A matches B and B matches C, A, B and C are one cluster.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import attrs

from ..domain import Lead, Opportunity, Outcome, Prospect
from ..errors import Problem, ValidationError
from . import bulk
from .rules import MatchRules, RuleKind, default_rules
from .scoring import Entity, PairScore, Ref, Scorer, keys_of, ref_of

__all__ = ["DuplicateCluster", "find", "find_pairs"]

#: A lead archived by a merge (see :func:`pipelinekit.dedupe.merge`) is never a candidate.
MERGED_STATUS = "merged"


@attrs.frozen
class DuplicateCluster:
    """Records found to be one: their refs (sorted) and the matched pairs that join them.

    ``score`` is the highest pair score in the cluster; each pair's
    ``parts`` explain it.
    """

    members: tuple[Ref, ...]
    pairs: tuple[PairScore, ...]

    @property
    def score(self) -> Decimal:
        """The highest score among the cluster's matched pairs."""
        return max(pair.score for pair in self.pairs)

    @property
    def kinds(self) -> frozenset[str]:
        """The kinds of record in the cluster (a lead may match a prospect)."""
        return frozenset(ref.kind for ref in self.members)

    def explain(self) -> str:
        """The members and one line per matched pair."""
        head = f"{len(self.members)} records, best score {self.score}: "
        return "\n  ".join(
            [head + ", ".join(map(str, self.members)), *(p.explain() for p in self.pairs)]
        )


def _candidates(entity: Entity) -> bool:
    if isinstance(entity, Lead):
        return entity.status != MERGED_STATUS
    if isinstance(entity, Opportunity):
        return entity.outcome is Outcome.OPEN
    return True


def _sort_texts(keys: list[Any], rules: MatchRules) -> Callable[[int], str]:
    """The text a big block is sorted by: the person's name, else the company's, else ``""``."""
    names = [i for i, r in enumerate(rules.rules) if r.kind is RuleKind.EMAIL_DOMAIN_NAME]
    firms = [i for i, r in enumerate(rules.rules) if r.kind is RuleKind.COMPANY_NAME]

    def text(i: int) -> str:
        record = keys[i]
        for at in names:
            if record[at] is not None:
                return str(record[at][1])
        for at in firms:
            if record[at] is not None:
                return str(record[at])
        return ""

    return text


def find_pairs(entities: Iterable[Entity], rules: MatchRules | None = None) -> list[PairScore]:
    """Every matched pair (score at least the threshold) with its explanation, in order."""
    rules = rules if rules is not None else default_rules()
    refs, keys = _prepare(entities, rules)
    scorer = Scorer(rules)
    matched = _matched(refs, keys, rules, scorer)
    return sorted(scorer.explained(refs[i], keys[i], refs[j], keys[j]) for i, j in matched)


def find(entities: Iterable[Entity], rules: MatchRules | None = None) -> list[DuplicateCluster]:
    """Clusters of duplicates among ``entities`` under ``rules`` (:func:`default_rules` if
    not given), ordered by their first member; members and pairs are sorted too.

    Leads archived by a merge and closed opportunities are left out.  Records
    of different kinds are compared too (a lead matching a prospect or an open
    opportunity's contact), except records linked to each other (a lead and the
    opportunity it was converted into, or its prospect).  The output is the
    same for the same input in any order.
    """
    rules = rules if rules is not None else default_rules()
    refs, keys = _prepare(entities, rules)
    scorer = Scorer(rules)
    matched = _matched(refs, keys, rules, scorer)
    parent = list(range(len(refs)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in matched:
        a, b = root(i), root(j)
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[int, list[tuple[int, int]]] = {}
    for i, j in matched:
        groups.setdefault(root(i), []).append((i, j))
    clusters = []
    for chosen in groups.values():
        scored = [scorer.explained(refs[i], keys[i], refs[j], keys[j]) for i, j in chosen]
        members = sorted({index for pair in chosen for index in pair})
        clusters.append(DuplicateCluster(tuple(refs[i] for i in members), tuple(scored)))
    clusters.sort(key=lambda c: (c.members[0].kind, c.members[0].id))
    return clusters


_NO_LINKS: frozenset[tuple[str, str]] = frozenset()


def _links(entity: Entity) -> frozenset[tuple[str, str]]:
    """The records ``entity`` points to: a lead and the deal it became are not duplicates."""
    found: list[tuple[str, str | None]]
    if isinstance(entity, Lead):
        found = [("opportunity", entity.opportunity_id), ("prospect", entity.prospect_id)]
    elif isinstance(entity, Opportunity):
        found = [("lead", entity.lead_id), ("prospect", entity.prospect_id)]
    else:
        return _NO_LINKS
    if not (found[0][1] or found[1][1]):
        return _NO_LINKS
    return frozenset((kind, str(key)) for kind, key in found if key)


def _prepare(entities: Iterable[Entity], rules: MatchRules) -> tuple[list[Ref], list[Any]]:
    items = list(entities)
    wrong = [
        Problem(f"$[{index}]", f"must be a Lead, Prospect or Opportunity, got {type(e).__name__}")
        for index, e in enumerate(items)
        if not isinstance(e, Lead | Prospect | Opportunity)
    ]
    if not isinstance(rules, MatchRules):
        wrong.append(Problem("$.rules", f"must be MatchRules, got {type(rules).__name__}"))
    if wrong:
        raise ValidationError("records to deduplicate", wrong)
    cache: dict[Any, Any] = {}
    records = sorted(
        ((ref_of(e), (*keys_of(e, rules, cache), _links(e))) for e in items if _candidates(e)),
        key=lambda item: (item[0].kind, item[0].id),
    )
    return [r for r, _ in records], [k for _, k in records]


def _matched(
    refs: list[Ref], keys: list[Any], rules: MatchRules, scorer: Scorer, only: int | None = None
) -> list[tuple[int, int]]:
    """The index pairs ``(i, j)``, ``i < j``, whose score reaches the threshold.

    ``keys[i]`` ends with the links of record ``i``: linked records are never a pair.
    With ``only``, just the pairs that include record ``only`` (the same blocks
    and neighbourhoods, so the same pairs as the full search restricted to it).
    """

    def linked(i: int, j: int) -> bool:
        a, b = keys[i][-1], keys[j][-1]
        return bool(a or b) and ((refs[j].kind, refs[j].id) in a or (refs[i].kind, refs[i].id) in b)

    passive = _passive(rules)
    if only is None and bulk.available(rules):
        found = bulk.matched(
            keys, rules, scorer.steps, scorer.threshold, passive, _sort_texts(keys, rules)
        )
        return [(i, j) for i, j in found if not linked(i, j)]
    return _matched_each(refs, keys, rules, scorer, linked, passive, only)


def _matched_each(
    refs: list[Ref],
    keys: list[Any],
    rules: MatchRules,
    scorer: Scorer,
    linked: Callable[[int, int], bool],
    passive: frozenset[int],
    only: int | None = None,
) -> list[tuple[int, int]]:
    """:func:`_matched` pair by pair: each candidate pair scored on its own (the reference
    the bulk path is tested against, and the path of a check, which scores few pairs)."""
    seen: set[int] = set()
    n = len(keys)
    out: list[tuple[int, int]] = []
    reaches = scorer.reaches

    def compare(pairs: Iterable[tuple[int, int]]) -> None:
        for i, j in pairs:
            if only is not None and i != only and j != only:
                continue
            code = i * n + j
            if code not in seen:
                seen.add(code)
                if reaches(keys[i], keys[j]) and not linked(i, j):
                    out.append((i, j))

    sort_text = _sort_texts(keys, rules)
    for index, rule in enumerate(rules.rules):
        if index in passive:
            continue
        if rule.kind is RuleKind.COMPANY_NAME:
            named = [(k[index], i) for i, k in enumerate(keys) if k[index] is not None]
            compare(_neighbours([i for _, i in sorted(named)], rules.window))
            continue
        blocks: dict[Any, list[int]] = {}
        by_domain = rule.kind is RuleKind.EMAIL_DOMAIN_NAME
        for i, record in enumerate(keys):
            key = record[index]
            if key is not None:
                blocks.setdefault(key[0] if by_domain else key, []).append(i)
        for members in blocks.values():
            if len(members) < 2 or (only is not None and only not in members):
                continue
            if len(members) <= rules.max_block:
                compare(itertools.combinations(members, 2))  # in index order: i < j
                continue
            # sorted neighbourhood, in two passes: by name, and by name read backwards
            # (a typo near the start of a name moves it far in the first order only)
            texts = [(sort_text(i), i) for i in members]
            for order in (sorted(texts), sorted((t[::-1], i) for t, i in texts)):
                compare(_neighbours([i for _, i in order], rules.window))
    out.sort()
    return out


#: The order in which rules are left out of candidate generation: the costliest first.
_COST = (RuleKind.COMPANY_NAME, RuleKind.COMPANY_DOMAIN, RuleKind.EMAIL_DOMAIN_NAME)


def _passive(rules: MatchRules) -> frozenset[int]:
    """Rules whose blocks need not be searched: together they cannot reach the threshold.

    A pair reaches the threshold only if some rule outside this set fires on it
    too, and that rule's blocks bring the pair: leaving these out loses nothing.
    """
    chosen: set[int] = set()
    most = Decimal(0)
    for kind in _COST:
        for index, rule in enumerate(rules.rules):
            if rule.kind is kind and most + rule.weight < rules.threshold:
                chosen.add(index)
                most += rule.weight
    return frozenset(chosen)


def _neighbours(ordered: list[int], window: int) -> Iterable[tuple[int, int]]:
    """Each record with the ``window`` records after it, as ``(smaller, larger)`` indexes."""
    for a, i in enumerate(ordered):
        for j in ordered[a + 1 : a + 1 + window]:
            yield (i, j) if i < j else (j, i)
