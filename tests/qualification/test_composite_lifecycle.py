"""Composites, lifecycle proposals, personas and preview."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import attrs
import pytest

from pipelinekit import Event, ValidationError
from pipelinekit.lifecycle import Hysteresis, apply_proposal, propose, propose_many
from pipelinekit.qualification import (
    QualificationResult,
    Verdict,
    bant,
    best_persona,
    engagement,
    gate,
    icp_fit,
    matrix,
    one_of,
    pattern,
    preview,
    rule,
    to_prospect,
    weighted,
)

from .conftest import AS_OF, make_lead

D = Decimal


def country_fit() -> object:
    return icp_fit("fit", [one_of("country", "company.country", {"DE": 100, "FR": 50},
                                  knockout=["KP"])])  # fmt: skip


def demo_engagement() -> object:
    return engagement("eng", [rule("demo", "demo_request", 100), rule("open", "email_open", 50)])


def test_weighted_blend_normalises_each_child() -> None:
    blend = weighted("blend", [(country_fit(), 3), (bant(), 1)])  # type: ignore[list-item]
    keys = ("budget", "authority", "need", "timeline")
    lead = make_lead(country="FR", custom={f"bant.{k}": 2 for k in keys})
    result = blend.evaluate(lead, as_of=AS_OF)
    # fit 50/100 -> 50 x 3/4 = 37.5 ; BANT 8/16 -> 50 x 1/4 = 12.5
    assert [line.points for line in result.breakdown] == [D("37.5"), D("12.5")]
    assert result.score == 50
    assert [c.strategy for c in result.children] == ["fit", "bant"]


def test_weighted_blocks_or_zeroes_an_unscored_child() -> None:
    lead = make_lead(country="DE")
    blocked = weighted("b", [(country_fit(), 1), (bant(), 1)])  # type: ignore[list-item]
    assert blocked.evaluate(lead, as_of=AS_OF).score is None
    zeroed = weighted("z", [(country_fit(), 1), (bant(), 1)], missing="zero")  # type: ignore[list-item]
    assert zeroed.evaluate(lead, as_of=AS_OF).score == 50


@pytest.mark.parametrize(
    ("country", "events", "grade", "verdict"),
    [
        ("DE", ("demo_request",), "A1", Verdict.QUALIFIED),
        ("DE", ("email_open",), "A2", Verdict.QUALIFIED),
        ("FR", ("demo_request",), "B1", Verdict.QUALIFIED),
        ("FR", ("email_open",), "B2", Verdict.REVIEW),
        ("US", ("demo_request",), "C1", Verdict.REVIEW),
        ("US", ("email_open",), "C2", Verdict.NURTURE),
    ],
)
def test_matrix_grades_a1_to_c3(
    country: str, events: tuple[str, ...], grade: str, verdict: Verdict
) -> None:
    grid = matrix("combined", country_fit(), demo_engagement())  # type: ignore[arg-type]
    lead = make_lead(country=country, engagement=tuple(Event(k, AS_OF) for k in events))
    result = grid.evaluate(lead, as_of=AS_OF)
    assert result.grade == grade
    assert result.verdict is verdict


def test_matrix_refuses_weights_and_cuts_that_are_not_pairs() -> None:
    fit, eng = country_fit(), demo_engagement()
    with pytest.raises(ValidationError) as error:
        matrix("m", fit, eng, weights=(1, 2, 3), fit_cuts=(70,), engagement_cuts=5, grid=[1])  # type: ignore[arg-type]
    assert error.value.paths == ("$.weights", "$.fit_cuts", "$.engagement_cuts", "$.grid")
    assert "got 1 value" in str(error.value)


def test_lists_of_the_wrong_shape_are_refused_with_paths() -> None:
    from pipelinekit.qualification import bands, checklist, item

    fit, eng = country_fit(), demo_engagement()

    def paths(call: object) -> tuple[str, ...]:
        with pytest.raises(ValidationError) as error:
            call()  # type: ignore[operator]
        return error.value.paths

    assert paths(lambda: weighted("w", [fit, (eng, 1, 2)])) == ("$.parts[0]", "$.parts[1]")  # type: ignore[list-item]
    assert paths(lambda: weighted("w", [(fit, 1)], bands=5)) == ("$.bands",)  # type: ignore[arg-type]
    assert paths(lambda: gate("g", None)) == ("$.children",)  # type: ignore[arg-type]
    assert paths(lambda: engagement("e", [rule("v", "x", 1)], bands=5)) == ("$.bands",)  # type: ignore[arg-type]
    assert paths(lambda: bant(gates=5)) == ("$.gates",)  # type: ignore[arg-type]
    assert paths(lambda: bant(bands=5)) == ("$.bands",)  # type: ignore[arg-type]
    assert paths(lambda: item("k", levels=None)) == ("$.levels",)  # type: ignore[arg-type]
    assert paths(lambda: item("k", levels="ab")) == ("$.levels",)
    assert paths(lambda: item(None)) == ("$.key",)  # type: ignore[arg-type]
    assert paths(lambda: bands("b", "company.employees", None)) == ("$.bands",)  # type: ignore[arg-type]
    # the right shapes still build
    assert weighted("w", [(fit, 1), (eng, 2)]).name == "w"  # type: ignore[list-item]
    assert checklist("c", [item("k", levels=3)], gates="k").name == "c"


def test_a_child_knockout_disqualifies_the_composite() -> None:
    grid = matrix("combined", country_fit(), demo_engagement())  # type: ignore[arg-type]
    lead = make_lead(country="KP", engagement=(Event("demo_request", AS_OF),))
    result = grid.evaluate(lead, as_of=AS_OF)
    assert result.verdict is Verdict.DISQUALIFIED
    assert result.knockouts == ("fit.country",)


def test_gates_all_and_any() -> None:
    lead = make_lead(country="DE", custom={"bant.budget": 1})
    both = gate("both", [country_fit(), bant()])  # type: ignore[list-item]
    either = gate("either", [country_fit(), bant()], mode="any")  # type: ignore[list-item]
    assert both.evaluate(lead, as_of=AS_OF).verdict is Verdict.DISQUALIFIED
    assert either.evaluate(lead, as_of=AS_OF).verdict is Verdict.QUALIFIED
    assert either.evaluate(lead, as_of=AS_OF).score == 1


def result(verdict: Verdict, score: str | None = "50", **extra: object) -> QualificationResult:
    return QualificationResult(
        strategy="s", strategy_version="1", config_hash="h", as_of=AS_OF,
        score=None if score is None else D(score), scale_min=D(0), scale_max=D(100),
        verdict=verdict, coverage=D(1), **extra,  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.mark.parametrize(
    ("status", "verdict", "event"),
    [
        ("new", Verdict.QUALIFIED, "qualify"),
        ("contacted", Verdict.QUALIFIED, "qualify"),
        ("nurturing", Verdict.QUALIFIED, "qualify"),
        ("new", Verdict.NURTURE, "nurture"),
        ("contacted", Verdict.NURTURE, "nurture"),
        ("nurturing", Verdict.NURTURE, None),
        ("new", Verdict.DISQUALIFIED, "disqualify"),
        ("nurturing", Verdict.DISQUALIFIED, "disqualify"),
        ("new", Verdict.REVIEW, None),
        ("qualified", Verdict.QUALIFIED, None),
        ("qualified", Verdict.NURTURE, None),
        ("qualified", Verdict.DISQUALIFIED, "disqualify"),
        ("disqualified", Verdict.QUALIFIED, "recycle"),
        ("disqualified", Verdict.NURTURE, None),
        ("converted", Verdict.DISQUALIFIED, None),
        ("new", Verdict.INSUFFICIENT_DATA, None),
    ],
)
def test_proposals_follow_the_lead_lifecycle(status: str, verdict: Verdict, event: str) -> None:
    proposal = propose(make_lead(status=status), result(verdict))
    assert proposal.event == event
    targets = {"qualify": "qualified", "disqualify": "disqualified", "nurture": "nurturing",
               "recycle": "nurturing", None: None}  # fmt: skip
    assert proposal.target == targets[event]
    assert proposal.current == status
    assert proposal.reason


def test_hysteresis_prevents_flapping() -> None:
    band = Hysteresis(qualify_at=D(70), keep_above=D(60))
    assert propose(make_lead(), result(Verdict.QUALIFIED, "65"), hysteresis=band).event is None
    assert propose(make_lead(), result(Verdict.QUALIFIED, "70"), hysteresis=band).event == (
        "qualify"
    )
    qualified = make_lead(status="qualified")
    held = propose(qualified, result(Verdict.DISQUALIFIED, "61"), hysteresis=band)
    assert held.event is None
    assert "hysteresis" in held.reason
    assert propose(qualified, result(Verdict.DISQUALIFIED, "59"), hysteresis=band).event == (
        "disqualify"
    )
    with pytest.raises(ValidationError):
        Hysteresis(qualify_at=D(50), keep_above=D(60))


def test_knockouts_disqualify_whatever_the_band() -> None:
    band = Hysteresis(qualify_at=D(70), keep_above=D(10))
    knocked = result(Verdict.DISQUALIFIED, "90", knockouts=("industry",))
    proposal = propose(make_lead(status="qualified"), knocked, hysteresis=band)
    assert proposal.event == "disqualify"
    assert "industry" in proposal.reason


def test_decay_marks_a_qualified_lead_stale_instead_of_demoting_it() -> None:
    strategy = engagement("e", [rule("demo", "demo_request", 80)], decay=None)
    from pipelinekit.qualification import half_life

    strategy = engagement("e", [rule("demo", "demo_request", 80)], decay=half_life(30))
    lead = make_lead(status="qualified", engagement=(Event("demo_request", AS_OF),))
    later = strategy.evaluate(lead, as_of=AS_OF + timedelta(days=120))
    proposal = propose(lead, later)
    assert later.stale
    assert proposal.event is None
    assert proposal.stale


def test_personas_turn_a_fitting_lead_into_a_linked_prospect() -> None:
    personas = {
        "cto": icp_fit("cto", [pattern("title", "contact.job_title", {r"\bcto\b": 10})]),
        "germany": country_fit(),
    }
    lead = make_lead(title="Engineer", country="DE")
    match = best_persona(personas, lead, as_of=AS_OF)  # type: ignore[arg-type]
    assert match is not None
    assert match.persona == "germany"
    assert set(match.results) == {"cto", "germany"}
    prospect, linked = to_prospect(lead, match, at=AS_OF)
    assert prospect.persona == "germany"
    assert prospect.fit == match.result
    assert prospect.company == lead.company
    assert linked.prospect_id == prospect.id
    with pytest.raises(ValidationError):
        to_prospect(linked, match, at=AS_OF)
    assert best_persona(personas, make_lead(title="Engineer", country="US"), as_of=AS_OF) is None  # type: ignore[arg-type]


def test_preview_reports_changes_against_stored_results() -> None:
    current = country_fit()
    leads = [
        make_lead(f"lead-{c}", country=c).evolve(
            qualification=current.evaluate(make_lead(f"lead-{c}", country=c), as_of=AS_OF)  # type: ignore[attr-defined]
        )
        for c in ("DE", "FR", "US")
    ]
    draft = {
        "kind": "icp",
        "name": "fit",
        "criteria": [{"kind": "one_of", "name": "country", "field": "company.country",
                      "points": {"DE": 100, "FR": 80}}],
    }  # fmt: skip
    report = preview(draft, leads, as_of=AS_OF)
    assert (report.raised, report.lowered, report.unchanged) == (1, 0, 2)
    assert report.transitions[(Verdict.NURTURE, Verdict.QUALIFIED)] == 1
    assert [c.subject_id for c in report.verdict_changes] == ["lead-FR"]
    assert "nurture -> qualified: 1" in report.summary()
    # nothing was written
    assert leads[1].qualification is not None
    assert leads[1].qualification.verdict is Verdict.NURTURE


def test_a_proposal_is_applied_through_the_lead_lifecycle_machine() -> None:
    from pipelinekit.pipelines import InvalidTransition

    lead = make_lead()
    scored = result(Verdict.QUALIFIED, "80")
    proposal = propose(lead, scored)
    moved = apply_proposal(proposal, lead, at=AS_OF, result=scored)
    assert moved is not None
    assert moved.entity.status == "qualified"
    assert moved.entity.qualification == scored
    assert moved.change is not None
    assert (moved.change.from_stage, moved.change.to_stage, moved.change.event) == (
        "new",
        "qualified",
        "qualify",
    )
    assert moved.change.note == proposal.reason
    # a proposal made before the lead moved is refused, not replayed
    with pytest.raises(ValidationError) as stale:
        apply_proposal(proposal, moved.entity, at=AS_OF)
    assert stale.value.paths == ("$.current",)
    # nothing to do: no move
    assert apply_proposal(propose(moved.entity, scored), moved.entity, at=AS_OF) is None
    # the machine still has the last word
    forced = attrs.evolve(proposal, event="nurture", current="qualified")
    with pytest.raises(InvalidTransition):
        apply_proposal(forced, moved.entity, at=AS_OF)


def test_a_result_for_another_lead_neither_proposes_nor_applies() -> None:
    lead_a = make_lead("lead-A")
    for_b = result(Verdict.QUALIFIED, "80", subject_id="lead-B")
    with pytest.raises(ValidationError) as proposed:
        propose(lead_a, for_b)
    assert proposed.value.paths == ("$.subject_id",)
    # a proposal made with the right result cannot carry the wrong one onto the lead
    proposal = propose(lead_a, result(Verdict.QUALIFIED, "80", subject_id="lead-A"))
    with pytest.raises(ValidationError) as applied:
        apply_proposal(proposal, lead_a, at=AS_OF, result=for_b)
    assert applied.value.paths == ("$.subject_id",)
    # a result without a subject is still accepted
    assert propose(lead_a, result(Verdict.QUALIFIED, "80")).event == "qualify"


def test_lifecycle_functions_refuse_arguments_of_the_wrong_type() -> None:
    lead = make_lead()
    scored = result(Verdict.QUALIFIED, "80")
    proposal = propose(lead, scored)

    def paths(call: object) -> tuple[str, ...]:
        with pytest.raises(ValidationError) as error:
            call()  # type: ignore[operator]
        return error.value.paths

    assert paths(lambda: propose(lead, None)) == ("$.result",)  # type: ignore[arg-type]
    assert paths(lambda: propose(lead, scored, hysteresis=5)) == ("$.hysteresis",)  # type: ignore[arg-type]
    assert paths(lambda: propose_many([lead])) == ("$.pairs[0]",)  # type: ignore[list-item]
    assert paths(lambda: apply_proposal(None, lead, at=AS_OF)) == ("$.proposal",)  # type: ignore[arg-type]
    assert paths(lambda: apply_proposal(proposal, None, at=AS_OF)) == ("$.lead",)  # type: ignore[arg-type]
    assert paths(lambda: apply_proposal(proposal, lead, at=AS_OF, result="x")) == ("$.result",)  # type: ignore[arg-type]
    assert [p.event for p in propose_many([(lead, scored)])] == ["qualify"]


def test_preview_personas_and_describe_refuse_arguments_of_the_wrong_type() -> None:
    from datetime import datetime

    from pipelinekit.qualification import describe

    fit = country_fit()

    def paths(call: object) -> tuple[str, ...]:
        with pytest.raises(ValidationError) as error:
            call()  # type: ignore[operator]
        return error.value.paths

    assert paths(lambda: preview(fit, None, as_of=AS_OF)) == ("$.subjects",)  # type: ignore[arg-type]
    assert paths(lambda: preview(5, [], as_of=AS_OF, current=5)) == ("$.draft", "$.current")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="naive"):
        preview(fit, [], as_of=datetime(2026, 1, 1))  # type: ignore[arg-type]
    assert paths(lambda: describe(None)) == ("$.result",)  # type: ignore[arg-type]
    assert paths(lambda: best_persona([fit], make_lead(), as_of=AS_OF)) == ("$.personas",)  # type: ignore[arg-type]
    assert paths(lambda: best_persona({"a": 5}, make_lead(), as_of=AS_OF)) == ("$.personas.a",)  # type: ignore[dict-item]
    assert paths(lambda: to_prospect(None, None, at=AS_OF)) == ("$.lead", "$.match")  # type: ignore[arg-type]


def test_describe_tells_the_whole_story_and_never_shows_unscored_as_zero() -> None:
    from pipelinekit.qualification import describe

    grid = matrix("combined", country_fit(), demo_engagement())  # type: ignore[arg-type]
    lead = make_lead(country="FR", engagement=(Event("email_open", AS_OF),))
    text = describe(grid.evaluate(lead, as_of=AS_OF))
    lines = text.splitlines()
    assert lines[0] == "combined: 50 of 0-100 (grade B2) -> review"
    assert lines[1].strip().startswith("+25  fit [partial]")
    assert "  fit: 50 of 0-100" in text
    assert "+50  country [partial]: FR is listed" in text
    unscored = describe(bant().evaluate(make_lead(), as_of=AS_OF))
    assert unscored.splitlines()[0] == "bant: unscored -> insufficient data"


@pytest.mark.parametrize(
    "name", ["Hysteresis", "Proposal", "apply_proposal", "propose", "propose_many"]
)
def test_lifecycle_names_moved_from_qualification_warn_and_still_work(name: str) -> None:
    import pipelinekit.lifecycle
    import pipelinekit.qualification

    with pytest.warns(DeprecationWarning, match=f"pipelinekit.lifecycle.{name}"):
        old = getattr(pipelinekit.qualification, name)
    assert old is getattr(pipelinekit.lifecycle, name)
    assert name not in pipelinekit.qualification.__all__
    with pytest.raises(AttributeError):
        pipelinekit.qualification.no_such_name  # noqa: B018


def test_a_proposal_takes_its_time_from_a_clock_when_applied() -> None:
    from pipelinekit import FixedClock

    lead = make_lead()
    scored = result(Verdict.QUALIFIED, "80")
    later = AS_OF + timedelta(hours=3)
    moved = apply_proposal(propose(lead, scored), lead, clock=FixedClock(later), result=scored)
    assert moved is not None
    assert moved.change is not None
    assert moved.change.at == later
    assert moved.entity.updated_at == later


def test_a_prospect_takes_its_time_from_a_clock() -> None:
    from pipelinekit import FixedClock
    from pipelinekit.qualification import link_prospect

    lead = make_lead(country="DE")
    match = best_persona({"germany": country_fit()}, lead, as_of=AS_OF)  # type: ignore[arg-type]
    assert match is not None
    later = AS_OF + timedelta(hours=2)
    prospect, linked = to_prospect(lead, match, clock=FixedClock(later))
    assert (prospect.created_at, prospect.updated_at, linked.updated_at) == (later, later, later)
    relinked = link_prospect(lead, prospect, clock=FixedClock(later + timedelta(hours=1)))
    assert relinked.updated_at == later + timedelta(hours=1)
    assert relinked.prospect_id == prospect.id
