from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelinekit import CurrencyMismatch, Money, PipelinekitError, ValidationError
from pipelinekit.testing import strategies as pks


def test_amount_accepts_decimal_int_and_numeric_string() -> None:
    assert Money(Decimal("1.50"), "EUR").amount == Decimal("1.50")
    assert Money(3, "EUR").amount == Decimal(3)
    assert Money(" 12.30 ", "eur") == Money(Decimal("12.30"), "EUR")


def test_float_is_refused_with_a_hint() -> None:
    with pytest.raises(ValidationError) as info:
        Money(1.5, "EUR")  # type: ignore[arg-type]
    assert info.value.paths == ("$.amount",)
    assert "'12.50'" in str(info.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ValidationError) as info:
        Money("abc", "ZZZ")  # type: ignore[arg-type]
    assert info.value.paths == ("$.amount", "$.currency")
    assert isinstance(info.value, PipelinekitError)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-inf"])
def test_non_finite_amounts_are_refused(amount: str) -> None:
    with pytest.raises(ValidationError):
        Money(amount, "EUR")  # type: ignore[arg-type]


def test_mixing_currencies_raises_currency_mismatch() -> None:
    with pytest.raises(CurrencyMismatch) as info:
        Money(1, "EUR") + Money(1, "USD")
    assert (info.value.left, info.value.right) == ("EUR", "USD")
    with pytest.raises(CurrencyMismatch):
        _ = Money(1, "EUR") < Money(2, "USD")


def test_sum_starts_from_zero() -> None:
    assert sum([Money("1.10", "EUR"), Money("2.20", "EUR")]) == Money("3.30", "EUR")


def test_rounding_follows_the_minor_unit() -> None:
    assert Money("10.125", "EUR").rounded() == Money("10.12", "EUR")  # banker's rounding
    assert Money("10.5", "JPY").rounded() == Money(10, "JPY")
    assert Money("1.2345", "KWD").rounded().amount == Decimal("1.234")


@given(pks.money(currencies=st.just("EUR")), pks.money(currencies=st.just("EUR")))
def test_addition_is_exact_and_commutative(a: Money, b: Money) -> None:
    assert a + b == b + a
    assert (a + b).amount == a.amount + b.amount
    assert (a + b) - b == a


@given(pks.money(), st.integers(-1000, 1000))
def test_multiplication_by_int_scales_amount(m: Money, k: int) -> None:
    assert (m * k).amount == m.amount * k
    assert k * m == m * k


@given(pks.money())
def test_equal_money_hashes_equal(m: Money) -> None:
    twin = Money(str(m.amount), m.currency.lower())
    assert twin == m
    assert hash(twin) == hash(m)
