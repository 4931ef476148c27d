"""Every hostile input reported against the loaders, as a named test: a library error
with the path of each problem (or accepted, and then working end to end)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import pipelinekit
from pipelinekit import Company, Lead, Money, Person, ValidationError, from_dict, from_json, to_dict
from pipelinekit.io import import_leads
from pipelinekit.pipelines import (
    PipelineDefinitionError,
    compile_pipeline,
    loads_pipeline,
    pipeline_from_dict,
)
from pipelinekit.qualification import build, from_toml
from pipelinekit.storage import CorruptRecord, memory_storage
from pipelinekit.storage.sql import sqlite_storage
from pipelinekit.validation import MAX_DEPTH, MAX_DIGITS

AT = datetime(2026, 1, 1, tzinfo=UTC)


def _lead() -> Lead:
    return Lead.create(
        contact=Person.of("Ada", email="ada@example.com"),
        company=Company("Acme", employees=3),
        at=AT,
    )


def _problems(error: pytest.ExceptionInfo[Any]) -> dict[str, str]:
    return {p.path: p.message for p in error.value.problems}


# -- nesting past the recursion limit ----------------------------------------------------


def test_deeply_nested_json_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as error:
        from_json(Lead, "[" * 10_000 + "]" * 10_000)
    assert "nested more than" in _problems(error)["$"]


def test_nesting_just_past_the_limit_is_refused_with_its_path() -> None:
    data = to_dict(_lead())
    deep: Any = "x"
    for _ in range(MAX_DEPTH + 1):
        deep = [deep]
    data["custom"] = {"deep": deep}
    with pytest.raises(ValidationError) as error:
        from_dict(Lead, data)
    (path,) = _problems(error)
    assert path.startswith("$.custom.deep")


def test_a_dict_holding_itself_is_refused_not_a_recursion_error() -> None:
    data: dict[str, Any] = to_dict(_lead())
    loop: dict[str, Any] = {}
    loop["again"] = loop
    data["custom"] = loop
    with pytest.raises(ValidationError, match="nested more than"):
        from_dict(Lead, data)


def test_deeply_nested_toml_pipeline_is_a_definition_error() -> None:
    with pytest.raises(PipelineDefinitionError, match="nested more than"):
        loads_pipeline("a = " + "[" * 10_000 + "]" * 10_000)


def test_deeply_nested_toml_qualifier_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="nested more than"):
        from_toml("a = " + "[" * 10_000 + "]" * 10_000)


def test_deeply_nested_json_lines_row_is_a_row_error(tmp_path: Path) -> None:
    file = tmp_path / "rows.jsonl"
    good = json.dumps({"name": "Ada", "email": "ada@example.com"})
    file.write_text(good + "\n" + '{"name": ' + "[" * 10_000 + "]" * 10_000 + "}\n")
    storage = memory_storage()
    summary = import_leads(file, storage, at=AT)
    assert (summary.inserted, summary.rejected) == (1, 1)
    assert summary.errors[0].line == 2
    assert "nested more than" in summary.errors[0].reason


# -- integers past the interpreter's int/str conversion limit ----------------------------


def test_five_thousand_digit_integer_in_json_is_a_validation_error() -> None:
    text = json.dumps({**to_dict(_lead()), "version": 0}).replace(
        '"version": 0', '"version": ' + "9" * 5000
    )
    with pytest.raises(ValidationError) as error:
        from_json(Lead, text)
    assert f"at most {MAX_DIGITS}" in _problems(error)["$.version"]


def test_huge_integer_in_a_dict_is_never_formatted_into_a_message() -> None:
    data = {**to_dict(_lead()), "schema_version": 10**5000, "version": -(10**5000)}
    with pytest.raises(ValidationError) as error:
        from_dict(Lead, data)
    assert set(_problems(error)) == {"$.schema_version", "$.version"}


def test_huge_integer_in_a_toml_pipeline_is_a_definition_error() -> None:
    with pytest.raises(PipelineDefinitionError, match="too many digits"):
        loads_pipeline('key = "p"\nx = ' + "9" * 5000)


def test_huge_integer_in_a_pipeline_dict_names_its_path() -> None:
    data = {"key": "p", "stages": [{"key": "a", "rotting_days": 10**5000}]}
    with pytest.raises(PipelineDefinitionError) as error:
        pipeline_from_dict(data)
    assert error.value.paths == ("$.stages[0].rotting_days",)


def test_huge_integer_in_a_qualifier_config_names_its_path() -> None:
    with pytest.raises(ValidationError) as error:
        build({"kind": "bant", "k": 10**5000})
    assert error.value.paths == ("$.k",)


def test_huge_integer_in_a_json_lines_row_rejects_only_that_row(tmp_path: Path) -> None:
    file = tmp_path / "rows.jsonl"
    file.write_text(
        '{"name": "Ada", "employees": ' + "9" * 5000 + "}\n" + '{"name": "Bo"}\n',
        encoding="utf-8",
    )
    summary = import_leads(file, memory_storage(), at=AT)
    assert (summary.inserted, summary.rejected) == (1, 1)
    assert "digits" in summary.errors[0].reason


# -- bytes that are not text ---------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"\x80abc", b'{"a": "\xff"}', b"\xff\xfe\x00"])
def test_from_json_bytes_that_are_not_text_are_a_validation_error(raw: bytes) -> None:
    with pytest.raises(ValidationError, match="is not valid UTF-"):
        from_json(Lead, raw)


def test_from_json_reads_utf8_and_utf16_bytes() -> None:
    text = pipelinekit.to_json(_lead())
    assert from_json(Lead, text.encode("utf-8")) == from_json(Lead, text.encode("utf-16"))


# -- a hang: a billion-digit integer built from a short cell -----------------------------


def test_csv_cell_with_a_huge_exponent_is_a_row_error_not_a_hang(tmp_path: Path) -> None:
    file = tmp_path / "rows.csv"
    file.write_text("name,company,employees\nAda,Acme,1e999999999\nBo,Beta,12\n")
    summary = import_leads(file, memory_storage(), at=AT)
    assert (summary.inserted, summary.rejected) == (1, 1)
    (problem,) = summary.errors
    assert (problem.line, problem.path) == (2, "$.company.employees")
    assert "exponent" in problem.reason


def test_decimal_with_a_huge_exponent_is_refused_at_its_path() -> None:
    data = to_dict(Money("12.50", "EUR"))
    data["amount"] = "1E+999999999"
    with pytest.raises(ValidationError) as error:
        from_dict(Money, data)
    assert error.value.paths == ("$.amount",)


# -- JSON Lines: a list holding a decimal -------------------------------------------------


def test_json_lines_list_with_a_fraction_is_kept_as_json_text(tmp_path: Path) -> None:
    file = tmp_path / "rows.jsonl"
    file.write_text('{"name": "Ada", "scores": [1.5, {"b": 2}]}\n{"name": "Bo"}\n')
    storage = memory_storage()
    summary = import_leads(file, storage, at=AT)
    assert (summary.inserted, summary.rejected) == (2, 0)
    with storage.unit_of_work() as uow:
        (ada,) = [lead for lead in uow.leads.find() if lead.contact and lead.contact.name == "Ada"]
    assert json.loads(str(ada.custom["scores"])) == ["1.5", {"b": 2}]


# -- lone surrogates ------------------------------------------------------------------------


def test_lone_surrogate_in_json_is_refused_before_it_reaches_storage() -> None:
    data = {**to_dict(_lead()), "owner": "\ud800"}
    with pytest.raises(ValidationError) as error:
        from_json(Lead, json.dumps(data))
    assert "surrogate" in _problems(error)["$.owner"]


# -- guards and qualifiers ---------------------------------------------------------------


def test_a_guard_parameter_named_cls_is_reported_not_a_type_error() -> None:
    text = """key = "p"
