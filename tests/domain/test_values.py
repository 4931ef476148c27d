from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelinekit import (
    Channel,
    Company,
    EmailAddress,
    Event,
    Money,
    Person,
    PhoneNumber,
    Source,
    StageChange,
    ValidationError,
    custom_fields,
)
from pipelinekit.testing import strategies as pks


class TestEmailAddress:
    def test_domain_is_lower_cased_local_part_kept(self) -> None:
        email = EmailAddress(" Ada.Lovelace@Example.COM ")
        assert email.value == "Ada.Lovelace@example.com"
        assert email.domain == "example.com"

    @pytest.mark.parametrize(
        "bad",
        [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@localhost",
            "a b@example.com",
            "ada@exa_mple.com",
            "ada@-x.com",
            "ada@example.123",
            ".ada@example.com",
        ],
    )
    def test_invalid_addresses_are_refused(self, bad: str) -> None:
        with pytest.raises(ValidationError) as info:
            EmailAddress(bad)
        assert info.value.paths == ("$",)

    def test_repr_masks_the_local_part(self) -> None:
        assert "ada.lovelace" not in repr(EmailAddress("ada.lovelace@example.com"))

    @given(pks.email_addresses())
    def test_normalisation_is_idempotent(self, email: EmailAddress) -> None:
        assert EmailAddress(email.value) == email


class TestPhoneNumber:
    @pytest.mark.parametrize(
        ("raw", "normalised"),
        [
            ("+44 (20) 7946-0958", "+442079460958"),
            ("0044 20 7946 0958", "+442079460958"),
            ("030 1234567", "0301234567"),
            ("+1 415.555.0100 ext. 42", "+14155550100"),
        ],
    )
    def test_keeps_raw_and_normalises(self, raw: str, normalised: str) -> None:
        phone = PhoneNumber(raw)
        assert phone.raw == raw
        assert phone.normalised == normalised

    @pytest.mark.parametrize("bad", ["", "12345", "call me", "+" + "1" * 16])
    def test_refuses_non_numbers(self, bad: str) -> None:
        with pytest.raises(ValidationError):
            PhoneNumber(bad)

    def test_repr_shows_only_the_last_digits(self) -> None:
        assert "7946" not in repr(PhoneNumber("+44 20 7946 0958"))


class TestPerson:
    def test_needs_some_way_to_reach_them(self) -> None:
        with pytest.raises(ValidationError) as info:
            Person()
        assert info.value.paths == ("$",)

    def test_of_collects_nested_problems_with_paths(self) -> None:
        with pytest.raises(ValidationError) as info:
            Person.of("", email="nope", phone="12", seniority="emperor")
        assert set(info.value.paths) == {"$.name", "$.email", "$.phone", "$.seniority"}

    def test_of_builds_from_strings(self) -> None:
        person = Person.of("Ada", email="ada@example.com", seniority="c_level")
        assert person.email == EmailAddress("ada@example.com")
        assert person.seniority == "c_level"

    def test_repr_masks_the_name(self) -> None:
        assert "Lovelace" not in repr(Person(name="Ada Lovelace"))


class TestCompany:
    def test_reports_every_problem_at_once(self) -> None:
        with pytest.raises(ValidationError) as info:
            Company(
                "",
                domain="not a domain",
                employees=-3,
                annual_revenue=Money(-1, "EUR"),
                country="XX",
            )
        assert info.value.paths == (
            "$.name",
            "$.domain",
            "$.employees",
            "$.annual_revenue",
            "$.country",
        )
        assert "$.employees: must be >= 0, got -3" in str(info.value)

    def test_normalises_domain_and_country(self) -> None:
        company = Company("Acme", domain="https://www.ACME.io/pricing?x=1", country="de")
        assert (company.domain, company.country) == ("acme.io", "DE")

    def test_bool_is_not_an_employee_count(self) -> None:
        with pytest.raises(ValidationError):
            Company("Acme", employees=True)


def test_source_channel_from_string_and_bad_channel() -> None:
    assert Source("referral").channel is Channel.REFERRAL  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as info:
        Source("carrier pigeon")  # type: ignore[arg-type]
    assert "inbound_form" in str(info.value)


class TestEvent:
    def test_naive_time_is_refused(self) -> None:
        with pytest.raises(ValidationError) as info:
            Event("website_visit", datetime(2026, 1, 1))
        assert info.value.paths == ("$.at",)

    def test_time_is_stored_in_utc(self) -> None:
        cet = timezone(timedelta(hours=1))
        event = Event("email_open", datetime(2026, 1, 1, 12, tzinfo=cet))
        assert event.at == datetime(2026, 1, 1, 11, tzinfo=UTC)
        assert event.at.tzinfo is UTC

    def test_properties_must_be_scalars(self) -> None:
        with pytest.raises(ValidationError) as info:
            Event("Page View", datetime(2026, 1, 1, tzinfo=UTC), {"url": ["/a"]})  # type: ignore[dict-item]
        assert info.value.paths == ("$.kind", "$.properties.url")


def test_stage_change_requires_target_and_aware_time() -> None:
    with pytest.raises(ValidationError) as info:
        StageChange(None, "", "advance", datetime(2026, 1, 1))
    assert info.value.paths == ("$.to_stage", "$.at")


class TestCustomFields:
    def test_values_are_typed(self) -> None:
        with pytest.raises(ValidationError) as info:
            custom_fields(ok="x", bad=1.5, worse=object())
        assert set(info.value.paths) == {"$.bad", "$.worse"}

    def test_map_is_immutable_and_hashable(self) -> None:
        fields = custom_fields(plan="gold")
        assert hash(fields) == hash(custom_fields({"plan": "gold"}))
        assert fields.set("seats", 3)["seats"] == 3
        assert "plan" not in fields.remove("plan")
        with pytest.raises(TypeError):
            fields["x"] = 1  # type: ignore[index]


@given(st.one_of(pks.people(), pks.companies(), pks.events(), pks.sources(), pks.stage_changes()))
def test_values_are_equal_to_their_rebuilt_selves(value: object) -> None:
    import attrs

    rebuilt = attrs.evolve(value)  # type: ignore[misc]
    assert rebuilt == value
    assert hash(rebuilt) == hash(value)
