"""Finding duplicates among 100k leads with 5% planted duplicates of several kinds.

``dedupe_find`` times :func:`pipelinekit.dedupe.find` with the default rule set
(fuzzy rules included) against a competent hand-written baseline: dict grouping
on the normalised email and on (email domain, normalised name), joined with a
union-find.  The baseline does less (no fuzzy names, no phones, no company
names), so the target is a ratio of 10.  Both are checked to agree where they
overlap: every group the baseline finds lies inside one pipelinekit cluster.
The extra figures record precision and recall of both on the planted pairs
(target: pipelinekit at least 0.95 on each).

``dedupe_find_1m`` does the same on a million leads (one round) and records
the process's peak RSS, the leads included (target under 2 GB).
"""

from __future__ import annotations

import itertools
import random
import resource
from datetime import UTC, datetime
from typing import Any

from _harness import Pair, benchmark

from pipelinekit.dedupe import default_rules, find
from pipelinekit.domain import Company, EmailAddress, Lead, LeadId, Person, PhoneNumber

AT = datetime(2026, 1, 1, tzinfo=UTC)
FIRST = [
    "ada", "alan", "grace", "linus", "barbara", "edsger", "donald", "margaret", "john", "katherine",
    "dennis", "ken", "frances", "tim", "radia", "vint", "leslie", "shafi", "judea", "niklaus",
    "bjarne", "guido", "james", "anita", "sophie", "hedy", "carol", "adele", "jean", "mary",
    "tony", "robin", "fran", "ivan", "kristen", "ole", "peter", "yukihiro", "larry", "rasmus",
]  # fmt: skip
LAST = [
    "lovelace", "turing", "hopper", "torvalds", "liskov", "dijkstra", "knuth", "hamilton",
    "backus", "johnson", "ritchie", "thompson", "allen", "berners", "perlman", "cerf",
    "lamport", "goldwasser", "pearl", "wirth", "stroustrup", "rossum", "gosling", "borg",
    "wilson", "lamarr", "shaw", "goldberg", "sammet", "keller", "hoare", "milner", "bilas",
    "sutherland", "nygaard", "dahl", "naur", "matsumoto", "wall", "lerdorf", "kay", "engelbart",
    "hartree", "noether", "clarke", "moore", "babbage", "zuse", "shannon", "church",
]  # fmt: skip
_NAMES = random.Random(3)
#: Surnames beyond the famous ones: 20,000 made-up ones of 5 to 9 letters.
LAST += [
    "".join(_NAMES.choice("bcdfghjklmnprstvwz") + _NAMES.choice("aeiou") for _ in range(4))[
        : _NAMES.randint(5, 9)
    ]
    for _ in range(20_000)
]
WORDS = [
    "acme", "initech", "hooli", "globex", "umbrella", "stark", "wayne", "wonka", "soylent",
    "tyrell", "cyberdyne", "aperture", "vandelay", "monarch", "oscorp", "gringotts", "duff",
    "nakatomi", "virtucon", "massive", "dynamic", "oceanic", "blue", "north", "quantum", "nova",
]  # fmt: skip
SUFFIXES = ["Inc.", "GmbH", "Ltd", "SARL", "LLC", ""]
PUBLIC = ["gmail.com", "yahoo.com", "outlook.com"]
#: The mail providers the baseline ignores for the name grouping (as the rules do).
PUBLIC_DOMAINS = frozenset(PUBLIC)


def _companies(rng: random.Random, count: int) -> list[tuple[str, str]]:
    out = []
    for i in range(count):
        a, b = rng.sample(WORDS, 2)
        out.append((f"{a.title()} {b.title()} {i}", f"{a}{b}{i}.com"))
    return out


