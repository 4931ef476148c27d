"""The exit codes of the ``pipelinekit`` command (documented in docs/cli.md)."""

from __future__ import annotations

import enum

__all__ = ["ExitCode"]


class ExitCode(enum.IntEnum):
    """What a ``pipelinekit`` exit status means, for scripts."""

    #: Everything worked.
    OK = 0
    #: The command ran, but its input was partly refused: an import rejected rows (see the
    #: error report) or ``pipeline validate`` found problems.
    ROWS_REJECTED = 1
    #: The same code for ``pipeline validate``: the definition is invalid.
    INVALID = 1
    #: The command line is wrong (unknown option, bad value).
    USAGE = 2
    #: A settings file or environment variable is wrong.
    CONFIG = 3
    #: An input file is missing, unreadable or not in a usable format.
    INPUT = 4
    #: The database cannot be opened, reached or written.
    STORAGE = 5
    #: An optional dependency is missing (the message names the extra to install).
    MISSING_EXTRA = 6
    #: Interrupted (Ctrl+C).
    INTERRUPTED = 130
    #: A bug in pipelinekit: please report it with the output of ``--debug``.
    INTERNAL = 70
