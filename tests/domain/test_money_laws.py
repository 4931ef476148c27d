"""Money's laws: exact arithmetic, ordering, rounding and construction, as properties.

Every operator is checked against the same operation on the Decimal amounts, in one
currency; mixing currencies always raises CurrencyMismatch naming the operation.
"""

from __future__ import annotations

import operator
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_UP,
    ROUND_UP,
    Context,
    Decimal,
    localcontext,
)
from enum import IntEnum
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pipelinekit import CurrencyMismatch, Money, ValidationError
from pipelinekit.domain.money import MAX_AMOUNT
from pipelinekit.testing import strategies as pks

EUR = st.just("EUR")
amounts = st.decimals(min_value=-(10**9), max_value=10**9, places=4, allow_nan=False)
euros = pks.money(currencies=EUR)
any_money = pks.money()
other_money = st.tuples(pks.money(currencies=EUR), pks.money(currencies=st.just("USD")))

COMPARISONS = [
    ("lt", operator.lt),
    ("le", operator.le),
    ("gt", operator.gt),
    ("ge", operator.ge),
]


class Cents(IntEnum):
    """An int subclass, as enum-valued settings are."""

    TEN = 10


class Amount(str):
    """A str subclass, as some ORMs and templating libraries hand out."""


# -- construction -----------------------------------------------------------------


@given(amounts, pks.currencies())
def test_amount_and_currency_are_kept(amount: Decimal, currency: str) -> None:
    money = Money(amount, currency)
    assert money.amount == amount
    assert type(money.amount) is Decimal
    assert money.currency == currency


@given(st.integers(-(10**12), 10**12), pks.currencies())
def test_int_and_string_amounts_become_decimals(value: int, currency: str) -> None:
    for given_amount in (value, str(value), f"  {value} "):
        money = Money(given_amount, currency)  # type: ignore[arg-type]
        assert type(money.amount) is Decimal
        assert money.amount == Decimal(value)


def test_int_and_str_subclasses_become_plain_decimals() -> None:
    assert type(Money(Cents.TEN, "EUR").amount) is Decimal  # type: ignore[arg-type]
    assert Money(Cents.TEN, "EUR").amount == Decimal(10)  # type: ignore[arg-type]
    money = Money(Amount(" 2.50 "), "EUR")  # type: ignore[arg-type]
    assert type(money.amount) is Decimal
    assert money.amount == Decimal("2.50")


@given(pks.currencies(), st.sampled_from(["{}", " {} ", "{}\n"]))
def test_currency_is_stripped_and_upper_cased(currency: str, template: str) -> None:
    for spelling in (
        currency.lower(),
        template.format(currency),
        template.format(currency.lower()),
    ):
        assert Money(1, spelling).currency == currency


