"""An example pipelinekit qualifier: how trustworthy is a lead's email domain?

A work address on the lead's own company domain scores best, another work
domain less, free mail little, and a disposable address knocks the lead out.
A lead without any email address cannot be scored (``score=None``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from pipelinekit import EmailAddress, Problem, ValidationError
from pipelinekit.qualification import (
    BreakdownLine,
    CriterionStatus,
    QualificationResult,
    StrategyBase,
    Verdict,
)
from pipelinekit.validation import structure

__all__ = ["EmailDomain", "Settings", "build"]

_FREE = frozenset(["gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "gmx.de", "web.de"])
_DISPOSABLE = frozenset(["mailinator.com", "10minutemail.com", "trashmail.com"])


class EmailDomain(StrategyBase):
    """Points for the kind of email domain a lead uses (0-10)."""

    version = "1"

    def __init__(self, name: str, free_mail: frozenset[str], disposable: frozenset[str]) -> None:
        self.name = name
        self.free_mail = free_mail
        self.disposable = disposable

    def config(self) -> dict[str, Any]:
        return {
            "kind": "email_domain",
            "name": self.name,
            "free_mail": sorted(self.free_mail),
            "disposable": sorted(self.disposable),
        }

    def reads(self) -> Mapping[str, tuple[Any, ...]]:
        """The one field it reads, with an address of each kind it tells apart."""
        return {
            "contact.email": (
                EmailAddress("ada@acme.io"),
                EmailAddress("bo@gmail.com"),
                EmailAddress("cy@mailinator.com"),
            )
        }

    def _evaluate(self, subject: Any, as_of: datetime, explain: bool) -> QualificationResult:
        contact = getattr(subject, "contact", None)
        email = getattr(contact, "email", None)
        company = getattr(subject, "company", None)
        if email is None:
            points, status, reason = None, CriterionStatus.UNKNOWN, "no email address"
        elif email.domain in self.disposable:
            points, status, reason = Decimal(0), CriterionStatus.KNOCKOUT, "disposable address"
        elif email.domain in self.free_mail:
            points, status, reason = Decimal(2), CriterionStatus.PARTIAL, "free mail address"
        elif company is not None and company.domain == email.domain:
            points, status, reason = Decimal(10), CriterionStatus.MATCH, "company's own domain"
        else:
            points, status, reason = Decimal(6), CriterionStatus.PARTIAL, "a work domain"
        if points is None:
            verdict = Verdict.INSUFFICIENT_DATA
        elif status is CriterionStatus.KNOCKOUT:
            verdict = Verdict.DISQUALIFIED
        else:
            verdict = Verdict.QUALIFIED if points >= 6 else Verdict.NURTURE
        line = BreakdownLine(
            criterion="email_domain",
            status=status,
            points=points if points is not None else Decimal(0),
            reason=reason,
            observed=None if email is None else email.domain,
            evidence=("$.contact.email",),
        )
        return QualificationResult(
            strategy=self.name,
            strategy_version=self.version,
            config_hash=self.config_hash,
            as_of=as_of,
            score=points,
            scale_min=Decimal(0),
            scale_max=Decimal(10),
            verdict=verdict,
            coverage=Decimal(0 if email is None else 1),
            breakdown=(line,) if explain else (),
            knockouts=("email_domain",) if status is CriterionStatus.KNOCKOUT else (),
            subject_id=None if getattr(subject, "id", None) is None else str(subject.id),
        )


@attrs.frozen(kw_only=True)
class Settings:
    """The configuration: ``name`` (required), and domains added to the built-in ones."""

    name: str
    free_mail: tuple[str, ...] = ()
    disposable: tuple[str, ...] = ()


def build(config: Mapping[str, Any]) -> EmailDomain:
    """The factory pipelinekit calls: configuration mapping in, strategy out.

    The settings are read like every pipelinekit configuration
    (:func:`pipelinekit.validation.structure`): every problem is reported
    with its path, and a misspelt key names the nearest valid one.
    """
    settings = structure(config, Settings, subject="email_domain")
    problems = []
    if not settings.name.strip():
        problems.append(Problem("$.name", "must not be blank"))
    for key in ("free_mail", "disposable"):
        for index, domain in enumerate(getattr(settings, key)):
            if not domain.strip():
                problems.append(Problem(f"$.{key}[{index}]", "must not be blank"))
    if problems:
        raise ValidationError("email_domain", problems)
    free = frozenset(d.lower() for d in settings.free_mail)
    disposable = frozenset(d.lower() for d in settings.disposable)
    return EmailDomain(settings.name, _FREE | free, _DISPOSABLE | disposable)
