"""Strategies for the duplicate tests: leads drawn from small pools, so values collide."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from pipelinekit.domain import Company, EmailAddress, Lead, LeadId, Person, PhoneNumber

T0 = datetime(2026, 1, 1, tzinfo=UTC)

NAMES = [
    "Ada Lovelace",
    "Ada Lovelase",
    "Lovelace, Ada",
    "Alan Turing",
    "Alan Turin",
    "Grace Hopper",
]
LOCALS = ["ada", "ADA", "a.lovelace", "alan", "grace", "g.hopper"]
DOMAINS = ["acme.io", "ACME.io", "initech.com", "gmail.com", "hooli.net"]
PHONES = ["+44 20 7946 0958", "+442079460958", "020 7946 0958", "+1 415 555 0100"]
COMPANIES = ["Acme Inc.", "ACME", "Acme GmbH", "Initech", "Initech S.A.R.L.", "Hooli"]
COMPANY_DOMAINS = ["acme.io", "www.acme.io", "initech.com", "hooli.net", "gmail.com"]


@st.composite
def pooled_leads(draw: st.DrawFn, index: int) -> Lead:
    """One lead whose every field comes from a small pool (``index`` keeps ids unique)."""
    name = draw(st.none() | st.sampled_from(NAMES))
    email = draw(st.none() | st.tuples(st.sampled_from(LOCALS), st.sampled_from(DOMAINS)))
    phone = draw(st.none() | st.sampled_from(PHONES))
    person = None
    if name or email or phone:
        person = Person(
            name,
            email=EmailAddress(f"{email[0]}@{email[1]}") if email else None,
            phone=PhoneNumber(phone) if phone else None,
        )
    company = None
    if person is None or draw(st.booleans()):
        company = Company(
            draw(st.sampled_from(COMPANIES)),
            domain=draw(st.none() | st.sampled_from(COMPANY_DOMAINS)),
        )
    custom: dict[str, Any] = {}
    vat = draw(st.none() | st.sampled_from(["DE1", "DE2", "FR1"]))
    if vat:
        custom["vat_id"] = vat
    at = T0 + timedelta(days=index)
    return Lead(
        id=LeadId(f"lead-{index:04d}"),
        created_at=at,
        updated_at=at,
        contact=person,
        company=company,
        custom=custom,
    )


@st.composite
def lead_sets(draw: st.DrawFn, *, min_size: int = 0, max_size: int = 25) -> list[Lead]:
    """Lists of pooled leads with distinct ids."""
    size = draw(st.integers(min_size, max_size))
    return [draw(pooled_leads(i)) for i in range(size)]


#: Rule sets over every kind; the weights and thresholds vary.
WEIGHTS = st.sampled_from(["0.1", "0.3", "0.5", "0.7", "1", "1.25"])


@st.composite
def rule_sets(draw: st.DrawFn, *, exact_blocking: bool = False) -> dict[str, Any]:
    """Rule sets as data; ``exact_blocking`` leaves out ``company_name`` (sorted neighbourhood)."""
    kinds = ["email", "email_domain_name", "phone", "company_domain", "custom"]
    if not exact_blocking:
        kinds.append("company_name")
    chosen = draw(st.lists(st.sampled_from(kinds), min_size=1, max_size=len(kinds), unique=True))
    rules: list[dict[str, Any]] = []
    for kind in chosen:
        rule: dict[str, Any] = {"kind": kind, "weight": draw(WEIGHTS)}
        if kind in ("email_domain_name", "company_name"):
            rule["min_similarity"] = draw(st.integers(50, 100))
        if kind == "custom":
            rule["field"] = "vat_id"
        if kind == "phone" and draw(st.booleans()):
            rule["region"] = "GB"
        rules.append(rule)
    return {"threshold": draw(st.sampled_from(["0.3", "0.7", "1", "1.5"])), "rules": rules}
