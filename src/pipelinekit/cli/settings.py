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
``PIPELINEKIT_CURRENCY``.  A bad file is refused with its name and every
problem, read the way every pipelinekit loader reads (:mod:`pipelinekit.validation`):
the path of each problem, and the nearest valid name for a misspelt key.
This module needs no CLI library.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NewType

import attrs

from ..errors import PipelinekitError, Problem, ValidationError
from ..io import FIELDS, not_utf8
from ..validation import Invalid, Structurer, decode_toml, json_type, unknown_field

__all__ = ["DEFAULT_DB", "ConfigError", "Settings", "load_settings"]

#: The database used when nothing says otherwise: a SQLite file in the working directory.
DEFAULT_DB = "pipelinekit.sqlite3"
CONFIG_NAME = "pipelinekit.toml"


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


#: A lead field named in ``[import.columns]``.
LeadField = NewType("LeadField", str)


def _lead_field(value: Any) -> LeadField:
    if not isinstance(value, str) or value not in FIELDS:
        raise Invalid(unknown_field(value, FIELDS))
    return LeadField(value)


def _column(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise Invalid(f"must be the column name in quotes, got {json_type(value)}")
    return value


#: A column name in ``[import.columns]``.
Column = NewType("Column", str)


@attrs.frozen(kw_only=True)
class _Import:
    batch_size: int = 1000
    unmapped: str = "custom"
    format: str | None = None
    columns: dict[LeadField, Column] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class _Qualify:
    strategy: str | None = None


@attrs.frozen(kw_only=True)
class _File:
    """The shape of ``pipelinekit.toml``."""

    db: str = DEFAULT_DB
    currency: str = "EUR"
    import_section: _Import = attrs.field(factory=_Import, metadata={"key": "import"})
    qualify: _Qualify = attrs.field(factory=_Qualify)


_STRUCTURER = Structurer()
_STRUCTURER.register(LeadField, _lead_field)
_STRUCTURER.register(Column, lambda value: Column(_column(value)))


def _read(data: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """The file's valid settings, and every problem with the others (shape, then values)."""
    fields, problems = _STRUCTURER.salvage(data, _File)
    section = fields.get("import_section")
    if section is not None:
        if section.unmapped not in ("custom", "ignore"):
            problems.append(Problem("$.import.unmapped", 'must be "custom" or "ignore"'))
        if section.batch_size < 1:
            problems.append(
                Problem("$.import.batch_size", f"must be >= 1, got {section.batch_size}")
            )
    return fields, problems


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
            data = decode_toml(file.read_text(encoding="utf-8"), "settings")
        except ValidationError as error:
            raise ConfigError(str(file), list(error.problems)) from error
        except OSError as error:
            raise ConfigError(
                str(file), [Problem("$", f"cannot read: {error.strerror}")]
            ) from error
        except UnicodeDecodeError as error:
            raise ConfigError(str(file), [Problem("$", not_utf8(error))]) from error
    fields, problems = _read(data)
    if problems:
        raise ConfigError(str(file), problems)
    section: _Import = fields.get("import_section", _Import())
    qualify: _Qualify = fields.get("qualify", _Qualify())
    db: str = fields.get("db", DEFAULT_DB)
    if file is not None and "://" not in db and not Path(db).is_absolute():
        db = str(file.parent / db) if file.parent != here else db
    strategy = qualify.strategy
    if strategy and file is not None and not Path(strategy).is_absolute():
        strategy = str(file.parent / strategy)
    currency = env.get("PIPELINEKIT_CURRENCY") or fields.get("currency", "EUR")
    if len(currency) != 3 or not currency.isalpha():
        source = "PIPELINEKIT_CURRENCY" if env.get("PIPELINEKIT_CURRENCY") else str(file)
        raise ConfigError(
            source,
            [Problem("$.currency", f"must be an ISO 4217 code such as EUR, got {currency!r}")],
        )
    return Settings(
        db=env.get("PIPELINEKIT_DB") or db,
        currency=currency.upper(),
        batch_size=section.batch_size,
        unmapped=section.unmapped,
        import_format=section.format,
        columns={str(field): str(column) for field, column in section.columns.items()},
        strategy=strategy,
        config_file=file,
    )
