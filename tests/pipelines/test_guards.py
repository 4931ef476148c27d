"""Guards: named, parameterised checks from a registry; failures say which and why."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from pipelinekit import Company, Lead, Money, Opportunity, Person, QualificationResult, Verdict
from pipelinekit.pipelines import (
    MISSING,
    GuardParameterError,
    GuardRegistry,
    Subject,
    UnknownGuard,
    default_guards,
    read_field,
)

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def _opp(**changes: object) -> Opportunity:
    opp = Opportunity.create(name="Deal", pipeline="sales", stage="proposal", at=T0)
    return opp.evolve(**changes)


def _result(score: str | None, verdict: Verdict) -> QualificationResult:
    return QualificationResult(
        strategy="bant",
        strategy_version="1",
        config_hash="abc",
        as_of=T0,
        score=None if score is None else Decimal(score),
        scale_min=Decimal(0),
        scale_max=Decimal(16),
        verdict=verdict,
        coverage=Decimal(1),
    )


def _check(
    name: str, entity: object, overrides: dict[str, object] | None = None, **params: object
) -> str | None:
    guard = default_guards().resolve(name, params)
    return guard.check(Subject(entity, overrides))


def test_read_field_follows_dotted_paths_and_treats_empty_as_missing() -> None:
    opp = _opp(
        amount=Money(1200, "EUR"),
        custom={"seats": 5, "note": "  "},
        company=Company("Acme"),
    )
    assert read_field(opp, "amount") == Money(1200, "EUR")
    assert read_field(opp, "amount.currency") == "EUR"
    assert read_field(opp, "custom.seats") == 5
    assert read_field(opp, "custom.note") is MISSING
    assert read_field(opp, "custom.absent") is MISSING
    assert read_field(opp, "company.name") == "Acme"
    assert read_field(opp, "lost_reason") is MISSING
    assert read_field(opp, "tags") is MISSING
    assert read_field(opp, "nonexistent.deep.path") is MISSING
    assert read_field(opp, "lost_reason", {"lost_reason": "price"}) == "price"


def test_field_present() -> None:
    assert _check("field_present", _opp(), field="amount") == "amount is required"
    assert _check("field_present", _opp(amount=Money(1, "EUR")), field="amount") is None


@pytest.mark.parametrize(
    ("op", "value", "amount", "passes"),
    [
        (">=", 1000, 1000, True),
        (">=", 1000, 999, False),
        (">", "999.5", 1000, True),
        ("<", 10, 10, False),
        ("<=", 10, 10, True),
        ("==", 10, 10, True),
        ("!=", 10, 10, False),
        ("in", [5, 10], 10, True),
        ("not_in", [5, 10], 10, False),
    ],
)
def test_field_compare_on_money_compares_amounts(
    op: str, value: object, amount: int, passes: bool
) -> None:
    reason = _check(
        "field_compare", _opp(amount=Money(amount, "EUR")), field="amount", op=op, value=value
    )
    assert (reason is None) is passes
    if not passes:
        assert reason is not None
        assert reason.startswith(f"amount must be {op}")


def test_field_compare_on_missing_and_incomparable_values() -> None:
    assert _check("field_compare", _opp(), field="amount", op=">", value=1) == "amount is missing"
    reason = _check(
        "field_compare", _opp(custom={"plan": "pro"}), field="custom.plan", op=">", value=1
    )
    assert reason is not None
    assert "cannot be compared" in reason
    assert (
        _check(
            "field_compare", _opp(custom={"plan": "pro"}), field="custom.plan", op="==", value="pro"
        )
        is None
    )


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"field": "amount", "op": "~", "value": 1}, "op"),
        ({"field": "bad path!", "op": "==", "value": 1}, "field"),
        ({"field": "amount", "op": ">", "value": "many"}, "value"),
        ({"field": "amount", "op": "in", "value": 3}, "value"),
        ({"field": "amount", "op": "==", "value": None}, "value"),
    ],
)
def test_field_compare_refuses_bad_parameters(params: dict[str, object], param: str) -> None:
    with pytest.raises(GuardParameterError) as caught:
        default_guards().resolve("field_compare", params)
    assert caught.value.param == param


def test_min_score_and_verdict_read_the_latest_qualification() -> None:
    lead = Lead.create(contact=Person.of("Ada", email="ada@example.com"), at=T0)
    assert _check("min_score", lead, min=9) == "no qualification score"
    scored = lead.evolve(qualification=_result("8", Verdict.NURTURE))
    assert _check("min_score", scored, min=9) == "qualification score 8 is below 9"
    assert _check("min_score", scored, min=8) is None
    unscored = lead.evolve(qualification=_result(None, Verdict.INSUFFICIENT_DATA))
    assert _check("min_score", unscored, min=0) == "no qualification score"  # unscored is not 0
    assert _check("verdict_in", scored, verdicts=["qualified"]) is not None
    assert _check("verdict_in", scored, verdicts=["qualified", "nurture"]) is None
    with pytest.raises(GuardParameterError):
        default_guards().resolve("verdict_in", {"verdicts": ["great"]})


def test_lost_reason_given_sees_pending_inputs() -> None:
    assert _check("lost_reason_given", _opp()) is not None
    assert _check("lost_reason_given", _opp(), {"lost_reason": "price"}) is None
    assert _check("lost_reason_given", _opp(), {"lost_reason": " "}) is not None


def test_registry_registers_app_guards_and_refuses_clashes() -> None:
    registry = default_guards().copy()

    def has_tag(*, tag: str):  # type: ignore[no-untyped-def]
        """Passes when the entity carries ``tag``."""

        def check(subject: Subject) -> str | None:
            tags = subject.get("tags")
            return None if tags is not MISSING and tag in tags else f"tag {tag!r} missing"  # type: ignore[operator]

        return check

    registry.register("has_tag", has_tag)
    assert "has_tag" in registry
    assert "has_tag" not in default_guards()
    guard = registry.resolve("has_tag", {"tag": "vip"})
    assert guard.label == "has_tag(tag='vip')"
    assert guard.check(Subject(_opp(tags={"vip"}))) is None
    assert guard.check(Subject(_opp())) == "tag 'vip' missing"
    assert registry.describe("has_tag") == "Passes when the entity carries ``tag``."
    with pytest.raises(ValueError, match="already registered"):
        registry.register("has_tag", has_tag)
    with pytest.raises(ValueError, match="lower-case identifiers"):
        registry.register("Has Tag", has_tag)
    with pytest.raises(UnknownGuard) as caught:
        GuardRegistry().resolve("has_tag", {})
    assert caught.value.name == "has_tag"
    registry.unregister("has_tag")
    assert "has_tag" not in registry
    assert list(default_guards()) == sorted(default_guards())


def test_installed_packages_contribute_guards_and_a_broken_one_is_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import warnings
    from importlib.metadata import EntryPoint

    from pipelinekit import PluginWarning, _plugins
    from pipelinekit.pipelines.guards import ENTRY_POINT_GROUP

    good = EntryPoint("always", "pipelinekit.pipelines.guards:lost_reason_given", ENTRY_POINT_GROUP)
    broken = EntryPoint("broken", "no_such_module_xyz:factory", ENTRY_POINT_GROUP)
    seen: list[str] = []

    def fake_entry_points(*, group: str) -> list[EntryPoint]:
        seen.append(group)
        return [broken, good] if group == ENTRY_POINT_GROUP else []

    monkeypatch.setattr(_plugins, "entry_points", fake_entry_points)
    registry = default_guards().copy()
    assert {"always", "broken"} <= set(registry)  # listed without importing anything
    assert set(seen) == {ENTRY_POINT_GROUP}
    assert registry.resolve("always", {}).check(Subject(_opp())) is not None
    with pytest.warns(PluginWarning, match="guard plugin 'broken'.*no_such_module_xyz"):
        found = registry.problems("broken", {}, "$.guards[0]")
    assert "broken" not in registry  # skipped from then on
    assert "could not be loaded: ModuleNotFoundError" in found[0].message  # and says why
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once only
        with pytest.raises(UnknownGuard, match="could not be loaded") as caught:
            registry.resolve("broken", {})
    assert caught.value.broken is not None
    assert "field_present" in registry  # the others keep working
    registry._types.reset()
