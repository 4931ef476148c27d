"""From a store to Parquet, scored on Dask, and the results stored back once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dask.dataframe as dd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelinekit import ValidationError
from pipelinekit.arrow import export_parquet, from_arrow, import_results, score_table
from pipelinekit.dask import score_dataframe
from pipelinekit.demo import synthetic_leads
from pipelinekit.io import OutputFileError
from pipelinekit.qualification import bant
from pipelinekit.storage import memory_storage

AS_OF = datetime(2026, 9, 1, tzinfo=UTC)


def _stored(count: int):  # type: ignore[no-untyped-def]
    storage = memory_storage()
    leads = synthetic_leads(count, seed=3)
    with storage.unit_of_work() as uow:
        saved = uow.leads.save_all(leads)
        uow.commit()
    return storage, saved


# dask's read_parquet still calls reset_index(inplace=True), which pandas 3.1 deprecates
@pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.reset_index")
def test_export_score_on_dask_and_import_the_results_once(tmp_path: Path) -> None:
    storage, leads = _stored(120)
    path = tmp_path / "leads.parquet"
    assert export_parquet(storage, path, batch=50) == len(leads)
    assert sorted(from_arrow(pq.read_table(path)), key=lambda x: x.id) == sorted(
        leads, key=lambda x: x.id
    )

    frame = dd.read_parquet(path, dtype_backend="pyarrow")
    strategy = bant()
    scored = score_dataframe(frame, strategy, as_of=AS_OF, results=True, kind="lead")
    scores = tmp_path / "scores.parquet"
    pq.write_table(pa.Table.from_pandas(scored.compute(scheduler="synchronous")), scores)

    table = pq.read_table(scores)
    assert import_results(storage, table) == len(leads)
    assert import_results(storage, table) == len(leads)  # again: nothing new is stored
    with storage.unit_of_work(read_only=True) as uow:
        for lead in leads:
            stored = uow.results.for_subject("lead", lead.id)
            assert stored == [strategy.evaluate(lead, as_of=AS_OF, explain=False)]


def test_import_refuses_every_bad_row_and_stores_nothing(tmp_path: Path) -> None:
    storage, _ = _stored(3)
    table = score_table(bant(), export_table(storage, tmp_path), as_of=AS_OF, results=True)
    results = table["result"].to_pylist()
    ids = table["id"].to_pylist()
    broken = table.set_column(
        table.column_names.index("result"), "result", pa.array([results[0], "{", results[2]])
    ).set_column(table.column_names.index("id"), "id", pa.array([ids[0], ids[1], "lead-x"]))
    with pytest.raises(ValidationError) as caught:
        import_results(storage, broken)
    assert [p.split(".")[0] for p in caught.value.paths] == ["$[1]", "$[2]"]
    assert caught.value.paths[-1] == "$[2].id"
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.results.for_subject("lead", ids[0]) == []
    with pytest.raises(ValidationError) as missing:
        import_results(storage, table.drop_columns(["result"]))
    assert missing.value.paths == ("$.columns.result",)


def export_table(storage: object, folder: Path) -> pa.Table:
    path = folder / "export.parquet"
    export_parquet(storage, path)  # type: ignore[arg-type]
    return pq.read_table(path)


def test_export_refuses_bad_arguments_and_unwritable_paths(tmp_path: Path) -> None:
    storage, _ = _stored(2)
    with pytest.raises(ValidationError) as caught:
        export_parquet(storage, tmp_path / "x.parquet", kind="deals", batch=0)  # type: ignore[arg-type]
    assert caught.value.paths == ("$.kind", "$.batch")
    with pytest.raises(OutputFileError):
        export_parquet(storage, tmp_path / "missing" / "x.parquet")
