"""The engagement strategy's batch path gives exactly the one-by-one results.

``evaluate_many`` scores a batch with what the batch shares worked out once
(the rules each event kind reaches, the fixed parts of the reasons, the dates
shown); Hypothesis draws varied configurations (filters on one or several
properties, daily caps, first-only and frequency rules, caps and minimums,
negative rules, groups with their own limits and decay) and leads (ties in
time, events after ``as_of``, events with and without an ``id``), and checks
each batch result, breakdown included, equals ``evaluate`` of the same lead.
"""

from __future__ import annotations

from datetime import timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pipelinekit import Event, Lead
from pipelinekit.qualification import (
    engagement,
    event_group,
    half_life,
    linear_decay,
    no_decay,
    rule,
    step_decay,
    window,
)

from .conftest import AS_OF, make_lead

KINDS = ("page_view", "email_open", "email_click", "form_submit")
URLS = ("/pricing", "/blog", "/docs")
CHANNELS = ("ads", "mail")
GROUPS = ("web", "email")

decays = st.sampled_from(
    [
        no_decay(),
        half_life(7),
        half_life(1, "months"),
        step_decay("0.25", 1, "weeks"),
        linear_decay("0.1", 3),
        window(10),
    ]
)


@st.composite
def rules(draw: st.DrawFn, index: int, groups: list[str]) -> Any:
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=2, unique=True))
    where: dict[str, Any] = {}
    if draw(st.booleans()):
        where["url"] = draw(st.sampled_from([*URLS, list(URLS[:2])]))
    if draw(st.integers(0, 3)) == 0:
        where["channel"] = draw(st.sampled_from(CHANNELS))
    points = draw(st.sampled_from([1, 3, 5, 10, -5, -10, Decimal("2.5")]))
    options: dict[str, Any] = {}
    shape = draw(st.sampled_from(["plain", "daily", "first", "times"]))
    if shape == "daily":
        options["daily_cap"] = draw(st.integers(1, 3))
    elif shape == "first":
        options["first_only"] = True
    elif shape == "times":
        options["times"] = draw(
            st.sampled_from([["exactly", 2], ["between", 1, 3], ["at_least", 3], ["at_most", 2]])
        )
    if points > 0 and draw(st.booleans()):
        options["cap"] = draw(st.sampled_from([5, 12, 30]))
    if points < 0 and draw(st.booleans()):
        options["minimum"] = -15
    group = draw(st.sampled_from([None, *groups]))
    return rule(f"r{index}", kinds, points, where=where or None, group=group, **options)


@st.composite
def strategies(draw: st.DrawFn) -> Any:
    groups = [
        event_group(
            name,
            limit=draw(st.sampled_from([None, 8, 25])),
            minimum=draw(st.sampled_from([None, -12])),
            decay=draw(st.none() | decays),
            decay_negative=draw(st.booleans()),
        )
        for name in GROUPS
        if draw(st.booleans())
    ]
    named = [g.name for g in groups]
    chosen = [draw(rules(i, named)) for i in range(draw(st.integers(1, 6)))]
    return engagement(
        "e",
        chosen,
        decay=draw(decays),
        total_cap=draw(st.sampled_from([20, 100])),
        floor=draw(st.sampled_from([0, -20])),
        unmatched=draw(st.sampled_from(["null", "zero"])),
        groups=groups,
        decay_negative=draw(st.booleans()),
    )


OFFSET = timezone(timedelta(hours=2))


@st.composite
def leads(draw: st.DrawFn, index: int) -> Lead:
    raw = draw(
        st.lists(
            st.tuples(
                st.sampled_from([*KINDS, "other"]),
                # minutes before AS_OF (negative: after it); a few distinct times make ties
                st.sampled_from([-90, 0, 5, 60 * 20, 60 * 24 * 3, 60 * 24 * 40])
                | st.integers(-60, 60 * 24 * 90),
                st.sampled_from([None, *URLS]),
                st.sampled_from([None, *CHANNELS]),
                st.sampled_from([None, "x", 7]),
                st.booleans(),
            ),
            max_size=20,
        )
    )
    events = []
    for kind, minutes, url, channel, ident, shifted in raw:
        at = AS_OF - timedelta(minutes=minutes)
        props = {k: v for k, v in (("url", url), ("channel", channel), ("id", ident)) if v}
        events.append(Event(kind, at.astimezone(OFFSET) if shifted else at, props))
    return make_lead(engagement=tuple(events)).evolve(id=f"lead-{index}")


@settings(max_examples=200)
@given(strategies(), st.data(), st.booleans())
def test_batch_results_equal_one_by_one(strategy: Any, data: st.DataObject, explain: bool) -> None:
    batch = [data.draw(leads(i)) for i in range(data.draw(st.integers(1, 4)))]
    one_by_one = [strategy.evaluate(lead, as_of=AS_OF, explain=explain) for lead in batch]
    assert strategy.evaluate_many(batch, as_of=AS_OF, explain=explain) == one_by_one


def test_batch_reasons_name_the_days_and_decay_of_each_lead() -> None:
    """Shared reason parts do not leak between leads of a batch with different dates."""
    strategy = engagement("e", [rule("visit", "page_view", 10, daily_cap=1)], decay=half_life(30))
    early = make_lead(engagement=(Event("page_view", AS_OF - timedelta(days=30)),))
    late = make_lead(engagement=(Event("page_view", AS_OF - timedelta(days=1)),))
    first, second = strategy.evaluate_many([early, late], as_of=AS_OF)
    assert first.breakdown[0].points == Decimal("5.00")
    assert (AS_OF - timedelta(days=30)).date().isoformat() in first.breakdown[0].reason
    assert (AS_OF - timedelta(days=1)).date().isoformat() in second.breakdown[0].reason
    assert first.breakdown[0].reason != second.breakdown[0].reason
