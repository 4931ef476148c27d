"""``pipelinekit dedupe``: find, review, apply and undo, end to end on a SQLite file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelinekit.cli import ExitCode, main
from pipelinekit.domain import Company, EmailAddress, Lead, LeadId, Person
from pipelinekit.storage.sql import sqlite_storage

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    for name in ("PIPELINEKIT_DB", "PIPELINEKIT_CONFIG", "PIPELINEKIT_CURRENCY"):
        monkeypatch.delenv(name, raising=False)


def _lead(key: str, name: str, email: str, tags: set[str]) -> Lead:
    return Lead(
        id=LeadId(key), created_at=AT, updated_at=AT, tags=tags,
        contact=Person(name, email=EmailAddress(email)), company=Company("Acme", domain="acme.io"),
    )  # fmt: skip


def _database(tmp_path: Path) -> str:
    db = str(tmp_path / "crm.sqlite3")
    storage = sqlite_storage(db)
    with storage.unit_of_work() as uow:
        uow.leads.save_all(
            [
                _lead("L1", "Ada Lovelace", "ada@acme.io", {"webinar"}),
                _lead("L2", "Lovelace, Ada", "ADA@acme.io", {"fair"}),
                _lead("L3", "Bob Smith", "bob@acme.io", set()),
            ]
        )
        uow.commit()
    storage.close()
    return db


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_find_review_apply_and_undo(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = _database(tmp_path)
    code, found = _json(capsys, "--db", db, "dedupe")
    assert code == ExitCode.OK
    [cluster] = found["clusters"]
    assert cluster["members"] == ["lead:L1", "lead:L2"]
    parts = cluster["pairs"][0]["parts"]
    assert [p["rule"] for p in parts][:2] == ["email", "email_domain_name"]
    assert sum(float(p["points"]) for p in parts) == pytest.approx(float(cluster["score"]))

    assert main(["--db", db, "dedupe"]) == ExitCode.OK
    out, err = capsys.readouterr()
    assert "lead:L1 ~ lead:L2 score 2.5 = email: +1" in out
    assert "1 cluster of duplicates (2 records)" in err

    code, applied = _json(capsys, "--db", db, "dedupe", "--apply", "--yes")
    assert code == ExitCode.OK
    [done] = applied["merges"]
    assert done["survivor"] == "L1"
    assert done["merged"] == ["L2"]
    storage = sqlite_storage(db)
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.leads.get("L1").tags == {"webinar", "fair"}
        assert uow.leads.get("L2").status == "merged"
    assert _json(capsys, "--db", db, "dedupe")[1]["clusters"] == []

    code, undone = _json(capsys, "--db", db, "dedupe", "undo", done["merge_id"])
    assert code == ExitCode.OK
    assert sorted(undone["restored"]) == ["L1", "L2"]
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.leads.get("L1").tags == {"webinar"}
        assert uow.leads.get("L2").status == "new"
    storage.close()
    assert main(["--db", db, "dedupe", "undo", done["merge_id"]]) == ExitCode.INPUT
    assert "already undone" in capsys.readouterr().err


def test_declining_the_confirmation_merges_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _database(tmp_path)
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("n\n"))
    assert main(["--db", db, "dedupe", "--apply"]) == ExitCode.OK
    assert "Nothing was merged" in capsys.readouterr().err
    storage = sqlite_storage(db)
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.leads.get("L2").status == "new"
    storage.close()


def test_a_bad_rules_file_lists_every_problem(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = _database(tmp_path)
    rules = tmp_path / "rules.toml"
    rules.write_text('threshold = 0\n[[rules]]\nkind = "emial"\nweight = 1\n', encoding="utf-8")
    assert main(["--db", db, "dedupe", "--rules", str(rules)]) == ExitCode.INPUT
    err = capsys.readouterr().err
    assert "$.threshold" in err
    assert "$.rules[0].kind" in err


def test_html_lists_the_clusters_and_why_they_match_with_every_text_escaped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "crm.sqlite3")
    storage = sqlite_storage(db)
    with storage.unit_of_work() as uow:
        uow.leads.save_all(
            [
                _lead("<b>L1</b>", "Ada <script>alert(1)</script>", "ada@acme.io", set()),
                _lead("L2&", "Ada <script>alert(1)</script>", "ADA@acme.io", set()),
            ]
        )
        uow.commit()
    storage.close()
    page = tmp_path / "dupes.html"
    assert main(["--db", db, "dedupe", "--html", str(page)]) == ExitCode.OK
    err = capsys.readouterr().err
    assert f"HTML report: {page}" in err
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>")
    assert "<script" not in text
    assert "<b>L1" not in text
    assert "lead:&lt;b&gt;L1&lt;/b&gt;, lead:L2&amp;" in text  # the cluster's records
    assert "email: +1 + email_domain_name (100% similar): +0.9" in text  # why they match
    assert '<td class="n">2.5</td>' in text

    missing = tmp_path / "no" / "such" / "dir" / "x.html"
    assert main(["--db", db, "dedupe", "--html", str(missing)]) != ExitCode.OK
    assert str(missing) in capsys.readouterr().err
