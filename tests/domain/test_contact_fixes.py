"""Regressions found by mutation testing of the contact value objects."""

from __future__ import annotations

import pytest

from pipelinekit import Company, EmailAddress, PhoneNumber, ValidationError


@pytest.mark.parametrize(
    "text", ["a\n@example.com", "ada\n\n@example.com", "ada@example.com\n.x", "a@exa\nmple.com"]
)
def test_a_newline_inside_an_email_address_is_refused(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        EmailAddress(text)
    assert info.value.paths == ("$",)


def test_a_newline_inside_a_company_domain_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        Company("Acme", domain="acme\n.io")
    assert info.value.paths == ("$.domain",)


@pytest.mark.parametrize("text", ["²²²²²²²", "+① 234 567 890", "12345⁶⁷"])
def test_superscripts_and_circled_numbers_are_not_phone_digits(text: str) -> None:
    with pytest.raises(ValidationError):
        PhoneNumber(text)


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("+٤٤ ٢٠ ٧٩٤٦ ٠٩٥٨", "+442079460958"),  # Arabic-Indic digits
        ("０２０ ７９４６ ０９５８", "02079460958"),  # noqa: RUF001 - full-width digits
        ("+91 ९८७६५ ४३२१०", "+919876543210"),  # Devanagari digits
    ],
)
def test_decimal_digits_of_any_script_normalise_to_ascii(text: str, normalised: str) -> None:
    phone = PhoneNumber(text)
    assert phone.normalised == normalised
    assert phone.raw == text
