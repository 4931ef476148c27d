from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pipelinekit as pk
from pipelinekit import (
    SCHEMA_VERSION,
    Company,
    Lead,
    Opportunity,
    Prospect,
    ValidationError,
    from_dict,
    from_json,
    to_dict,
    to_json,
)
from pipelinekit.testing import strategies as pks

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _lead_dict(**changes: Any) -> dict[str, Any]:
    lead = Lead.create(
        contact=pk.Person.of("Ada", email="ada@example.com"),
        company=Company("Acme", employees=10, annual_revenue=pk.Money("2.50", "EUR")),
        custom={"amount": Decimal("1.50"), "signed": date(2026, 1, 2), "seats": 3},
        at=NOW,
    )
    return {**to_dict(lead), **changes}


def test_output_is_plain_json_with_exact_decimals() -> None:
    data = _lead_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["company"]["annual_revenue"] == {"amount": "2.50", "currency": "EUR"}
    assert data["custom"]["amount"] == {"decimal": "1.50"}
    assert data["custom"]["signed"] == {"date": "2026-01-02"}
    assert data["created_at"] == "2026-03-01T00:00:00+00:00"


def test_from_dict_lists_every_problem_with_paths() -> None:
    data = _lead_dict(
        company={"name": "", "employees": -3, "country": "XX", "employes": 4},
        contact={"email": "nope"},
        tags=["ok", 7],
        custom={"ratio": 0.5},
        surprise=True,
    )
    del data["created_at"]
    with pytest.raises(ValidationError) as info:
        from_dict(Lead, data)
    assert set(info.value.paths) == {
        "$.created_at",
        "$.contact.email",
        "$.company.name",
        "$.company.employees",
        "$.company.country",
        "$.company.employes",
        "$.tags[1]",
        "$.custom.ratio",
        "$.surprise",
    }
    assert "$.company.employees: must be >= 0, got -3" in str(info.value)
    assert "$.company.employes: unknown field 'employes'; did you mean 'employees'?" in str(
        info.value
    )
    assert "$.tags[1]: must be a string, got a number" in str(info.value)
    assert isinstance(info.value.__cause__, Exception)


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("status", 3, "$.status"),  # no silent str(3)
        ("version", "1", "$.version"),  # no silent int("1")
        ("version", True, "$.version"),
        ("created_at", "2026-01-01T00:00:00", "$.created_at"),  # naive
        ("created_at", "yesterday", "$.created_at"),
        ("tags", "vip", "$.tags"),
        ("engagement", [{"kind": "visit", "at": 1}], "$.engagement[0].at"),
        ("company", "Acme", "$.company"),
    ],
)
def test_wrong_types_are_refused_not_coerced(field: str, value: object, path: str) -> None:
    with pytest.raises(ValidationError) as info:
        from_dict(Lead, _lead_dict(**{field: value}))
    assert path in info.value.paths


def test_money_amount_as_float_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        from_dict(pk.Money, {"amount": 1.5, "currency": "EUR"})
    assert info.value.paths == ("$.amount",)


def test_schema_versions() -> None:
    data = _lead_dict()
    del data["schema_version"]  # hand-written input may omit it: read as current
    assert from_dict(Lead, data).company is not None
    with pytest.raises(ValidationError, match="newer pipelinekit"):
        from_dict(Lead, _lead_dict(schema_version=SCHEMA_VERSION + 1))
    with pytest.raises(ValidationError):
        from_dict(Lead, _lead_dict(schema_version="1"))


def test_value_objects_have_no_schema_key() -> None:
    assert "schema_version" not in to_dict(Company("Acme"))
    assert to_dict(pk.EmailAddress("a@example.com")) == {"value": "a@example.com"}
    assert from_dict(pk.EmailAddress, {"value": "a@example.com"}) == pk.EmailAddress(
        "a@example.com"
    )


def test_not_an_object() -> None:
    with pytest.raises(ValidationError) as info:
        from_dict(Lead, ["not", "a", "dict"])  # type: ignore[arg-type]
    assert info.value.paths == ("$",)
    with pytest.raises(ValidationError, match="not valid JSON"):
        from_json(Lead, "{")


def test_unsupported_types_are_programming_errors() -> None:
    with pytest.raises(TypeError):
        to_dict(object())
    with pytest.raises(TypeError):
        from_dict(dict, {})


@given(st.one_of(pks.leads(), pks.prospects(), pks.opportunities()))
def test_entities_round_trip_exactly(entity: Lead | Prospect | Opportunity) -> None:
    kind = type(entity)
    assert from_dict(kind, to_dict(entity)) == entity
    assert from_json(kind, to_json(entity)) == entity
    assert to_dict(from_dict(kind, to_dict(entity))) == to_dict(entity)


@given(
    st.one_of(
        pks.money(),
        pks.people(),
        pks.companies(),
        pks.events(),
        pks.sources(),
        pks.stage_changes(),
        pks.qualification_results(),
        pks.email_addresses(),
        pks.phone_numbers(),
    )
)
def test_values_round_trip_exactly(value: Any) -> None:
    assert from_dict(type(value), to_dict(value)) == value
    assert from_json(type(value), to_json(value)) == value


@given(
    pks.leads(),
    st.sampled_from(["tags", "custom", "version", "status", "created_at"]),
    st.one_of(st.floats(allow_nan=False), st.lists(st.integers(), min_size=1)),
)
def test_validation_never_accepts_wrong_types(lead: Lead, field: str, junk: object) -> None:
    data = to_dict(lead)
    data[field] = junk
    with pytest.raises(ValidationError) as info:
        from_dict(Lead, data)
    assert any(p.startswith(f"$.{field}") for p in info.value.paths)


@given(pks.opportunities())
def test_validation_never_accepts_out_of_range_probability(opp: Opportunity) -> None:
    data = to_dict(opp)
    data["probability"] = "100.01"
    with pytest.raises(ValidationError) as info:
        from_dict(Opportunity, data)
    assert "$.probability" in info.value.paths
