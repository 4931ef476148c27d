"""From a store to Parquet for an engine, and the engine's results back into the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from ..domain.results import QualificationResult
from ..errors import Problem, ValidationError
from ..io.errors import ImportFileError, OutputFileError
from ..serialization import from_json
from ..storage import Storage
from ..storage.ports import Repository, UnitOfWork
from ._convert import kind_from_columns, to_arrow
from ._schema import SCHEMAS

__all__ = ["export_parquet", "import_results"]

_KINDS: Final = {"leads": "lead", "prospects": "prospect", "opportunities": "opportunity"}


def export_parquet(
    storage: Storage,
    path: str | Path,
    *,
    kind: Literal["leads", "prospects", "opportunities"] = "leads",
    batch: int = 10_000,
) -> int:
    """Write every stored entity of ``kind`` to the Parquet file ``path``; return how many.

    The file has the pipelinekit Arrow schema (:func:`~pipelinekit.arrow.schema_for`),
    so Spark, Dask or :func:`~pipelinekit.arrow.from_arrow` read it.  Entities are
    read in id order in one read-only unit of work, ``batch`` at a time, so
    stores larger than memory export.  A path that cannot be written raises
    :class:`~pipelinekit.io.OutputFileError`.
    """
    problems = []
    if kind not in _KINDS:
        problems.append(Problem("$.kind", f"must be one of {', '.join(_KINDS)}, got {kind!r}"))
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        problems.append(Problem("$.batch", f"must be a positive int, got {batch!r}"))
    if problems:
        raise ValidationError("export_parquet()", problems)
    name = _KINDS[kind]
    target = Path(path)
    count = 0
    try:
        with (
            storage.unit_of_work(read_only=True) as uow,
            pq.ParquetWriter(target, SCHEMAS[name]) as writer,
        ):
            repository = _repository(uow, name)
            chunk: list[Any] = []
            for entity in repository.iterate(batch=batch):
                chunk.append(entity)
                if len(chunk) == batch:
                    writer.write_table(to_arrow(chunk))
                    count += len(chunk)
                    chunk = []
            if chunk:
                writer.write_table(to_arrow(chunk))
                count += len(chunk)
    except OSError as error:
        raise OutputFileError(target, error.strerror or str(error)) from error
    return count


def import_results(storage: Storage, table: pa.Table | str | Path) -> int:
    """Store the ``result`` column of a scored table (``score_table(..., results=True)``).

    ``table`` is a ``pyarrow.Table`` or the path of a Parquet file (a file that
    cannot be read raises :class:`~pipelinekit.io.ImportFileError`).

    Each row's complete qualification result is stored for the entity of its
    ``id`` (:meth:`~pipelinekit.storage.ResultStore.add`): the same result for
    the same entity is stored once, so importing a file again changes nothing.
    Every row is checked first (its result, and that its entity is stored);
    any problem raises one :class:`~pipelinekit.ValidationError`, with the row
    index in each path, and nothing is stored.  Returns the number of rows.
    """
    if isinstance(table, str | Path):
        table = _read(Path(table))
    if not isinstance(table, pa.Table):
        raise ValidationError(
            "import_results()",
            [Problem("$", f"must be a pyarrow.Table, got {type(table).__name__}")],
        )
    missing = [c for c in ("id", "result") if c not in table.column_names]
    if missing:
        raise ValidationError(
            "import_results()",
            [Problem(f"$.columns.{c}", "is missing (score with results=True)") for c in missing],
        )
    kind = kind_from_columns(table.column_names, _meta_kind(table))
    ids = table.column("id").to_pylist()
    texts = table.column("result").to_pylist()
    problems: list[Problem] = []
    found: list[tuple[str, QualificationResult]] = []
    for index, (ident, text) in enumerate(zip(ids, texts, strict=True)):
        if not isinstance(ident, str) or not isinstance(text, str):
            problems.append(Problem(f"$[{index}]", "needs an id and a result"))
            continue
        try:
            found.append((ident, from_json(QualificationResult, text)))
        except ValidationError as error:
            problems.extend(p.under(f"$[{index}].result") for p in error.problems)
    with storage.unit_of_work() as uow:
        repository = _repository(uow, kind)
        stored = set()
        for index, ident in enumerate(ids):
            if isinstance(ident, str) and ident not in stored:
                if repository.lookup(ident) is None:
                    problems.append(Problem(f"$[{index}].id", f"no {kind} {ident!r} is stored"))
                stored.add(ident)
        if problems:
            raise ValidationError("import_results()", problems)
        for ident, result in found:
            uow.results.add(kind, ident, result)
        uow.commit()
    return len(found)


def _read(path: Path) -> pa.Table:
    try:
        return pq.read_table(path)
    except FileNotFoundError as error:
        raise ImportFileError(path, "no such file") from error
    except (OSError, pa.ArrowException) as error:
        raise ImportFileError(path, f"not a readable Parquet file: {error}") from error


def _repository(uow: UnitOfWork, kind: str) -> Repository[Any, Any]:
    if kind == "lead":
        return uow.leads
    if kind == "prospect":
        return uow.prospects
    return uow.opportunities


def _meta_kind(table: pa.Table) -> str | None:
    raw = (table.schema.metadata or {}).get(b"pipelinekit.kind")
    return None if raw is None else raw.decode("utf-8", "replace")
