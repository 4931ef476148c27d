"""The one decoding boundary: external text and plain data checked against documented limits.

Every loader of pipelinekit reads its input through here before structuring it
(:mod:`pipelinekit.validation`): JSON text or bytes, TOML text, and plain data
from a caller (dicts, lists, scalars).  The limits are applied *before* Python's
own limits can fire, so hostile or careless input gets a
:class:`~pipelinekit.ValidationError` naming the path of each problem, never a
``RecursionError``, a ``ValueError`` from the interpreter's int/str conversion
limit, a ``UnicodeDecodeError``, or an integer so large that building it hangs.

Nothing process-wide is changed: neither the recursion limit nor
``sys.set_int_max_str_digits``.  The public names are re-exported by
:mod:`pipelinekit.validation`.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final

from .errors import Problem, ValidationError

__all__ = [
    "MAX_DEPTH",
    "MAX_DIGITS",
    "MAX_EXPONENT",
    "MAX_TEXT",
    "check_data",
    "data_problems",
    "decimal_problem",
    "decode_json",
    "decode_toml",
    "json_problems",
    "text_problem",
    "within_limits",
]

#: Containers (mappings, lists) nested deeper than this are refused.
MAX_DEPTH: Final = 64
#: Integers and decimal numbers with more significant digits than this are refused.
MAX_DIGITS: Final = 100
#: Decimal numbers whose exponent (``Decimal.adjusted()``) is beyond ``±MAX_EXPONENT``
#: are refused: ``1e999999999`` is one digit, but an integer with a billion digits.
MAX_EXPONENT: Final = 100
#: Strings (and mapping keys) longer than this many characters are refused.
MAX_TEXT: Final = 1_000_000

_INT_BOUND: Final = 10**MAX_DIGITS


class _TooManyDigits:
    """Stands in for a JSON integer literal too long to convert (reported by the walk)."""

    __slots__ = ("digits",)

    def __init__(self, digits: int) -> None:
        self.digits = digits


def _parse_int(literal: str) -> int | _TooManyDigits:
    digits = len(literal) - literal.startswith("-")
    if digits > MAX_DIGITS:
        return _TooManyDigits(digits)
    return int(literal)


def _too_many_digits(digits: int | str) -> str:
    return f"number has {digits} digits; at most {MAX_DIGITS} are accepted"


def decimal_problem(number: Decimal) -> str | None:
    """Why ``number`` is beyond the decoding limits (digits, exponent), or ``None``.

    Non-finite numbers (NaN, infinity) are left to the caller, which knows
    whether it accepts them.
    """
    if not number.is_finite():
        return None
    if len(str(number)) <= MAX_DIGITS and -MAX_EXPONENT <= number.adjusted() <= MAX_EXPONENT:
        return None  # the common case, without building the digit tuple
    digits = len(number.as_tuple().digits)
    if digits > MAX_DIGITS:
        return _too_many_digits(digits)
    if abs(number.adjusted()) > MAX_EXPONENT:
        return (
            f"number's exponent is {number.adjusted()}; numbers between 1e-{MAX_EXPONENT} "
            f"and 1e{MAX_EXPONENT} in size are accepted"
        )
    return None


def text_problem(text: str) -> str | None:
    """Why ``text`` is beyond the decoding limits (length, lone surrogates), or ``None``."""
    if len(text) > MAX_TEXT:
        return f"text of {len(text)} characters; at most {MAX_TEXT} are accepted"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            return (
                f"holds a lone surrogate (character {error.start}), which no UTF-8 text "
                "can hold: the data was decoded wrongly"
            )
    return None


#: Where a value is: ``None`` at the root, else ``(parent, key or index)``; rendered as a
#: path only for a problem, so that walking valid data builds no strings.
_Where = tuple[Any, object] | None


def _render(root: str, where: _Where) -> str:
    steps: list[object] = []
    while where is not None:
        where, step = where
        steps.append(step)
    path = root
    for step in reversed(steps):
        if isinstance(step, int):
            path += f"[{step}]"
        elif isinstance(step, str) and len(step) <= 200 and text_problem(step) is None:
            path += f".{step}"
        else:
            path += "[<key>]"
    return path


def data_problems(data: object, path: str = "$") -> list[Problem]:
    """Every place in ``data`` (plain data: mappings, lists, scalars) beyond the limits.

    Checks nesting depth (:data:`MAX_DEPTH`, which also stops at a container that
    holds itself), integer size and decimal digits and exponent
    (:data:`MAX_DIGITS`, :data:`MAX_EXPONENT`), string and key length
    (:data:`MAX_TEXT`), and strings that cannot be UTF-8 (lone surrogates).
    Types are not checked here: structuring does that.
    """
    found: list[tuple[_Where, str]] = []
    _walk(data, None, 0, found)
    return [Problem(_render(path, where), message) for where, message in found]


_PLAIN: Final = frozenset({type(None), bool, float})


def _walk(value: object, where: _Where, depth: int, found: list[tuple[_Where, str]]) -> None:
    kind = type(value)
    if kind is str:
        text: str = value  # type: ignore[assignment]
        if len(text) > MAX_TEXT or not text.isascii():
            problem = text_problem(text)
            if problem is not None:
                found.append((where, problem))
    elif kind in _PLAIN:
        return
    elif kind is dict or (kind is not str and isinstance(value, Mapping)):
        if depth >= MAX_DEPTH:
            found.append((where, f"nested more than {MAX_DEPTH} levels deep"))
            return
        for key, item in value.items():  # type: ignore[attr-defined]
            here = (where, key)
            if type(key) is str:
                if len(key) > MAX_TEXT or not key.isascii():
                    problem = text_problem(key)
                    if problem is not None:
                        found.append((here, f"key {problem}"))
                        continue
            else:
                _walk(key, here, depth + 1, found)
            _walk(item, here, depth + 1, found)
    elif kind is list or kind is tuple or isinstance(value, list | tuple | set | frozenset):
        if depth >= MAX_DEPTH:
            found.append((where, f"nested more than {MAX_DEPTH} levels deep"))
            return
        for index, item in enumerate(value):  # type: ignore[arg-type]
            _walk(item, (where, index), depth + 1, found)
    elif isinstance(value, int):  # bool is handled above
        if not -_INT_BOUND < value < _INT_BOUND:
            found.append((where, f"integer has more than {MAX_DIGITS} digits"))
    elif isinstance(value, Decimal):
        problem = decimal_problem(value)
        if problem is not None:
            found.append((where, problem))
    elif isinstance(value, _TooManyDigits):
        found.append((where, _too_many_digits(value.digits)))
    elif isinstance(value, str):  # a str subclass
        _walk(str(value), where, depth, found)


def within_limits(value: object, depth: int = MAX_DEPTH) -> bool:
    """Whether ``value`` has no problem :func:`data_problems` would report, its containers
    nested fewer than ``depth`` levels (at most :data:`MAX_DEPTH`).

    For structuring that checks a part of a document on its own, with a depth budget
    that leaves room for where the part sits.
    """
    found: list[tuple[_Where, str]] = []
    _walk(value, None, MAX_DEPTH - depth, found)
    return not found


def check_data(data: object, subject: str, path: str = "$") -> None:
    """Raise one :class:`~pipelinekit.ValidationError` if ``data`` is beyond the limits."""
    problems = data_problems(data, path)
    if problems:
        raise ValidationError(subject, problems)


def _text_of(raw: str | bytes | bytearray, form: str) -> tuple[str | None, list[Problem]]:
    if isinstance(raw, str):
        return raw, []
    if not isinstance(raw, bytes | bytearray):
        return None, [Problem("$", f"must be {form} text (str or bytes), got {type(raw).__name__}")]
    data = bytes(raw)
    encoding = json.detect_encoding(data) if form == "JSON" else "utf-8"
    try:
        return data.decode(encoding), []
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        return None, [
            Problem("$", f"is not valid {encoding.upper()} text (byte {error.start}, line {line})")
        ]


def json_problems(
    text: str | bytes | bytearray, *, parse_float: Callable[[str], Any] = float
) -> tuple[Any, list[Problem]]:
    """``text`` (JSON, as str or UTF-8/16/32 bytes) parsed and checked: the data and no
    problems, or ``None`` and every problem (syntax, encoding, or beyond the limits)."""
    source, problems = _text_of(text, "JSON")
    if source is None:
        return None, problems
    try:
        data = json.loads(source, parse_int=_parse_int, parse_float=parse_float)
    except json.JSONDecodeError as error:
        message = f"is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        return None, [Problem("$", message)]
    except RecursionError:
        return None, [Problem("$", f"nested more than {MAX_DEPTH} levels deep")]
    except ValueError as error:  # a float literal parse_float refuses
        return None, [Problem("$", f"is not valid JSON: {error}")]
    problems = data_problems(data)
    return (None, problems) if problems else (data, [])


def decode_json(
    text: str | bytes | bytearray, subject: str, *, parse_float: Callable[[str], Any] = float
) -> Any:
    """``text`` parsed as JSON within the limits; one ValidationError (``subject``) if not."""
    data, problems = json_problems(text, parse_float=parse_float)
    if problems:
        raise ValidationError(subject, problems)
    return data


def decode_toml(text: str | bytes | bytearray, subject: str) -> dict[str, Any]:
    """``text`` parsed as TOML (floats as Decimal) within the limits; one ValidationError
    (``subject``) listing every problem if it is not valid or goes beyond them."""
    source, problems = _text_of(text, "TOML")
    if source is None:
        raise ValidationError(subject, problems)
    try:
        data = tomllib.loads(source, parse_float=Decimal)
    except tomllib.TOMLDecodeError as error:
        raise ValidationError(subject, [Problem("$", f"invalid TOML: {error}")]) from None
    except RecursionError:
        message = f"nested more than {MAX_DEPTH} levels deep"
        raise ValidationError(subject, [Problem("$", message)]) from None
    except ValueError as error:  # the interpreter's int/str conversion limit
        message = f"holds a number of too many digits; at most {MAX_DIGITS} are accepted"
        raise ValidationError(subject, [Problem("$", message)]) from error
    check_data(data, subject)
    return data
