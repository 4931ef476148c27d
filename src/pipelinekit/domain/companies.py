"""The company (account) value object."""

from __future__ import annotations

import attrs

from ._checks import Checks, set_attr
from ._iso import COUNTRIES
from .contacts import domain_problem
from .money import Money

__all__ = ["Company"]


@attrs.frozen
class Company:
    """A company: the account a lead or opportunity belongs to.

    ``domain`` is a bare host name (``example.com``), lower-cased; a URL such as
    ``https://www.Example.com/`` is reduced to ``example.com``.  ``country`` is an
    ISO 3166-1 alpha-2 code (upper-cased on input).

    >>> Company("Acme", domain="https://www.ACME.io/about", country="de").domain
    'acme.io'
    """

    name: str
    domain: str | None = None
    industry: str | None = None
    employees: int | None = None
    annual_revenue: Money | None = None
    country: str | None = None
    region: str | None = None

    def __attrs_post_init__(self) -> None:
        checks = Checks()
        checks.text("$.name", self.name, required=True, max_length=300)
        if self.domain is not None:
            if isinstance(self.domain, str):
                host = _host(self.domain)
                problem = domain_problem(host)
                if problem:
                    checks.add("$.domain", problem)
                elif host != self.domain:
                    set_attr(self, "domain", host)
            else:
                checks.add("$.domain", f"must be a string, got {type(self.domain).__name__}")
        checks.text("$.industry", self.industry, required=False, max_length=200)
        if checks.instance("$.employees", self.employees, int, optional=True):
            assert self.employees is not None
            if self.employees < 0:
                checks.add("$.employees", f"must be >= 0, got {self.employees}")
        if checks.instance("$.annual_revenue", self.annual_revenue, Money, optional=True):
            assert self.annual_revenue is not None
            if self.annual_revenue.amount < 0:
                checks.add("$.annual_revenue", "must not be negative")
        if self.country is not None:
            if not isinstance(self.country, str):
                checks.add("$.country", f"must be a string, got {type(self.country).__name__}")
            elif self.country.upper() not in COUNTRIES:
                checks.add(
                    "$.country",
                    f"unknown ISO 3166-1 alpha-2 country code {self.country!r} (e.g. 'DE', 'US')",
                )
            elif self.country != self.country.upper():
                set_attr(self, "country", self.country.upper())
        checks.text("$.region", self.region, required=False, max_length=200)
        checks.done(self)


def _host(text: str) -> str:
    host = text.strip().lower()
    for prefix in ("https://", "http://"):
        if host.startswith(prefix):
            host = host[len(prefix) :]
    host = host.split("/", 1)[0].split("?", 1)[0].rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    return host
