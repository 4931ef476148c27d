"""The error raised when the ``arrow`` extra is not installed."""

from __future__ import annotations

from ..errors import PipelinekitError

__all__ = ["ArrowDependencyError"]


class ArrowDependencyError(PipelinekitError, ImportError):
    """A columnar path needs a package of an extra (``pip install "pipelinekit[arrow]"``)."""

    def __init__(self, extra: str = "arrow", package: str = "pyarrow") -> None:
        super().__init__(
            f"this needs {package}: install the {extra} extra with "
            f'`pip install "pipelinekit[{extra}]"`'
        )