def _typo(rng: random.Random, text: str) -> str:
    """Two neighbouring letters of one word swapped (``Lovelace`` -> ``Lovleace``)."""
    spots = [i for i in range(1, len(text) - 1) if text[i].isalpha() and text[i + 1].isalpha()]
    i = rng.choice(spots)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def planted_leads(n: int, seed: int = 7) -> tuple[list[Lead], list[set[str]]]:
    """``n`` leads, 5% of them planted duplicates; and the groups of one person each."""
    rng = random.Random(seed)
    originals = n - n // 20
    companies = _companies(rng, max(2, originals // 20))
    # a few large accounts, so some blocks exceed max_block and go sorted-neighbourhood
    weights = [200.0 if i < 3 else 1.0 for i in range(len(companies))]
    leads: list[Lead] = []
    facts: list[tuple[str, str, str | None, str | None, tuple[str, str] | None]] = []
    for i in range(originals):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        name = f"{first.title()} {last.title()}"
        company = rng.choices(companies, weights)[0] if rng.random() < 0.8 else None
        domain = company[1] if company and rng.random() < 0.85 else rng.choice(PUBLIC)
        email = f"{first}.{last}.{i}@{domain}"
        phone = f"+44 20 {i // 10000:04d} {i % 10000:04d}" if rng.random() < 0.6 else None
        facts.append((name, email, phone, company[1] if company else None, company))
        leads.append(_lead(f"o{i:07d}", name, email, phone, company, None))
    groups: dict[str, set[str]] = {}
    for d in range(n - originals):
        o = rng.randrange(originals)
        name, email, phone, _, company = facts[o]
        kind = d % 3
        if kind == 0 or company is None:  # the same address, written differently
            first, last = name.split()
            dup = _lead(f"d{d:07d}", f"{last}, {first}", f" {email.upper()} ", None, company, 1)
        elif kind == 1:  # another address at the company, the name mistyped
            local, _, domain = email.partition("@")
            new_email = f"{local.replace('.', '_', 1)}@{domain}"
            dup = _lead(f"d{d:07d}", _typo(rng, name), new_email, None, company, 2)
        else:  # no email, the phone written another way (or the name only)
            same_phone = phone.replace(" ", "") if phone else None
            dup = _lead(
                f"d{d:07d}", name, None, same_phone, company, 3, email if not phone else None
            )
        leads.append(dup)
        groups.setdefault(f"o{o:07d}", {f"o{o:07d}"}).add(dup.id)
    rng.shuffle(leads)
    return leads, list(groups.values())


def _lead(
    key: str,
    name: str,
    email: str | None,
    phone: str | None,
    company: tuple[str, str] | None,
    variant: int | None,
    fallback_email: str | None = None,
) -> Lead:
    firm = None
    if company is not None:
        label = company[0]
        if variant in (1, 2):
            label = f"{label} {SUFFIXES[variant]}".strip()
        firm = Company(label, domain=company[1] if variant != 3 else f"www.{company[1]}")
    address = email or fallback_email
    return Lead(
        id=LeadId(key),
        created_at=AT,
        updated_at=AT,
        contact=Person(
            name,
            email=EmailAddress(address.strip()) if address else None,
            phone=PhoneNumber(phone) if phone else None,
        ),
        company=firm,
    )


# -- the baseline: dict grouping on exact keys, union-find ------------------------------------


def baseline_groups(leads: list[Lead]) -> list[list[str]]:
    """Groups of leads sharing a normalised email, or an email domain and a normalised name."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    by_email: dict[str, str] = {}
    by_name: dict[tuple[str, str], str] = {}
    for lead in leads:
        parent[lead.id] = lead.id
        person = lead.contact
        if person is None:
            continue
        keys: list[tuple[dict[Any, str], Any]] = []
        if person.email is not None:
            email = person.email.value.strip().lower()
            keys.append((by_email, email))
            if person.name and email.rpartition("@")[2] not in PUBLIC_DOMAINS:
                words = " ".join(sorted(person.name.replace(",", " ").lower().split()))
                keys.append((by_name, (email.rpartition("@")[2], words)))
        for table, key in keys:
            other = table.setdefault(key, lead.id)
            if other != lead.id:
                a, b = root(other), root(lead.id)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    groups: dict[str, list[str]] = {}
    for lead_id in parent:
        groups.setdefault(root(lead_id), []).append(lead_id)
    return sorted(sorted(g) for g in groups.values() if len(g) > 1)


def _pairs(groups: list[list[str]] | list[set[str]]) -> set[tuple[str, str]]:
    return {tuple(sorted(p)) for g in groups for p in itertools.combinations(g, 2)}  # type: ignore[misc]


def quality(found: list[list[str]], truth: list[set[str]]) -> dict[str, float]:
    """Precision and recall of ``found`` groups on the planted pairs."""
    got, want = _pairs(found), _pairs(truth)
    hits = len(got & want)
    return {
        "precision": round(hits / len(got), 4) if got else 1.0,
        "recall": round(hits / len(want), 4) if want else 1.0,
    }


def _clusters(leads: list[Lead]) -> list[list[str]]:
    return [[m.id for m in c.members] for c in find(leads, default_rules())]


def _check(ours: list[list[str]], theirs: list[list[str]]) -> None:
    where = {lead_id: i for i, cluster in enumerate(ours) for lead_id in cluster}
    for group in theirs:
        assert group[0] in where, group
        assert len({where.get(x, -1) for x in group}) == 1, group


@benchmark(
    "dedupe_find",
    target=10.0,
    size=100_000,
    quick_size=5_000,
    baseline="hand-written dict grouping on exact email and (email domain, name), union-find",
    rounds=3,
)
def dedupe_find(n: int) -> Pair:
    leads, truth = planted_leads(n)
    ours, theirs = _clusters(leads), baseline_groups(leads)
    _check(ours, theirs)

    def extra() -> dict[str, Any]:
        return {
            "pipelinekit": quality(ours, truth),
            "baseline": quality(theirs, truth),
            "clusters": len(ours),
            "planted_groups": len(truth),
        }

    return Pair(
        pipelinekit=lambda: _clusters(leads), baseline=lambda: baseline_groups(leads), extra=extra
    )


def _rss_bytes() -> int:
    """The resident set size of this process now (Linux), or 0 where unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@benchmark(
    "dedupe_find_1m",
    target=10.0,
    size=1_000_000,
    quick_size=5_000,
    baseline="the same dict grouping as dedupe_find",
    rounds=1,
)
def dedupe_find_1m(n: int) -> Pair:
    leads, truth = planted_leads(n)
    before = _rss_bytes()
    ours = _clusters(leads)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    theirs = baseline_groups(leads)
    _check(ours, theirs)

    def extra() -> dict[str, Any]:
        return {
            # the whole process: the million leads themselves, then find() over them
            "peak_rss_mb": round(peak / 2**20),
            "rss_before_find_mb": round(before / 2**20),
            "peak_rss_target_mb": 2048,
            **quality(ours, truth),
        }

    return Pair(
        pipelinekit=lambda: _clusters(leads), baseline=lambda: baseline_groups(leads), extra=extra
    )
