"""lead_from_dict: building Lead objects from dicts vs a hand-written plain-Python constructor."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from _harness import Pair, benchmark

import pipelinekit as pk
from pipelinekit.domain._iso import COUNTRIES, CURRENCIES

_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_LEAD_KEYS = frozenset(
    ["schema_version", "id", "created_at", "updated_at", "contact", "company", "source", "status", "owner", "tags", "custom", "external_id", "prospect_id", "opportunity_id", "engagement", "qualification", "history", "notes", "version"]
)
_CHANNELS = frozenset(c.value for c in pk.Channel)


class PlainLead:
    __slots__ = (
        "company",
        "contact",
        "created_at",
        "custom",
        "id",
        "source",
        "status",
        "tags",
        "updated_at",
        "version",
    )

    def __init__(self, **kw: Any) -> None:
        for key, value in kw.items():
            setattr(self, key, value)


def _domain_ok(domain: str) -> bool:
    labels = domain.split(".")
    return len(labels) >= 2 and all(_LABEL.match(x) for x in labels) and not labels[-1].isdigit()


def _aware(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.utcoffset() is None:
        raise ValueError("naive")
    return value.astimezone(UTC)


def plain_lead(d: dict[str, Any]) -> PlainLead:
    """The same checks pipelinekit makes, written by hand with plain objects."""
    problems: list[str] = []
    extra = d.keys() - _LEAD_KEYS
    if extra:
        problems.append(f"unknown {extra}")
    if not isinstance(d["id"], str) or not d["id"]:
        problems.append("id")
    created, updated = _aware(d["created_at"]), _aware(d["updated_at"])
    if updated < created:
        problems.append("updated_at")
    contact = d.get("contact")
    if contact is not None:
        email = contact.get("email")
        if email is not None:
            local, _, domain = email.rpartition("@")
            if not local or not _LOCAL.match(local) or not _domain_ok(domain.lower()):
                problems.append("email")
            contact = {**contact, "email": f"{local}@{domain.lower()}"}
        if contact.get("name") is not None and not contact["name"].strip():
            problems.append("name")
    company = d.get("company")
    if company is not None:
        if not isinstance(company["name"], str) or not company["name"].strip():
            problems.append("company.name")
        if company.get("domain") is not None and not _domain_ok(company["domain"]):
            problems.append("company.domain")
        employees = company.get("employees")
        if employees is not None and (not isinstance(employees, int) or employees < 0):
            problems.append("company.employees")
        revenue = company.get("annual_revenue")
        if revenue is not None:
            amount = Decimal(revenue["amount"])
            if not amount.is_finite() or amount < 0 or revenue["currency"] not in CURRENCIES:
                problems.append("company.annual_revenue")
            company = {**company, "annual_revenue": (amount, revenue["currency"])}
        if company.get("country") is not None and company["country"] not in COUNTRIES:
            problems.append("company.country")
    source = d.get("source")
    if source is not None and source["channel"] not in _CHANNELS:
        problems.append("source.channel")
    tags = d.get("tags", [])
    if not all(isinstance(t, str) and t.strip() for t in tags):
        problems.append("tags")
    custom = d.get("custom", {})
    if not all(isinstance(k, str) and isinstance(v, str | int) for k, v in custom.items()):
        problems.append("custom")
    if problems:
        raise ValueError(problems)
    return PlainLead(
        id=d["id"],
        created_at=created,
        updated_at=updated,
        contact=contact,
        company=company,
        source=source,
        status=d.get("status", "new"),
        tags=frozenset(tags),
        custom=dict(custom),
        version=d.get("version", 0),
    )


def sample_dicts(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        at = start + timedelta(minutes=i)
        lead = pk.Lead(
            id=pk.LeadId(f"lead-{i:07d}"),
            created_at=at,
            updated_at=at,
            contact=pk.Person(
                name=f"Person {i}",
                email=pk.EmailAddress(f"person{i}@company{i % 997}.example.com"),
                job_title=rng.choice(["CTO", "Head of Sales", "Engineer"]),
            ),
            company=pk.Company(
                f"Company {i % 997}",
                domain=f"company{i % 997}.example.com",
                industry=rng.choice(["software", "retail", "manufacturing"]),
                employees=rng.randrange(1, 5000),
                annual_revenue=pk.Money(Decimal(rng.randrange(10_000, 9_000_000)), "EUR"),
                country=rng.choice(["DE", "FR", "US", "GB"]),
            ),
            source=pk.Source(rng.choice(list(pk.Channel))),
            tags=frozenset(rng.sample(["vip", "webinar", "trial", "partner"], 2)),
            custom={"plan": rng.choice(["free", "pro"]), "seats": rng.randrange(1, 100)},
        )
        out.append(pk.to_dict(lead))
    return out


@benchmark(
    "lead_from_dict",
    target=3.0,
    size=100_000,
    quick_size=2_000,
    baseline="hand-written plain-Python constructor with the same checks",
)
def lead_from_dict(n: int) -> Pair:
    data = sample_dicts(n)
    # Both sides must accept the same data.
    assert pk.from_dict(pk.Lead, data[0]).company is not None
    assert plain_lead(data[0]).company is not None
    return Pair(
        pipelinekit=lambda: [pk.from_dict(pk.Lead, d) for d in data],
        baseline=lambda: [plain_lead(d) for d in data],
    )
