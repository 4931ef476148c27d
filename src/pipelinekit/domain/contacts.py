"""Contact value objects: email addresses, phone numbers and people."""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Callable
from typing import TypeVar

import attrs

from ..errors import Problem, ValidationError
from ._checks import Checks, fail, mask

__all__ = ["EmailAddress", "Person", "PhoneNumber", "Seniority"]

T = TypeVar("T")

# Matched with fullmatch: ``$`` would also accept a trailing newline.
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
# The happy path in one match; the step-by-step checks below explain a failure.
_LABEL_RE = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_HOST = re.compile(rf"(?:{_LABEL_RE}\.)+(?!\d+\Z){_LABEL_RE}")


def domain_problem(domain: str) -> str | None:
    """Return why ``domain`` (lower-cased) is not a valid host name, or None."""
    if len(domain) <= 253 and _HOST.fullmatch(domain):
        return None
    if len(domain) > 253:
        return "domain is longer than 253 characters"
    labels = domain.split(".")
    if len(labels) < 2:
        return f"domain {domain!r} needs a dot (e.g. example.com)"
    for label in labels:
        if not _LABEL.fullmatch(label):
            return f"domain {domain!r} has an invalid label {label!r}"
    if labels[-1].isdigit():
        return f"domain {domain!r} has a numeric top-level label"
    return None


def _email_problem(value: str) -> str | None:
    local, at, domain = value.rpartition("@")
    if len(value) <= 254 and len(local) <= 64 and _LOCAL.fullmatch(local):
        return domain_problem(domain.lower())
    if len(value) > 254:
        return "is longer than 254 characters"
    local, at, domain = value.rpartition("@")
    if not at or not local:
        return f"{_masked_email(value)!r} is not an email address (expected name@domain)"
    if len(local) > 64:
        return "local part is longer than 64 characters"
    if not _LOCAL.fullmatch(local):
        return f"local part of {_masked_email(value)!r} has characters not allowed in an address"
    return domain_problem(domain.lower())


def _masked_email(value: str) -> str:
    local, at, domain = value.rpartition("@")
    return f"{local[:1]}***@{domain}" if at else value[:1] + "***"


def _masked(name: str | None) -> str:
    return str(mask(name))


@attrs.frozen(repr=False, init=False)
class EmailAddress:
    """A syntax-checked email address; the domain is lower-cased, the local part kept as given.

    >>> EmailAddress("Ada.Lovelace@Example.COM").value
    'Ada.Lovelace@example.com'
    """

    value: str

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            fail(type(self), _one("$", f"must be a string, got {type(value).__name__}"))
        text = value.strip()
        problem = _email_problem(text)
        if problem:
            fail(type(self), _one("$", problem))
        local, _, domain = text.rpartition("@")
        self.__attrs_init__(f"{local}@{domain.lower()}")

    @property
    def domain(self) -> str:
        """The lower-cased domain part."""
        return self.value.rpartition("@")[2]

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"EmailAddress({_masked_email(self.value)!r})"


_PHONE_JUNK = re.compile(r"[\s().\-/]")


@attrs.frozen(repr=False, init=False)
class PhoneNumber:
    """A phone number stored as given, with a normalised form for matching.

    ``normalised`` keeps the digits, with a leading ``+`` when the number was
    international (``+`` or ``00`` prefix); an extension (``x123``/``ext. 123``)
    is dropped from it.

    >>> PhoneNumber("+44 (20) 7946-0958").normalised
    '+442079460958'
    """

    raw: str
    normalised: str = attrs.field(init=False, eq=False, hash=False)

    def __init__(self, raw: str) -> None:
        if not isinstance(raw, str):
            fail(type(self), _one("$", f"must be a string, got {type(raw).__name__}"))
        text = re.split(r"(?i)\s*(?:x|ext\.?|extension)\s*\d+\s*$", raw.strip())[0]
        compact = _PHONE_JUNK.sub("", text)
        international = compact.startswith(("+", "00"))
        digits = compact.lstrip("+")
        if compact.startswith("00"):
            digits = compact[2:]
        # isdecimal, not isdigit: superscripts and circled numbers are not digits to dial.
        if not digits.isdecimal() or not 6 <= len(digits) <= 15:
            fail(
                type(self),
                _one("$", "is not a phone number: expected 6 to 15 digits, optionally with +"),
            )
        if not digits.isascii():  # decimal digits of any script (Arabic-Indic, full-width...)
            digits = "".join(str(unicodedata.decimal(c)) for c in digits)
        self.__attrs_init__(raw)
        # a derived field, not an input: set once, here
        object.__setattr__(self, "normalised", ("+" if international else "") + digits)

    def __str__(self) -> str:
        return self.raw

    def __repr__(self) -> str:
        return f"PhoneNumber('***{self.normalised[-2:]}')"


class Seniority(enum.StrEnum):
    """How senior a contact is, from the buyer's org chart."""

    ENTRY = "entry"
    SENIOR = "senior"
    MANAGER = "manager"
    DIRECTOR = "director"
    VP = "vp"
    C_LEVEL = "c_level"
    OWNER = "owner"


@attrs.frozen(init=False)
class Person:
    """A contact person.  At least one of name, email or phone is required.

    The ``repr`` masks personal data (``Person(name='A*** L***', ...)``).
    """

    name: str | None = attrs.field(default=None, repr=_masked)
    email: EmailAddress | None = None
    phone: PhoneNumber | None = None
    job_title: str | None = None
    seniority: Seniority | None = None

    def __init__(
        self,
        name: str | None = None,
        email: EmailAddress | None = None,
        phone: PhoneNumber | None = None,
        job_title: str | None = None,
        seniority: Seniority | str | None = None,
    ) -> None:
        checks = Checks()
        checks.text("$.name", name, required=False, max_length=300)
        checks.instance("$.email", email, EmailAddress, optional=True)
        checks.instance("$.phone", phone, PhoneNumber, optional=True)
        checks.text("$.job_title", job_title, required=False, max_length=300)
        level = None if seniority is None else checks.choice("$.seniority", Seniority, seniority)
        if name is None and email is None and phone is None:
            checks.add("$", "a person needs at least a name, an email or a phone")
        checks.done(type(self))
        self.__attrs_init__(name, email, phone, job_title, level)

    @classmethod
    def of(
        cls,
        name: str | None = None,
        *,
        email: str | None = None,
        phone: str | None = None,
        job_title: str | None = None,
        seniority: Seniority | str | None = None,
    ) -> Person:
        """Build a person from plain strings, reporting every problem at once."""
        checks = Checks()
        mail = _try(checks, "$.email", EmailAddress, email)
        tel = _try(checks, "$.phone", PhoneNumber, phone)
        try:
            person = cls(name, mail, tel, job_title, seniority)
        except ValidationError as error:
            # The email and phone reached the constructor only if they were valid, so
            # its problems are the person's own; "needs a name, an email or a phone"
            # is moot when one was given but refused above.
            for problem in error.problems:
                if not (problem.path == "$" and (email or phone)):
                    checks.problems.append(problem)
            checks.done(cls)
            raise
        checks.done(cls)
        return person


def _try(checks: Checks, path: str, kind: Callable[[str], T], value: str | None) -> T | None:
    if value is None:
        return None
    try:
        return kind(value)
    except ValidationError as error:
        checks.nested(path, error)
        return None


def _one(path: str, message: str) -> list[Problem]:
    return [Problem(path, message)]
