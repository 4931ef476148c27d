"""icp_batch / icp_batch_score_only: an 8-criterion ICP fit over 100k leads vs plain Python."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from _harness import Pair, benchmark

import pipelinekit as pk
from pipelinekit.qualification.icp import bands, icp_fit, one_of, pattern, present

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
_D = Decimal


def strategy() -> Any:
    """The ICP both sides compute: 8 criteria, two capped groups and a total cap."""
    return icp_fit(
        "bench-icp",
        [
            one_of(
                "industry",
                "company.industry",
                {"software": 20, "fintech": 15, "manufacturing": 5},
                knockout=["gambling"],
                group="firmographic",
            ),
            bands(
                "size",
                "company.employees",
                [(None, 10, 0), (10, 200, 10), (200, 1000, 20), (1000, None, 15)],
                group="firmographic",
            ),
            bands(
                "revenue",
                "company.annual_revenue",
                [(0, 1_000_000, 5), (1_000_000, None, 15)],
                currency="EUR",
                group="firmographic",
            ),
            one_of("country", "company.country", {"DE": 10, "FR": 5, "GB": 5}),
            pattern(
                "seniority",
                "contact.job_title",
                {r"\b(cto|ceo|cfo|vp)\b": 20, r"head of": 15, r"manager": 5},
            ),
            present("email", "contact.email", points=5),
            one_of("channel", "source.channel", {"referral": 10, "inbound_form": 8, "event": 4}),
            one_of("tags", "tags", {"trial": 5, "webinar": 3}),
        ],
        groups={"firmographic": 45},
        total_cap=100,
    )


_SENIORITY = [
    (re.compile(r"\b(cto|ceo|cfo|vp)\b", re.IGNORECASE), _D(20)),
    (re.compile(r"head of", re.IGNORECASE), _D(15)),
    (re.compile(r"manager", re.IGNORECASE), _D(5)),
]
_INDUSTRY = {"software": _D(20), "fintech": _D(15), "manufacturing": _D(5)}
_COUNTRY = {"de": _D(10), "fr": _D(5), "gb": _D(5)}
_CHANNEL = {"referral": _D(10), "inbound_form": _D(8), "event": _D(4)}
_TAGS = {"trial": _D(5), "webinar": _D(3)}
_ZERO = _D(0)


def plain_score(lead: pk.Lead) -> Decimal | None:
    """The same score written by hand: lookups, bands, regexes, caps; no breakdown objects."""
    company, contact = lead.company, lead.contact
    firmo = _ZERO
    total = _ZERO
    if company is not None:
        if company.industry:
            key = company.industry.casefold()
            if key == "gambling":
                pass  # knockout: 0 points (the verdict is pipelinekit's extra work)
            else:
                firmo += _INDUSTRY.get(key, _ZERO)
        n = company.employees
        if n is not None:
            firmo += _D(0) if n < 10 else _D(10) if n < 200 else _D(20) if n < 1000 else _D(15)
        rev = company.annual_revenue
        if rev is not None and rev.currency == "EUR" and rev.amount >= 0:
            firmo += _D(5) if rev.amount < 1_000_000 else _D(15)
        if company.country:
            total += _COUNTRY.get(company.country.casefold(), _ZERO)
    total += firmo if firmo <= 45 else _D(45)
    if contact is not None:
        if contact.job_title:
            for regex, points in _SENIORITY:
                if regex.search(contact.job_title):
                    total += points
                    break
        if contact.email is not None:
            total += 5
    if lead.source is not None:
        total += _CHANNEL.get(lead.source.channel.value, _ZERO)
    if lead.tags:
        total += max((_TAGS.get(t.casefold(), _ZERO) for t in lead.tags), default=_ZERO)
    return total if total <= 100 else _D(100)


def sample_leads(n: int, seed: int = 11) -> list[pk.Lead]:
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    titles = ["CTO", "Head of Sales", "Engineer", "VP Marketing", "Office manager", None]
    out = []
    for i in range(n):
        at = start + timedelta(minutes=i)
        out.append(
            pk.Lead(
                id=pk.LeadId(f"lead-{i:07d}"),
                created_at=at,
                updated_at=at,
                contact=pk.Person(
                    name=f"Person {i}",
                    email=pk.EmailAddress(f"p{i}@c{i % 997}.example.com") if i % 5 else None,
                    job_title=rng.choice(titles),
                ),
                company=pk.Company(
                    f"Company {i % 997}",
                    industry=rng.choice(["software", "retail", "fintech", "gambling", None]),
                    employees=rng.choice([None, rng.randrange(1, 5000)]),
                    annual_revenue=rng.choice(
                        [None, pk.Money(rng.randrange(10_000, 9_000_000), "EUR")]
                    ),
                    country=rng.choice(["DE", "FR", "US", "GB", None]),
                ),
                source=pk.Source(rng.choice(list(pk.Channel))),
                tags=frozenset(rng.sample(["vip", "webinar", "trial", "partner"], 2)),
            )
        )
    return out


def _check(icp: Any, leads: list[pk.Lead]) -> None:
    # Both sides must compute the same scores, and the breakdown must explain them.
    for lead in leads[:2000]:
        result = icp.evaluate(lead, as_of=AS_OF)
        assert result.score == plain_score(lead), (result, plain_score(lead))
        assert sum(line.points for line in result.breakdown) == result.score


@benchmark(
    "icp_batch",
    target=3.0,
    size=100_000,
    quick_size=5_000,
    baseline="hand-written plain-Python function computing the same score (no breakdown)",
)
def icp_batch(n: int) -> Pair:
    icp = strategy()
    leads = sample_leads(n)
    _check(icp, leads)
    return Pair(
        pipelinekit=lambda: icp.evaluate_many(leads, as_of=AS_OF),
        baseline=lambda: [plain_score(lead) for lead in leads],
    )


@benchmark(
    "icp_batch_score_only",
    target=1.5,
    size=100_000,
    quick_size=5_000,
    baseline="hand-written plain-Python function computing the same score",
)
def icp_batch_score_only(n: int) -> Pair:
    icp = strategy()
    leads = sample_leads(n)
    _check(icp, leads)
    assert icp.score_many(leads[:2000], as_of=AS_OF) == [plain_score(x) for x in leads[:2000]]

    def results_without_breakdown() -> dict[str, Any]:
        # Also report full results with explain=False (no breakdown lines built).
        import statistics
        import time

        def seconds(work: Any) -> float:
            began = time.perf_counter()
            work()
            return time.perf_counter() - began

        ours = [seconds(lambda: icp.evaluate_many(leads, as_of=AS_OF, explain=False))]
        base = [seconds(lambda: [plain_score(lead) for lead in leads])]
        for _ in range(2):
            ours.append(seconds(lambda: icp.evaluate_many(leads, as_of=AS_OF, explain=False)))
            base.append(seconds(lambda: [plain_score(lead) for lead in leads]))
        value, baseline = statistics.median(ours), statistics.median(base)
        return {
            "evaluate_many_explain_false_seconds": round(value, 4),
            "evaluate_many_explain_false_ratio": round(value / baseline, 2),
        }

    return Pair(
        pipelinekit=lambda: icp.score_many(leads, as_of=AS_OF),
        baseline=lambda: [plain_score(lead) for lead in leads],
        extra=results_without_breakdown,
    )
