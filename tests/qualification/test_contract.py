"""Every built-in strategy passes the contract kit plugin authors use."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from pipelinekit.qualification import (
    Strategy,
    anum,
    bands,
    bant,
    build,
    champ,
    engagement,
    faint,
    gate,
    gpctba_ci,
    half_life,
    icp_fit,
    matrix,
    meddpicc,
    no_decay,
    one_of,
    pattern,
    predicate,
    present,
    rule,
    step_decay,
    weighted,
    window,
)
from pipelinekit.testing.qualification import StrategyContract

from .conftest import make_lead


def sample_icp(**options: Any) -> Strategy:
    return icp_fit(
        "icp",
        [
            one_of(
                "industry",
                "company.industry",
                {"software": 20, "fintech": 15},
                knockout=["gambling"],
                group="firmographic",
            ),
            bands(
                "size",
                "company.employees",
                [(None, 10, 0), (10, 200, 10), (200, None, 25)],
                group="firmographic",
                missing="penalty",
                penalty=5,
            ),
            bands(
                "revenue",
                "company.annual_revenue",
                [(0, 1_000_000, 5), (1_000_000, None, 15)],
                currency="EUR",
                group="firmographic",
            ),
            pattern("seniority", "contact.job_title", {r"\b(cto|vp)\b": 20, "head of": 10}),
            present("email", "contact.email", points=5),
            one_of("country", "company.country", {"DE": 10, "FR": 5}, weight=2),
            one_of("tags", "tags", {"trial": 5, "webinar": 3}),
            predicate(
                "referred",
                lambda s: None if s.source is None else s.source.channel == "referral",
                points=5,
            ),
        ],
        groups={"firmographic": 40},
        total_cap=90,
        **options,
    )


def sample_engagement(decay: Any) -> Strategy:
    return engagement(
        "engagement",
        [
            rule("pricing", "website_visit", 5, where={"url": "/pricing"}, daily_cap=3),
            rule("visits", "website_visit", 1, daily_cap=5, cap=20),
            rule("opens", ["email_open", "email_click"], 2),
            rule("demo", "demo_request", 40),
            rule("unsubscribe", "unsubscribe", -30),
        ],
        decay=decay,
    )


class TestBant(StrategyContract):
    def make_strategy(self) -> Strategy:
        return bant()

    def unscorable(self) -> list[Any]:
        return [make_lead(custom={})]

    def scorable(self) -> list[Any]:
        return [make_lead(custom={"bant.need": 0})]


class TestBantIbmRule(StrategyContract):
    def make_strategy(self) -> Strategy:
        return bant(policy="k_of_n", k=3, met_at=3, gates=["budget"], gate_at=1, floor=1)


class TestOtherPresets(StrategyContract):
    def make_strategy(self) -> Strategy:
        return gate(
            "frameworks",
            [meddpicc(), champ(), anum(), faint(), gpctba_ci()],
            mode="any",
        )


class TestIcp(StrategyContract):
    def make_strategy(self) -> Strategy:
        return sample_icp()


class TestIcpBlocking(StrategyContract):
    def make_strategy(self) -> Strategy:
        return icp_fit(
            "blocking",
            [
                one_of("industry", "company.industry", {"software": 10}, missing="block"),
                one_of("country", "company.country", {"DE": 5}, missing="zero", required=True),
            ],
        )

    def unscorable(self) -> list[Any]:
        return [make_lead(industry=None)]

    def scorable(self) -> list[Any]:
        return [make_lead(industry="retail", country=None)]


@pytest.mark.parametrize("decay", ["half_life", "step", "window", "none"])
class TestEngagement(StrategyContract):
    decay: str

    @pytest.fixture(autouse=True)
    def _decay(self, decay: str) -> None:
        self.decay = decay

    def make_strategy(self) -> Strategy:
        forms = {
            "half_life": half_life(30),
            "step": step_decay("0.25", 30),
            "window": window(30),
            "none": no_decay(),
        }
        return sample_engagement(forms[self.decay])

    def unscorable(self) -> list[Any]:
        return [make_lead()]


class TestWeighted(StrategyContract):
    def make_strategy(self) -> Strategy:
        return weighted("blend", [(sample_icp(), 3), (bant(), 1)], missing="zero")


class TestMatrix(StrategyContract):
    def make_strategy(self) -> Strategy:
        return matrix("combined", sample_icp(), sample_engagement(half_life(14)))

    def unscorable(self) -> list[Any]:
        return [make_lead()]  # no engagement events: the matrix blocks


class TestBuiltFromConfig(StrategyContract):
    def make_strategy(self) -> Strategy:
        return build(
            {
                "kind": "gate",
                "name": "both",
                "mode": "all",
                "children": [
                    {"kind": "bant", "policy": "k_of_n", "k": 3, "met_at": 3},
                    {
                        "kind": "icp",
                        "name": "fit",
                        "criteria": [
                            {
                                "kind": "one_of",
                                "name": "industry",
                                "field": "company.industry",
                                "points": {"software": Decimal("12.5")},
                            },
                            {"kind": "present", "name": "phone", "field": "contact.phone"},
                        ],
                    },
                ],
            }
        )
