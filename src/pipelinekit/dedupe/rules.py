"""Matching rules as data: which values make two records duplicates, and how much each counts.

A rule set is plain data (a dict or a TOML file)::

    threshold = 1.0          # a pair whose score reaches this is a duplicate
    max_block = 50           # blocks larger than this are compared by sorted neighbourhood
    window = 10              # ... with this many neighbours each

    [[rules]]
    kind = "email"           # exact normalised email
    weight = 1.0

    [[rules]]
    kind = "email_domain_name"
    weight = 0.9             # times the name similarity (0..1)
    min_similarity = 85      # percent; below it the rule does not fire

    [[rules]]
    kind = "custom"
    field = "vat_id"         # equality of one custom field
    weight = 1.0

Every problem is reported at once with its path, in the words of every
pipelinekit loader (``$.rules[1].weight: must be > 0, got 0``), as one
:class:`MatchRulesError`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, NewType

import attrs

from ..errors import Problem, ValidationError
from ..validation import Structurer, data_problems, decimal, decode_toml
from .normalise import PUBLIC_MAIL_DOMAINS

__all__ = [
    "MatchRule",
    "MatchRules",
    "MatchRulesError",
    "RuleKind",
    "default_rules",
    "load_rules",
    "loads_rules",
    "rules_from_dict",
]

#: Weights and the threshold carry at most this many decimal places (scores stay exact).
PLACES = 4


class MatchRulesError(ValidationError):
    """A rule set was refused; ``problems`` lists every problem with its path."""

    def __init__(self, problems: Any, subject: str = "match rules") -> None:
        super().__init__(subject, problems)


class RuleKind(enum.StrEnum):
    """What a rule compares."""

    #: Exact normalised email address (trimmed, lower-cased).
    EMAIL = "email"
    #: Same organisation domain and a similar person name; the domain is the email's, or
    #: the company's when the email is at a public mail provider (or absent).
    EMAIL_DOMAIN_NAME = "email_domain_name"
    #: Same company domain (``www.`` stripped; public mail domains never match).
    COMPANY_DOMAIN = "company_domain"
    #: Same normalised phone number (E.164 with the ``phone`` extra, digits otherwise).
    PHONE = "phone"
    #: Similar company name once legal-form words (Inc, GmbH, SARL...) are removed.
    COMPANY_NAME = "company_name"
    #: Equal values of one custom field.
    CUSTOM = "custom"


#: The kinds whose score is a similarity (weight x similarity / 100).
FUZZY = frozenset({RuleKind.EMAIL_DOMAIN_NAME, RuleKind.COMPANY_NAME})


@attrs.frozen
class MatchRule:
    """One rule: its ``kind``, its ``weight``, and the settings its kind takes.

    An exact rule that fires adds ``weight`` to a pair's score; a fuzzy one
    adds ``weight x similarity / 100`` (similarity a whole percent from 0 to
    100) when the similarity is at least ``min_similarity``.
    """

    name: str
    kind: RuleKind
    weight: Decimal
    min_similarity: int | None = None
    field: str | None = None
    region: str | None = None

    @property
    def fuzzy(self) -> bool:
        """Whether the rule scores a similarity rather than an equality."""
        return self.kind in FUZZY

    @property
    def blocking_exact(self) -> bool:
        """Whether every pair this rule fires on shares one of its blocks.

        True for every kind but ``company_name``, which compares each record with
        its ``window`` neighbours in company-name order (sorted neighbourhood).
        """
        return self.kind is not RuleKind.COMPANY_NAME


@attrs.frozen
class MatchRules:
    """A rule set: rules, the duplicate threshold and the blocking limits.

    A pair is a duplicate when the sum of its rules' contributions reaches
    ``threshold``.  Candidate pairs come from blocks (records sharing a rule's
    key); a block of more than ``max_block`` records is compared by sorted
    neighbourhood instead, each record with its ``window`` next ones.
    """

    rules: tuple[MatchRule, ...]
    threshold: Decimal = Decimal(1)
    max_block: int = 50
    window: int = 10
    public_domains: frozenset[str] = attrs.field(default=PUBLIC_MAIL_DOMAINS, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The rule set as plain data that :func:`rules_from_dict` reads back."""
        rules = []
        for rule in self.rules:
            data: dict[str, Any] = {"name": rule.name, "kind": rule.kind.value}
            data["weight"] = str(rule.weight)
            for key in ("min_similarity", "field", "region"):
                value = getattr(rule, key)
                if value is not None:
                    data[key] = value
            rules.append(data)
        out: dict[str, Any] = {
            "threshold": str(self.threshold),
            "max_block": self.max_block,
            "window": self.window,
            "rules": rules,
        }
        extra = sorted(self.public_domains - PUBLIC_MAIL_DOMAINS)
        if extra:
            out["public_domains"] = extra
        return out