def _problems(make: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        make()
    return {p.path: p.message for p in info.value.problems}


def test_a_non_string_currency_is_reported_with_its_type() -> None:
    with pytest.raises(ValidationError) as info:
        Money(1, 978)  # type: ignore[arg-type]
    assert info.value.subject == "Money"
    assert [(p.path, p.message) for p in info.value.problems] == [
        ("$.currency", "must be a string, got int")
    ]


def test_an_unknown_currency_is_reported_as_given() -> None:
    assert _problems(lambda: Money(1, "eu r")) == {
        "$.currency": "unknown ISO 4217 currency code 'eu r'"
    }


@pytest.mark.parametrize(
    ("amount", "fragment"),
    [
        (1.5, "floats are refused"),
        (True, "must be a number, got bool"),
        ("1,50", "must be a decimal number, got '1,50'"),
        ([1], "got list"),
        ("NaN", "must be a finite number"),
        (Decimal("-Infinity"), "must be a finite number"),
    ],
)
def test_bad_amounts_are_reported_at_amount(amount: object, fragment: str) -> None:
    problems = _problems(lambda: Money(amount, "EUR"))  # type: ignore[arg-type]
    assert list(problems) == ["$.amount"]
    assert fragment in problems["$.amount"]


def test_amount_and_currency_problems_come_together() -> None:
    assert list(_problems(lambda: Money(1.0, None))) == ["$.amount", "$.currency"]  # type: ignore[arg-type]


# -- arithmetic ---------------------------------------------------------------------


@given(euros, euros)
def test_addition_and_subtraction_are_exact(a: Money, b: Money) -> None:
    assert a + b == Money(a.amount + b.amount, "EUR")
    assert a - b == Money(a.amount - b.amount, "EUR")
    assert (a + b).currency == (a - b).currency == "EUR"


@given(euros, euros, euros)
def test_addition_is_associative_and_commutative(a: Money, b: Money, c: Money) -> None:
    assert (a + b) + c == a + (b + c)
    assert a + b == b + a


@given(any_money)
def test_zero_is_the_identity(m: Money) -> None:
    zero = Money.zero(m.currency.lower())
    assert zero.currency == m.currency
    assert zero.amount == 0
    assert type(zero.amount) is Decimal
    assert m + zero == m == zero + m
    assert m - zero == m
    assert zero - m == -m
    assert not zero


@given(any_money)
def test_negation_and_absolute_value(m: Money) -> None:
    assert (-m).amount == -m.amount
    assert (-m).currency == m.currency
    assert -(-m) == m  # noqa: B002
    assert m + (-m) == Money.zero(m.currency)
    assert abs(m).amount == abs(m.amount)
    assert abs(m).currency == m.currency
    assert abs(m) == abs(-m)
    assert abs(m) >= Money.zero(m.currency)


@given(any_money)
def test_truthiness_is_a_non_zero_amount(m: Money) -> None:
    assert bool(m) is (m.amount != 0)


@given(any_money, st.one_of(st.integers(-1000, 1000), amounts))
@example(Money(Decimal("1000000000.00"), "AED"), Decimal("1000000000.0000"))  # 10**18: refused
def test_multiplication_scales_the_amount(m: Money, k: int | Decimal) -> None:
    with localcontext(Context(prec=200)):
        exact = m.amount * k
    if -MAX_AMOUNT < exact < MAX_AMOUNT:
        assert m * k == Money(exact, m.currency)
        assert k * m == m * k
    else:  # a product beyond the documented range is refused, never rounded
        with pytest.raises(ValidationError, match="10\\*\\*18"):
            _ = m * k
        with pytest.raises(ValidationError):
            _ = k * m


@given(any_money, st.one_of(st.booleans(), st.floats(allow_nan=False), st.text(max_size=2)))
def test_multiplying_by_a_bool_float_or_text_is_a_type_error(m: Money, k: object) -> None:
    with pytest.raises(TypeError):
        _ = m * k
    with pytest.raises(TypeError):
        _ = k * m


@given(any_money, st.one_of(st.integers(), amounts, st.booleans(), st.none()))
def test_only_money_adds_to_money(m: Money, other: object) -> None:
    with pytest.raises(TypeError):
        _ = m + other
    with pytest.raises(TypeError):
        _ = m - other
    with pytest.raises(TypeError):
        _ = other - m


@given(any_money)
def test_sum_starts_from_the_int_zero_only(m: Money) -> None:
    assert 0 + m is m
    assert sum([m, m]) == m + m
    for start in (1, -1, False, True, Decimal(0), 0.0, None):
        with pytest.raises(TypeError):
            _ = start + m


@given(other_money)
def test_mixing_currencies_names_the_operation(pair: tuple[Money, Money]) -> None:
    eur, usd = pair
    for combine, operation in ((operator.add, "add"), (operator.sub, "subtract")):
        with pytest.raises(CurrencyMismatch) as info:
            combine(eur, usd)
        assert (info.value.operation, info.value.left, info.value.right) == (
            operation,
            "EUR",
            "USD",
        )
        assert f"cannot {operation} EUR and USD" in str(info.value)


# -- ordering -----------------------------------------------------------------------


@given(euros, euros)
@pytest.mark.parametrize(("name", "compare"), COMPARISONS)
def test_ordering_follows_the_amounts(name: str, compare: Any, a: Money, b: Money) -> None:
    assert compare(a, b) is compare(a.amount, b.amount)
    assert compare(a, a) is compare(a.amount, a.amount)


@given(other_money)
@pytest.mark.parametrize(("name", "compare"), COMPARISONS)
def test_comparing_currencies_raises(name: str, compare: Any, pair: tuple[Money, Money]) -> None:
    eur, usd = pair
    with pytest.raises(CurrencyMismatch) as info:
        compare(eur, usd)
    assert (info.value.operation, info.value.left, info.value.right) == ("compare", "EUR", "USD")


@given(any_money, st.one_of(st.integers(), amounts, st.none()))
@pytest.mark.parametrize(("name", "compare"), COMPARISONS)
def test_comparing_with_a_number_is_a_type_error(
    name: str, compare: Any, m: Money, other: object
) -> None:
    with pytest.raises(TypeError):
        compare(m, other)
    with pytest.raises(TypeError):
        compare(other, m)
    assert m != other


@given(euros, euros, st.one_of(st.integers(), amounts, st.none(), st.text(max_size=2)))
def test_comparison_methods_answer_for_money_and_decline_other_types(
    a: Money, b: Money, other: object
) -> None:
    # Returning NotImplemented (not False) lets Python try the other operand's method.
    assert a.__lt__(b) is (a.amount < b.amount)
    assert a.__le__(b) is (a.amount <= b.amount)
    assert a.__gt__(b) is (a.amount > b.amount)
    assert a.__ge__(b) is (a.amount >= b.amount)
    for method in (a.__lt__, a.__le__, a.__gt__, a.__ge__, a.__add__, a.__sub__):
        assert method(other) is NotImplemented
    if other != 0 or isinstance(other, bool) or not isinstance(other, int):
        assert a.__radd__(other) is NotImplemented


@given(st.lists(euros, min_size=1, max_size=8))
def test_sorting_orders_by_amount(items: list[Money]) -> None:
    assert [m.amount for m in sorted(items)] == sorted(m.amount for m in items)
    assert max(items).amount == max(m.amount for m in items)


# -- rounding -----------------------------------------------------------------------

ROUNDINGS = [ROUND_UP, ROUND_DOWN, ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP]


@given(st.tuples(amounts, pks.currencies()))
def test_rounding_quantizes_to_the_minor_unit(pair: tuple[Decimal, str]) -> None:
    amount, currency = pair
    money = Money(amount, currency)
    rounded = money.rounded()
    assert rounded.currency == currency
    assert rounded.amount.as_tuple().exponent == -money.minor_unit
    # at most half a minor unit away, and rounding again changes nothing
    assert abs(rounded.amount - amount) <= Decimal(1).scaleb(-money.minor_unit) / 2
    assert rounded.rounded() == rounded


@given(amounts, st.sampled_from(ROUNDINGS))
def test_rounding_mode_is_used(amount: Decimal, mode: str) -> None:
    money = Money(amount, "EUR")
    assert money.rounded(mode).amount == amount.quantize(Decimal("0.01"), rounding=mode)


@pytest.mark.parametrize(
    ("amount", "currency", "mode", "expected"),
    [
        ("0.125", "EUR", None, "0.12"),  # banker's rounding by default
        ("0.135", "EUR", None, "0.14"),
        ("0.121", "EUR", ROUND_UP, "0.13"),
        ("-0.129", "EUR", ROUND_DOWN, "-0.12"),
        ("2.5", "JPY", None, "2"),
        ("2.5", "JPY", ROUND_HALF_UP, "3"),
        ("1.23456", "KWD", None, "1.235"),
        ("1.234567", "CLF", None, "1.2346"),
        ("7", "USD", None, "7.00"),
    ],
)
def test_rounding_examples(amount: str, currency: str, mode: str | None, expected: str) -> None:
    money = Money(amount, currency)
    rounded = money.rounded() if mode is None else money.rounded(mode)
    assert str(rounded.amount) == expected


@pytest.mark.parametrize(
    ("currency", "places"), [("EUR", 2), ("AUD", 2), ("JPY", 0), ("KWD", 3), ("CLF", 4)]
)
def test_minor_units(currency: str, places: int) -> None:
    assert Money(1, currency).minor_unit == places


@given(any_money)
def test_str_shows_amount_and_currency(m: Money) -> None:
    assert str(m) == f"{m.amount} {m.currency}"
