"""Finding duplicates at scale: blocking, pair scoring, clusters.

Records are compared only within *blocks*: for each rule, the records that
share its key (the same email, phone, company domain, custom value; the same
email domain for a name rule; the same first letters of a company name).  A
pair is scored once under every rule, whichever block brought it, so its
score does not depend on blocking.  For every rule but ``company_name``, a pair
the rule fires on always shares one of the rule's blocks: blocking never
misses a duplicate that a comparison of every pair would find, as long as no
block is larger than ``max_block``.  A larger block (thousands of leads at
one company domain) is compared by *sorted neighbourhood*: its records sorted
by name, each compared with the ``window`` that follow it.

Clusters are the transitive closures of the pairs whose score reaches the
threshold: if A matches B and B matches C, A, B and C are one cluster.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import attrs

from ..domain import Lead, Opportunity, Outcome, Prospect
from ..errors import Problem, ValidationError
from .rules import MatchRules, default_rules
from .scoring import Entity, PairScore, Ref, Scorer, block_key, keys_of, ref_of

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


def _sort_text(keys: tuple[Any, ...]) -> str:
    for key in keys:
        if isinstance(key, tuple) and len(key) == 2 and isinstance(key[1], str):
            return key[1]
    for key in keys:
        if isinstance(key, str):
            return key
    return ""


def find_pairs(entities: Iterable[Entity], rules: MatchRules | None = None) -> list[PairScore]:
    """Every matched pair (score at least the threshold) with its explanation, in order."""
    rules = rules if rules is not None else default_rules()
    refs, keys = _prepare(entities, rules)
    scorer = Scorer(rules)
    matched = _matched(keys, rules, scorer)
    return sorted(scorer.explained(refs[i], keys[i], refs[j], keys[j]) for i, j in matched)


def find(entities: Iterable[Entity], rules: MatchRules | None = None) -> list[DuplicateCluster]:
    """Clusters of duplicates among ``entities`` under ``rules`` (:func:`default_rules` if
    not given), ordered by their first member; members and pairs are sorted too.

    Leads archived by a merge and closed opportunities are left out.  Records
    of different kinds are compared too (a lead matching a prospect or an open
    opportunity's contact).  The output is the same for the same input in any
    order.
    """
    rules = rules if rules is not None else default_rules()
    refs, keys = _prepare(entities, rules)
    scorer = Scorer(rules)
    matched = _matched(keys, rules, scorer)
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
        scored = sorted(scorer.explained(refs[i], keys[i], refs[j], keys[j]) for i, j in chosen)
        members = {ref for pair in scored for ref in (pair.left, pair.right)}
        clusters.append(DuplicateCluster(tuple(sorted(members)), tuple(scored)))
    clusters.sort(key=lambda c: c.members[0])
    return clusters


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
    records = sorted(
        ((ref_of(e), keys_of(e, rules)) for e in items if _candidates(e)),
        key=lambda item: item[0],
    )
    return [r for r, _ in records], [k for _, k in records]


def _matched(keys: list[Any], rules: MatchRules, scorer: Scorer) -> list[tuple[int, int]]:
    """The index pairs ``(i, j)``, ``i < j``, whose score reaches the threshold."""
    seen: set[int] = set()
    n = len(keys)
    out: list[tuple[int, int]] = []
    total = scorer.total
    threshold = scorer.threshold
    for index, rule in enumerate(rules.rules):
        blocks: dict[Any, list[int]] = {}
        for i, record in enumerate(keys):
            block = block_key(rule, record[index])
            if block is not None:
                blocks.setdefault(block, []).append(i)
        for members in blocks.values():
            if len(members) < 2:
                continue
            for i, j in _pairs(members, keys, rules):
                code = i * n + j
                if code in seen:
                    continue
                seen.add(code)
                if total(keys[i], keys[j]) >= threshold:
                    out.append((i, j))
    out.sort()
    return out


def _pairs(members: list[int], keys: list[Any], rules: MatchRules) -> Iterable[tuple[int, int]]:
    """Every pair of a block, or its sorted neighbourhood when it is over ``max_block``."""
    if len(members) <= rules.max_block:
        for a, i in enumerate(members):
            for j in members[a + 1 :]:
                yield i, j  # members are in index order: i < j
        return
    ordered = sorted(members, key=lambda i: (_sort_text(keys[i]), i))
    window = rules.window
    for a, i in enumerate(ordered):
        for j in ordered[a + 1 : a + 1 + window]:
            yield (i, j) if i < j else (j, i)
