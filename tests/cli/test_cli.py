"""The ``pipelinekit`` command end to end: demo, import (good and bad rows), qualify, report."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import pipelinekit as pk
from pipelinekit.cli import ExitCode, main
from pipelinekit.storage.sql import sqlite_storage

GOOD_AND_BAD = """\
external_id,name,email,job_title,company,industry,employees,country,source,bant.budget,seats
crm-1,Ada Lovelace,ada@acme.example,CTO,Acme,software,240,DE,referral,high,25
crm-2,Grace Hopper,not-an-email,Office manager,Navy,retail,many,US,fax,1,
crm-3,Alan Turing,alan@bletchley.example,Head of IT,Bletchley,fintech,900,GB,event,,
crm-1,Ada Again,ada2@acme.example,CTO,Acme,software,240,DE,referral,high,
"""


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    for name in ("PIPELINEKIT_DB", "PIPELINEKIT_CONFIG", "PIPELINEKIT_CURRENCY"):
        monkeypatch.delenv(name, raising=False)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code, out, _err = run(capsys, *args, "--json")
    return code, json.loads(out)


def test_end_to_end_demo_import_qualify_report(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "crm.sqlite3")

    # demo: stores, qualifies, converts and reports
    code, demo = run_json(capsys, "--db", db, "demo", "--leads", "150", "--seed", "3")
    assert code == 0
    storage = sqlite_storage(db)
    with storage.unit_of_work(read_only=True) as uow:
        leads = list(uow.leads.iterate())
        deals = list(uow.opportunities.iterate())
    assert len(leads) == demo["leads"] == 150
    assert len(deals) == demo["opportunities"] > 0
    lead_funnel = {row["step"]: row["count"] for row in demo["lead_funnel"]}
    deal_funnel = {row["step"]: row["count"] for row in demo["deal_funnel"]}
    assert lead_funnel["new"] == 150
    converted = sum(x.status == "converted" for x in leads)
    assert lead_funnel["converted"] == converted == len(deals) == deal_funnel["initial_contact"]
    assert deal_funnel["closed_won"] == sum(d.outcome == "won" for d in deals)
    by_source = {row["source"]: row for row in demo["by_source"]}
    assert sum(row["leads"] for row in by_source.values()) == 150
    assert sum(row["won"] for row in by_source.values()) == deal_funnel["closed_won"]
    for funnel in ("lead_funnel", "deal_funnel"):
        counts = [row["count"] for row in demo[funnel]]
        assert counts == sorted(counts, reverse=True)  # a funnel only narrows
    open_deals = [d for d in deals if d.outcome == "open"]
    assert sum(r["count"] for r in demo["forecast"]["stages"]) == len(open_deals)
    best = demo["top_leads"][0]
    stored_best = max(
        (x for x in leads if x.qualification and x.qualification.score is not None),
        key=lambda x: x.qualification.score,
    )
    assert best["id"] == stored_best.id
    assert best["why"]

    # import: good rows stored, bad rows in the error report, exit code 1
    source = tmp_path / "leads.csv"
    source.write_text(GOOD_AND_BAD, encoding="utf-8")
    code, summary = run_json(capsys, "--db", db, "import", str(source))
    assert code == ExitCode.ROWS_REJECTED == 1
    assert (summary["rows"], summary["inserted"], summary["rejected"]) == (4, 2, 2)
    with (tmp_path / "leads.csv.errors.csv").open(encoding="utf-8") as handle:
        report = list(csv.DictReader(handle))
    assert {(r["line"], r["path"]) for r in report} == {
        ("3", "$.contact.email"),
        ("3", "$.company.employees"),
        ("3", "$.source.channel"),
        ("5", "$.external_id"),
    }
    assert "duplicate of line 2" in next(r for r in report if r["line"] == "5")["reason"]
    with storage.unit_of_work(read_only=True) as uow:
        ada = uow.leads.by_external_id("crm-1")
        assert ada is not None
        assert ada.custom["seats"] == "25"
        assert ada.custom["bant.budget"] == "high"
        assert uow.leads.by_external_id("crm-2") is None
        assert uow.leads.count() == 152

    # re-running is idempotent
    code, again = run_json(capsys, "--db", db, "import", str(source))
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 2)
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.leads.count() == 152

    # qualify: scores the open leads, stores results, applies verdicts
    code, qualified = run_json(capsys, "--db", db, "qualify")  # as of now, after the demo
    assert code == 0
    with storage.unit_of_work(read_only=True) as uow:
        ada = uow.leads.by_external_id("crm-1")
        assert ada is not None
        assert ada.qualification is not None
        assert ada.qualification.strategy == qualified["strategy"] == "fit-score"
        assert uow.results.latest("lead", ada.id) == ada.qualification
        open_now = uow.leads.count(pk_query(status="qualified"))
    assert qualified["scored"] == sum(qualified["verdicts"].values())
    assert open_now >= 1

    # report: tables and an HTML file
    code, out, _ = run(capsys, "--db", db, "report", "--html", "report.html")
    assert code == 0
    assert "Lead funnel" in out
    assert "Deal funnel" in out
    assert "Forecast" in out
    assert "Best leads" in out
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>")
    assert "Lead funnel" in html
    assert html.count("<svg") == 3  # two funnels and the forecast (the report extra)
    storage.close()


def pk_query(**kwargs: object) -> object:
    from pipelinekit.storage import LeadQuery

    return LeadQuery(**kwargs)  # type: ignore[arg-type]


def test_demo_twice_reports_the_stored_data(capsys: pytest.CaptureFixture[str]) -> None:
    _, first = run_json(capsys, "demo", "--leads", "60")
    code, second = run_json(capsys, "demo", "--leads", "60")
    assert code == 0
    assert first.pop("as_of") <= second.pop("as_of")  # each report is dated when it runs
    assert first == second
    assert Path("pipelinekit.sqlite3").exists()  # the default database


def test_jsonl_import_with_mapping_nested_objects_and_a_broken_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    Path("in.jsonl").write_text(
        '{"Key": "a1", "Mail": "kim@x.example", "company": {"name": "X", "employees": 12}}\n'
        "{not json\n"
        '{"Key": "a2", "company": {"name": "", "employees": -1}}\n',
        encoding="utf-8",
    )
    code, summary = run_json(
        capsys, "import", "in.jsonl", "--map", "external_id=Key", "--map", "email=Mail",
        "--errors", "problems.jsonl",
    )  # fmt: skip
    assert code == 1
    assert summary["inserted"] == 1
    problems = [json.loads(line) for line in Path("problems.jsonl").read_text().splitlines()]
    assert [(p["line"], p["path"]) for p in problems] == [
        (2, "$"),
        (3, "$.company.name"),
        (3, "$.company.employees"),
    ]
    with sqlite_storage("pipelinekit.sqlite3").unit_of_work(read_only=True) as uow:
        lead = uow.leads.by_external_id("a1")
        assert lead is not None
        assert str(lead.contact.email) == "kim@x.example"
        assert lead.company.employees == 12


def test_bad_settings_name_the_file_the_path_and_the_fix(
    capsys: pytest.CaptureFixture[str],
) -> None:
    Path("pipelinekit.toml").write_text(
        'dbb = "x.db"\n[import]\nbatch_size = "many"\n[import.columns]\nmail = "E-Mail"\n'
    )
    code, _out, err = run(capsys, "report")
    assert code == ExitCode.CONFIG
    assert "pipelinekit.toml" in err
    assert "Traceback" not in err
    assert "$.dbb: unknown field 'dbb'; did you mean 'db'?" in err
    assert "$.import.batch_size: must be a whole number" in err
    assert "$.import.columns.mail: unknown field 'mail'; did you mean 'email'?" in err


def test_settings_come_from_the_file_and_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    Path("pipelinekit.toml").write_text('db = "from-file.db"\n[import.columns]\nemail = "Mail"\n')
    Path("in.csv").write_text("id,Mail\nk1,k@x.example\n")
    assert run(capsys, "import", "in.csv")[0] == 0
    assert Path("from-file.db").exists()
    monkeypatch.setenv("PIPELINEKIT_DB", "from-env.db")
    assert run(capsys, "import", "in.csv")[0] == 0
    assert Path("from-env.db").exists()
    code, _out, err = run(capsys, "--db", "missing-dir/x.db", "report")
    assert code == ExitCode.STORAGE
    assert "missing-dir" in err


def test_user_mistakes_have_exit_codes_and_no_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "import", "nope.csv")
    assert code == ExitCode.INPUT
    assert "nope.csv: no such file" in err
    Path("leads.txt").write_text("x")
    code, _, err = run(capsys, "import", "leads.txt")
    assert code == ExitCode.INPUT
    assert "--format csv|jsonl" in err
    code, _, err = run(capsys, "report")
    assert code == ExitCode.STORAGE
    assert "pipelinekit demo" in err
    code, _, err = run(capsys, "import", "leads.txt", "--map", "mail=x")
    assert code == ExitCode.USAGE
    assert "unknown field 'mail'" in err
    code, _, err = run(capsys, "export", "--kind", "deals")
    assert code == ExitCode.USAGE
    code, _, err = run(capsys, "--no-such-option")
    assert code == ExitCode.USAGE
    assert "Traceback" not in err


def test_export_jsonl_reads_back_and_csv_reimports(capsys: pytest.CaptureFixture[str]) -> None:
    run_json(capsys, "demo", "--leads", "40")
    code, out, _ = run(capsys, "export")
    lines = out.splitlines()
    assert code == 0
    assert len(lines) == 40
    assert pk.from_dict(pk.Lead, json.loads(lines[0])).external_id == "demo-25-00000"
    assert run(capsys, "export", "--format", "csv", "--out", "leads.csv")[0] == 0
    code, summary = run_json(capsys, "--db", "copy.db", "import", "leads.csv")
    assert code == 0
    assert summary["inserted"] == 40
    code, out, _ = run(capsys, "export", "--kind", "opportunities", "--format", "csv")
    assert code == 0
    assert out.startswith("id,name,pipeline,stage")


BROKEN = """
key = "partners"

