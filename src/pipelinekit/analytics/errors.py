"""Errors raised by analytics."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import CurrencyMismatch, PipelinekitError

__all__ = ["AnalyticsError", "MissingRate", "MixedCurrencies"]


class AnalyticsError(PipelinekitError, ValueError):
    """Analytics were asked for something the data or the arguments cannot give."""


class MixedCurrencies(CurrencyMismatch):
    """A single total was asked for amounts in several currencies, with no rates to convert.

    ``currencies`` lists every currency found.  Pass ``rates=`` (and ``currency=``)
    to convert, or read the per-currency totals instead.
    """

    def __init__(self, currencies: Iterable[str], what: str = "total") -> None:
        self.currencies = tuple(sorted(currencies))
        self.what = what
        left, *rest = self.currencies
        super().__init__(f"compute the {what} of", left, ", ".join(rest))

    def __reduce__(self) -> tuple[Any, ...]:
        # pickling rebuilds it from its own arguments (CurrencyMismatch.__reduce__ would
        # pass the three of the base class); __reduce__ rather than __reduce_ex__, as
        # reducers registered with copyreg (tblib's, installed by dask.distributed) call it
        return (type(self), (self.currencies, self.what))


class MissingRate(AnalyticsError):
    """An amount's currency has no conversion rate in ``rates``."""

    def __init__(self, currency: str, target: str) -> None:
        self.currency = currency
        self.target = target
        super().__init__(
            f"no rate to convert {currency} into {target}: add rates[{currency!r}] "
            f"(how many {target} one {currency} is worth)"
        )

    def __reduce__(self) -> tuple[type[MissingRate], tuple[str, str]]:
        return (type(self), (self.currency, self.target))