[[stages]]
key = "a"
[[stages]]
key = "won"
kind = "won"
[[stages]]
key = "lost"
kind = "lost"
[[transitions]]
event = "go"
source = "a"
target = "won"
guards = [{ name = "field_present", field = "amount", cls = "x" }]
[[transitions]]
event = "drop"
source = "a"
target = "lost"
"""
    with pytest.raises(PipelineDefinitionError) as error:
        compile_pipeline(loads_pipeline(text))
    assert error.value.paths == ("$.transitions[0].guards[0]",)
    assert "cls" in error.value.problems[0].message


def test_a_preset_qualifier_takes_a_name() -> None:
    assert build({"kind": "bant", "name": "x"}).name == "x"


# -- corrupt stored data ------------------------------------------------------------------


@pytest.mark.parametrize(
    "doc",
    ["{not json", json.dumps({"id": "will-be-replaced", "company": 3}), "[" * 5000],
    ids=["not-json", "not-a-lead", "nested"],
)
def test_a_corrupt_stored_document_is_a_corrupt_record(tmp_path: Path, doc: str) -> None:
    storage = sqlite_storage(tmp_path / "db.sqlite")
    bad, good = _lead(), Lead.create(contact=Person.of("Bo"), at=AT)
    with storage.unit_of_work() as uow:
        uow.leads.save_all([bad, good])
        uow.commit()
    table = storage.tables.entities["lead"].name  # type: ignore[attr-defined]
    doc = doc.replace("will-be-replaced", bad.id)
    with contextlib.closing(sqlite3.connect(tmp_path / "db.sqlite")) as conn, conn:
        conn.execute(f"UPDATE {table} SET doc = ? WHERE id = ?", (doc, bad.id))
    with storage.unit_of_work() as uow:
        with pytest.raises(CorruptRecord) as error:
            uow.leads.get(bad.id)
        assert (error.value.table, error.value.entity_id) == (table, bad.id)
        assert uow.leads.get(good.id).id == good.id  # the other rows stay readable
    storage.close()


def test_decimal_context_of_the_caller_is_left_alone() -> None:
    import decimal

    before = decimal.getcontext().copy()
    from_json(Money, '{"amount": "12.50", "currency": "EUR"}')
    assert decimal.getcontext().prec == before.prec
    assert Decimal("1") / Decimal("3") == before.divide(Decimal(1), Decimal(3))


# -- every problem at once: the class's own checks with the nested and type problems -----


def test_entity_level_problems_come_with_nested_ones() -> None:
    data = to_dict(_lead())
    data.update(owner="", version=-1, notes=3, external_id=" ")
    data["company"] = {**data["company"], "employees": -3}
    with pytest.raises(ValidationError) as error:
        from_dict(Lead, data)
    assert set(_problems(error)) == {
        "$.company.employees",
        "$.owner",
        "$.version",
        "$.notes",
        "$.external_id",
    }


def test_entity_level_problems_come_with_type_problems_and_unknown_keys() -> None:
    data = {**to_dict(_lead()), "owner": "", "tags": "not-a-list", "colour": "red"}
    with pytest.raises(ValidationError) as error:
        from_dict(Lead, data)
    assert set(_problems(error)) == {"$.owner", "$.tags", "$.colour"}


def test_opportunity_problems_are_all_reported() -> None:
    opportunity = pipelinekit.Opportunity.create(
        name="Deal", pipeline="sales", stage="qualified", amount=Money("100", "EUR"), at=AT
    )
    data = to_dict(opportunity)
    data.update(owner="", amount={"amount": 12.5, "currency": "EUR"}, probability_source="x")
    with pytest.raises(ValidationError) as error:
        from_dict(pipelinekit.Opportunity, data)
    assert {"$.owner", "$.amount.amount", "$.probability_source"} <= set(_problems(error))


def test_custom_fields_are_checked_as_the_constructor_checks_them() -> None:
    data = {**to_dict(_lead()), "custom": {"a": "x\x00", "": 1}}
    with pytest.raises(ValidationError) as error:
        from_dict(Lead, data)
    assert set(_problems(error)) == {"$.custom.a", "$.custom['']"}
    with pytest.raises(ValidationError):
        Lead.create(contact=Person.of("Ada"), custom={"a": "x\x00"}, at=AT)


def test_lone_surrogates_are_refused_by_the_constructors_too() -> None:
    with pytest.raises(ValidationError) as error:
        Lead.create(contact=Person.of("Ada"), owner="\ud800", tags={"\udfff"}, at=AT)
    assert set(_problems(error)) == {"$.owner", "$.tags"}


# -- money: a documented range, exact sums, no overflow later --------------------------------


@pytest.mark.parametrize(
    "amount", ["1E+999999999", "1e18", "-1e18", "123456789012345678901234567890.12", "1e-101"]
)
def test_amounts_outside_the_range_are_refused_at_construction(amount: str) -> None:
    with pytest.raises(ValidationError) as error:
        Money(amount, "EUR")
    assert error.value.paths == ("$.amount",)
    with pytest.raises(ValidationError):
        Money(Decimal(amount), "EUR")  # the fast path checks the range too


def test_a_result_outside_the_range_is_a_validation_error_not_an_overflow() -> None:
    big = Money("999999999999999999", "EUR")
    with pytest.raises(ValidationError):
        big * 2
    with pytest.raises(ValidationError):
        big + big


def test_sums_are_exact_whatever_the_callers_decimal_context() -> None:
    import decimal

    a, b = Money("123456789012345.123456", "EUR"), Money("0.000001", "EUR")
    with decimal.localcontext(decimal.Context(prec=5)):
        total = a + b
        difference = a - b
        doubled = a * 2
    assert total.amount == Decimal("123456789012345.123457")
    assert difference.amount == Decimal("123456789012345.123455")
    assert doubled.amount == Decimal("246913578024690.246912")


def test_the_largest_amount_rounds_and_weighs_without_error() -> None:
    amount = Money("999999999999999999.994", "EUR")
    assert amount.rounded().amount == Decimal("999999999999999999.99")
    opportunity = pipelinekit.Opportunity.create(
        name="Deal", pipeline="sales", stage="qualified", amount=amount, at=AT
    )
    assert opportunity.weighted_amount is not None
    assert opportunity.weighted_amount <= amount


def test_a_custom_decimal_no_loader_could_read_back_is_refused_by_the_constructor() -> None:
    with pytest.raises(ValidationError) as error:
        Lead.create(contact=Person.of("Ada"), custom={"big": Decimal("1E+999999999")}, at=AT)
    assert error.value.paths == ("$.custom.big",)
