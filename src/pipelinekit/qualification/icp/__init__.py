"""ICP fit scoring: how closely a lead or prospect matches an ideal customer profile.

Three modules, one job each: :mod:`.criteria` (the criterion model: what each
rule reads and how it classifies a value), :mod:`.codegen` (compiling a
strategy's criteria into one fast scoring function) and :mod:`.strategy`
(the :func:`icp_fit` strategy: caps, bands, grades and the explained result).
"""

from .criteria import (
    Criterion,
    MissingData,
    NumericBand,
    all_of,
    bands,
    one_of,
    pattern,
    predicate,
    present,
)
from .strategy import icp_fit

__all__ = [
    "Criterion",
    "MissingData",
    "NumericBand",
    "all_of",
    "bands",
    "icp_fit",
    "one_of",
    "pattern",
    "predicate",
    "present",
]
