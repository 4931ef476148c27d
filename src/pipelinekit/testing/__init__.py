"""Testing support for apps built on pipelinekit (needs the ``test`` extra).

- :mod:`pipelinekit.testing.strategies`: Hypothesis strategies for every
  value object and entity (``leads()``, ``opportunities()``, ``money()``...).
  They are also registered for ``st.from_type`` automatically.
- :mod:`pipelinekit.testing.pipelines`: strategies for random valid pipeline
  definitions (``pipeline_specs()``) and opportunities placed in them.
- :mod:`pipelinekit.testing.qualification`: the contract test kit a
  qualification plugin subclasses (``StrategyContract``).
- :mod:`pipelinekit.testing.contracts`: the storage contract suite every
  adapter subclasses (``StorageContract``, ``StatefulStorageContract``).

Importing this package requires Hypothesis; ``import pipelinekit`` does not.
"""

from __future__ import annotations

try:
    import hypothesis  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "pipelinekit.testing needs Hypothesis: install it with  pip install 'pipelinekit[test]'"
    ) from error

from . import strategies

__all__ = ["strategies"]
