"""icp_batch / icp_batch_score_only: an 8-criterion ICP fit over 100k leads vs plain Python."""

from __future__ import annotations

import decimal
import math
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


# -- engagement_batch: grouped, decayed engagement over 100k leads x 20 events ----------

_KINDS = [
    ("page_view", "/pricing"),
    ("page_view", "/blog"),
    ("email_click", None),
    ("email_open", None),
    ("email_bounce", None),
    ("form_submit", None),
]


def engagement_strategy() -> Any:
    """Two limited groups with their own decay, an ungrouped rule, a negative rule."""
    from pipelinekit.qualification import engagement, event_group, half_life, rule, step_decay

    return engagement(
        "bench-engagement",
        [
            rule("pricing", "page_view", 10, where={"url": "/pricing"}, group="web"),
            rule("blog", "page_view", 3, where={"url": "/blog"}, daily_cap=2, group="web"),
            rule("click", "email_click", 5, group="email"),
            rule("open", "email_open", 1, group="email"),
            rule("bounce", "email_bounce", -10, group="email"),
            rule("form", "form_submit", 20),
        ],
        groups=[
            event_group("web", limit=40, decay=half_life(30)),
            event_group("email", limit=25, minimum=-15, decay=step_decay("0.25", 2, "weeks")),
        ],
        decay=half_life(60),
        total_cap=100,
    )


_CTX = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN)
_DAY_US = 86_400_000_000
_SIX = _D("0.000001")
_CENTS = _D("0.01")


def _half(at: datetime, days: int) -> Decimal:
    # float power, exact when not within 1e-6 of a cut (else the exact Decimal power)
    delta = AS_OF - at
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    scaled = 0.5 ** (micros / days / _DAY_US) * 1e6
    whole = math.floor(scaled)
    if 1e-6 < scaled - whole < 1 - 1e-6:
        return _D(whole).scaleb(-6, _CTX)
    exponent = _CTX.divide(_D(micros), _D(days * _DAY_US))
    return _CTX.power(_D("0.5"), exponent).quantize(_SIX, rounding=decimal.ROUND_FLOOR)


def _quarter_per_fortnight(at: datetime) -> Decimal:
    delta = AS_OF - at
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    steps = micros // (14 * _DAY_US)
    return max(_ZERO, 1 - _D("0.25") * steps)


def plain_engagement(lead: pk.Lead) -> Decimal | None:
    """The same score by hand: one pass over the sorted events, per-rule sums, group limits."""
    pricing = blog = click = opened = bounce = form = _ZERO
    seen = False
    per_day: dict[Any, int] = {}
    for event in sorted(lead.engagement, key=lambda e: e.at):
        kind = event.kind
        if event.at > AS_OF:
            continue
        if kind == "page_view":
            url = event.properties.get("url")
            if url == "/pricing":
                pricing += 10 * _half(event.at, 30)
            elif url == "/blog":
                day = event.at.date()
                count = per_day.get(day, 0)
                seen = True
                if count >= 2:
                    continue
                per_day[day] = count + 1
                blog += 3 * _half(event.at, 30)
            else:
                continue
        elif kind == "email_click":
            click += 5 * _quarter_per_fortnight(event.at)
        elif kind == "email_open":
            opened += _quarter_per_fortnight(event.at)
        elif kind == "email_bounce":
            bounce -= 10
        elif kind == "form_submit":
            form += 20 * _half(event.at, 60)
        else:
            continue
        seen = True
    if not seen:
        return None

    def cents(value: Decimal) -> Decimal:
        return value.quantize(_CENTS, rounding=decimal.ROUND_HALF_EVEN)

    web = min(cents(pricing) + cents(blog), _D(40))
    email = min(max(cents(click) + cents(opened) + cents(bounce), _D(-15)), _D(25))
    return min(max(web + email + cents(form), _ZERO), _D(100))


def engaged_leads(n: int, seed: int = 17) -> list[pk.Lead]:
    """``n`` leads with 20 events each, drawn from a shared pool of immutable events."""
    rng = random.Random(seed)
    pool = []
    for i in range(20_000):
        kind, url = rng.choice(_KINDS)
        at = AS_OF - timedelta(minutes=rng.randrange(0, 60 * 24 * 120))
        props: dict[str, Any] = {"id": f"ev{i}"}
        if url is not None:
            props["url"] = url
        pool.append(pk.Event(kind, at, props))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        pk.Lead(
            id=pk.LeadId(f"lead-{i:07d}"),
            created_at=start,
            updated_at=start,
            contact=pk.Person(name=f"Person {i}"),
            engagement=tuple(rng.sample(pool, 20)),
        )
        for i in range(n)
    ]


@benchmark(
    "engagement_batch",
    target=3.0,
    size=100_000,
    quick_size=2_000,
    baseline="hand-written loop computing the same decayed, group-limited score",
    rounds=3,
)
def engagement_batch(n: int) -> Pair:
    strategy = engagement_strategy()
    leads = engaged_leads(n)
    for lead in leads[:1000]:
        result = strategy.evaluate(lead, as_of=AS_OF)
        assert result.score == plain_engagement(lead), (result, plain_engagement(lead))
        assert sum(line.points for line in result.breakdown) == result.score

    def without_breakdown() -> dict[str, Any]:
        # Also report results with explain=False (no breakdown lines built).
        import statistics
        import time

        def seconds(work: Any) -> float:
            began = time.perf_counter()
            work()
            return time.perf_counter() - began

        ours = [seconds(lambda: strategy.evaluate_many(leads, as_of=AS_OF, explain=False))]
        base = [seconds(lambda: [plain_engagement(lead) for lead in leads])]
        value, baseline = statistics.median(ours), statistics.median(base)
        return {
            "evaluate_many_explain_false_seconds": round(value, 4),
            "evaluate_many_explain_false_ratio": round(value / baseline, 2),
        }

    return Pair(
        pipelinekit=lambda: strategy.evaluate_many(leads, as_of=AS_OF),
        baseline=lambda: [plain_engagement(lead) for lead in leads],
        extra=without_breakdown,
    )
