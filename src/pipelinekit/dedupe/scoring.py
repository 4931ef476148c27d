"""Pair scores with their explanation: which rules fired, and what each added.

The score of a pair is the exact sum of its parts (decimals, no rounding),
the promise qualification results make too: ``sum(p.points for p in
pair.parts) == pair.score`` always.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import attrs

from ..domain import Lead, Opportunity, Prospect
from .errors import DedupeDependencyError
from .normalise import company_key, email_key, name_key, phone_key
from .rules import MatchRules, RuleKind

__all__ = ["Part", "PairScore", "Ref", "score_pair"]

Entity = Lead | Prospect | Opportunity

_KIND = {Lead: "lead", Prospect: "prospect", Opportunity: "opportunity"}
_UNSET: Any = object()
_FUZZY_KINDS = (RuleKind.EMAIL_DOMAIN_NAME, RuleKind.COMPANY_NAME)
#: Internally a contribution counts in millionths: weight (4 places) x similarity (percent).
_SCALE = Decimal(1_000_000)


@attrs.frozen(order=True)
class Ref:
    """One record of a cluster: its kind (``lead``...), id, and the version it was read at."""

    kind: str
    id: str
    version: int = attrs.field(default=0, order=False)

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


@attrs.frozen
class Part:
    """One rule's share of a pair score.

    ``similarity`` is the whole percent a fuzzy rule measured (``None`` for an
    exact rule); ``points`` is what the rule added to the score.
    """

    rule: str
    kind: RuleKind
    points: Decimal
    similarity: int | None = None

    def __str__(self) -> str:
        how = "" if self.similarity is None else f" ({self.similarity}% similar)"
        return f"{self.rule}{how}: +{self.points}"


@attrs.frozen(order=True)
class PairScore:
    """Two records, their score and the rules that fired (``parts``, summing to ``score``)."""

    left: Ref
    right: Ref
    score: Decimal = attrs.field(order=False)
    parts: tuple[Part, ...] = attrs.field(order=False)

    def explain(self) -> str:
        """One line: ``lead:a ~ lead:b score 1.3 = email: +1 + company_domain: +0.3``."""
        terms = " + ".join(map(str, self.parts)) or "no rule fired"
        return f"{self.left} ~ {self.right} score {self.score} = {terms}"


# -- what is compared, per record ---------------------------------------------------------------


def _fields(entity: Any) -> tuple[Any, Any]:
    """The person and company of a lead, prospect or opportunity."""
    if isinstance(entity, Lead):
        return entity.contact, entity.company
    if isinstance(entity, Prospect):
        return entity.person, entity.company
    if isinstance(entity, Opportunity):
        return entity.contact, entity.company
    raise TypeError(type(entity).__name__)  # callers check the types first


def ref_of(entity: Entity) -> Ref:
    """The :class:`Ref` of a stored or new entity."""
    return Ref(_KIND[type(entity)], entity.id, entity.version)


def keys_of(
    entity: Entity, rules: MatchRules, cache: dict[Any, Any] | None = None
) -> tuple[Any, ...]:
    """Per rule, the value it compares; ``None`` where the rule cannot fire.

    An ``email_domain_name`` rule's value is ``(domain, name)``; ``cache``
    keeps normalised person and company names across the records of one
    search (each distinct name is normalised once).
    """
    person, company = _fields(entity)
    email = person.email.value if person is not None and person.email is not None else None
    cache = {} if cache is None else cache
    public = rules.public_domains
    out: list[Any] = []
    for rule in rules.rules:
        kind = rule.kind
        key: Any = None
        if kind is RuleKind.EMAIL:
            key = email_key(email)
        elif kind is RuleKind.EMAIL_DOMAIN_NAME:
            # the organisation's domain: the email's, else (a public mail provider, or no
            # email) the company's
            domain = email.rpartition("@")[2].lower() if email else None
            if (domain is None or domain in public) and company is not None:
                domain = company.domain
            if domain and domain not in public and person is not None and person.name:
                name = cache.get(("name", person.name), _UNSET)
                if name is _UNSET:
                    name = cache[("name", person.name)] = name_key(person.name)
                if name:
                    key = (domain, name)
        elif kind is RuleKind.COMPANY_DOMAIN:
            domain = company.domain if company is not None else None
            if domain and domain not in public:
                key = domain
        elif kind is RuleKind.PHONE:
            phone = person.phone if person is not None else None
            key = phone_key(phone.normalised, rule.region) if phone is not None else None
        elif kind is RuleKind.COMPANY_NAME:
            if company is not None:
                key = cache.get(("company", company.name), _UNSET)
                if key is _UNSET:
                    key = cache[("company", company.name)] = company_key(company.name)
        else:  # custom
            assert rule.field is not None
            value = entity.custom.get(rule.field)
            if value is not None and value != "":
                key = (type(value).__name__, str(value))
        out.append(key)
    return tuple(out)


def _ratio() -> Any:
    try:
        from rapidfuzz.fuzz import ratio
    except ImportError:  # pragma: no cover - the test extra installs it
        raise DedupeDependencyError() from None
    return ratio


class Scorer:
    """Scores pairs of keyed records under one rule set (in integer millionths)."""

    def __init__(self, rules: MatchRules) -> None:
        self.rules = rules
        self.units = [int(rule.weight * 10_000) for rule in rules.rules]
        self.threshold = int(rules.threshold * _SCALE)
        self.ratio: Any = _ratio() if any(rule.fuzzy for rule in rules.rules) else None
        self.plan = [
            (index, rule.kind, rule.min_similarity or 0, self.units[index])
            for index, rule in enumerate(rules.rules)
        ]
        # for reaches(): exact rules first, each step with the most the rules after it can add
        steps = sorted(self.plan, key=lambda step: step[1] in _FUZZY_KINDS)
        self.steps = [
            (*step, sum(units * 100 for *_, units in steps[at + 1 :]))
            for at, step in enumerate(steps)
        ]

    def reaches(self, a: Sequence[Any], b: Sequence[Any]) -> bool:
        """Whether the pair's score reaches the threshold (stops as soon as that is known)."""
        total = 0
        threshold = self.threshold
        for index, kind, least, units, rest in self.steps:
            x = a[index]
            y = b[index]
            if x is not None and y is not None:
                if kind is RuleKind.EMAIL_DOMAIN_NAME:
                    if x[0] == y[0]:
                        similarity = round(self.ratio(x[1], y[1]))
                        if similarity >= least:
                            total += units * similarity
                elif kind is RuleKind.COMPANY_NAME:
                    similarity = round(self.ratio(x, y))
                    if similarity >= least:
                        total += units * similarity
                elif x == y:
                    total += units * 100
            if total >= threshold:
                return True
            if total + rest < threshold:
                return False
        return False

    def explained(self, left: Ref, a: Sequence[Any], right: Ref, b: Sequence[Any]) -> PairScore:
        """The pair's :class:`PairScore`, with the part of each rule that fired."""
        parts: list[Part] = []
        for (index, kind, least, units), rule in zip(self.plan, self.rules.rules, strict=True):
            x, y = a[index], b[index]
            if x is None or y is None:
                continue
            similarity: int | None = None
            if kind is RuleKind.EMAIL_DOMAIN_NAME or kind is RuleKind.COMPANY_NAME:
                if kind is RuleKind.EMAIL_DOMAIN_NAME:
                    if x[0] != y[0]:
                        continue
                    x, y = x[1], y[1]
                similarity = round(self.ratio(x, y))
                if similarity < least:
                    continue
                points = units * similarity
            elif x == y:
                points = units * 100
            else:
                continue
            parts.append(Part(rule.name, kind, _decimal(points), similarity))
        score = sum((p.points for p in parts), Decimal(0))
        if left > right:
            left, right = right, left
        return PairScore(left, right, score, tuple(parts))


def _decimal(millionths: int) -> Decimal:
    """``millionths / 10**6`` exactly, written without trailing zeros (``0.3``, ``1``)."""
    value = Decimal(millionths).scaleb(-6)
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def score_pair(a: Entity, b: Entity, rules: MatchRules) -> PairScore:
    """Score two records under ``rules``, with the explanation (every rule that fired)."""
    scorer = Scorer(rules)
    return scorer.explained(ref_of(a), keys_of(a, rules), ref_of(b), keys_of(b, rules))
