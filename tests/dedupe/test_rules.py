"""Matching rules load from dicts and TOML with every problem at once, each with its path."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given

from pipelinekit.dedupe import (
    MatchRulesError,
    RuleKind,
    default_rules,
    load_rules,
    loads_rules,
    rules_from_dict,
)
from pipelinekit.errors import PipelinekitError, ValidationError

from ._data import rule_sets

TOML = """
threshold = 1.2
max_block = 500

[[rules]]
kind = "email"
weight = 1.0

[[rules]]
kind = "email_domain_name"
weight = 0.9
min_similarity = 80

[[rules]]
kind = "custom"
field = "vat_id"
weight = 1.5

[[rules]]
name = "uk_phone"
kind = "phone"
region = "gb"
weight = 0.7
"""


def test_a_toml_rule_set_loads_with_exact_decimals_and_defaults() -> None:
    rules = loads_rules(TOML)
    assert rules.threshold == Decimal("1.2")
    assert rules.max_block == 500
    assert rules.window == 10
    assert [r.name for r in rules.rules] == [
        "email",
        "email_domain_name",
        "custom:vat_id",
        "uk_phone",
    ]
    assert [r.weight for r in rules.rules] == [
        Decimal("1.0"),
        Decimal("0.9"),
        Decimal("1.5"),
        Decimal("0.7"),
    ]
    assert rules.rules[1].min_similarity == 80
    assert rules.rules[3].region == "GB"
    assert rules.rules[2].kind is RuleKind.CUSTOM


def test_every_problem_is_reported_at_once_with_its_path() -> None:
    with pytest.raises(MatchRulesError) as caught:
        rules_from_dict(
            {
                "threshold": 0,
                "windw": 3,
                "rules": [
                    {"kind": "emial", "weight": 1},
                    {"kind": "email", "weight": 0, "field": "x"},
                    {"kind": "custom", "weight": "1.00001"},
                    {"kind": "company_name", "weight": 1, "min_similarity": 101, "prefix": 0},
                    {"kind": "phone", "weight": 1, "region": "Britain"},
                    {"kind": "email", "weight": 1},
                ],
            }
        )
    error = caught.value
    assert isinstance(error, ValidationError)
    assert isinstance(error, PipelinekitError)
    assert set(error.paths) == {
        "$.windw",
        "$.threshold",
        "$.rules[0].kind",
        "$.rules[1].weight",
        "$.rules[1].field",
        "$.rules[2].weight",
        "$.rules[2].field",
        "$.rules[3].min_similarity",
        "$.rules[3].prefix",
        "$.rules[4].region",
        "$.rules[5].name",
    }
    messages = {p.path: p.message for p in error.problems}
    assert "did you mean 'window'" in messages["$.windw"]
    assert "did you mean 'email'" in messages["$.rules[0].kind"]
    assert "$.rules[1]" in messages["$.rules[5].name"]


def test_a_rule_set_needs_rules() -> None:
    with pytest.raises(MatchRulesError) as caught:
        rules_from_dict({"rules": []})
    assert caught.value.paths == ("$.rules",)
    with pytest.raises(MatchRulesError) as caught:
        rules_from_dict({})
    assert caught.value.paths == ("$.rules",)


def test_bad_toml_and_unreadable_files_are_errors_with_a_path(tmp_path: Path) -> None:
    with pytest.raises(MatchRulesError) as caught:
        loads_rules("threshold = = 1")
    assert caught.value.paths == ("$",)
    with pytest.raises(MatchRulesError) as caught:
        load_rules(tmp_path / "missing.toml")
    assert "cannot read" in str(caught.value)
    bad = tmp_path / "latin1.toml"
    bad.write_bytes("threshold = 1 # caf\xe9".encode("latin-1"))
    with pytest.raises(MatchRulesError, match="not UTF-8"):
        load_rules(bad)
    good = tmp_path / "rules.toml"
    good.write_text(TOML, encoding="utf-8")
    assert load_rules(good) == loads_rules(TOML)


def test_floats_in_a_dict_are_read_as_written() -> None:
    rules = rules_from_dict({"threshold": 1.1, "rules": [{"kind": "email", "weight": 0.1}]})
    assert rules.threshold == Decimal("1.1")
    assert rules.rules[0].weight == Decimal("0.1")


@given(rule_sets())
def test_a_rule_set_round_trips_through_its_data_form(data: dict[str, object]) -> None:
    rules = rules_from_dict(data)
    assert rules_from_dict(rules.as_dict()) == rules


def test_the_default_rules_keep_colleagues_apart_and_load_from_their_data() -> None:
    rules = default_rules()
    assert rules_from_dict(rules.as_dict()) == rules
    assert rules.threshold == 1
    weights = {r.kind: r.weight for r in rules.rules}
    # company signs alone never make a duplicate of two people at one company
    assert weights[RuleKind.COMPANY_DOMAIN] + weights[RuleKind.COMPANY_NAME] < rules.threshold
    assert weights[RuleKind.EMAIL] >= rules.threshold
