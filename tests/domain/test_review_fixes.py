"""Defects found in review of the core: each test failed before its fix."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

import pipelinekit as pk
from pipelinekit import ValidationError
from pipelinekit.qualification.results import (
    BreakdownLine,
    CriterionStatus,
    QualificationResult,
    Verdict,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ADA = pk.Person.of("Ada Lovelace", email="ada@example.com", phone="+44 20 7946 0958")


class TestTags:
    def test_a_lone_string_is_refused_not_split_into_letters(self) -> None:
        with pytest.raises(ValidationError) as info:
            pk.Lead.create(contact=ADA, tags="vip", at=NOW)
        assert info.value.paths == ("$.tags",)

    def test_none_is_refused_with_a_path(self) -> None:
        with pytest.raises(ValidationError) as info:
            pk.Opportunity.create(name="d", pipeline="p", stage="s", tags=None, at=NOW)  # type: ignore[arg-type]
        assert info.value.paths == ("$.tags",)

    def test_any_iterable_of_strings_works(self) -> None:
        prospect = pk.Prospect.create(persona="smb", person=ADA, tags=["a", "b", "a"], at=NOW)
        assert prospect.tags == frozenset({"a", "b"})


class TestCustomFields:
    def test_a_frozen_map_is_validated_when_built(self) -> None:
        with pytest.raises(ValidationError) as info:
            pk.FrozenMap({"x": 1.5, "y": datetime(2026, 1, 1)})  # type: ignore[dict-item]
        assert info.value.paths == ("$.x", "$.y")

    def test_true_and_one_are_different_values(self) -> None:
        assert pk.custom_fields(a=True) != pk.custom_fields(a=1)
        assert pk.custom_fields(a=1) == pk.custom_fields(a=1)
        assert pk.custom_fields(a=1) == {"a": 1}


class TestResults:
    LINE = BreakdownLine("size", CriterionStatus.MATCH, Decimal(1), "fits")

    def _result(self, **changes: object) -> QualificationResult:
        args: dict[str, object] = {
            "strategy": "s", "strategy_version": "1", "config_hash": "h", "as_of": NOW,
            "score": Decimal(1), "scale_min": Decimal(0), "scale_max": Decimal(10),
            "verdict": Verdict.QUALIFIED, "coverage": Decimal(1),
        }  # fmt: skip
        args.update(changes)
        return QualificationResult(**args)  # type: ignore[arg-type]

    def test_breakdown_items_must_be_lines(self) -> None:
        with pytest.raises(ValidationError) as info:
            self._result(breakdown=("x",))
        assert info.value.paths == ("$.breakdown[0]",)

    def test_lists_are_frozen_so_results_stay_hashable(self) -> None:
        result = self._result(breakdown=[self.LINE], knockouts=[])
        assert result.breakdown == (self.LINE,)
        assert isinstance(hash(result), int)

    def test_knockouts_must_be_a_sequence_of_names(self) -> None:
        with pytest.raises(ValidationError) as info:
            self._result(knockouts="abc")
        assert info.value.paths == ("$.knockouts",)

    def test_observed_values_must_serialise(self) -> None:
        with pytest.raises(ValidationError) as info:
            BreakdownLine("size", CriterionStatus.MATCH, Decimal(1), "r", observed=1.5)  # type: ignore[arg-type]
        assert info.value.paths == ("$.observed",)


def test_event_kind_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        pk.Event("website_visit\n", NOW)
    assert info.value.paths == ("$.kind",)


class TestPersonalData:
    def test_history_notes_are_not_in_reprs(self) -> None:
        change = pk.StageChange(None, "new", "create", NOW, note="Ada Lovelace, +44 20 7946")
        lead = pk.Lead.create(contact=ADA, at=NOW).evolve(history=(change,))
        assert "Lovelace" not in repr(change)
        assert "7946" not in repr(lead)

    def test_type_errors_do_not_echo_the_value(self) -> None:
        with pytest.raises(ValidationError) as info:
            pk.from_dict(pk.Person, {"name": "Ada", "phone": 4915112345678})
        assert "4915112345678" not in str(info.value)
        assert info.value.paths == ("$.phone",)


def test_email_from_dict_refuses_unknown_keys_and_names_value() -> None:
    with pytest.raises(ValidationError) as info:
        pk.from_dict(pk.EmailAddress, {"value": "a@b.com", "typo": 1})
    assert info.value.paths == ("$.typo",)
    with pytest.raises(ValidationError) as info:
        pk.from_dict(pk.EmailAddress, {})
    assert info.value.paths == ("$.value",)
    with pytest.raises(ValidationError) as info:
        pk.from_dict(pk.PhoneNumber, {"value": "12"})
    assert info.value.paths == ("$.value",)


class TestClosedOpportunities:
    def _deal(self) -> pk.Opportunity:
        return pk.Opportunity.create(name="d", pipeline="sales", stage="proposal", at=NOW)

    def test_a_closed_outcome_implies_the_closed_probability_source(self) -> None:
        won = self._deal().evolve(outcome="won", probability=100, closed_at=NOW)
        assert won.probability_source is pk.ProbabilitySource.CLOSED

    def test_closed_at_cannot_precede_creation(self) -> None:
        with pytest.raises(ValidationError) as info:
            self._deal().evolve(
                outcome="lost", probability=0, closed_at=datetime(2025, 1, 1, tzinfo=UTC)
            )
        assert info.value.paths == ("$.closed_at",)


def test_nul_characters_are_refused_everywhere_text_is_stored() -> None:
    with pytest.raises(ValidationError) as info:
        pk.Lead.create(company=pk.Company("Acme"), notes="a\x00b", custom={"x": "\x00"}, at=NOW)
    assert info.value.paths == ("$.notes", "$.custom.x")
    with pytest.raises(ValidationError) as info:
        pk.Person(name="Ada\x00")
    assert info.value.paths == ("$.name",)
    with pytest.raises(ValidationError):
        pk.StageChange(None, "new", "create", NOW, note="\x00")


def test_a_pipeline_file_that_is_not_utf8_is_a_definition_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.toml"
    path.write_bytes(b'key = "s\xff"\n')
    with pytest.raises(pk.PipelineDefinitionError, match="not UTF-8"):
        pk.load_pipeline(path)
