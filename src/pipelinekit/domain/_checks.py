"""Collecting every problem with a constructor's input before refusing it.

Constructors run all their checks and raise one :class:`ValidationError`
listing everything wrong, instead of stopping at the first problem.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, NoReturn, TypeVar

from ..errors import Problem, ValidationError

E = TypeVar("E", bound=StrEnum)
_NUL = "\x00"
_NUL_MESSAGE = "must not contain NUL characters (databases such as PostgreSQL cannot store them)"
SURROGATE_MESSAGE = "holds a lone surrogate, which no UTF-8 text can hold (decoded wrongly?)"


#: Integers at or beyond this size are refused (as every loader refuses more than 100
#: digits): they could not be written as text, nor stored.
BIG_INT = 10**100
BIG_INT_MESSAGE = "must have at most 100 digits"


def shown(value: object, limit: int = 200) -> str:
    """``repr(value)`` for a message, cut to ``limit`` characters; never raises (the repr of
    an integer past the interpreter's int/str limit, or of a container holding itself
    too deeply, would)."""
    if isinstance(value, int) and not -BIG_INT < value < BIG_INT:
        digits = int(value.bit_length() * 0.30103)
        return f"an integer of about {digits} digits"
    try:
        text = repr(value)
    except Exception:
        return f"a {type(value).__name__}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def unencodable(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate, so that it cannot be written as UTF-8."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class Checks:
    """A list of problems for one object under construction."""

    __slots__ = ("problems",)

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        """Record one problem at ``path``."""
        self.problems.append(Problem(path, message))

    def nested(self, path: str, error: ValidationError) -> None:
        """Record a nested object's problems below ``path``."""
        self.problems.extend(p.under(path) for p in error.problems)

    def text(self, path: str, value: object, *, required: bool, max_length: int = 1000) -> None:
        """Check an optional or required free-text field."""
        if (
            type(value) is str
            and len(value) <= max_length
            and value
            and not value.isspace()  # what value.strip() would leave empty, without a copy
            and _NUL not in value
            and (value.isascii() or not unencodable(value))
        ):
            return
        if value is None:
            if required:
                self.add(path, "is required")
        elif not isinstance(value, str):
            self.add(path, f"must be a string, got {type(value).__name__}")
        elif not value.strip():
            self.add(path, "must not be empty or blank")
        elif len(value) > max_length:
            self.add(path, f"must be at most {max_length} characters, got {len(value)}")
        elif _NUL in value:
            self.add(path, _NUL_MESSAGE)
        else:
            self.add(path, SURROGATE_MESSAGE)

    def free_text(self, path: str, value: object) -> None:
        """Check optional free text (notes): a string without NUL characters, or None."""
        if value is None:
            return
        if not isinstance(value, str):
            self.add(path, f"must be a string, got {type(value).__name__}")
        elif _NUL in value:
            self.add(path, _NUL_MESSAGE)
        elif unencodable(value):
            self.add(path, SURROGATE_MESSAGE)

    def instance(
        self, path: str, value: object, kind: type | tuple[type, ...], *, optional: bool
    ) -> bool:
        """Check ``isinstance``; return whether the value can be checked further."""
        if value is None:
            if not optional:
                self.add(path, "is required")
            return False
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            names = (
                kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            )
            self.add(path, f"must be {_article(names)} {names}, got {type(value).__name__}")
            return False
        return True

    def aware(self, path: str, value: object, *, optional: bool = False) -> datetime | None:
        """Check a timezone-aware datetime and return it in UTC (or None)."""
        if not self.instance(path, value, datetime, optional=optional):
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None or value.utcoffset() is None:
            self.add(path, "naive datetime refused: pass a timezone-aware one, e.g. tzinfo=UTC")
            return None
        return value if value.tzinfo is UTC else value.astimezone(UTC)

    def choice(self, path: str, kind: type[E], value: object) -> E | None:
        """One of the members of the str enum ``kind``, from a member or its value."""
        if isinstance(value, kind):
            return value
        if isinstance(value, str):
            try:
                return kind(value)
            except ValueError:
                pass
        choices = ", ".join(member.value for member in kind)
        self.add(path, f"must be one of {choices}; got {shown(value)}")
        return None

    def done(self, subject: object) -> None:
        """Raise if anything was recorded."""
        if self.problems:
            fail(subject, self.problems)


def fail(subject: object, problems: list[Problem]) -> NoReturn:
    """Raise a :class:`ValidationError` for ``subject`` (a class or instance)."""
    name = subject.__name__ if isinstance(subject, type) else type(subject).__name__
    raise ValidationError(name, problems)


def to_decimal(checks: Checks, path: str, value: Any) -> Decimal | None:
    """Accept Decimal, int or a numeric string; refuse floats (they are inexact)."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        checks.add(path, "must be a number, got bool")
        return None
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except ArithmeticError:
            checks.add(path, f"must be a decimal number, got {shown(value)}")
            return None
    elif isinstance(value, float):
        checks.add(path, "floats are refused (inexact): pass a Decimal or a string like '12.50'")
        return None
    else:
        checks.add(path, f"must be a Decimal, int or numeric string, got {type(value).__name__}")
        return None
    if not result.is_finite():
        checks.add(path, f"must be a finite number, got {shown(value)}")
        return None
    return result


def set_attr(obj: object, name: str, value: object) -> None:
    """Set a field on a frozen attrs instance during its own construction.

    Kept for storage records; the domain's own classes normalise their input in
    ``__init__`` and hand the final values to ``__attrs_init__``.
    """
    object.__setattr__(obj, name, value)


def mask(text: str | None) -> str | None:
    """Mask personal text for reprs: keep the first letter of each word."""
    if text is None:
        return None
    return " ".join(w[:1] + "***" for w in text.split())


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"
