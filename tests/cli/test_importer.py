"""The import engine: every problem of a bad row with its path, idempotent upserts, mapping."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelinekit.cli.importer import ImportFileError, import_leads
from pipelinekit.cli.settings import ConfigError, load_settings
from pipelinekit.storage import memory_storage

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def write(path: Path, rows: list[dict[str, object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


rows_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.sampled_from([f"k{n}" for n in range(12)]),
            "company": st.sampled_from(["Acme", "Globex", "", "Initech"]),
            "employees": st.sampled_from(["10", "-4", "many", "", "1,200"]),
            "email": st.sampled_from(["a@x.example", "broken", ""]),
        }
    ),
    min_size=1,
    max_size=15,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=rows_strategy)
def test_good_rows_are_stored_bad_rows_reported_and_rerunning_changes_nothing(
    tmp_path: Path, rows: list[dict[str, object]]
) -> None:
    path = write(tmp_path / "in.csv", rows)
    storage = memory_storage()
    first = import_leads(path, storage, at=T0, batch_size=4)
    bad_lines = {e.line for e in first.errors}
    assert first.rows == len(rows)
    assert first.inserted + first.rejected == len(rows)
    assert first.rejected == len(bad_lines)
    for error in first.errors:
        row = rows[error.line - 2]  # the header is line 1
        assert error.external_id == row["id"]
        assert error.path.startswith("$")
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.leads.count() == first.inserted
        for line, row in enumerate(rows, start=2):
            stored = uow.leads.by_external_id(str(row["id"]))
            if line not in bad_lines and stored is not None:
                assert stored.company is None or stored.company.name == row["company"]
    again = import_leads(path, storage, at=T0 + timedelta(days=1), batch_size=3)
    assert (again.inserted, again.updated) == (0, 0)
    assert again.unchanged == first.inserted
    assert again.errors == first.errors


def test_every_problem_of_a_row_is_listed_with_its_path(tmp_path: Path) -> None:
    path = write(
        tmp_path / "in.csv",
        [{"id": "1", "company": "", "employees": "-3", "email": "nope", "annual_revenue": "x"}],
    )
    summary = import_leads(path, memory_storage(), at=T0)
    assert [(e.line, e.path) for e in summary.errors] == [
        (2, "$.contact.email"),
        (2, "$.company.annual_revenue"),
        (2, "$.company.name"),
        (2, "$.company.employees"),
    ]


def test_a_changed_row_updates_the_stored_lead(tmp_path: Path) -> None:
    storage = memory_storage()
    write(tmp_path / "a.csv", [{"id": "1", "company": "Acme", "employees": "10"}])
    import_leads(tmp_path / "a.csv", storage, at=T0)
    write(tmp_path / "a.csv", [{"id": "1", "company": "Acme", "employees": "12"}])
    summary = import_leads(tmp_path / "a.csv", storage, at=T0 + timedelta(hours=1))
    assert (summary.inserted, summary.updated, summary.unchanged) == (0, 1, 0)
    with storage.unit_of_work(read_only=True) as uow:
        lead = uow.leads.by_external_id("1")
        assert lead is not None
        assert (lead.company.employees, lead.version, lead.created_at) == (12, 2, T0)


def test_rows_without_an_id_get_a_stable_one(tmp_path: Path) -> None:
    storage = memory_storage()
    write(tmp_path / "a.csv", [{"company": "Acme"}, {"company": "Globex"}])
    assert import_leads(tmp_path / "a.csv", storage, at=T0).inserted == 2
    assert import_leads(tmp_path / "a.csv", storage, at=T0).unchanged == 2


def test_mapping_and_unmapped_columns(tmp_path: Path) -> None:
    storage = memory_storage()
    write(tmp_path / "a.csv", [{"Key": "9", "Firma": "Acme", "seats": "25", "Ort": ""}])
    summary = import_leads(
        tmp_path / "a.csv", storage, at=T0, mapping={"external_id": "Key", "company": "Firma"}
    )
    assert summary.inserted == 1
    with storage.unit_of_work(read_only=True) as uow:
        lead = uow.leads.by_external_id("9")
        assert lead is not None
        assert lead.company is not None
        assert lead.company.name == "Acme"
        assert dict(lead.custom) == {"seats": "25"}  # empty cells add nothing
    write(tmp_path / "b.csv", [{"Key": "8", "Firma": "Globex", "seats": "3"}])
    import_leads(
        tmp_path / "b.csv", storage, at=T0, unmapped="ignore",
        mapping={"external_id": "Key", "company": "Firma"},
    )  # fmt: skip
    with storage.unit_of_work(read_only=True) as uow:
        assert dict(uow.leads.by_external_id("8").custom) == {}
    with pytest.raises(ValueError, match="unknown lead field"):
        import_leads(tmp_path / "b.csv", storage, at=T0, mapping={"mail": "x"})


def test_file_problems(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="no such file"):
        import_leads(tmp_path / "none.csv", memory_storage(), at=T0)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ImportFileError, match="header"):
        import_leads(tmp_path / "empty.csv", memory_storage(), at=T0)
    (tmp_path / "x.xlsx").write_text("")
    with pytest.raises(ImportFileError, match="unknown format"):
        import_leads(tmp_path / "x.xlsx", memory_storage(), at=T0)


def test_settings_precedence_and_errors(tmp_path: Path) -> None:
    (tmp_path / "pipelinekit.toml").write_text('db = "a.db"\ncurrency = "usd"\n')
    loaded = load_settings(environ={}, cwd=tmp_path)
    assert (loaded.db, loaded.currency) == ("a.db", "USD")
    assert load_settings(environ={"PIPELINEKIT_DB": "b.db"}, cwd=tmp_path).db == "b.db"
    assert load_settings(environ={}, cwd=tmp_path / "..").config_file != tmp_path
    with pytest.raises(ConfigError) as caught:
        load_settings(config=tmp_path / "missing.toml", environ={})
    assert "missing.toml" in caught.value.source
    (tmp_path / "bad.toml").write_text("db = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(config=tmp_path / "bad.toml", environ={})
    (tmp_path / "pw.toml").write_text('db = "postgresql://me:secret@host/db"\n')
    assert "secret" not in load_settings(config=tmp_path / "pw.toml", environ={}).describe_db()


def test_json_lines_rows_may_add_fields_as_they_go(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(
        '{"id": "a", "company": "X"}\n\n'
        '{"id": "b", "company": "Y", "email": "b@y.example", "plan": "gold", "seats": 3.5}\n'
    )
    storage = memory_storage()
    assert import_leads(path, storage, at=T0).inserted == 2
    with storage.unit_of_work(read_only=True) as uow:
        b = uow.leads.by_external_id("b")
        assert b is not None
        assert b.contact is not None
        assert str(b.contact.email) == "b@y.example"
        assert dict(b.custom) == {"plan": "gold", "seats": Decimal("3.5")}


def test_progress_counts_rows(tmp_path: Path) -> None:
    path = write(tmp_path / "in.csv", [{"id": str(n), "company": f"C{n}"} for n in range(25)])
    calls: list[tuple[int, int]] = []
    import_leads(path, memory_storage(), at=T0, batch_size=10, progress=lambda *a: calls.append(a))
    assert calls == [(10, 25), (20, 25), (25, 25), (25, 25)]


def test_reimporting_keeps_the_work_done_on_a_lead(tmp_path: Path) -> None:
    storage = memory_storage()
    path = write(tmp_path / "a.csv", [{"id": "1", "company": "Acme", "employees": "10"}])
    import_leads(path, storage, at=T0)
    with storage.unit_of_work() as uow:
        lead = uow.leads.by_external_id("1")
        assert lead is not None
        worked = uow.leads.save(
            lead.evolve(status="qualified", owner="ann", custom={"kept": "yes"}, notes="called")
        )
        uow.commit()
    again = import_leads(path, storage, at=T0 + timedelta(days=1))
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.leads.by_external_id("1") == worked
    write(path, [{"id": "1", "company": "Acme", "employees": "12"}])
    edited = import_leads(path, storage, at=T0 + timedelta(days=2))
    assert (edited.inserted, edited.updated, edited.unchanged) == (0, 1, 0)
    with storage.unit_of_work(read_only=True) as uow:
        lead = uow.leads.by_external_id("1")
        assert lead is not None
        assert lead.company is not None
        assert lead.company.employees == 12
        assert lead.evolve(company=worked.company, updated_at=worked.updated_at) == attrs.evolve(
            worked, version=lead.version
        )
        assert (lead.status, lead.owner, dict(lead.custom), lead.notes) == (
            "qualified",
            "ann",
            {"kept": "yes"},
            "called",
        )


def test_a_file_that_is_not_utf8_is_refused_before_anything_is_committed(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("id,name\n1,Ann\n2,Ren\xe9e\n".encode("latin-1"))
    storage = memory_storage()
    with pytest.raises(ImportFileError, match=r"not UTF-8 \(line 3\)"):
        import_leads(path, storage, at=T0, batch_size=1)
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.leads.count() == 0
    (tmp_path / "latin.toml").write_bytes('db = "caf\xe9.db"\n'.encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_settings(config=tmp_path / "latin.toml", environ={})
    assert "not UTF-8 (line 1)" in caught.value.problems[0].message


def test_a_header_naming_a_column_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text(
        "external_id,name,email,E-Mail,company\nx3,Bob,bob@example.com,other@example.com,Acme\n"
    )
    storage = memory_storage()
    with pytest.raises(ImportFileError, match=r"duplicate column.*'email' and 'E-Mail'"):
        import_leads(path, storage, at=T0)
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.leads.count() == 0