[[stages]]
key = "intro"

[[stages]]
key = "signed"
kind = "won"
probability = 90
"""


def test_pipeline_validate_show_diagram(capsys: pytest.CaptureFixture[str]) -> None:
    Path("broken.toml").write_text(BROKEN)
    code, out, err = run(capsys, "pipeline", "validate", "broken.toml")
    assert code == 1
    assert "broken.toml" in err
    assert "$.stages[1].probability: a won stage has probability 100, got 90" in err
    code, data = run_json(capsys, "pipeline", "validate", "broken.toml")
    assert code == 1
    assert data["valid"] is False
    assert "$.stages[1].probability" in [p["path"] for p in data["problems"]]
    code, data = run_json(capsys, "pipeline", "validate", "sales")
    assert code == 0
    assert data["valid"] is True
    code, data = run_json(capsys, "pipeline", "show", "sales")
    assert [s["key"] for s in data["stages"]][:2] == ["initial_contact", "qualification"]
    code, out, _ = run(capsys, "pipeline", "diagram", "lead_lifecycle")
    assert code == 0
    assert out.startswith("stateDiagram-v2")
    code, _, err = run(capsys, "pipeline", "diagram", "sales", "--format", "svg")
    assert code == ExitCode.USAGE
    assert "--out" in err


def test_qualify_with_a_strategy_file(capsys: pytest.CaptureFixture[str]) -> None:
    Path("in.csv").write_text("id,company,industry\n1,Acme,software\n2,Shop,retail\n")
    run(capsys, "import", "in.csv")
    Path("fit.toml").write_text(
        'kind = "icp"\nname = "industry-fit"\n[[criteria]]\nkind = "one_of"\nname = "industry"\n'
        'field = "company.industry"\npoints = { software = 25 }\n'
    )
    code, data = run_json(capsys, "qualify", "--strategy", "fit.toml", "--no-apply")
    assert code == 0
    assert data["strategy"] == "industry-fit"
    assert data["moves"] == {}
    assert next(r["external_id"] for r in data["top_leads"]) == "1"
    Path("bad.toml").write_text('kind = "icp"\nname = "x"\n[[criteria]]\nkind = "nope"\n')
    code, _, err = run(capsys, "qualify", "--strategy", "bad.toml")
    assert code == ExitCode.INPUT
    assert "bad.toml" in err
    assert "$.criteria[0]" in err


def _script() -> Path:
    return Path(sysconfig.get_path("scripts")) / "pipelinekit"


@pytest.mark.skipif(not _script().exists(), reason="the console script is not installed")
def test_console_script_runs_in_a_real_process(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text(BROKEN)
    done = subprocess.run(
        [str(_script()), "pipeline", "validate", "broken.toml"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "won stage has probability 100" in done.stderr
    assert "Traceback" not in done.stderr
    module = subprocess.run(
        [sys.executable, "-m", "pipelinekit", "--help"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert module.returncode == 0
    assert all(name in module.stdout for name in ("demo", "import", "qualify", "report"))


def test_import_pipelinekit_cli_does_not_load_typer_or_rich() -> None:
    code = (
        "import sys, pipelinekit.cli, pipelinekit.cli.settings; "
        "print(sorted({'typer', 'rich', 'click'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["demo"],
        ["import"],
        ["qualify"],
        ["report"],
        ["export"],
        ["pipeline"],
        ["pipeline", "validate"],
        ["pipeline", "show"],
        ["pipeline", "diagram"],
    ],
)
def test_help_everywhere(capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0
    assert out.startswith("Usage: pipelinekit")
    assert "--help" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    code, out, _ = run(capsys, "--version")
    assert (code, out.strip()) == (0, f"pipelinekit {version('pipelinekit')}")


def test_python_m_pipelinekit_names_the_extra_when_typer_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelinekit.__main__ import main as module_main

    monkeypatch.setitem(sys.modules, "typer", None)  # makes `import typer` fail
    assert module_main(["demo"]) == ExitCode.MISSING_EXTRA
    assert 'pip install "pipelinekit[cli]"' in capsys.readouterr().err
    assert main(["demo"]) == ExitCode.MISSING_EXTRA


def test_files_that_are_not_utf8_are_input_or_settings_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    latin = "external_id,name\ncrm-1,Ann\ncrm-2,Ren\xe9e\n".encode("latin-1")
    Path("latin.csv").write_bytes(latin)
    code, _, err = run(capsys, "import", "latin.csv", "--batch-size", "1")
    assert code == ExitCode.INPUT
    assert "not UTF-8 (line 3)" in err
    with sqlite_storage("pipelinekit.sqlite3") as storage, storage.unit_of_work() as uow:
        assert uow.leads.count() == 0  # nothing of the file was committed
    Path("latin.toml").write_bytes('db = "caf\xe9.db"\n'.encode("latin-1"))
    code, _, err = run(capsys, "--config", "latin.toml", "report")
    assert code == ExitCode.CONFIG
    assert "not UTF-8 (line 1)" in err
    for command in (
        ["pipeline", "validate", "latin.toml"],
        ["qualify", "--strategy", "latin.toml"],
    ):
        code, _, err = run(capsys, *command)
        assert code == ExitCode.INPUT
        assert "latin.toml: not UTF-8 (line 1)" in err
    assert "Traceback" not in err


def test_output_paths_that_cannot_be_written_are_input_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    Path("in.csv").write_text(GOOD_AND_BAD, encoding="utf-8")
    code, _, err = run(capsys, "import", "in.csv", "--errors", "missing/report.csv")
    assert code == ExitCode.INPUT
    assert "cannot write missing/report.csv: no such folder missing" in err
    assert not Path("pipelinekit.sqlite3").exists()  # checked before importing anything
    run(capsys, "demo", "--leads", "5")
    code, _, err = run(capsys, "export", "--out", "missing/leads.jsonl")
    assert code == ExitCode.INPUT
    assert "cannot write missing/leads.jsonl: No such file or directory" in err
    code, _, err = run(capsys, "pipeline", "diagram", "sales", "--out", "missing/sales.md")
    assert code == ExitCode.INPUT
    assert "cannot write missing/sales.md" in err
    assert "Traceback" not in err


def test_a_csv_header_with_a_duplicate_column_exits_4(capsys: pytest.CaptureFixture[str]) -> None:
    Path("dup.csv").write_text("external_id,name,email,email\nx3,Bob,a@x.example,b@x.example\n")
    code, _, err = run(capsys, "import", "dup.csv")
    assert code == ExitCode.INPUT
    assert "duplicate column(s) in the header: 'email' and 'email'" in err


def test_commands_close_the_storage_when_they_fail(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelinekit.cli._context import State

    run(capsys, "demo", "--leads", "5")
    opened: list[object] = []
    closed: list[object] = []
    real = State.storage

    def tracked(self: State, **kwargs: bool) -> object:
        storage = real(self, **kwargs)
        opened.append(storage)
        close = storage.close
        monkeypatch.setattr(storage, "close", lambda: (closed.append(storage), close())[1])
        return storage

    monkeypatch.setattr(State, "storage", tracked)
    Path("latin.csv").write_bytes("external_id,name\ncrm-2,Ren\xe9e\n".encode("latin-1"))
    assert run(capsys, "import", "latin.csv")[0] == ExitCode.INPUT
    assert run(capsys, "qualify", "--as-of", "2000-01-01")[0] == ExitCode.USAGE
    assert run(capsys, "report", "--html", "missing/report.html")[0] == ExitCode.INPUT
    assert len(opened) == 3
    assert closed == opened


def test_square_brackets_in_messages_and_data_are_printed_as_written(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pydot", None)  # the diagrams extra is missing
    code, _, err = run(capsys, "pipeline", "diagram", "sales", "--format", "dot")
    assert code == ExitCode.MISSING_EXTRA
    assert "pipelinekit[diagrams]" in err
    Path("eu.toml").write_text(
        'key = "eu"\nlabel = "Deals [EU]"\n'
        '[[stages]]\nkey = "intro"\nlabel = "Intro [bold]call[/bold]"\n'
        '[[stages]]\nkey = "won"\nkind = "won"\n[[stages]]\nkey = "lost"\nkind = "lost"\n'
        '[[transitions]]\nevent = "win"\nsource = "intro"\ntarget = "won"\n'
        '[[transitions]]\nevent = "lose"\nsource = "intro"\ntarget = "lost"\n',
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "pipeline", "show", "eu.toml")
    assert code == 0
    assert "Deals [EU] (eu)" in out
    assert "Intro [bold]call[/bold]" in out
    Path("[q1] leads.csv").write_text("id,company\nk1,Acme [beta]\n", encoding="utf-8")
    code, out, _ = run(capsys, "import", "[q1] leads.csv")
    assert code == 0
    assert "Imported [q1] leads.csv into" in out


def test_missing_extras_are_named_with_their_brackets(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # the postgres extra is missing
    url = "postgresql+psycopg://app@127.0.0.1:1/sales"
    code, _, err = run(capsys, "--db", url, "report")
    assert code == ExitCode.MISSING_EXTRA
    assert 'pip install "pipelinekit[postgres]"' in " ".join(err.split())
    monkeypatch.setitem(sys.modules, "pydot", None)  # and the diagrams extra
    code, _, err = run(capsys, "pipeline", "diagram", "sales", "--format", "svg", "--out", "s.svg")
    assert code == ExitCode.MISSING_EXTRA
    assert "pipelinekit[diagrams]" in " ".join(err.split())


README = Path(__file__).resolve().parents[2] / "README.md"
COMMANDS = ["demo", "import", "qualify", "report", "backtest", "export", "pipeline validate",
            "pipeline show", "pipeline diagram"]  # fmt: skip


def test_the_readme_names_exactly_the_commands_that_take_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = " ".join(README.read_text(encoding="utf-8").split())
    said = re.search(r"the commands that print results take `--json` \(([^;]*);", text)
    assert said, "the README says which commands take --json"
    listed = set(re.findall(r"`([^`]+)`", said.group(1)))
    taking = set()
    for command in COMMANDS:
        code, out, _ = run(capsys, *command.split(), "--help")
        assert code == 0
        if "--json" in out:
            taking.add(command)
    assert listed == taking


def test_smaller_edges_of_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--db", "mysql://app@db/sales", "report")
    assert code == ExitCode.USAGE
    assert "unsupported storage URL 'mysql'" in err
    assert "sql_storage" not in err
    code, _, err = run(capsys, "--db", "postgresql+psycopg://postgres@127.0.0.1:1/x", "report")
    assert code == ExitCode.STORAGE
    assert "opening the database failed" in err
    assert "schema" not in err  # a read-only command creates nothing
    run(capsys, "demo", "--leads", "5")
    code, out, err = run(capsys, "export", "--kind", "prospects")
    assert (code, out) == (0, "")
    assert "No prospects are stored in pipelinekit.sqlite3: nothing was exported." in err
    Path("www.csv").write_text(
        "id,company,domain\nw1,Example,www.example\nw2,Bad,https://www.bad_host.com/\n"
    )
    code, out, err = run(capsys, "import", "www.csv", "--json")
    problems = json.loads(out)["errors"]
    assert [(e["line"], e["reason"]) for e in problems] == [
        (
            3,
            "domain 'bad_host.com' has an invalid label 'bad_host' "
            "(given as 'https://www.bad_host.com/')",
        )
    ]
    with sqlite_storage("pipelinekit.sqlite3") as storage, storage.unit_of_work() as uow:
        stored = uow.leads.by_external_id("w1")
        assert stored is not None
        assert stored.company is not None
        assert stored.company.domain == "www.example"


def test_tables_fit_80_columns_without_cutting_keys_or_wrapping_titles(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelinekit.pipelines import sales_pipeline

    run(capsys, "demo", "--leads", "20")
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = run(capsys, "pipeline", "show", "sales")
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 80
    rows = [line for line in out.splitlines() if line.startswith("│")]
    for stage in sales_pipeline().spec.stages:
        assert any(f"│ {stage.key} " in row and f"│ {stage.label} " in row for row in rows)
    code, out, _ = run(capsys, "qualify")
    assert code == 0
    assert re.fullmatch(r"Qualified \d+ leads with fit-score", out.splitlines()[0].strip())
    assert out.splitlines()[1].startswith("┏")  # the title is one line


def test_checklist_answers_are_checked_on_import_with_the_accepted_values(
    capsys: pytest.CaptureFixture[str],
) -> None:
    Path("bant.csv").write_text(
        "id,name,bant.budget,bant.need,meddpicc.champion,plan\n"
        "b1,Ann,yes,3,validated,gold\n"
        "b2,Bob,High,,maybe,\n"
        "b3,Cy,confirmed,7,,\n",
        encoding="utf-8",
    )
    code, data = run_json(capsys, "import", "bant.csv")
    assert code == ExitCode.ROWS_REJECTED
    assert [(e["line"], e["path"], e["reason"]) for e in data["errors"]] == [
        (2, "$.custom.bant.budget", "'yes' is not an answer for bant.budget: "
            "use one of none, low, medium, high, confirmed (or 0-4)"),
        (3, "$.custom.meddpicc.champion", "'maybe' is not an answer for meddpicc.champion: "
            "use one of none, partial, validated (or 0-2)"),
        (4, "$.custom.bant.need", "'7' is not an answer for bant.need: "
            "use one of none, low, medium, high, confirmed (or 0-4)"),
    ]  # fmt: skip
    Path("fixed.csv").write_text("id,name,bant.budget,bant.need\nb1,Ann,HIGH,3\n", encoding="utf-8")
    code, data = run_json(capsys, "import", "fixed.csv")
    assert (code, data["inserted"]) == (0, 1)


def test_the_cli_docs_list_every_checklist_answer_column_and_its_values() -> None:
    from pipelinekit.qualification import checklist_answers

    page = (README.parent / "docs" / "cli.md").read_text(encoding="utf-8")
    documented: dict[str, str] = {}
    for columns, values in re.findall(r"^  \| (`[^|]+`) \| ([^|]+) \|$", page, re.MULTILINE):
        for column in re.findall(r"`([^`]+)`", columns):
            documented[column] = values.strip()
    expected = {
        key: f"{', '.join(entry.levels)} (or 0-{entry.max})"
        for key, entry in checklist_answers().items()
    }
    assert documented == expected


def test_csv_columns_may_be_separated_by_semicolons_or_tabs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    Path("semi.csv").write_text(
        'id;name;email;company\ns1;Ann;ann@x.example;"Big; Co"\n', encoding="utf-8"
    )
    Path("tabs.csv").write_text("id\tname\tcompany\nt1\tBo\tAcme, Inc\n", encoding="utf-8")
    code, out, _ = run(capsys, "import", "semi.csv")
    assert code == 0
    assert "Columns separated by semicolon." in out
    code, data = run_json(capsys, "import", "tabs.csv")
    assert (code, data["inserted"], data["delimiter"]) == (0, 1, "\t")
    with sqlite_storage("pipelinekit.sqlite3") as storage, storage.unit_of_work() as uow:
        semi = uow.leads.by_external_id("s1")
        tabs = uow.leads.by_external_id("t1")
    assert semi is not None and semi.company is not None  # noqa: PT018
    assert semi.company.name == "Big; Co"
    assert tabs is not None and tabs.company is not None  # noqa: PT018
    assert tabs.company.name == "Acme, Inc"


def test_a_csv_file_with_no_recognised_column_is_one_clear_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    Path("de.csv").write_text("Kennung;Vorname;Firma\n1;Ann;Acme\n", encoding="utf-8")
    code, _, err = run(capsys, "import", "de.csv")
    said = " ".join(err.split())
    assert code == ExitCode.INPUT
    assert "no column is recognised as a lead field" in said
    assert "split at each semicolon, gives 'Kennung', 'Vorname', 'Firma'" in said
    assert "external_id, name, email, phone, job_title, company" in said
    assert "--map FIELD=COLUMN" in said
    assert not Path("pipelinekit.sqlite3").exists()  # refused before the database is made
    code, data = run_json(capsys, "import", "de.csv", "--map", "company=Firma")
    assert (code, data["inserted"]) == (0, 1)


def test_unbalanced_quotes_are_row_errors_and_swallow_no_row_silently(
    capsys: pytest.CaptureFixture[str],
) -> None:
    Path("q.csv").write_text(
        "id,name,email,notes\n"
        'a1,"Ann",ann@x.example,"two\nlines"\n'
        'b2,"Bob,bob@x.example,\n'
        'c3,"Cy",cy@x.example,\n'
        "d4,Dee,dee@x.example,\n"
        'e5,"Eve,eve@x.example,\n'
        "f6,Fay,fay@x.example,\n",
        encoding="utf-8",
    )
    code, data = run_json(capsys, "import", "q.csv")
    assert code == ExitCode.ROWS_REJECTED
    assert [(e["line"], e["path"]) for e in data["errors"]] == [(4, "$"), (7, "$")]
    first, last = (e["reason"] for e in data["errors"])
    assert first.startswith("unbalanced quotes: a quote opened on line 4")
    assert "lines 4-5 could not be read as rows" in first
    assert "lines 7-8 could not be read as rows" in last
    with sqlite_storage("pipelinekit.sqlite3") as storage, storage.unit_of_work() as uow:
        assert {lead.external_id for lead in uow.leads.iterate()} == {"a1", "d4"}
        a1 = uow.leads.by_external_id("a1")
    assert a1 is not None
    assert a1.notes == "two\nlines"  # a quoted value may still span lines


def test_the_report_reads_at_a_glance(capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import UTC, datetime

    today = datetime.now(UTC).date()
    code, _, err = run(capsys, "demo", "--leads", "200", "--seed", "25")
    assert code == 0
    assert f"(as of {today})" in err  # the demo's story ends today, as `qualify` sees it
    with sqlite_storage("pipelinekit.sqlite3") as storage, storage.unit_of_work() as uow:
        deals = list(uow.opportunities.iterate())
    assert deals
    assert all(deal.expected_close is not None for deal in deals)
    assert all(d.expected_close > today for d in deals if d.outcome == "open")  # type: ignore[operator]

    code, out, _ = run(capsys, "report", "--html", "report.html", "--locale", "de_DE")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"Report of {today.day}. ")  # German long date, then the time
    assert f"as of {today}" in lines[0]
    assert "Lead funnel (furthest step reached)" in out
    assert "Deal funnel: Sales pipeline (stage or later entered)" in out
    for label in ("New", "Contacted", "Qualified", "Converted", "Initial contact", "Closed won"):
        assert f"│ {label} " in out
    for key in ("initial_contact", "closed_won", "cold_email", "inbound_form"):
        assert key not in out  # labels, not keys
    assert "top 3 of 9 criteria: " in out
    assert "job title matches CEO, CTO or VP (+16.7)" in " ".join(out.split())
    assert "\\b" not in out  # no regular expressions
    assert re.search(r"\d{1,3}(\.\d{3})+,\d{2}\s€", out)  # 103.500,00 €

    page = Path("report.html").read_text(encoding="utf-8")
    assert f"as of {today}" in page
    assert "<h2>Lead funnel</h2>" in page
    assert "<h2>Deal funnel: Sales pipeline</h2>" in page
    assert page.count("<svg") == 3
    assert re.search(r"<td class=\"n\">\d{1,3}(\.\d{3})+,\d{2}\s€</td>", page)
    assert "<td>Initial contact</td>" in page
    assert "initial_contact" not in page


def test_the_quickstart_installs_what_the_html_charts_need() -> None:
    text = README.read_text(encoding="utf-8")
    quickstart = text[text.index("## Quickstart") : text.index("## A short tour")]
    first = re.search(r'pip install -e "\.\[([^\]]*)\]" && pipelinekit demo', quickstart)
    assert first, "the Quickstart installs pipelinekit and runs the demo"
    assert {"cli", "report"} <= set(first.group(1).split(","))


def test_pipeline_import_writes_crm_definitions_as_toml(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    examples = Path(__file__).parents[2] / "docs" / "examples" / "crm"
    code, out, _ = run(
        capsys, "pipeline", "import", str(examples / "hubspot-deal-pipelines.json"),
        "--out", str(tmp_path / "hubspot"), "--unit", "fraction",
    )  # fmt: skip
    assert code == ExitCode.OK
    written = sorted(p.name for p in (tmp_path / "hubspot").iterdir())
    assert written == ["default.toml", "hubspot_87654321.toml"]
    renewals = pk.load_pipeline(tmp_path / "hubspot" / "hubspot_87654321.toml")
    assert renewals.stage("12345679").probability == 75
    assert "probability = 0.75" in (tmp_path / "hubspot" / "hubspot_87654321.toml").read_text()
    xml = examples / "OpportunityStage.standardValueSet-meta.xml"
    code, out, _ = run(capsys, "pipeline", "import", str(xml), "--key", "deals")
    assert code == ExitCode.OK
    assert pk.loads_pipeline(out).stage("Closed Won").kind == "won"
    bad = tmp_path / "bad.json"
    bad.write_text('{"results": [{"id": "x", "stages": [{"id": "a"}]}]}', encoding="utf-8")
    code, _, err = run(capsys, "pipeline", "import", str(bad))
    assert code == ExitCode.INVALID
    assert "$.results[0].label" in err
    assert "$.results[0].stages[0].metadata" in err


def test_qualify_preview_shows_moves_and_causes_and_writes_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    Path("in.csv").write_text("id,company,industry\n1,Acme,software\n2,Shop,retail\n")
    run(capsys, "import", "in.csv")
    fit = (
        'kind = "icp"\nname = "industry-fit"\n[[criteria]]\nkind = "one_of"\nname = "industry"\n'
        'field = "company.industry"\npoints = { software = 25, retail = 5 }\n'
    )
    Path("fit.toml").write_text(fit)
    run(capsys, "qualify", "--strategy", "fit.toml", "--no-apply")
    Path("draft.toml").write_text(fit.replace("retail = 5", "retail = 20"))
    code, out, _ = run(capsys, "qualify", "--preview", "draft.toml")
    assert code == 0
    assert "1 scored higher" in out
    assert "by criterion: industry +15" in out
    assert "5 -> 20" in out  # the table row of the retail lead
    # nothing was written: the stored result is still the old one
    code, out, _ = run(capsys, "qualify", "--preview", "draft.toml")
    assert "1 scored higher" in out
    # a draft of another strategy is refused, with the subjects' paths
    Path("other.toml").write_text(fit.replace("industry-fit", "other"))
    code, _, err = run(capsys, "qualify", "--preview", "other.toml")
    assert code == ExitCode.INPUT
    assert "$.subjects[0]" in err