# -- loading ---------------------------------------------------------------------------------

Number = NewType("Number", Decimal)


def _number(value: Any) -> Number:
    if isinstance(value, float):  # read as written (TOML and JSON floats)
        value = str(value)
    return Number(decimal(value))


@attrs.frozen(kw_only=True)
class _RuleData:
    kind: RuleKind
    weight: Number
    name: str | None = None
    min_similarity: int | None = None
    field: str | None = None
    region: str | None = None


_ONE = Number(Decimal(1))


@attrs.frozen(kw_only=True)
class _RulesData:
    rules: tuple[Any, ...]
    threshold: Number = _ONE
    max_block: int = 50
    window: int = 10
    public_domains: tuple[str, ...] = ()


_STRUCTURER = Structurer()
_STRUCTURER.register(Number, _number)

#: The settings each kind takes besides name, kind and weight.
_SETTINGS: dict[RuleKind, frozenset[str]] = {
    RuleKind.EMAIL: frozenset(),
    RuleKind.EMAIL_DOMAIN_NAME: frozenset({"min_similarity"}),
    RuleKind.COMPANY_DOMAIN: frozenset(),
    RuleKind.PHONE: frozenset({"region"}),
    RuleKind.COMPANY_NAME: frozenset({"min_similarity"}),
    RuleKind.CUSTOM: frozenset({"field"}),
}
_DEFAULT_SIMILARITY = {RuleKind.EMAIL_DOMAIN_NAME: 85, RuleKind.COMPANY_NAME: 90}


