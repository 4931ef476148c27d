"""The export engine: JSON Lines that read back, CSV rows that import again, refused arguments."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

import pipelinekit as pk
from pipelinekit.io import (
    OutputFileError,
    export_entities,
    import_leads,
    lead_row,
    opportunity_row,
)
from pipelinekit.storage import Storage, memory_storage
from pipelinekit.testing.contracts.samples import T0, lead, opportunity, prospect


def stored() -> Storage:
    storage = memory_storage()
    with storage.unit_of_work() as uow:
        uow.leads.save_all([lead(n, owner="ann") for n in range(3)])
        uow.opportunities.save_all([opportunity(n) for n in range(2)])
        uow.prospects.save(prospect(1))
        uow.commit()
    return storage


def test_json_lines_read_back_into_the_stored_entities(tmp_path: Path) -> None:
    storage = stored()
    for kind, cls in (("leads", pk.Lead), ("opportunities", pk.Opportunity), ("prospects", None)):
        count = export_entities(storage, tmp_path / f"{kind}.jsonl", kind=kind)  # type: ignore[arg-type]
        lines = (tmp_path / f"{kind}.jsonl").read_text(encoding="utf-8").splitlines()
        assert count == len(lines)
        with storage.unit_of_work(read_only=True) as uow:
            expected = list(getattr(uow, kind).iterate())
        target = cls or pk.Prospect
        assert [pk.from_dict(target, json.loads(line)) for line in lines] == expected


def test_a_leads_csv_imports_into_another_storage(tmp_path: Path) -> None:
    storage = stored()
    assert export_entities(storage, tmp_path / "leads.csv", format="csv") == 3
    copy = memory_storage()
    summary = import_leads(tmp_path / "leads.csv", copy, at=T0)
    assert (summary.inserted, summary.rejected) == (3, 0)
    with storage.unit_of_work(read_only=True) as a, copy.unit_of_work(read_only=True) as b:
        for original in a.leads.iterate():
            again = b.leads.by_external_id(original.external_id or original.id)
            assert again is not None
            assert (again.contact, again.company, again.source, again.owner, again.tags) == (
                original.contact,
                original.company,
                original.source,
                original.owner,
                original.tags,
            )
            assert lead_row(again) | {"status": None, "score": None} == lead_row(original) | {
                "status": None,
                "score": None,
            }


def test_opportunities_csv_to_an_open_handle() -> None:
    storage = stored()
    handle = io.StringIO()
    assert export_entities(storage, handle, kind="opportunities", format="csv") == 2
    rows = list(csv.DictReader(io.StringIO(handle.getvalue())))
    with storage.unit_of_work(read_only=True) as uow:
        deals = list(uow.opportunities.iterate())
    assert [row["id"] for row in rows] == [deal.id for deal in deals]
    assert list(rows[0]) == list(opportunity_row(deals[0]))


def test_nothing_to_export_writes_an_empty_file(tmp_path: Path) -> None:
    assert export_entities(memory_storage(), tmp_path / "none.csv", format="csv") == 0
    assert (tmp_path / "none.csv").read_text() == ""


def test_refused_arguments_and_unwritable_paths(tmp_path: Path) -> None:
    storage = stored()
    with pytest.raises(pk.ValidationError) as caught:
        export_entities(None, kind="deals", format="xlsx")  # type: ignore[arg-type]
    assert caught.value.paths == ("$.storage", "$.kind", "$.format")
    with pytest.raises(pk.ValidationError, match="prospects export as jsonl only"):
        export_entities(storage, kind="prospects", format="csv")
    with pytest.raises(OutputFileError) as unwritable:
        export_entities(storage, tmp_path / "missing" / "x.jsonl")
    assert str(unwritable.value) == (
        f"cannot write {tmp_path / 'missing' / 'x.jsonl'}: No such file or directory"
    )
