"""The company (account) value object."""

from __future__ import annotations

import attrs

from ._checks import BIG_INT, BIG_INT_MESSAGE, Checks, shown
from ._iso import COUNTRIES
from .contacts import domain_problem
from .money import Money

__all__ = ["Company"]


@attrs.frozen(init=False)
class Company:
    """A company: the account a lead or opportunity belongs to.

    ``domain`` is a bare host name (``example.com``), lower-cased; a URL such as
    ``https://www.Example.com/`` is reduced to ``example.com`` (a leading ``www.``
    is dropped only when what is left still has a dot: ``www.example`` stays).
    ``country`` is an ISO 3166-1 alpha-2 code (upper-cased on input).

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

    def __init__(
        self,
        name: str,
        domain: str | None = None,
        industry: str | None = None,
        employees: int | None = None,
        annual_revenue: Money | None = None,
        country: str | None = None,
        region: str | None = None,
    ) -> None:
        checks = Checks()
        checks.text("$.name", name, required=True, max_length=300)
        host = domain
        if domain is not None:
            if isinstance(domain, str):
                host = _host(domain)
                problem = domain_problem(host)
                if problem:
                    given = "" if host == domain.strip() else f" (given as {domain.strip()!r})"
                    checks.add("$.domain", problem + given)
            else:
                checks.add("$.domain", f"must be a string, got {type(domain).__name__}")
        checks.text("$.industry", industry, required=False, max_length=200)
        if checks.instance("$.employees", employees, int, optional=True):
            assert employees is not None
            if employees < 0:
                checks.add("$.employees", f"must be >= 0, got {shown(employees)}")
            elif employees >= BIG_INT:
                checks.add("$.employees", BIG_INT_MESSAGE)
        if checks.instance("$.annual_revenue", annual_revenue, Money, optional=True):
            assert annual_revenue is not None
            if annual_revenue.amount < 0:
                checks.add("$.annual_revenue", "must not be negative")
        code = country
        if country is not None:
            if not isinstance(country, str):
                checks.add("$.country", f"must be a string, got {type(country).__name__}")
            elif country.upper() not in COUNTRIES:
                checks.add(
                    "$.country",
                    f"unknown ISO 3166-1 alpha-2 country code {country!r} (e.g. 'DE', 'US')",
                )
            else:
                code = country.upper()
        checks.text("$.region", region, required=False, max_length=200)
        checks.done(type(self))
        self.__attrs_init__(name, host, industry, employees, annual_revenue, code, region)


def _host(text: str) -> str:
    host = text.strip().lower()
    for prefix in ("https://", "http://"):
        if host.startswith(prefix):
            host = host[len(prefix) :]
    host = host.split("/", 1)[0].split("?", 1)[0].rstrip(".")
    if host.startswith("www.") and "." in host[4:]:  # www.example is a host of its own
        host = host[4:]
    return host
