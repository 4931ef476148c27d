"""Hook named by the ``hypothesis`` entry point in pyproject.toml.

Placeholder so Hypothesis can load the entry point on this branch; the
registrations for ``st.from_type`` live on main and supersede this file.
"""

from __future__ import annotations


def _register() -> None:
    """Register pipelinekit's types with Hypothesis (nothing to register here yet)."""
