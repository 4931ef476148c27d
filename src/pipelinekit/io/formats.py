"""Reading rows from CSV and JSON Lines files, and telling the user what is wrong with a file."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, TextIO

from ..validation import json_problems
from .errors import ImportFileError

__all__ = [
    "DELIMITERS",
    "IMPORT_FORMATS",
    "column_key",
    "csv_header",
    "detect_format",
    "not_utf8",
    "read_rows",
]

#: The file formats the import engine reads.
IMPORT_FORMATS: Final = ("csv", "jsonl")
_ALIASES: Final = {"ndjson": "jsonl", "json": "jsonl", "tsv": "csv"}
#: The column separators a CSV file may use, and their names (for messages).
DELIMITERS: Final = {",": "comma", ";": "semicolon", "\t": "tab"}


def column_key(name: str) -> str:
    """How column names are compared: case-insensitively, ignoring spaces, dashes, underscores."""
    return name.strip().lower().replace(" ", "").replace("-", "").replace("_", "")


def not_utf8(error: UnicodeDecodeError, line: int | None = None) -> str:
    """What to tell the user about a file that is not UTF-8 (``line`` counted from 1).

    Without ``line``, it is worked out from the bytes the error holds (right
    when the whole file was decoded at once, as ``Path.read_text`` does).
    """
    if line is None:
        line = bytes(error.object[: error.start]).count(b"\n") + 1
    return f"not UTF-8 (line {line}): re-save the file as UTF-8"


def detect_format(path: str | Path, format: str | None = None) -> str:
    """``csv`` or ``jsonl``: ``format`` if given, else from the suffix (``.csv``, ``.jsonl``).

    ``.tsv`` reads as tab-separated CSV; ``.json`` and ``.ndjson`` as JSON Lines.
    Raises :class:`ImportFileError` for anything else.
    """
    file = Path(path)
    fmt = (format or file.suffix.lstrip(".")).lower()
    fmt = _ALIASES.get(fmt, fmt)
    if fmt not in IMPORT_FORMATS:
        raise ImportFileError(
            file,
            f"unknown format {fmt!r}: name the file .csv or .jsonl, or pass --format csv|jsonl",
        )
    return fmt


def count_lines(path: Path) -> int:
    """The number of lines in ``path``; :class:`ImportFileError` if it is not UTF-8.

    Reads the file once, a line at a time, so a file that is not UTF-8 is
    refused before anything of it is stored.
    """
    count = 0
    try:
        with path.open("rb") as handle:
            for count, raw in enumerate(handle, start=1):
                try:
                    raw.decode("utf-8")  # a UTF-8 character never spans a line break
                except UnicodeDecodeError as error:
                    raise ImportFileError(path, not_utf8(error, count)) from error
    except OSError as error:
        raise ImportFileError(path, f"cannot open: {error.strerror or error}") from error
    return count


def csv_header(path: str | Path, delimiter: str | None = None) -> tuple[str, list[str]]:
    """A CSV file's column separator and header: ``(",", ["id", "name", ...])``.

    Without ``delimiter``, the separator is the one of :data:`DELIMITERS` that
    splits the header line into the most columns (comma on a tie; tab first
    for a ``.tsv`` file).  Raises :class:`ImportFileError` for an empty file
    or a header that cannot be read.
    """
    file = Path(path)
    try:
        with file.open(encoding="utf-8-sig", newline="") as handle:
            first = handle.readline()
    except OSError as error:
        raise ImportFileError(file, f"cannot open: {error.strerror or error}") from error
    except UnicodeDecodeError as error:
        raise ImportFileError(file, not_utf8(error, 1)) from error
    if not first.strip():
        raise ImportFileError(file, "the file is empty: a CSV import needs a header line")
    candidates = [delimiter] if delimiter else list(DELIMITERS)
    if delimiter is None and file.suffix.lower() == ".tsv":
        candidates.sort(key=lambda d: d != "\t")
    best: tuple[str, list[str]] | None = None
    for candidate in candidates:
        try:
            header = next(csv.reader([first], delimiter=candidate, strict=True))
        except csv.Error:
            continue
        if best is None or len(header) > len(best[1]):
            best = (candidate, header)
    if best is None:
        raise ImportFileError(file, "the header line cannot be read: check its quotes")
    return best


def read_rows(
    path: str | Path, format: str | None = None, *, delimiter: str | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line, row)`` for each data row of a CSV or JSON Lines file.

    CSV rows map header names to strings (the header is line 1; ``line`` is
    where the row starts); the column separator is ``delimiter``, or found
    from the header (:func:`csv_header`).  JSON Lines objects are flattened
    (``{"company": {"name": ...}}`` gives ``company.name``) and blank lines
    are skipped.  A line that cannot be read as a row (in CSV also a quote
    left open, which would swallow the rows after it) yields
    ``{"__error__": reason}`` so it is reported like any bad row; a file that
    cannot be read at all raises :class:`ImportFileError`.
    """
    file = Path(path)
    fmt = detect_format(file, format)
    if fmt == "csv" and delimiter is None:
        delimiter = csv_header(file)[0]
    try:
        handle = file.open(encoding="utf-8-sig", newline="")
    except OSError as error:
        raise ImportFileError(file, f"cannot open: {error.strerror or error}") from error
    try:
        with handle:
            if fmt == "csv":
                yield from _csv_rows(file, handle, delimiter or ",")
            else:
                yield from _json_rows(handle)
    except UnicodeDecodeError as error:
        raise ImportFileError(file, "not UTF-8: re-save the file as UTF-8") from error


