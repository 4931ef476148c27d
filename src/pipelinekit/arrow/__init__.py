"""Arrow tables of leads, prospects and opportunities, scored and moved in bulk.

Needs the ``arrow`` extra (``pip install "pipelinekit[arrow]"``, which brings
``pyarrow``).  :func:`to_arrow` / :func:`from_arrow` convert entities to the
versioned columnar schema (:func:`schema_for`) and back, exactly;
:func:`score_table` evaluates a strategy over a table and :func:`advance_table`
applies one pipeline event to every row, with the same results as
``evaluate_many`` and ``Pipeline.bulk``.  These are the building blocks of the
Spark and Dask integrations (:mod:`pipelinekit.spark`, :mod:`pipelinekit.dask`).
"""

from __future__ import annotations

from ._errors import ArrowDependencyError

try:
    import pyarrow  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised without the extra
    raise ArrowDependencyError() from error

# the extra is there: the modules built on it follow
from ._convert import from_arrow, to_arrow
from ._schema import ARROW_SCHEMA_VERSION, BREAKDOWN, HISTORY, schema_for
from ._storage import export_parquet, import_results
from ._tables import TableMove, advance_table, score_table

__all__ = [
    "ARROW_SCHEMA_VERSION",
    "ArrowDependencyError",
    "BREAKDOWN",
    "HISTORY",
    "TableMove",
    "advance_table",
    "export_parquet",
    "from_arrow",
    "import_results",
    "schema_for",
    "score_table",
    "to_arrow",
]
