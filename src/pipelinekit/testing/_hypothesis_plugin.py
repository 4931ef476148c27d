"""Registers pipelinekit's types with ``st.from_type`` (loaded by Hypothesis' entry point).

Hypothesis calls :func:`_register` when it is imported, in any environment
where pipelinekit is installed; pipelinekit itself never imports Hypothesis
at run time.
"""

from __future__ import annotations


def _register() -> None:
    from hypothesis import strategies as st

    from ._registrations import registrations

    for kind, strategy in registrations().items():
        st.register_type_strategy(kind, strategy)
