"""Arrow tables: exact round trips, every bad row reported, scores and moves as in process."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pipelinekit as pk
from pipelinekit import Lead, Opportunity, Prospect, ValidationError
from pipelinekit.arrow import (
    ARROW_SCHEMA_VERSION,
    advance_table,
    from_arrow,
    schema_for,
    score_table,
    to_arrow,
)
from pipelinekit.arrow._convert import _SLICE
from pipelinekit.pipelines import compile_pipeline
from pipelinekit.pipelines.builtins import lead_lifecycle
from pipelinekit.qualification import bant, evaluate_many, icp_fit, one_of, present
from pipelinekit.qualification.icp import bands
from pipelinekit.testing.pipelines import opportunities_in, pipeline_specs
from pipelinekit.testing.strategies import leads, opportunities, prospects

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
ENTITIES = {"lead": leads(), "prospect": prospects(), "opportunity": opportunities()}
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("kind", sorted(ENTITIES))
def test_round_trip_is_exact(kind: str) -> None:
    @SLOW
    @given(st.lists(ENTITIES[kind], min_size=1, max_size=5))
    def check(entities: list[Any]) -> None:
        table = to_arrow(entities)
        assert table.schema.equals(schema_for(kind), check_metadata=True)
        back = from_arrow(table)
        assert back == entities
        # equal *and* written the same way: offsets, decimal scales, key order
        assert [pk.to_dict(e) for e in back] == [pk.to_dict(e) for e in entities]

    check()


@SLOW
@given(st.lists(leads(), min_size=1, max_size=4))
def test_round_trip_through_parquet(entities: list[Lead]) -> None:
    sink = io.BytesIO()
    pq.write_table(to_arrow(entities), sink)
    assert from_arrow(pq.read_table(io.BytesIO(sink.getvalue()))) == entities


def _lead(n: int, **company: Any) -> Lead:
    return Lead.create(
        contact=pk.Person.of(f"Person {n}", email=f"p{n}@example.com"),
        company=pk.Company(f"Acme {n}", **company),
        at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def _replace(table: pa.Table, name: str, values: list[Any]) -> pa.Table:
    index = table.column_names.index(name)
    return table.set_column(index, table.schema.field(name), pa.array(values, table[name].type))


def test_every_bad_row_is_reported_with_its_index() -> None:
    table = to_arrow([_lead(n, country="DE") for n in range(4)])
    companies = table["company"].to_pylist()
    companies[1]["country"] = "XX"
    companies[3]["employees"] = -5
    contacts = table["contact"].to_pylist()
    contacts[3]["email"] = "not an address"
    table = _replace(table, "company", companies)
    table = _replace(table, "contact", contacts)
    table = _replace(table, "status", ["new", "new", " ", "new"])
    with pytest.raises(ValidationError) as caught:
        from_arrow(table)
    paths = set(caught.value.paths)
    assert paths == {
        "$[1].company.country",
        "$[2].status",
        "$[3].company.employees",
        "$[3].contact.email",
    }


def test_bad_json_and_order_of_times_are_problems_of_their_row() -> None:
    table = to_arrow([_lead(n) for n in range(3)])
    table = _replace(table, "custom", [None, "{not json", None])
    table = _replace(
        table,
        "updated_at",
        [*table["updated_at"].to_pylist()[:2], datetime(2000, 1, 1, tzinfo=UTC)],
    )
    with pytest.raises(ValidationError) as caught:
        from_arrow(table)
    assert [p.split(".")[0] for p in caught.value.paths] == ["$[1]", "$[2]"]
    assert caught.value.paths[1] == "$[2].updated_at"


def test_the_table_shape_is_checked_column_by_column() -> None:
    table = to_arrow([_lead(1)]).drop_columns(["owner"])
    table = table.set_column(table.column_names.index("tags"), "tags", pa.array([1], pa.int64()))
    with pytest.raises(ValidationError) as caught:
        from_arrow(table)
    assert set(caught.value.paths) == {"$.columns.owner", "$.columns.tags"}


def test_a_table_from_a_newer_schema_version_is_refused() -> None:
    table = to_arrow([_lead(1)])
    meta = dict(table.schema.metadata)
    meta[b"pipelinekit.arrow_schema_version"] = str(ARROW_SCHEMA_VERSION + 1).encode()
    with pytest.raises(ValidationError) as caught:
        from_arrow(table.replace_schema_metadata(meta))
    assert caught.value.paths == ("$.schema_version",)


def test_kind_comes_from_the_metadata_or_the_caller() -> None:
    entities = [_lead(1)]
    bare = to_arrow(entities).replace_schema_metadata(None)
    with pytest.raises(ValidationError, match="pass kind="):
        from_arrow(bare)
    assert from_arrow(bare, Lead) == entities
    assert from_arrow(bare, "lead") == entities
    with pytest.raises(ValidationError) as caught:
        from_arrow(bare, Prospect)
    assert "$.columns.persona" in caught.value.paths


def test_castable_types_and_extra_columns_are_accepted() -> None:
    entities = [_lead(1), _lead(2)]
    table = to_arrow(entities)
    wide = table.set_column(0, "id", table["id"].cast(pa.large_string())).append_column(
        "segment", pa.array(["a", "b"])
    )
    assert from_arrow(wide) == entities


def test_to_arrow_refuses_mixed_kinds_and_non_lists() -> None:
    with pytest.raises(ValidationError) as caught:
        to_arrow([_lead(1), "lead", _lead(2), 3])  # type: ignore[list-item]
    assert caught.value.paths == ("$[1]", "$[3]")
    with pytest.raises(ValidationError):
        to_arrow("leads")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        from_arrow({"id": []})  # type: ignore[arg-type]


def test_empty_tables_round_trip() -> None:
    for kind in ENTITIES:
        assert from_arrow(schema_for(kind).empty_table()) == []


# -- scoring ------------------------------------------------------------------------------

ICP = icp_fit(
    "fit",
    [
        one_of("industry", "company.industry", {"software": 20, "fintech": 10}, default=1),
        bands("size", "company.employees", [(None, 10, 0), (10, 500, 10), (500, None, 15)]),
        one_of("country", "company.country", {"DE": 10, "FR": 5}),
        present("email", "contact.email", points=5),
    ],
)
STRATEGIES = st.sampled_from([ICP, bant()])


def _decimal_text(value: Any) -> str | None:
    return None if value is None else str(value)


@SLOW
@given(
    entities=st.lists(leads(), max_size=6),
    strategy=STRATEGIES,
    explain=st.booleans(),
)
def test_score_table_equals_evaluate_many(
    entities: list[Lead], strategy: Any, explain: bool
) -> None:
    table = to_arrow(entities)
    scored = score_table(strategy, table, as_of=AS_OF, explain=explain)
    results = evaluate_many(strategy, entities, as_of=AS_OF, explain=explain)
    assert scored.num_rows == len(results)
    assert scored.select(table.column_names).equals(table)
    assert scored["score"].to_pylist() == [_decimal_text(r.score) for r in results]
    assert scored["verdict"].to_pylist() == [r.verdict.value for r in results]
    assert scored["grade"].to_pylist() == [r.grade for r in results]
    assert scored["coverage"].to_pylist() == [str(r.coverage) for r in results]
    if explain:
        lines = scored["breakdown"].to_pylist()
        assert [[(x["criterion"], x["status"], x["points"]) for x in row] for row in lines] == [
            [(b.criterion, b.status.value, str(b.points)) for b in r.breakdown] for r in results
        ]
    else:
        assert "breakdown" not in scored.column_names
    # rescoring replaces the score columns instead of adding a second set
    again = score_table(strategy, scored, as_of=AS_OF, explain=explain)
    assert again.column_names == scored.column_names


def test_score_table_scores_prospects_and_refuses_bad_rows() -> None:
    prospect = Prospect.create(
        persona="smb", company=pk.Company("Acme", industry="software"), at=AS_OF
    )
    scored = score_table(ICP, to_arrow([prospect]), as_of=AS_OF)
    assert scored["score"].to_pylist() == [str(ICP.evaluate(prospect, as_of=AS_OF).score)]
    bad = _replace(to_arrow([_lead(1), _lead(2)]), "id", ["a", ""])
    with pytest.raises(ValidationError) as caught:
        score_table(ICP, bad, as_of=AS_OF)
    assert caught.value.paths == ("$[1].id",)
    with pytest.raises(ValidationError):
        score_table(ICP, to_arrow([_lead(1)]), as_of=datetime(2026, 1, 1))  # naive


# -- bulk moves ---------------------------------------------------------------------------

EVENTS = ("advance", "skip", "back", "win", "lose", "reopen", "nope")


def _failures(result: Any) -> list[tuple[int, str, str, str]]:
    return [(f.index, f.entity_id, type(f.error).__name__, str(f.error)) for f in result.failures]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), spec=pipeline_specs(), event=st.sampled_from(EVENTS))
def test_advance_table_equals_the_bulk_path(data: st.DataObject, spec: Any, event: str) -> None:
    pipeline = compile_pipeline(spec)
    opps = data.draw(st.lists(opportunities_in(pipeline), min_size=1, max_size=5))
    move = advance_table(pipeline, to_arrow(opps), event, at=AS_OF, actor="bot", reason="price")
    bulk = pipeline.bulk(opps, event, at=AS_OF, actor="bot", reason="price")
    assert from_arrow(move.moved, Opportunity) == bulk.moved
    assert move.history.to_pylist() == [
        {"entity_id": e.id, **pk.to_dict(e.history[-1])} | {"at": e.history[-1].at}
        for e in bulk.moved
    ]
    failures = move.failures.to_pylist()
    assert [(f["index"], f["entity_id"], f["error"], f["message"]) for f in failures] == (
        _failures(bulk)
    )


@SLOW
@given(st.lists(leads(), min_size=1, max_size=5), st.sampled_from(["contact", "qualify", "nope"]))
def test_advance_table_moves_leads_as_the_bulk_path(entities: list[Lead], event: str) -> None:
    pipeline = lead_lifecycle()
    move = advance_table(pipeline, to_arrow(entities), event, at=AS_OF)
    bulk = pipeline.bulk(entities, event, at=AS_OF)
    assert from_arrow(move.moved, Lead) == bulk.moved
    assert move.failures["index"].to_pylist() == [f.index for f in bulk.failures]
    assert move.history["to_stage"].to_pylist() == [e.status for e in bulk.moved]


def test_advance_table_refuses_prospects() -> None:
    prospect = Prospect.create(persona="smb", company=pk.Company("Acme"), at=AS_OF)
    with pytest.raises(ValidationError):
        advance_table(lead_lifecycle(), to_arrow([prospect]), "contact", at=AS_OF)


def test_without_pyarrow_the_error_names_the_extra() -> None:
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['pyarrow'] = None\n"
        "try:\n    import pipelinekit.arrow\n"
        "except ImportError as e:\n    print(type(e).__name__, e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("ArrowDependencyError")
    assert "pipelinekit[arrow]" in out.stdout


@SLOW
@given(st.lists(leads(), min_size=3, max_size=6), st.integers(0, 2))
def test_slices_and_chunked_tables_read_as_their_rows(entities: list[Lead], start: int) -> None:
    table = to_arrow(entities)
    assert from_arrow(table.slice(start, 2)) == entities[start : start + 2]
    chunked = pa.concat_tables([table.slice(0, start + 1), table.slice(start + 1)])
    assert chunked["history"].num_chunks == 2
    assert from_arrow(chunked) == entities


def test_repeated_values_are_checked_in_every_row() -> None:
    # equal inputs build one shared value; an equal *bad* input is reported on each row
    rows = [_lead(n, country="DE").evolve(custom={"plan": "gold"}) for n in range(4)]
    table = to_arrow(rows)
    assert from_arrow(table) == rows
    table = _replace(table, "custom", ['{"plan": 1.5}', '{"plan": "gold"}', '{"plan": 1.5}', None])
    table = _replace(table, "source", [{"channel": "fax", "detail": None}] * 2 + [None] * 2)
    with pytest.raises(ValidationError) as caught:
        from_arrow(table)
    assert caught.value.paths == (
        "$[0].custom.plan",
        "$[0].source.channel",
        "$[1].source.channel",
        "$[2].custom.plan",
    )


def test_values_beyond_the_schema_are_refused_by_row() -> None:
    big = _lead(2).evolve(company=pk.Company("Huge", employees=2**70))
    with pytest.raises(ValidationError) as caught:
        to_arrow([_lead(1), big, _lead(3).evolve(version=2**64)])
    assert caught.value.paths == ("$[1].company", "$[2].version")


def test_a_null_in_a_required_column_is_a_problem_of_its_row() -> None:
    table = to_arrow([_lead(1), _lead(2)])
    nulls = pa.array([None, "new"], pa.string())
    with pytest.raises(ValidationError) as caught:
        from_arrow(table.set_column(table.column_names.index("status"), "status", nulls))
    assert caught.value.paths == ("$[0].status",)


def test_tables_longer_than_a_slice_round_trip_and_report_rows_by_their_index() -> None:
    """Rows are converted a slice at a time: indexes in paths count from the table's start."""
    count = 2 * _SLICE + 3
    leads = [_lead(n).evolve(tags=frozenset({f"t{n % 5}"})) for n in range(count)]
    table = to_arrow(leads)
    assert table.num_rows == count
    assert all(table[name].num_chunks == 1 for name in table.column_names)
    assert from_arrow(table) == leads
    statuses = table["status"].to_pylist()
    for late in (_SLICE, count - 1):
        statuses[late] = " "
    with pytest.raises(ValidationError) as caught:
        from_arrow(_replace(table, "status", statuses))
    assert caught.value.paths == (f"$[{_SLICE}].status", f"$[{count - 1}].status")
    big = leads[_SLICE + 1].evolve(version=2**64)
    with pytest.raises(ValidationError) as refused:
        to_arrow([*leads[: _SLICE + 1], big])
    assert refused.value.paths == (f"$[{_SLICE + 1}].version",)
