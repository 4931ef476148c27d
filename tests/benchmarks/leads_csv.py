"""Write a CSV of varied leads in ``pipelinekit import``'s default columns (for scale runs).

``python tests/benchmarks/leads_csv.py 1000000 leads.csv`` writes a million rows
whose values vary like real data: about 130 job titles, 20 industries, 20
countries, the lead channels, company sizes from 1 to 100,000 and a BANT
budget answer on most rows.  The same count always gives the same file.
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

HEADER = ["external_id", "name", "email", "job_title", "company", "industry", "employees",
          "country", "source", "bant.budget"]  # fmt: skip
_LEVELS = ("C", "VP", "Head of", "Director of", "Senior", "Junior", "Lead", "Chief")
_AREAS = ("Sales", "IT", "Operations", "Marketing", "Finance", "Engineering", "Data",
          "Procurement", "Security", "Product", "People", "Legal", "Support", "Growth",
          "Platform", "Revenue")  # fmt: skip
_PAIRS = tuple(f"{level} {area}" for level in _LEVELS for area in _AREAS)[:120]
TITLES = (*_PAIRS,
    "CEO", "CTO", "CFO", "COO", "CIO", "Founder", "Owner", "Intern", "Student", "Analyst",
    "Buyer", "Office Manager")  # fmt: skip
INDUSTRIES = ("software", "fintech", "retail", "health", "energy", "media", "logistics",
              "manufacturing", "education", "travel", "gambling", "insurance", "telecom",
              "automotive", "agriculture", "construction", "government", "legal", "biotech",
              "gaming")  # fmt: skip
COUNTRIES = ("DE", "US", "FR", "GB", "NL", "ES", "IT", "IN", "BR", "CA", "AU", "JP", "SE",
             "PL", "CH", "AT", "BE", "IE", "DK", "NO")  # fmt: skip
SOURCES = ("inbound_form", "website", "cold_email", "cold_call", "referral", "list", "event",
           "paid_ad", "social")  # fmt: skip
BUDGETS = ("none", "low", "medium", "high", "confirmed", "")


def write(path: Path, n: int, *, seed: int = 11) -> Path:
    """Write ``n`` varied lead rows to ``path`` (the same ``n`` and ``seed``, the same file)."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        for i in range(n):
            company = f"Company {rng.randrange(n // 5 + 1)}"
            out.writerow([
                f"crm-{i}", f"Person {i}", f"p{i}@example.com", rng.choice(TITLES), company,
                rng.choice(INDUSTRIES), int(10 ** rng.uniform(0, 5)), rng.choice(COUNTRIES),
                rng.choice(SOURCES), rng.choice(BUDGETS),
            ])  # fmt: skip
    return path


if __name__ == "__main__":
    write(Path(sys.argv[2]), int(sys.argv[1]))
