"""``pipelinekit import --on-duplicate``: each new row checked against the store and the rows
before it, the decision per row in the report, and the same result when imported again."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipelinekit.cli import ExitCode, main
from pipelinekit.dedupe import MERGED_INTO, unmerge
from pipelinekit.domain import Company, EmailAddress, Lead, LeadId, Person
from pipelinekit.storage.sql import sqlite_storage

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ROWS = (
    "external_id,name,email,company,domain\n"
    "a1,Ada Lovelace,ADA@acme.io,ACME Inc.,acme.io\n"  # the stored L1
    "a2,Bob Smith,bob@initech.com,Initech,initech.com\n"  # new
    "a3,Robert Smith,bob@initech.com,Initech,initech.com\n"  # the row before it
    "a4,Grace Hopper,grace@hooli.net,Hooli,hooli.net\n"  # new
)


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    for name in ("PIPELINEKIT_DB", "PIPELINEKIT_CONFIG", "PIPELINEKIT_CURRENCY"):
        monkeypatch.delenv(name, raising=False)


def _setup(tmp_path: Path) -> tuple[str, Path]:
    db = str(tmp_path / "crm.sqlite3")
    storage = sqlite_storage(db)
    with storage.unit_of_work() as uow:
        uow.leads.save(
            Lead(
                id=LeadId("L1"),
                created_at=AT,
                updated_at=AT,
                tags={"webinar"},
                contact=Person("Ada Lovelace", email=EmailAddress("ada@acme.io")),
                company=Company("Acme", domain="acme.io"),
            )
        )
        uow.commit()
    storage.close()
    file = tmp_path / "leads.csv"
    file.write_text(ROWS, encoding="utf-8")
    return db, file


def _import(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code = main([*args, "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == ExitCode.OK, out
    return out


def _stored(db: str) -> dict[str, Lead]:
    storage = sqlite_storage(db)
    try:
        with storage.unit_of_work(read_only=True) as uow:
            return {lead.external_id or lead.id: lead for lead in uow.leads.iterate()}
    finally:
        storage.close()


def _decisions(out: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    return [(d["external_id"], d["action"], d["matches"]) for d in out["duplicates"]]


def test_flag_imports_every_row_and_records_each_match(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db, file = _setup(tmp_path)
    out = _import(capsys, "--db", db, "import", str(file), "--on-duplicate", "flag")
    stored = _stored(db)
    a2 = f"lead:{stored['a2'].id}"
    assert _decisions(out) == [("a1", "flagged", ["lead:L1"]), ("a3", "flagged", [a2])]
    assert out["inserted"] == 4
    assert set(stored) == {"L1", "a1", "a2", "a3", "a4"}
    first = out["duplicates"][0]
    assert first["lead_id"] == stored["a1"].id
    assert "email: +1" in first["explanation"]
    # imported again: every row is known by its external id, nothing changes
    again = _import(capsys, "--db", db, "import", str(file), "--on-duplicate", "flag")
    assert (again["inserted"], again["unchanged"], again["duplicates"]) == (0, 4, [])
    assert _stored(db) == stored


def test_skip_leaves_duplicates_out_and_says_so_again_on_reimport(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db, file = _setup(tmp_path)
    out = _import(capsys, "--db", db, "import", str(file), "--on-duplicate", "skip")
    stored = _stored(db)
    assert set(stored) == {"L1", "a2", "a4"}
    assert _decisions(out) == [
        ("a1", "skipped", ["lead:L1"]),
        ("a3", "skipped", [f"lead:{stored['a2'].id}"]),
    ]
    assert out["inserted"] == 2
    assert all(d["lead_id"] is None for d in out["duplicates"])
    again = _import(capsys, "--db", db, "import", str(file), "--on-duplicate", "skip")
    assert _decisions(again) == _decisions(out)
    assert (again["inserted"], again["unchanged"]) == (0, 2)
    assert _stored(db) == stored


def test_merge_merges_each_duplicate_into_its_match_and_can_be_undone(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db, file = _setup(tmp_path)
    out = _import(capsys, "--db", db, "import", str(file), "--on-duplicate", "merge")
    stored = _stored(db)
    a2 = stored["a2"].id
    assert _decisions(out) == [("a1", "merged", ["lead:L1"]), ("a3", "merged", [f"lead:{a2}"])]
    assert stored["a1"].status == "merged"
    assert stored["a1"].custom[MERGED_INTO] == "L1"
    assert stored["a3"].status == "merged"
    assert stored["a3"].custom[MERGED_INTO] == a2
    assert stored["L1"].status != "merged"
    assert stored["L1"].tags == {"webinar"}
    again = _import(capsys, "--db", db, "import", str(file), "--on-duplicate", "merge")
    assert (again["inserted"], again["duplicates"]) == (0, [])
    assert _stored(db) == stored
    storage = sqlite_storage(db)
    try:
        with storage.unit_of_work() as uow:
            unmerge(uow, out["duplicates"][0]["merge_id"], at=datetime.now(UTC))
            uow.commit()
    finally:
        storage.close()
    assert _stored(db)["a1"].status == "new"


def test_without_the_option_nothing_is_checked_and_bad_values_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db, file = _setup(tmp_path)
    assert main(["--db", db, "import", str(file), "--on-duplicate", "warn"]) == ExitCode.USAGE
    assert main(["--db", db, "import", str(file), "--rules", "r.toml"]) == ExitCode.USAGE
    capsys.readouterr()
    out = _import(capsys, "--db", db, "import", str(file))
    assert (out["inserted"], out["duplicates"]) == (4, [])


def test_a_rules_file_decides_what_is_a_duplicate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db, file = _setup(tmp_path)
    rules = tmp_path / "rules.toml"
    rules.write_text('threshold = 1\n[[rules]]\nkind = "company_domain"\nweight = 1\n')
    out = _import(
        capsys, "--db", db, "import", str(file), "--on-duplicate", "flag", "--rules", str(rules)
    )
    assert [d["external_id"] for d in out["duplicates"]] == ["a1", "a3"]
    assert all("company_domain: +1" in d["explanation"] for d in out["duplicates"])


def test_the_human_report_lists_each_decision(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db, file = _setup(tmp_path)
    assert main(["--db", db, "import", str(file), "--on-duplicate", "skip"]) == ExitCode.OK
    text = capsys.readouterr().out
    assert "Duplicates" in text
    rows = [
        [cell.strip() for cell in line.strip("│ ").split("│")]
        for line in text.splitlines()
        if "skipped" in line
    ]
    assert [row[:3] for row in rows] == [["2", "a1", "skipped"], ["4", "a3", "skipped"]]
    assert rows[0][3] == "lead:L1"


def test_the_engine_refuses_bad_options_with_every_path(tmp_path: Path) -> None:
    from pipelinekit.errors import ValidationError
    from pipelinekit.io import import_leads
    from pipelinekit.storage import memory_storage

    _, file = _setup(tmp_path)
    with pytest.raises(ValidationError) as caught:
        import_leads(
            file,
            memory_storage(),
            at=AT,
            on_duplicate="warn",
            rules={},  # type: ignore[arg-type]
        )
    assert caught.value.paths == ("$.on_duplicate", "$.rules")


def test_merge_flags_a_row_that_matches_only_a_prospect(tmp_path: Path) -> None:
    from pipelinekit.domain import Prospect, ProspectId
    from pipelinekit.io import import_leads
    from pipelinekit.storage import memory_storage

    _, file = _setup(tmp_path)
    storage = memory_storage()
    with storage.unit_of_work() as uow:
        person = Person("Grace Hopper", email=EmailAddress("grace@hooli.net"))
        uow.prospects.save(
            Prospect(
                id=ProspectId("P1"), created_at=AT, updated_at=AT, persona="smb", person=person
            )
        )
        uow.commit()
    summary = import_leads(file, storage, at=AT, on_duplicate="merge")
    flagged = [d for d in summary.duplicates if d.action == "flagged"]
    assert [(d.external_id, d.matches) for d in flagged] == [("a4", ("prospect:P1",))]
    assert summary.count("flagged") == 1
    assert summary.count("merged") == 1
    assert summary.inserted == 3
