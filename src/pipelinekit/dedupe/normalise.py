"""How values are normalised before they are compared: emails, domains, phones, names.

Every matching rule compares normalised values, so ``Ada@Example.COM `` and
``ada@example.com`` are the same address and ``ACME Inc.`` and ``Acme`` the
same company name.  Phones become E.164 (``+442079460958``) when the optional
``phonenumbers`` package is installed (the ``phone`` extra) and a region is
configured or the number is international; otherwise the digits, with a
leading ``+`` for an international number, as :class:`~pipelinekit.domain.PhoneNumber`
keeps them.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

__all__ = [
    "LEGAL_SUFFIXES",
    "PUBLIC_MAIL_DOMAINS",
    "company_key",
    "email_key",
    "name_key",
    "phone_key",
]

#: Mail providers whose domain says nothing about the company behind an address.
PUBLIC_MAIL_DOMAINS = frozenset(
    {
        "126.com", "163.com", "aol.com", "fastmail.com", "free.fr", "gmail.com", "gmx.com",
        "gmx.de", "gmx.net", "googlemail.com", "hey.com", "hotmail.co.uk", "hotmail.com",
        "hotmail.fr", "icloud.com", "laposte.net", "live.com", "mac.com", "mail.com",
        "mail.ru", "me.com", "msn.com", "orange.fr", "outlook.com", "proton.me",
        "protonmail.com", "qq.com", "t-online.de", "tutanota.com", "wanadoo.fr", "web.de",
        "yahoo.co.uk", "yahoo.com", "yahoo.fr", "yandex.com", "yandex.ru", "zoho.com",
    }
)  # fmt: skip

#: Legal-form words dropped from company names before they are compared.
LEGAL_SUFFIXES = frozenset(
    {
        "ab", "ag", "as", "bv", "co", "company", "corp", "corporation", "gmbh", "inc",
        "incorporated", "kg", "kk", "limited", "llc", "llp", "lp", "ltd", "nv", "oy", "plc",
        "pte", "pty", "sa", "sarl", "sas", "spa", "srl", "ug",
    }
)  # fmt: skip

_NOT_WORD = re.compile(r"[^\w]+")
_DOTTED = re.compile(r"\b(\w)\.(?=\w\b)")  # "S.A.R.L." -> "SARL"


#: ASCII characters that are not word characters (``\\w``: letters, digits, ``_``) -> space.
_ASCII_SPACES = {code: " " for code in range(128) if not (chr(code).isalnum() or chr(code) == "_")}


def _plain(text: str) -> str:
    """Case-folded, accents removed, punctuation turned into single spaces."""
    folded = text.casefold()
    if folded.isascii():  # the common case, without a regular expression
        return " ".join(folded.translate(_ASCII_SPACES).split())
    decomposed = unicodedata.normalize("NFKD", folded)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_NOT_WORD.sub(" ", folded).split())


def _first(match: re.Match[str]) -> str:
    return match.group(1)


def email_key(address: str | None) -> str | None:
    """``address`` trimmed and lower-cased (the local part too), or ``None``."""
    if not address:
        return None
    key = address.strip().lower()
    return key or None


def name_key(name: str | None) -> str | None:
    """A person's name case-folded, without accents or punctuation, words sorted.

    Sorting the words makes ``Lovelace, Ada`` and ``ada lovelace`` one name.
    """
    if not name:
        return None
    words = sorted(_plain(name).split())
    return " ".join(words) or None


def company_key(name: str | None) -> str | None:
    """A company name case-folded, without accents, punctuation or legal-form words.

    ``ACME Inc.``, ``Acme`` and ``acme, inc`` all give ``acme``; a name made only
    of legal-form words is kept as it is.
    """
    if not name:
        return None
    words = _plain(_DOTTED.sub(_first, name) if "." in name else name).split()
    kept = [w for w in words if w not in LEGAL_SUFFIXES]
    return " ".join(kept or words) or None


def phone_key(normalised: str | None, region: str | None = None) -> str | None:
    """A phone number for matching: E.164 with ``phonenumbers``, else the digits.

    ``normalised`` is :attr:`PhoneNumber.normalised` (digits, ``+`` if international).
    An international number is compared as ``+`` and its digits, which is its
    E.164 form.  A national one is parsed in ``region`` (an ISO country code
    such as ``"GB"``) with ``phonenumbers`` installed; without a region or
    ``phonenumbers``, or when it cannot be parsed, it is compared by its digits.
    """
    if not normalised:
        return None
    if region is None or normalised.startswith("+"):
        return normalised
    phonenumbers = _phonenumbers()
    if phonenumbers is None:
        return normalised
    try:
        parsed = phonenumbers.parse(normalised, region)
    except phonenumbers.NumberParseException:
        return normalised
    if not phonenumbers.is_possible_number(parsed):
        return normalised
    text: str = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return text


_MISSING = object()
_LOADED: dict[str, Any] = {}


def _phonenumbers() -> Any:
    """The ``phonenumbers`` module, or ``None`` when it is not installed."""
    module = _LOADED.get("phonenumbers", _MISSING)
    if module is _MISSING:
        try:
            import phonenumbers
        except ImportError:
            module = None
        else:
            module = phonenumbers
        _LOADED["phonenumbers"] = module
    return module