def load_rules(path: str | Path) -> MatchRules:
    """Read a rule set from a TOML file (see the module docs for the format)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise MatchRulesError(
            [Problem("$", f"cannot read {file}: {error.strerror or error}")]
        ) from error
    except UnicodeDecodeError as error:
        raise MatchRulesError(
            [Problem("$", f"{file} is not UTF-8 (byte {error.start}): re-save it as UTF-8")]
        ) from error
    return loads_rules(text)


def loads_rules(text: str) -> MatchRules:
    """Read a rule set from TOML text (decimals are read exactly)."""
    try:
        data = decode_toml(text, "match rules")
    except ValidationError as error:
        raise MatchRulesError(error.problems) from error
    return rules_from_dict(data)


def rules_from_dict(data: Mapping[str, Any]) -> MatchRules:
    """Build a :class:`MatchRules` from plain data; raise one :class:`MatchRulesError`
    listing every problem with its path."""
    beyond = data_problems(data)
    if beyond:
        raise MatchRulesError(beyond)
    top, problems = _STRUCTURER.salvage(data, _RulesData)
    threshold = top.get("threshold", Decimal(1))
    problems += _positive("$.threshold", threshold)
    for key in ("max_block", "window"):
        value = top.get(key)
        if value is not None and not 2 <= value <= 1_000_000:
            problems.append(Problem(f"$.{key}", f"must be from 2 to 1000000, got {value}"))
    domains = []
    for index, domain in enumerate(top.get("public_domains", ())):
        if "." not in domain.strip(". ") or " " in domain.strip():
            problems.append(Problem(f"$.public_domains[{index}]", "must be a domain like mail.com"))
        domains.append(domain.strip().lower())
    raw_rules = top.get("rules")
    if raw_rules is not None and not raw_rules:
        problems.append(Problem("$.rules", "needs at least one rule"))
    rules: list[MatchRule] = []
    names: dict[str, int] = {}
    for index, raw in enumerate(raw_rules or ()):
        rule, name, found = _rule(raw, f"$.rules[{index}]")
        problems.extend(found)
        if name is not None and name in names:
            problems.append(
                Problem(
                    f"$.rules[{index}].name",
                    f"{name!r} is already the name of $.rules[{names[name]}]: "
                    "give one of them another name",
                )
            )
        if name is not None:
            names.setdefault(name, index)
        if rule is not None:
            rules.append(rule)
    if problems:
        raise MatchRulesError(list(dict.fromkeys(problems)))
    return MatchRules(
        rules=tuple(rules),
        threshold=threshold,
        max_block=top.get("max_block", 50),
        window=top.get("window", 10),
        public_domains=PUBLIC_MAIL_DOMAINS | frozenset(domains),
    )


def _positive(path: str, value: Decimal | None) -> list[Problem]:
    if value is None:
        return []
    if value <= 0 or value > 1000:
        return [Problem(path, f"must be > 0 and at most 1000, got {value}")]
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -PLACES:
        return [Problem(path, f"must have at most {PLACES} decimal places, got {value}")]
    return []


def _rule(raw: object, path: str) -> tuple[MatchRule | None, str | None, list[Problem]]:
    fields, problems = _STRUCTURER.salvage(raw, _RuleData, path)
    problems += _positive(f"{path}.weight", fields.get("weight"))
    kind = fields.get("kind")
    if kind is None:
        return None, fields.get("name"), problems
    allowed = _SETTINGS[kind]
    for key in ("min_similarity", "field", "region"):
        if key in fields and key not in allowed:
            takes = ", ".join(sorted(allowed)) or "nothing besides name and weight"
            problems.append(
                Problem(f"{path}.{key}", f"a rule of kind {kind.value!r} takes {takes}")
            )
    similarity = fields.get("min_similarity")
    if similarity is not None and not 1 <= similarity <= 100:
        problems.append(
            Problem(f"{path}.min_similarity", f"must be a percent from 1 to 100, got {similarity}")
        )
    region = fields.get("region")
    if region is not None and not (len(region) == 2 and region.isascii() and region.isalpha()):
        problems.append(
            Problem(f"{path}.region", f"must be an ISO country code like 'GB', got {region!r}")
        )
    field = fields.get("field")
    if kind is RuleKind.CUSTOM and not field:
        problems.append(Problem(f"{path}.field", "is required: the custom field to compare"))
    name = fields.get("name") or (f"custom:{field}" if kind is RuleKind.CUSTOM else kind.value)
    if problems or "weight" not in fields:
        return None, name, problems
    return (
        MatchRule(
            name=name,
            kind=kind,
            weight=fields["weight"],
            min_similarity=similarity if similarity is not None else _DEFAULT_SIMILARITY.get(kind),
            field=field,
            region=region.upper() if region else None,
        ),
        name,
        [],
    )


def default_rules() -> MatchRules:
    """The rule set used when none is given.

    Exact email (1.0) alone makes a duplicate; a similar name at the same
    company email domain (0.9 x similarity) or the same phone (0.7) needs one
    more sign, such as the same company domain (0.3) or a similar company name
    (0.3 x similarity).  Two colleagues (same company, different names) stay
    apart.
    """
    return rules_from_dict(
        {
            "threshold": "1",
            "rules": [
                {"kind": "email", "weight": "1"},
                {"kind": "email_domain_name", "weight": "0.9", "min_similarity": 85},
                {"kind": "phone", "weight": "0.7"},
                {"kind": "company_domain", "weight": "0.3"},
                {"kind": "company_name", "weight": "0.3", "min_similarity": 90},
            ],
        }
    )
