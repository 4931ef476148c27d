"""score_table's column-wise path for ICP fit strategies: the results of evaluate_many exactly."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import attrs
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pipelinekit as pk
from pipelinekit import Lead, ValidationError
from pipelinekit.arrow import _columnar as columnar
from pipelinekit.arrow import from_arrow, score_table, to_arrow
from pipelinekit.arrow._columnar import fast_scores
from pipelinekit.arrow._convert import conform
from pipelinekit.qualification import evaluate_many, icp_fit, one_of, present
from pipelinekit.qualification.icp import NumericBand, all_of, bands, pattern, predicate
from pipelinekit.testing.strategies import companies, custom_fields, leads, people, prospects

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)

# every criterion kind the ICP strategy has, every missing-data policy, knockouts
# (listed values, bands, required criteria), group and total caps, a floor
EVERY_KIND = icp_fit(
    "every-kind",
    [
        one_of(
            "industry",
            "company.industry",
            {"software": 20, "finance": "7.5"},
            knockout=["retail"],
            default=1,
            group="firm",
            missing="zero",
        ),
        bands(
            "size",
            "company.employees",
            [
                NumericBand(None, 10, 0),
                NumericBand(10, "500.5", 10),
                NumericBand("500.5", 10**5, 15),
                NumericBand(10**5, None, knockout=True),
            ],
            group="firm",
            missing="penalty",
            penalty=2,
        ),
        bands(
            "revenue",
            "company.annual_revenue",
            [(None, 0, -3), (0, "1000.25", 5), ("1000.25", None, 15)],
            currency="EUR",
            group="firm",
        ),
        one_of("country", "company.country", {"DE": 10, "FR": 5}, required=True),
        pattern("title", "contact.job_title", {r"\b(cto|ceo)\b": 20, "manager": 5}),
        present("email", "contact.email", points=5, absent=-2),
        one_of("tags", "tags", {"vip": 4}, default="0.5", weight="1.5"),
        all_of(
            "software-with-phone",
            [one_of("sw", "company.industry", {"software": 1}), present("phone", "contact.phone")],
            points=4,
        ),
        one_of("plan", "custom.plan", {"gold": 9, "silver": 3}, missing="penalty", penalty=1),
        # custom fields are read from the JSON text of them all
        present("plan given", "custom.plan", points=2),
        bands("seats", "custom.seats", [(None, 10, 1), (10, None, 3)], missing="zero"),
    ],
    groups={"firm": 25},
    total_cap=60,
    floor=-5,
    min_coverage="0.5",
)
# a criterion that blocks scoring, a required one left unknown, the relative scale
BLOCKING = icp_fit(
    "blocking",
    [
        one_of("country", "company.country", {"DE": 10}, missing="block"),
        pattern("title", "contact.job_title", {"manager": 5}, required=True),
        bands("size", "company.employees", [(None, 50, 1), (50, None, 3)], missing="zero"),
    ],
    scale="relative",
)
# the column-wise path does not cover predicates: the row-wise one answers
WITH_PREDICATE = icp_fit(
    "predicate",
    [
        one_of("industry", "company.industry", {"software": 20}),
        predicate("named", lambda lead: lead.owner is not None, points=3),
    ],
)

AMOUNTS = ["0", "0.001", "999.99", "1000.25", "1000.250", "5E+3", "1000.2500000000001"]
REVENUES = st.builds(pk.Money, st.sampled_from(AMOUNTS), st.sampled_from(["EUR", "USD"]))
COMPANIES = companies(
    employees=st.one_of(st.none(), st.sampled_from([0, 9, 10, 500, 501, 10**5, 10**6])),
    revenues=st.one_of(st.none(), REVENUES),
)
TITLES = st.sampled_from([None, "CTO", "Sales manager", "Intern"])
CONTACTS = st.one_of(
    st.none(),
    st.builds(lambda p, title: attrs.evolve(p, job_title=title), people(), TITLES),
)
PLANS = custom_fields(
    fields={
        "plan": st.sampled_from(["gold", "silver", "GOLD", 3, True]),
        "seats": st.sampled_from([0, 9, 10, Decimal("9.5"), "ten"]),
    }
)
LEADS = leads(contacts=CONTACTS, companies=st.one_of(st.none(), COMPANIES), custom=PLANS)
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _texts(values: list[Any]) -> list[str | None]:
    return [None if v is None else str(v) for v in values]


def _expected(strategy: Any, entities: list[Any]) -> dict[str, list[Any]]:
    results = evaluate_many(strategy, entities, as_of=AS_OF)
    return {
        "score": _texts([r.score for r in results]),
        "verdict": [r.verdict.value for r in results],
        "grade": [r.grade for r in results],
        "coverage": _texts([r.coverage for r in results]),
    }


@SETTINGS
@given(
    entities=st.lists(LEADS, min_size=1, max_size=12),
    strategy=st.sampled_from([EVERY_KIND, BLOCKING, WITH_PREDICATE]),
)
def test_column_wise_scores_equal_evaluate_many(entities: list[Lead], strategy: Any) -> None:
    table = to_arrow(entities)
    scored = score_table(strategy, table, as_of=AS_OF)
    assert {name: scored[name].to_pylist() for name in _expected(strategy, entities)} == (
        _expected(strategy, entities)
    )
    # the row-wise path agrees, and the column-wise one ran where it applies
    rows = score_table(strategy, table, as_of=AS_OF, validate=True)
    assert rows.equals(scored)
    covered = fast_scores(strategy, conform(table, "lead"), "lead", AS_OF) is not None
    assert covered == (strategy is not WITH_PREDICATE)


@SETTINGS
@given(st.lists(prospects(companies=COMPANIES), min_size=1, max_size=8))
def test_prospects_are_scored_column_wise_too(entities: list[Any]) -> None:
    table = to_arrow(entities)
    scored = score_table(EVERY_KIND, table, as_of=AS_OF)
    assert {n: scored[n].to_pylist() for n in ("score", "verdict", "grade", "coverage")} == (
        _expected(EVERY_KIND, entities)
    )


def _lead(n: int, **company: Any) -> Lead:
    return Lead.create(
        contact=pk.Person.of(f"Person {n}", email=f"p{n}@example.com"),
        company=pk.Company(f"Acme {n}", **company),
        at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def _replace(table: pa.Table, name: str, values: list[Any]) -> pa.Table:
    index = table.column_names.index(name)
    return table.set_column(index, table.schema.field(name), pa.array(values, table[name].type))


def test_bad_values_a_criterion_reads_are_reported_on_every_row_as_from_arrow_does() -> None:
    table = to_arrow([_lead(n, country="DE", employees=n) for n in range(5)])
    companies = table["company"].to_pylist()
    for i in (1, 3):
        companies[i]["country"] = "XX"
    companies[4]["employees"] = -1
    bad = _replace(table, "company", companies)
    with pytest.raises(ValidationError) as caught:
        score_table(EVERY_KIND, bad, as_of=AS_OF)
    with pytest.raises(ValidationError) as rows:
        from_arrow(bad)
    assert caught.value.paths == rows.value.paths
    assert [p.split(".")[0] for p in caught.value.paths] == ["$[1]", "$[3]", "$[4]"]


@pytest.mark.parametrize(
    ("column", "values"),
    [
        ("id", ["a", " ", "c"]),
        ("id", ["a", "x" * 129, "c"]),
        ("version", [0, -1, 0]),
        (
            "updated_at",
            [datetime(2026, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC), None],
        ),
    ],
)
def test_the_columns_every_entity_has_are_checked_column_wise(
    column: str, values: list[Any]
) -> None:
    table = to_arrow([_lead(n) for n in range(3)])
    bad = _replace(table, column, values)
    with pytest.raises(ValidationError) as caught:
        score_table(EVERY_KIND, bad, as_of=AS_OF)
    with pytest.raises(ValidationError) as rows:
        from_arrow(bad)
    assert caught.value.paths == rows.value.paths


def test_columns_with_few_values_are_checked_value_by_value() -> None:
    # no criterion reads the source or the status: their few values are built all the same
    table = to_arrow([_lead(n, country="DE") for n in range(3)])
    bad = _replace(table, "source", [None, {"channel": "fax", "detail": None}, None])
    bad = _replace(bad, "status", ["new", "new", " "])
    with pytest.raises(ValidationError) as caught:
        score_table(EVERY_KIND, bad, as_of=AS_OF)
    assert caught.value.paths == ("$[1].source.channel", "$[2].status")


def test_validate_builds_every_row_whatever_the_strategy_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # as if the table were long: the source's values are no longer few
    monkeypatch.setattr(columnar, "FEW", 1)
    table = to_arrow([_lead(n, country="DE") for n in range(3)])
    bad = _replace(table, "source", [None, {"channel": "fax", "detail": None}, None])
    assert score_table(EVERY_KIND, bad, as_of=AS_OF).num_rows == 3
    with pytest.raises(ValidationError) as caught:
        score_table(EVERY_KIND, bad, as_of=AS_OF, validate=True)
    assert caught.value.paths == ("$[1].source.channel",)


def test_long_tables_with_few_distinct_values_score_as_their_entities() -> None:
    entities = [
        _lead(n, country="DE" if n % 3 else "FR", employees=n % 700, industry="software")
        for n in range(2_000)
    ]
    entities = [
        e.evolve(custom={"plan": "gold"}) if n % 5 == 0 else e for n, e in enumerate(entities)
    ]
    table = pa.concat_tables([to_arrow(entities[:700]), to_arrow(entities[700:])])
    scored = score_table(EVERY_KIND, table, as_of=AS_OF)
    assert scored["score"].to_pylist() == _expected(EVERY_KIND, entities)["score"]
    assert len(set(scored["score"].to_pylist())) > 3
    assert Decimal(scored["score"][0].as_py()) <= 60
