"""The import engine: every problem of a bad row with its path, idempotent upserts, mapping."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelinekit.io import ImportFileError, import_leads
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
    max_examples=40,
    deadline=None,
    # leads are generated row by row (slow on a loaded machine); tmp_path is reused on purpose
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
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


def test_bad_arguments_are_one_validation_error_listing_every_problem(tmp_path: Path) -> None:
    from pipelinekit import ValidationError

    path = write(tmp_path / "a.csv", [{"id": "1", "company": "Acme"}])
    with pytest.raises(ValidationError) as caught:
        import_leads(
            path,
            "not a storage",  # type: ignore[arg-type]
            at=datetime(2026, 3, 2, 9, 0),  # naive
            mapping={"mail": "E-Mail", "company": ""},
            currency="EURO",
            unmapped="keep",  # type: ignore[arg-type]
            batch_size=0,
        )
    assert caught.value.paths == (
        "$.storage",
        "$.at",
        "$.mapping.mail",
        "$.mapping.company",
        "$.currency",
        "$.unmapped",
        "$.batch_size",
    )
    assert "did you mean 'email'?" in str(caught.value)


def test_the_error_report_is_checked_first_and_written_when_rows_are_rejected(
    tmp_path: Path,
) -> None:
    from pipelinekit.io import OutputFileError

    rows = [{"id": "1", "company": "Acme", "employees": "many"}, {"id": "2", "company": "B"}]
    path = write(tmp_path / "in.csv", rows)
    storage = memory_storage()
    with pytest.raises(OutputFileError, match=r"cannot write .*report\.csv: no such folder"):
        import_leads(path, storage, at=T0, error_report=tmp_path / "missing" / "report.csv")
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.leads.count() == 0  # refused before anything was imported
    summary = import_leads(path, storage, at=T0, error_report=tmp_path / "report.jsonl")
    assert summary.error_report == tmp_path / "report.jsonl"
    lines = (tmp_path / "report.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [e.to_dict() for e in summary.errors]
    assert summary.errors[0].path == "$.company.employees"
    good = write(tmp_path / "good.csv", [{"id": "3", "company": "C"}])
    clean = import_leads(good, storage, at=T0, error_report=tmp_path / "none.csv")
    assert clean.error_report is None
    assert not (tmp_path / "none.csv").exists()  # no rejected row, no report


def test_write_error_report_as_csv_and_check_writable(tmp_path: Path) -> None:
    from pipelinekit.io import (
        ERROR_REPORT_COLUMNS,
        OutputFileError,
        RowError,
        check_writable,
        write_error_report,
    )

    errors = [RowError(3, "$.contact.email", "not an email", "k1"), RowError(4, "$", "empty")]
    written = write_error_report(errors, tmp_path / "errors.csv")
    with written.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == ERROR_REPORT_COLUMNS
        assert list(reader) == [
            {"line": "3", "external_id": "k1", "path": "$.contact.email", "reason": "not an email"},
            {"line": "4", "external_id": "", "path": "$", "reason": "empty"},
        ]
    with pytest.raises(OutputFileError, match="it is a folder"):
        check_writable(tmp_path)
    with pytest.raises(OutputFileError) as caught:
        write_error_report(errors, tmp_path / "no" / "errors.csv")
    assert caught.value.path == str(tmp_path / "no" / "errors.csv")
    assert str(caught.value).startswith(f"cannot write {tmp_path / 'no' / 'errors.csv'}: ")
    assert check_writable(tmp_path / "new.csv") == tmp_path / "new.csv"
    assert not (tmp_path / "new.csv").exists()


def test_each_batch_looks_its_external_ids_up_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = memory_storage()
    with storage.unit_of_work(read_only=True) as uow:
        repository = type(uow.leads)
    lookups: list[int] = []
    real = repository._get_by_external_ids

    def counted(self: object, external_ids: list[str]) -> object:
        lookups.append(len(external_ids))
        return real(self, external_ids)  # type: ignore[arg-type]

    monkeypatch.setattr(repository, "_get_by_external_ids", counted)
    rows = [{"id": str(n), "company": f"C{n}"} for n in range(25)]
    path = write(tmp_path / "in.csv", rows)
    assert import_leads(path, storage, at=T0, batch_size=10).inserted == 25
    assert lookups == [10, 10, 5]  # one lookup per batch, none again to write
    lookups.clear()
    rows[3]["company"] = "Changed"
    write(path, rows)
    again = import_leads(path, storage, at=T0 + timedelta(days=1), batch_size=10)
    assert (again.updated, again.unchanged) == (1, 24)
    assert lookups == [10, 10, 5]
