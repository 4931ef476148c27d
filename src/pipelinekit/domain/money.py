"""Money: an exact Decimal amount with an ISO 4217 currency."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any, Final

import attrs

from ..errors import CurrencyMismatch
from ._checks import Checks, to_decimal
from ._iso import CURRENCIES, MINOR_UNITS

__all__ = ["MAX_AMOUNT", "MAX_PLACES", "Money"]

#: Amounts must be strictly between ``-MAX_AMOUNT`` and ``MAX_AMOUNT`` (10**18).
MAX_AMOUNT: Final = Decimal(10) ** 18
#: Amounts have at most this many decimal places; a product is rounded half-even to it.
MAX_PLACES: Final = 100
_SMALLEST: Final = Decimal(1).scaleb(-MAX_PLACES)
# Money's own arithmetic context, never the caller's: within the range, sums and
# differences need at most 18 + 100 digits, so they are exact.
_EXACT: Final = Context(prec=2 * (18 + MAX_PLACES), rounding=ROUND_HALF_EVEN)


def _in_range(amount: Decimal) -> bool:
    return -MAX_AMOUNT < amount < MAX_AMOUNT and int(amount.as_tuple().exponent) >= -MAX_PLACES


@attrs.frozen(order=False, init=False)
class Money:
    """An amount of one currency.

    ``amount`` takes a :class:`~decimal.Decimal`, an ``int`` or a numeric string;
    floats are refused because they are inexact.  ``currency`` is an ISO 4217
    code (upper-cased on input).  Arithmetic and comparison work only within one
    currency; mixing currencies raises :class:`~pipelinekit.CurrencyMismatch`.

    Amounts lie strictly between ``-10**18`` and ``10**18``, with at most 100
    decimal places (:data:`MAX_AMOUNT`, :data:`MAX_PLACES`); anything else is
    refused with a :class:`~pipelinekit.ValidationError`, whether given or
    computed.  Within that range sums and differences are exact, whatever the
    caller's decimal context; a product is exact up to 100 decimal places,
    rounded half-even beyond.

    >>> Money("19.90", "eur") + Money(10, "EUR")
    Money(amount=Decimal('29.90'), currency='EUR')
    """

    amount: Decimal
    currency: str

    def __init__(self, amount: Decimal | int | str, currency: str) -> None:
        if (
            type(amount) is Decimal
            and amount.is_finite()
            and _in_range(amount)
            and type(currency) is str
            and currency in CURRENCIES
        ):
            # the common case: arithmetic on amounts that are already valid
            self.__attrs_init__(amount, currency)
            return
        checks = Checks()
        number = to_decimal(checks, "$.amount", amount)
        code = currency
        if not isinstance(currency, str):
            checks.add("$.currency", f"must be a string, got {type(currency).__name__}")
        else:
            code = currency.strip().upper()
            if code not in CURRENCIES:
                checks.add("$.currency", f"unknown ISO 4217 currency code {currency!r}")
        if number is not None and not _in_range(number):
            checks.add(
                "$.amount",
                "must be between -10**18 and 10**18 (exclusive), with at most "
                f"{MAX_PLACES} decimal places",
            )
        checks.done(type(self))
        assert number is not None
        self.__attrs_init__(number, code)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Return zero in ``currency``."""
        return cls(Decimal(0), currency)

    @property
    def minor_unit(self) -> int:
        """Decimal places of the currency's minor unit (2 for EUR, 0 for JPY)."""
        return MINOR_UNITS.get(self.currency, 2)

    def rounded(self, rounding: str = ROUND_HALF_EVEN) -> Money:
        """Return the amount rounded to the currency's minor unit (banker's rounding by default)."""
        exp = Decimal(1).scaleb(-self.minor_unit)
        return Money(self.amount.quantize(exp, rounding=rounding, context=_EXACT), self.currency)

    def _same(self, other: Money, operation: str) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatch(operation, self.currency, other.currency)

    def __add__(self, other: object) -> Money:
        if isinstance(other, Money):
            self._same(other, "add")
            return Money(_EXACT.add(self.amount, other.amount), self.currency)
        return NotImplemented

    def __radd__(self, other: object) -> Money:
        # Lets sum() start from 0.
        if isinstance(other, int) and not isinstance(other, bool) and other == 0:
            return self
        return NotImplemented

    def __sub__(self, other: object) -> Money:
        if isinstance(other, Money):
            self._same(other, "subtract")
            return Money(_EXACT.subtract(self.amount, other.amount), self.currency)
        return NotImplemented

    def __mul__(self, factor: object) -> Money:
        if isinstance(factor, Decimal | int) and not isinstance(factor, bool):
            return Money(_product(self.amount, factor), self.currency)
        return NotImplemented

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(_EXACT.minus(self.amount), self.currency)

    def __abs__(self) -> Money:
        return Money(_EXACT.abs(self.amount), self.currency)

    def __bool__(self) -> bool:
        return bool(self.amount)

    def _cmp(self, other: Any, operation: str) -> tuple[Decimal, Decimal] | None:
        if not isinstance(other, Money):
            return None
        self._same(other, operation)
        return self.amount, other.amount

    def __lt__(self, other: object) -> bool:
        pair = self._cmp(other, "compare")
        return NotImplemented if pair is None else pair[0] < pair[1]

    def __le__(self, other: object) -> bool:
        pair = self._cmp(other, "compare")
        return NotImplemented if pair is None else pair[0] <= pair[1]

    def __gt__(self, other: object) -> bool:
        pair = self._cmp(other, "compare")
        return NotImplemented if pair is None else pair[0] > pair[1]

    def __ge__(self, other: object) -> bool:
        pair = self._cmp(other, "compare")
        return NotImplemented if pair is None else pair[0] >= pair[1]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def _product(amount: Decimal, factor: Decimal | int) -> Decimal:
    """``amount x factor``, exact up to :data:`MAX_PLACES` decimal places (half-even beyond)."""
    number = Decimal(factor)
    if not number.is_finite() or abs(number.adjusted()) > 2 * MAX_PLACES:
        return number  # refused by the constructor: no result is in range
    context = _EXACT.copy()
    context.prec += len(number.as_tuple().digits)
    product = context.multiply(amount, number)
    if int(product.as_tuple().exponent) < -MAX_PLACES:
        product = product.quantize(_SMALLEST, context=context)
    return product
