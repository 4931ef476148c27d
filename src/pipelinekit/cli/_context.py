"""What every command shares: the run's settings and database, user errors, times, options."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import attrs
import typer

from ..clock import system_clock
from ..errors import PipelinekitError, Problem
from .exit_codes import ExitCode
from .settings import Settings

if TYPE_CHECKING:
    from ..storage.sql import SqlStorage

__all__ = [
    "JsonOption",
    "LocaleOption",
    "State",
    "TopOption",
    "UserError",
    "as_of",
    "interruptible",
    "locale_for",
    "now",
    "state",
]

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")
]
LocaleOption = Annotated[
    str | None,
    typer.Option(
        "--locale",
        metavar="LOCALE",
        help="Write amounts and dates as this locale does (e.g. de_DE, en_GB); "
        "default: LC_ALL / LC_MONETARY / LANG, else en_US.",
        show_default=False,
    ),
]
TopOption = Annotated[
    int, typer.Option("--top", metavar="N", min=0, help="How many best leads to list.")
]


class UserError(PipelinekitError):
    """A mistake the user can fix: printed without a traceback, with an exit code."""

    def __init__(self, message: str, code: ExitCode, problems: tuple[Problem, ...] = ()) -> None:
        self.code = code
        self.problems = problems
        super().__init__(message)


@attrs.define
class State:
    """One run of the command: its settings, the ``--db`` override, ``--debug``."""

    settings: Settings
    db_override: str | None = None
    debug: bool = False

    @property
    def db(self) -> str:
        """The database: ``--db``, else the settings'."""
        return self.db_override or self.settings.db

    @property
    def db_label(self) -> str:
        """The database for messages and output, never with a password."""
        return attrs.evolve(self.settings, db=self.db).describe_db().removeprefix("sqlite:///")

    def storage(self, *, must_exist: bool = False) -> SqlStorage:
        """The run's SQL storage (nothing connects yet); a :class:`UserError` says what is wrong.

        With ``must_exist``, a SQLite file that is not there is refused (the
        commands that only read say to run ``demo`` or ``import`` first).
        """
        settings = attrs.evolve(self.settings, db=self.db)
        url = settings.database_url()
        if url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///"))
            if must_exist and not path.exists():
                raise UserError(
                    f"no database at {path}: run `pipelinekit demo` or `pipelinekit import FILE` "
                    "first, or point --db / PIPELINEKIT_DB at your database",
                    ExitCode.STORAGE,
                )
            if not path.parent.exists():
                raise UserError(
                    f"cannot create the database {path}: the folder {path.parent} does not exist",
                    ExitCode.STORAGE,
                )
        try:
            from ..storage.sql import sql_storage
        except ImportError as error:
            raise UserError(str(error), ExitCode.MISSING_EXTRA) from error
        try:
            return sql_storage(url)
        except ImportError as error:
            raise UserError(
                f"{settings.describe_db()} needs a database driver: "
                'pip install "pipelinekit[postgres]" for PostgreSQL',
                ExitCode.MISSING_EXTRA,
            ) from error
        except ValueError as error:
            problems = getattr(error, "problems", ())
            reason = "; ".join(p.message for p in problems) if problems else str(error)
            raise UserError(f"--db {settings.describe_db()}: {reason}", ExitCode.USAGE) from error


def state(ctx: typer.Context) -> State:
    """The run's :class:`State`, set up by the root command."""
    found = ctx.find_root().obj
    assert isinstance(found, State)
    return found


def now() -> datetime:
    """The current time: the command line is the application boundary that reads the clock."""
    return system_clock.now()


def as_of(value: str | None) -> datetime:
    """``--as-of``: an ISO date or time (UTC when it names no zone), or now."""
    if value is None:
        return now()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as error:
        raise UserError(
            f"--as-of {value!r} is not an ISO date or time (e.g. 2026-07-01 or 2026-07-01T09:00Z)",
            ExitCode.USAGE,
        ) from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@contextmanager
def interruptible(done: Callable[[], str]) -> Iterator[None]:
    """Ctrl-C inside the block becomes a :class:`UserError` (exit 130) saying ``done()``.

    ``done`` tells what the command had committed when it was interrupted and
    how to carry on; it is called only when Ctrl-C is pressed.
    """
    try:
        yield
    except KeyboardInterrupt:
        raise UserError(f"interrupted (Ctrl-C): {done()}", ExitCode.INTERRUPTED) from None


def locale_for(value: str | None) -> str | None:
    """``--locale``, else the environment's money locale (``LC_ALL``, ``LC_MONETARY``, ``LANG``).

    Read from the variables only (the process locale is left alone); ``None``
    (US English) when they name none or the C locale, or Babel is not installed.
    """
    if value:
        return value
    try:
        from babel import default_locale
    except ImportError:
        return None
    found = default_locale("LC_MONETARY")
    return None if found is None or found.endswith("POSIX") else found
