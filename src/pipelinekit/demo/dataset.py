"""A seeded, realistic synthetic dataset of leads, for demos and your own experiments.

Leads arrive over several months from sources of different quality; their
companies and contacts fit the demo's ideal customer profile to varying
degrees; sales has recorded BANT answers for the leads it talked to; and each
lead carries engagement events (website visits, email opens, webinars, demo
requests, unsubscribes).  A hidden *intent* drives answers, engagement and,
in :mod:`pipelinekit.demo.scenario`, the outcome, so better-scoring leads do
convert more often, as in real data.

The same ``seed`` always gives the same leads (ids included): times come
from ``start``, never from the wall clock.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from ..domain import (
    Channel,
    Company,
    Event,
    Lead,
    LeadId,
    Money,
    Person,
    Source,
    custom_fields,
)

__all__ = ["DEFAULT_START", "seeded_id", "synthetic_leads"]

#: Where the demo's timeline starts (a Monday); the dataset spans ``months`` from here.
DEFAULT_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

# channel, weight (share of leads), intent bonus (source quality)
T = TypeVar("T")

_SOURCES: tuple[tuple[Channel, int, float], ...] = (
    (Channel.INBOUND_FORM, 18, 0.20),
    (Channel.WEBSITE, 16, 0.05),
    (Channel.REFERRAL, 7, 0.30),
    (Channel.EVENT, 9, 0.10),
    (Channel.PAID_AD, 14, -0.05),
    (Channel.COLD_EMAIL, 14, -0.15),
    (Channel.LIST, 12, -0.25),
    (Channel.SOCIAL, 6, -0.05),
    (Channel.PARTNER, 4, 0.20),
)
_DETAILS = {
    Channel.INBOUND_FORM: ("contact form", "pricing form", "trial sign-up"),
    Channel.WEBSITE: ("chat", "newsletter"),
    Channel.REFERRAL: ("customer referral", "board member"),
    Channel.EVENT: ("SaaS Summit", "regional meetup", "webinar"),
    Channel.PAID_AD: ("search ad", "social ad"),
    Channel.COLD_EMAIL: ("outbound sequence",),
    Channel.LIST: ("purchased list", "trade fair list"),
    Channel.SOCIAL: ("LinkedIn", "community forum"),
    Channel.PARTNER: ("reseller",),
}
# industry, weight, fit bonus
_INDUSTRIES: tuple[tuple[str, int, float], ...] = (
    ("software", 22, 0.20),
    ("fintech", 12, 0.15),
    ("health", 10, 0.05),
    ("manufacturing", 14, 0.0),
    ("logistics", 10, 0.0),
    ("retail", 14, -0.10),
    ("education", 8, -0.10),
    ("gambling", 3, -0.40),
    ("travel", 7, -0.05),
)
_COUNTRIES = (("DE", 22), ("GB", 16), ("FR", 12), ("NL", 8), ("US", 24), ("ES", 8), ("IN", 10))
# job title, weight, authority bonus
_TITLES: tuple[tuple[str, int, float], ...] = (
    ("CEO", 6, 0.20),
    ("CTO", 8, 0.25),
    ("VP Sales", 6, 0.20),
    ("VP Operations", 5, 0.15),
    ("Head of IT", 9, 0.15),
    ("Head of Sales", 8, 0.10),
    ("IT Manager", 12, 0.0),
    ("Office Manager", 12, -0.10),
    ("Sales Representative", 10, -0.10),
    ("Analyst", 10, -0.10),
    ("Student", 4, -0.35),
    ("Intern", 4, -0.30),
)
_FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John", "Katherine",
          "Linus", "Margaret", "Niklaus", "Radia", "Tim", "Hedy", "Ken", "Sophie", "Dennis",
          "Joan", "Guido", "Anita", "Bjarne", "Karen", "Leslie")  # fmt: skip
_LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus",
         "Johnson", "Torvalds", "Hamilton", "Wirth", "Perlman", "Berners-Lee", "Lamarr",
         "Thompson", "Wilson", "Ritchie", "Clarke", "van Rossum", "Borg", "Stroustrup",
         "Sparck Jones", "Lamport")  # fmt: skip
_PREFIX = ("North", "Blue", "Bright", "Iron", "Silver", "Green", "Rapid", "Clear", "Summit",
           "Harbor", "Pioneer", "Quantum", "Cedar", "Atlas", "Nimbus", "Vector", "Orbit",
           "Granite", "Lumen", "Maple")  # fmt: skip
_SUFFIX = ("wind", "stone", "field", "works", "line", "bridge", "point", "path", "gate", "forge")
_KIND = {
    "software": ("Software", "Labs", "Cloud"),
    "fintech": ("Pay", "Capital", "Finance"),
    "health": ("Health", "Care", "Medical"),
    "manufacturing": ("Industries", "Manufacturing", "Tools"),
    "logistics": ("Logistics", "Freight", "Shipping"),
    "retail": ("Retail", "Stores", "Market"),
    "education": ("Academy", "Learning", "School"),
    "gambling": ("Bets", "Casino", "Gaming"),
    "travel": ("Travel", "Tours", "Trips"),
}
_LEVELS = ("none", "low", "medium", "high", "confirmed")
_PAGES = ("/pricing", "/docs", "/blog", "/case-studies", "/integrations", "/careers")


def _pick(rng: random.Random, table: tuple[tuple[T, int, float], ...]) -> tuple[T, float]:
    item = rng.choices(table, weights=[row[1] for row in table])[0]
    return item[0], item[2]


def _employees(rng: random.Random) -> int:
    # a long tail: many small companies, some large ones
    return max(1, min(60_000, round(rng.lognormvariate(4.3, 1.5))))


def _level(rng: random.Random, intent: float, bonus: float = 0.0) -> str | None:
    if rng.random() < 0.18:  # not asked or not answered: unknown, not 0
        return None
    value = 2.0 + 3.2 * (intent - 0.5) + bonus + rng.gauss(0, 0.9)
    return _LEVELS[max(0, min(4, round(value)))]


def _events(
    rng: random.Random, intent: float, created: datetime, end: datetime
) -> tuple[Event, ...]:
    span = max(1.0, (end - created).total_seconds() / 86_400)
    out: list[Event] = []
    visits = max(0, round(rng.gauss(2 + 10 * intent, 2.5)))
    for _ in range(visits):
        at = created + timedelta(days=rng.uniform(0, span), minutes=rng.randrange(1440))
        page = rng.choices(_PAGES, weights=(2 + 8 * intent, 3, 4, 2, 2, 1))[0]
        out.append(Event("website_visit", at, custom_fields(url=page)))
    for _ in range(max(0, round(rng.gauss(1 + 4 * intent, 1.5)))):
        at = created + timedelta(days=rng.uniform(0, span))
        campaign = rng.choice(("welcome", "product", "q2"))
        out.append(Event("email_open", at, custom_fields(campaign=campaign)))
    if rng.random() < 0.1 + 0.4 * intent:
        out.append(Event("webinar", created + timedelta(days=rng.uniform(0, span))))
    if rng.random() < 0.7 * intent**2:
        out.append(Event("demo_request", created + timedelta(days=rng.uniform(0, span))))
    if rng.random() < 0.15 * (1 - intent):
        out.append(Event("unsubscribe", created + timedelta(days=rng.uniform(0, span))))
    out = [e for e in out if e.at <= end]
    out.sort(key=lambda e: e.at)
    return tuple(out)


def seeded_id(rng: random.Random, at: datetime) -> str:
    """A UUIDv7 for ``at`` whose random part comes from ``rng`` (so reruns give the same ids)."""
    millis = int(at.timestamp() * 1000) & ((1 << 48) - 1)
    rand = rng.getrandbits(74)
    value = (millis << 80) | (0x7 << 76) | ((rand >> 62) & 0xFFF) << 64
    value |= (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


def synthetic_leads(
    count: int = 500,
    *,
    seed: int = 25,
    start: datetime = DEFAULT_START,
    months: int = 6,
    currency: str = "EUR",
) -> list[Lead]:
    """Generate ``count`` realistic leads, reproducibly for ``seed``.

    Leads are created between ``start`` and ``months`` later (in creation
    order), from several sources; about four in five were contacted and carry
    BANT answers as level names in ``custom["bant.budget"]`` etc. (missing
    when unknown).  Each lead's ``custom["demo.intent"]`` holds the hidden
    intent (0-1) the generator used, so experiments can compare a scoring
    model with the truth; ``external_id`` is ``demo-<seed>-<n>``.

    >>> from pipelinekit.demo import synthetic_leads
    >>> leads = synthetic_leads(50, seed=7)
    >>> len(leads), leads == synthetic_leads(50, seed=7)
    (50, True)
    >>> len({lead.source.channel for lead in leads}) >= 5  # several sources
    True
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    if months < 1:
        raise ValueError(f"months must be >= 1, got {months}")
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware (e.g. tzinfo=UTC)")
    rng = random.Random(seed)
    end = start + timedelta(days=30 * months)
    span = (end - start).total_seconds()
    times = sorted(start + timedelta(seconds=rng.uniform(0, span)) for _ in range(count))
    leads: list[Lead] = []
    for n, created in enumerate(times):
        channel, source_bonus = _pick(rng, _SOURCES)
        industry, industry_bonus = _pick(rng, _INDUSTRIES)
        title, title_bonus = _pick(rng, _TITLES)
        country = rng.choices(_COUNTRIES, weights=[c[1] for c in _COUNTRIES])[0][0]
        employees = _employees(rng)
        size_bonus = 0.15 if 50 <= employees <= 2000 else (-0.2 if employees < 10 else 0.0)
        intent = source_bonus + industry_bonus + title_bonus + size_bonus + rng.gauss(0.25, 0.2)
        intent = max(0.0, min(1.0, intent))
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        name = f"{rng.choice(_PREFIX)}{rng.choice(_SUFFIX)} {rng.choice(_KIND[str(industry)])}"
        domain = name.lower().replace(" ", "-") + rng.choice((".example", ".test"))
        revenue = Money(Decimal(employees * rng.randrange(40, 220)) * 1000, currency)
        email = None
        if rng.random() < 0.85:
            mailbox = rng.choice(("gmail.example", domain)) if rng.random() < 0.2 else domain
            email = f"{first.lower()}.{last.lower().replace(' ', '')}{n}@{mailbox}"
        contacted = rng.random() < 0.8
        custom: dict[str, object] = {"demo.intent": Decimal(str(round(intent, 3)))}
        if contacted:
            for key, bonus in (
                ("budget", (employees > 50) * 0.4 - 0.2),
                ("authority", title_bonus * 3),
                ("need", industry_bonus * 2),
                ("timeline", 0.0),
            ):
                level = _level(rng, intent, bonus)
                if level is not None:
                    custom[f"bant.{key}"] = level
        detail = rng.choice(_DETAILS[channel])
        lead = Lead.create(
            contact=Person.of(f"{first} {last}", email=email, job_title=str(title)),
            company=Company(
                name,
                domain=domain,
                industry=str(industry),
                employees=employees,
                annual_revenue=revenue,
                country=country,
            ),
            source=Source(channel, detail),
            tags={"demo"} | ({"contacted"} if contacted else set()),
            custom=custom,
            external_id=f"demo-{seed}-{n:05d}",
            at=created,
        )
        leads.append(
            lead.evolve(
                id=LeadId(seeded_id(rng, created)), engagement=_events(rng, intent, created, end)
            )
        )
    return leads
