"""Errors of the import and export engines: a file that cannot be read or written."""

from __future__ import annotations

from pathlib import Path

from ..errors import PipelinekitError

__all__ = ["ImportFileError", "OutputFileError"]


class ImportFileError(PipelinekitError, ValueError):
    """The file itself cannot be imported (missing, unreadable, unknown format, no header).

    ``path`` names the file and ``reason`` says what is wrong with it and what
    to do.  Nothing of the file has been stored when this is raised.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")

    def __reduce__(self) -> tuple[type[ImportFileError], tuple[str, str]]:
        return (type(self), (self.path, self.reason))


class OutputFileError(PipelinekitError, OSError):
    """A file pipelinekit was asked to write (an error report, an export) cannot be written.

    ``path`` names the file and ``reason`` says why (no such folder, a folder,
    permission denied...).
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot write {path}: {reason}")

    def __str__(self) -> str:
        return f"cannot write {self.path}: {self.reason}"

    def __reduce__(self) -> tuple[type[OutputFileError], tuple[str, str]]:
        return (type(self), (self.path, self.reason))
