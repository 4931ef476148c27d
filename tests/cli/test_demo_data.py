"""The synthetic dataset: reproducible, varied, and about one lead in 25 becomes a customer."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from pipelinekit.demo import DEFAULT_START, demo_scorer, run_scenario, synthetic_leads
from pipelinekit.pipelines import sales_pipeline

AS_OF = DEFAULT_START + timedelta(days=180)


def test_same_seed_same_data_other_seed_other_data() -> None:
    assert synthetic_leads(80, seed=4) == synthetic_leads(80, seed=4)
    assert synthetic_leads(80, seed=4) != synthetic_leads(80, seed=5)
    first = run_scenario(synthetic_leads(80, seed=4), as_of=AS_OF, seed=4)
    again = run_scenario(synthetic_leads(80, seed=4), as_of=AS_OF, seed=4)
    # opportunities get fresh ids (conversion creates them); everything else repeats
    assert [x.evolve(opportunity_id=None) for x in first.leads] == [
        x.evolve(opportunity_id=None) for x in again.leads
    ]
    assert [(o.stage, o.amount, o.history[-1].at) for o in first.opportunities] == [
        (o.stage, o.amount, o.history[-1].at) for o in again.opportunities
    ]


def test_leads_are_varied_and_realistic() -> None:
    leads = synthetic_leads(400, seed=11)
    assert len({lead.id for lead in leads}) == 400
    assert len({lead.external_id for lead in leads}) == 400
    assert [lead.created_at for lead in leads] == sorted(lead.created_at for lead in leads)
    assert all(DEFAULT_START <= lead.created_at <= AS_OF for lead in leads)
    assert len({lead.source.channel for lead in leads if lead.source}) >= 7
    assert len({lead.company.industry for lead in leads if lead.company}) >= 7
    sizes = [lead.company.employees for lead in leads if lead.company]
    assert min(sizes) < 10 and max(sizes) > 2000  # noqa: PT018 - one range
    with_bant = [lead for lead in leads if "bant.budget" in lead.custom]
    assert 0.4 < len(with_bant) / len(leads) < 0.9  # not everyone was asked
    events = Counter(e.kind for lead in leads for e in lead.engagement)
    assert {"website_visit", "email_open", "webinar", "demo_request"} <= set(events)
    span = max(e.at for lead in leads for e in lead.engagement) - DEFAULT_START
    assert span > timedelta(days=120)  # engagement over months
    assert all(
        lead.created_at <= e.at <= AS_OF for lead in leads for e in lead.engagement
    )  # never before the lead existed, never in the future


@pytest.mark.parametrize("seed", [1, 2, 3, 25])
def test_about_one_lead_in_25_becomes_a_customer(seed: int) -> None:
    outcome = run_scenario(synthetic_leads(500, seed=seed), as_of=AS_OF, seed=seed)
    won = sum(o.outcome == "won" for o in outcome.opportunities)
    assert 500 / 60 <= won <= 500 / 15, won  # 1 in 25 is 20 of 500


def test_better_scores_convert_more_often() -> None:
    outcome = run_scenario(synthetic_leads(800, seed=9), as_of=AS_OF, seed=9)
    won_leads = {o.lead_id for o in outcome.opportunities if o.outcome == "won"}
    scored = [
        lead
        for lead in outcome.leads
        if lead.qualification is not None and lead.qualification.score is not None
    ]
    scored.sort(key=lambda lead: lead.qualification.score, reverse=True)
    top, bottom = scored[: len(scored) // 4], scored[len(scored) // 4 :]
    rate = lambda group: sum(lead.id in won_leads for lead in group) / len(group)  # noqa: E731
    assert rate(top) > 3 * rate(bottom)


def test_the_story_goes_through_the_real_pipelines() -> None:
    outcome = run_scenario(synthetic_leads(300, seed=2), as_of=AS_OF, seed=2)
    sales = sales_pipeline()
    stages = {s.key for s in sales.spec.stages}
    for deal in outcome.opportunities:
        assert deal.stage in stages
        assert deal.history[0].to_stage == "initial_contact"
        lead = next(x for x in outcome.leads if x.id == deal.lead_id)
        assert lead.status == "converted"
        assert lead.opportunity_id == deal.id
        assert all(a.at <= b.at for a, b in zip(deal.history, deal.history[1:], strict=False))
        assert deal.history[-1].at <= AS_OF
    lost = [d for d in outcome.opportunities if d.outcome == "lost"]
    assert lost and all(d.lost_reason for d in lost)  # noqa: PT018
    assert {e.kind for e in outcome.events} >= {"stage_changed", "lead_converted"}
    assert demo_scorer().name == "fit-score"


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="count"):
        synthetic_leads(-1)
    with pytest.raises(ValueError, match="timezone"):
        synthetic_leads(1, start=datetime(2026, 1, 1))
    assert synthetic_leads(0) == []
    assert synthetic_leads(3, start=datetime(2025, 1, 1, tzinfo=UTC))[0].created_at.year == 2025


def test_progress_is_reported() -> None:
    calls: list[tuple[int, int]] = []
    run_scenario(
        synthetic_leads(250, seed=1), as_of=AS_OF, progress=lambda d, t: calls.append((d, t))
    )
    assert calls == [(100, 250), (200, 250)]