def _csv_rows(file: Path, handle: TextIO, delimiter: str) -> Iterator[tuple[int, dict[str, Any]]]:
    # strict: a quote that closes where no value ends is an error, not text swallowed
    reader = csv.reader(handle, delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError(file, "the file is empty: a CSV import needs a header line") from None
    except csv.Error as error:
        raise ImportFileError(file, f"the header line cannot be read: {error}") from error
    _check_header(file, header)
    last = reader.line_num
    while True:
        start = last + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            last = reader.line_num
            yield start, {"__error__": _broken_quotes(start, last, str(error))}
            continue
        end, last = reader.line_num, reader.line_num
        if not values:
            continue  # a blank line
        if end > start and len(values) != len(header):
            # a quoted value ran over line ends and took the next rows' values with it
            yield start, {"__error__": _broken_quotes(start, end, "")}
            continue
        out: dict[str, Any] = dict(zip(header, values, strict=False))
        out.update(dict.fromkeys(header[len(values) :]))  # missing values
        if len(values) > len(header):
            out["__error__"] = f"{len(values) - len(header)} more value(s) than header columns"
        yield start, out


def _broken_quotes(start: int, end: int, detail: str) -> str:
    """What to say about a row whose quotes do not balance."""
    lines = f"line {start}" if start == end else f"lines {start}-{end}"
    because = f" ({detail})" if detail else ""
    return (
        f"unbalanced quotes: a quote opened on line {start} does not close where a value ends, "
        f"so {lines} could not be read as rows{because}; fix the quotes and import again"
    )


def _json_rows(handle: TextIO) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, text in enumerate(handle, start=1):
        if not text.strip():
            continue
        data, problems = json_problems(text, parse_float=Decimal)
        if problems:
            reasons = (p.message if p.path == "$" else str(p) for p in problems)
            yield number, {"__error__": "; ".join(reasons)}
            continue
        if not isinstance(data, dict):
            kind = type(data).__name__
            yield number, {"__error__": f"a line must hold a JSON object, got {kind}"}
            continue
        flat: dict[str, Any] = {}
        _flatten("", data, flat)
        yield number, flat


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, out)
    else:
        out[prefix] = value


def _check_header(file: Path, header: Sequence[str]) -> None:
    """Refuse a header that names a column twice (compared as column names are matched)."""
    seen: dict[str, list[str]] = {}
    for name in header:
        seen.setdefault(column_key(name), []).append(name)
    repeated = [names for names in seen.values() if len(names) > 1]
    if repeated:
        listed = "; ".join(" and ".join(repr(n) for n in names) for names in repeated)
        raise ImportFileError(
            file, f"duplicate column(s) in the header: {listed}; give each column its own name"
        )
