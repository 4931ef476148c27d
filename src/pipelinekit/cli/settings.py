"""Settings for the ``pipelinekit`` command: flags > environment > ``pipelinekit.toml`` > defaults.

``pipelinekit.toml`` (in the working directory, or ``--config FILE``, or
``PIPELINEKIT_CONFIG``)::

    db = "pipelinekit.sqlite3"        # a SQLite path or a database URL
    currency = "EUR"

    [import]
    batch_size = 1000
    unmapped = "custom"               # or "ignore"

    [import.columns]                  # lead field = column name in your files
    email = "E-Mail"
    company = "Account Name"

    [qualify]
    strategy = "scoring.toml"         # a qualifier definition (see the qualification docs)

Environment variables: ``PIPELINEKIT_DB``, ``PIPELINEKIT_CONFIG``,
``PIPELINEKIT_CURRENCY``.  A bad file is refused with its name, the path of
each problem and what to write instead.  This module needs no CLI library.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from ..errors import PipelinekitError, Problem
from ..io import FIELDS, not_utf8

__all__ = ["DEFAULT_DB", "ConfigError", "Settings", "load_settings"]

#: The database used when nothing says otherwise: a SQLite file in the working directory.
DEFAULT_DB = "pipelinekit.sqlite3"
CONFIG_NAME = "pipelinekit.toml"

_KEYS: dict[str, Any] = {
    "db": str,
    "currency": str,
    "import": {"batch_size": int, "unmapped": str, "format": str, "columns": dict},
    "qualify": {"strategy": str},
}


class ConfigError(PipelinekitError, ValueError):
    """A settings file or variable is wrong: ``source`` names it, ``problems`` say where and how."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        lines = "\n  ".join(str(p) for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s)\n  {lines}")


@attrs.frozen
class Settings:
    """The resolved settings of one ``pipelinekit`` run (and where they came from)."""

    db: str = DEFAULT_DB
    currency: str = "EUR"
    batch_size: int = 1000
    unmapped: str = "custom"
    import_format: str | None = None
    columns: Mapping[str, str] = attrs.field(factory=dict)
    strategy: str | None = None
    config_file: Path | None = None

    def database_url(self) -> str:
        """``db`` as a SQLAlchemy URL: a plain path becomes ``sqlite:///path``."""
        if "://" in self.db:
            return self.db
        return f"sqlite:///{self.db}"

    def describe_db(self) -> str:
        """The database for messages, without any password."""
        url = self.database_url()
        if "@" in url and "://" in url:
            scheme, rest = url.split("://", 1)
            creds, host = rest.rsplit("@", 1)
            user = creds.split(":", 1)[0]
            return f"{scheme}://{user}:***@{host}" if ":" in creds else url
        return url


def _hint(key: str, options: list[str]) -> str:
    close = difflib.get_close_matches(key, options, n=1)
    if close:
        return f"unknown setting {key!r}: did you mean {close[0]!r}?"
    return f"unknown setting {key!r}: use one of {', '.join(sorted(options))}"


def _check(
    data: Mapping[str, Any], schema: Mapping[str, Any], path: str, out: list[Problem]
) -> None:
    for key, value in data.items():
        where = f"{path}.{key}"
        if key not in schema:
            out.append(Problem(where, _hint(key, list(schema))))
            continue
        expected = schema[key]
        if isinstance(expected, dict):
            if not isinstance(value, dict):
                out.append(Problem(where, f"must be a table ([{where[2:]}]), got {value!r}"))
            else:
                _check(value, expected, where, out)
        elif expected is int and (not isinstance(value, int) or isinstance(value, bool)):
            out.append(Problem(where, f"must be a whole number (e.g. {key} = 1000), got {value!r}"))
        elif expected is str and not isinstance(value, str):
            out.append(
                Problem(where, f'must be a string in quotes (e.g. {key} = "..."), got {value!r}')
            )
        elif expected is dict and not isinstance(value, dict):
            out.append(Problem(where, f"must be a table of field = column, got {value!r}"))


def _validate(data: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    _check(data, _KEYS, "$", problems)
    section = data.get("import")
    if isinstance(section, dict):
        columns = section.get("columns")
        if isinstance(columns, dict):
            for field, column in columns.items():
                where = f"$.import.columns.{field}"
                if field not in FIELDS:
                    close = difflib.get_close_matches(field, FIELDS, n=1)
                    fix = (
                        f"did you mean {close[0]!r}?"
                        if close
                        else f"use one of {', '.join(FIELDS)}"
                    )
                    problems.append(Problem(where, f"unknown lead field {field!r}: {fix}"))
                elif not isinstance(column, str) or not column:
                    problems.append(
                        Problem(where, f"must be the column name in quotes, got {column!r}")
                    )
        if section.get("unmapped", "custom") not in ("custom", "ignore"):
            problems.append(Problem("$.import.unmapped", 'must be "custom" or "ignore"'))
        batch = section.get("batch_size", 1)
        if isinstance(batch, int) and batch < 1:
            problems.append(Problem("$.import.batch_size", f"must be >= 1, got {batch}"))
    return problems


def load_settings(
    *,
    config: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Read settings: ``config`` (or ``PIPELINEKIT_CONFIG``, or ``./pipelinekit.toml`` if present),
    then environment variables over it.  Raises :class:`ConfigError` naming the file."""
    env = os.environ if environ is None else environ
    here = cwd or Path.cwd()
    chosen = config or env.get("PIPELINEKIT_CONFIG")
    file: Path | None = None
    data: dict[str, Any] = {}
    if chosen:
        file = Path(chosen)
        if not file.is_file():
            raise ConfigError(
                str(file),
                [
                    Problem(
                        "$",
                        "no such settings file: check the path given to --config "
                        "or PIPELINEKIT_CONFIG",
                    )
                ],
            )
    elif (here / CONFIG_NAME).is_file():
        file = here / CONFIG_NAME
    if file is not None:
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(
                str(file), [Problem("$", f"not valid TOML ({error}): fix the syntax at that line")]
            ) from error
        except OSError as error:
            raise ConfigError(
                str(file), [Problem("$", f"cannot read: {error.strerror}")]
            ) from error
        except UnicodeDecodeError as error:
            raise ConfigError(str(file), [Problem("$", not_utf8(error))]) from error
        problems = _validate(data)
        if problems:
            raise ConfigError(str(file), problems)
    section = data.get("import", {})
    qualify = data.get("qualify", {})
    db = data.get("db", DEFAULT_DB)
    if file is not None and "://" not in db and not Path(db).is_absolute():
        db = str(file.parent / db) if file.parent != here else db
    strategy = qualify.get("strategy")
    if strategy and file is not None and not Path(strategy).is_absolute():
        strategy = str(file.parent / strategy)
    currency = env.get("PIPELINEKIT_CURRENCY") or data.get("currency", "EUR")
    if len(currency) != 3 or not currency.isalpha():
        source = "PIPELINEKIT_CURRENCY" if env.get("PIPELINEKIT_CURRENCY") else str(file)
        raise ConfigError(
            source,
            [Problem("$.currency", f"must be an ISO 4217 code such as EUR, got {currency!r}")],
        )
    return Settings(
        db=env.get("PIPELINEKIT_DB") or db,
        currency=currency.upper(),
        batch_size=section.get("batch_size", 1000),
        unmapped=section.get("unmapped", "custom"),
        import_format=section.get("format"),
        columns=dict(section.get("columns", {})),
        strategy=strategy,
        config_file=file,
    )
