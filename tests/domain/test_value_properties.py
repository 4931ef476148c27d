"""Value objects as properties: normalisation, masking, and every problem at its path.

The messages checked here are the documented ones (``$.path: what is wrong``): a user
reading a ValidationError must learn which field is wrong and why.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from pipelinekit import (
    Channel,
    Company,
    EmailAddress,
    Event,
    FrozenMap,
    Money,
    Person,
    PhoneNumber,
    Seniority,
    Source,
    StageChange,
    ValidationError,
    custom_fields,
)
from pipelinekit.testing import strategies as pks

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CET = timezone(timedelta(hours=1))


def problems(make: Callable[[], object]) -> dict[str, str]:
    """The ``{path: message}`` of the ValidationError ``make()`` raises."""
    with pytest.raises(ValidationError) as info:
        make()
    return {p.path: p.message for p in info.value.problems}


def subject(make: Callable[[], object]) -> str:
    with pytest.raises(ValidationError) as info:
        make()
    return info.value.subject


# -- email addresses ---------------------------------------------------------------

locals_ = st.text(string.ascii_letters + string.digits + "._%+-", min_size=1, max_size=20).filter(
    lambda s: not s.startswith(".") and not s.endswith(".") and ".." not in s
)


@given(locals_, pks.email_addresses())
def test_email_keeps_the_local_part_and_lower_cases_the_domain(local: str, other: Any) -> None:
    domain = other.domain
    address = EmailAddress(f"  {local}@{domain.upper()} ")
    assert address.value == f"{local}@{domain}"
    assert address.domain == domain
    assert str(address) == address.value
    assert EmailAddress(address.value) == address


@given(pks.email_addresses())
def test_email_repr_masks_the_local_part(address: EmailAddress) -> None:
    local = address.value.rpartition("@")[0]
    assert repr(address) == f"EmailAddress('{local[0]}***@{address.domain}')"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("adaexample.com", "'a***' is not an email address (expected name@domain)"),
        ("@example.com", "'***@example.com' is not an email address (expected name@domain)"),
        ("a" * 65 + "@example.com", "local part is longer than 64 characters"),
        ("a@" + "b" * 250 + ".com", "is longer than 254 characters"),
        (
            "a b@example.com",
            "local part of 'a***@example.com' has characters not allowed in an address",
        ),
        (
            "a@b@example.com",
            "local part of 'a***@example.com' has characters not allowed in an address",
        ),
        (
            "a..b@example.com",
            "local part of 'a***@example.com' has characters not allowed in an address",
        ),
        ("ada@localhost", "domain 'localhost' needs a dot (e.g. example.com)"),
        ("ada@Exa_mple.com", "domain 'exa_mple.com' has an invalid label 'exa_mple'"),
        ("ada@-x.com", "domain '-x.com' has an invalid label '-x'"),
        ("ada@x-.com", "domain 'x-.com' has an invalid label 'x-'"),
        ("ada@a..com", "domain 'a..com' has an invalid label ''"),
        ("ada@example.123", "domain 'example.123' has a numeric top-level label"),
        ("ada@" + "a" * 64 + ".com", f"domain '{'a' * 64}.com' has an invalid label '{'a' * 64}'"),
    ],
)
def test_email_problems_say_what_is_wrong(text: str, message: str) -> None:
    assert problems(lambda: EmailAddress(text)) == {"$": message}
    assert subject(lambda: EmailAddress(text)) == "EmailAddress"


@pytest.mark.parametrize("text", ["ada@x.io", "a@b.co", "x@" + "a" * 63 + ".com", "ada@1.io"])
def test_email_edge_cases_that_are_valid(text: str) -> None:
    assert EmailAddress(text).value == text


def test_email_of_the_longest_allowed_length() -> None:
    host = ".".join(["a" * 61] * 3) + ".com"  # 187 characters
    local = "l" * 64
    assert len(f"{local}@{host}") <= 254
    assert EmailAddress(f"{local}@{host}").domain == host
    domain = ".".join(["a" * 63] * 3) + "." + "b" * 61  # exactly 253 characters
    assert len(domain) == 253
    assert Company("Acme", domain=domain).domain == domain
    assert problems(lambda: Company("Acme", domain="c" + domain)) == {
        "$.domain": "domain is longer than 253 characters"
    }


def test_email_must_be_a_string() -> None:
    assert problems(lambda: EmailAddress(42)) == {"$": "must be a string, got int"}  # type: ignore[arg-type]


# -- phone numbers -----------------------------------------------------------------

digits = st.from_regex(r"[1-9][0-9]{5,14}", fullmatch=True)


@given(
    digits,
    st.sampled_from(["", "+", "00"]),
    st.sampled_from(["", " x12", " ext. 7", " extension 99"]),
)
def test_phone_normalises_to_digits_with_a_plus_when_international(
    number: str, prefix: str, extension: str
) -> None:
    spaced = " ".join(number[i : i + 3] for i in range(0, len(number), 3))
    phone = PhoneNumber(f" {prefix}({spaced[:3]}) {spaced[3:]}-{extension} ".replace("-", "/"))
    assert phone.normalised == ("+" if prefix else "") + number
    assert repr(phone) == f"PhoneNumber('***{number[-2:]}')"
    assert str(phone) == phone.raw


def test_phone_equality_is_by_raw_text() -> None:
    assert PhoneNumber("+44 20 7946 0958") == PhoneNumber("+44 20 7946 0958")
    assert PhoneNumber("+44 20 7946 0958") != PhoneNumber("+442079460958")
    assert hash(PhoneNumber("0123456")) == hash(PhoneNumber("0123456"))


@pytest.mark.parametrize("text", ["12345", "1" * 16, "+", "00", "12-34a56", "call me", ""])
def test_phone_problems(text: str) -> None:
    assert problems(lambda: PhoneNumber(text)) == {
        "$": "is not a phone number: expected 6 to 15 digits, optionally with +"
    }
    assert subject(lambda: PhoneNumber(text)) == "PhoneNumber"


@pytest.mark.parametrize(
    ("text", "normalised"),
    [("123456", "123456"), ("1" * 15, "1" * 15), ("0044 123456", "+44123456")],
)
def test_phone_length_bounds(text: str, normalised: str) -> None:
    assert PhoneNumber(text).normalised == normalised


def test_phone_must_be_a_string() -> None:
    assert problems(lambda: PhoneNumber(1234567)) == {"$": "must be a string, got int"}  # type: ignore[arg-type]


# -- people ------------------------------------------------------------------------


@given(st.lists(st.text("qxz", min_size=3, max_size=8), min_size=1, max_size=3))
def test_person_repr_never_shows_the_name(words: list[str]) -> None:
    name = " ".join(words)
    shown = repr(Person(name))
    assert all(word not in shown for word in words)
    assert f"name={' '.join(word[0] + '***' for word in words)}," in shown


def test_person_name_is_masked_word_by_word() -> None:
    assert "name=A*** L***," in repr(Person("Ada  Lovelace"))


@pytest.mark.parametrize("value", list(Seniority))
def test_seniority_accepts_its_values_as_text(value: Seniority) -> None:
    assert Person("Ada", seniority=value.value).seniority is value
    assert Person.of("Ada", seniority=value.value).seniority is value


def test_person_problems_are_all_reported() -> None:
    found = problems(lambda: Person(" ", email="x", phone=3, job_title="", seniority="boss"))  # type: ignore[arg-type]
    assert found == {
        "$.name": "must not be empty or blank",
        "$.email": "must be an EmailAddress, got str",
        "$.phone": "must be a PhoneNumber, got int",
        "$.job_title": "must not be empty or blank",
        "$.seniority": "must be one of entry, senior, manager, director, vp, c_level, owner; "
        "got 'boss'",
    }
    assert subject(lambda: Person(" ")) == "Person"


def test_person_needs_a_name_email_or_phone() -> None:
    assert problems(lambda: Person()) == {
        "$": "a person needs at least a name, an email or a phone"
    }
    assert Person(email=EmailAddress("a@b.io")).name is None
    assert Person(phone=PhoneNumber("1234567")).email is None


def test_person_text_lengths() -> None:
    assert Person("a" * 300).name == "a" * 300
    assert problems(lambda: Person("a" * 301)) == {
        "$.name": "must be at most 300 characters, got 301"
    }
    assert problems(lambda: Person("Ada", job_title="t" * 301)) == {
        "$.job_title": "must be at most 300 characters, got 301"
    }
    assert problems(lambda: Person("A\x00da"))["$.name"].startswith("must not contain NUL")
    assert problems(lambda: Person(7)) == {"$.name": "must be a string, got int"}  # type: ignore[arg-type]


def test_person_of_builds_the_value_objects() -> None:
    person = Person.of(
        "Ada", email="Ada@Example.com", phone="+44 1234567", job_title="CTO", seniority="c_level"
    )
    assert person == Person(
        "Ada", EmailAddress("Ada@example.com"), PhoneNumber("+44 1234567"), "CTO", Seniority.C_LEVEL
    )
    assert Person.of(email="a@b.io").email == EmailAddress("a@b.io")
    assert Person.of(phone="1234567").phone == PhoneNumber("1234567")


def test_person_of_reports_nested_and_own_problems_together() -> None:
    found = problems(lambda: Person.of(" ", email="nope", phone="12", seniority="x"))
    assert set(found) == {"$.name", "$.email", "$.phone", "$.seniority"}
    assert found["$.email"] == "'n***' is not an email address (expected name@domain)"
    assert subject(lambda: Person.of(" ", email="nope")) == "Person"
    assert subject(lambda: Person.of("Ada", email="nope")) == "Person"
    assert problems(lambda: Person.of("Ada", phone="12", email="a@b.io")) == {
        "$.phone": "is not a phone number: expected 6 to 15 digits, optionally with +"
    }
    # a bad email alone is not also "a person needs a name, an email or a phone"
    assert problems(lambda: Person.of(email="nope")) == {
        "$.email": "'n***' is not an email address (expected name@domain)"
    }
    assert problems(lambda: Person.of(phone="1")) == {
        "$.phone": "is not a phone number: expected 6 to 15 digits, optionally with +"
    }
    assert problems(lambda: Person.of()) == {
        "$": "a person needs at least a name, an email or a phone"
    }
    assert problems(lambda: Person.of(" ")) == {"$.name": "must not be empty or blank"}


# -- companies ---------------------------------------------------------------------


@given(pks.companies())
def test_company_round_trips_through_its_own_fields(company: Company) -> None:
    again = Company(
        company.name,
        domain=company.domain,
        industry=company.industry,
        employees=company.employees,
        annual_revenue=company.annual_revenue,
        country=company.country,
        region=company.region,
    )
    assert again == company


@pytest.mark.parametrize(
    ("given_domain", "host"),
    [
        ("https://www.Example.com/about?x=1", "example.com"),
        ("http://shop.example.com", "shop.example.com"),
        ("example.com.", "example.com"),
        (" WWW.example.co.uk/", "example.co.uk"),
        ("example.com?q=1", "example.com"),
        ("example.com?q=1?r=2", "example.com"),
        ("https://example.com/a/b/c", "example.com"),
        ("wwwexample.com", "wwwexample.com"),
        ("example.com", "example.com"),
    ],
)
def test_company_domain_is_reduced_to_the_host(given_domain: str, host: str) -> None:
    assert Company("Acme", domain=given_domain).domain == host


@given(pks.countries())
def test_company_country_is_upper_cased(country: str) -> None:
    assert Company("Acme", country=country.lower()).country == country
    assert Company("Acme", country=country).country == country


def test_company_problems_are_all_reported() -> None:
    found = problems(
        lambda: Company(
            "",
            domain="not a host",
            industry=5,  # type: ignore[arg-type]
            employees=-3,
            annual_revenue=Money(-1, "EUR"),
            country="XX",
            region="",
        )
    )
    assert found == {
        "$.name": "must not be empty or blank",
        "$.domain": "domain 'not a host' needs a dot (e.g. example.com)",
        "$.industry": "must be a string, got int",
        "$.employees": "must be >= 0, got -3",
        "$.annual_revenue": "must not be negative",
        "$.country": "unknown ISO 3166-1 alpha-2 country code 'XX' (e.g. 'DE', 'US')",
        "$.region": "must not be empty or blank",
    }
    assert subject(lambda: Company("")) == "Company"


def test_company_type_problems() -> None:
    found = problems(
        lambda: Company(
            None,  # type: ignore[arg-type]
            domain=3,  # type: ignore[arg-type]
            employees=True,
            annual_revenue=10,  # type: ignore[arg-type]
            country=49,  # type: ignore[arg-type]
        )
    )
    assert found == {
        "$.name": "is required",
        "$.domain": "must be a string, got int",
        "$.employees": "must be an int, got bool",
        "$.annual_revenue": "must be a Money, got int",
        "$.country": "must be a string, got int",
    }


def test_company_bounds() -> None:
    assert Company("Acme", employees=0, annual_revenue=Money(0, "EUR")).employees == 0
    assert Company("a" * 300).name == "a" * 300
    assert problems(lambda: Company("a" * 301)) == {
        "$.name": "must be at most 300 characters, got 301"
    }
    assert problems(lambda: Company("A", industry="i" * 201)) == {
        "$.industry": "must be at most 200 characters, got 201"
    }
    assert Company("A", region="r" * 200).region == "r" * 200


# -- custom fields -----------------------------------------------------------------


@given(pks.custom_fields())
def test_frozen_map_behaves_as_its_dict(fields: FrozenMap) -> None:
    data = dict(fields)
    assert len(fields) == len(data)
    assert list(fields) == list(data)
    assert {k: fields[k] for k in fields} == data
    assert fields == data
    assert fields == FrozenMap(data)
    assert hash(fields) == hash(FrozenMap(data))
    assert hash(fields) == hash(fields)
    assert repr(fields) == f"FrozenMap({data!r})"


def test_frozen_map_hashes_spread() -> None:
    # equal maps hash equal (above); different maps should not all collide
    assert len({hash(custom_fields(k=i)) for i in range(50)}) > 40
    assert len({hash(custom_fields({str(i): "v"})) for i in range(50)}) > 40


@given(pks.custom_fields(), st.text(min_size=1, max_size=5), st.integers())
def test_set_and_remove_return_copies(fields: FrozenMap, key: str, value: int) -> None:
    before = dict(fields)
    added = fields.set(key, value)
    assert added[key] == value
    assert dict(fields) == before
    assert {k: v for k, v in added.items() if k != key} == {
        k: v for k, v in before.items() if k != key
    }
    removed = added.remove(key)
    assert key not in removed
    assert dict(added.remove("\x01absent")) == dict(added)
    assert isinstance(removed, FrozenMap)


def test_frozen_map_equality_is_type_aware() -> None:
    assert custom_fields(a=1) != custom_fields(a=True)
    assert custom_fields(a=1) != {"a": True}
    assert custom_fields(a=1) == {"a": 1}
    assert custom_fields(a=1) != custom_fields(a=1, b=2)
    assert custom_fields(a=Decimal(1)) != custom_fields(a=1)
    assert (custom_fields(a=1) == [("a", 1)]) is False
    assert custom_fields() == FrozenMap() == FrozenMap(None) == {}
    assert FrozenMap().__eq__(3) is NotImplemented


def test_custom_fields_merges_positional_and_keywords() -> None:
    assert dict(custom_fields({"a": 1, "b": 2}, b=3)) == {"a": 1, "b": 3}
    assert dict(custom_fields(None, c="x")) == {"c": "x"}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1.5, "unsupported value type float: use str, int, bool, Decimal, date, datetime or None"),
        ([1], "unsupported value type list: use str, int, bool, Decimal, date, datetime or None"),
        (Decimal("NaN"), "must be a finite number"),
        (
            "a\x00b",
            "must not contain NUL characters (databases such as PostgreSQL cannot store them)",
        ),
        (datetime(2026, 1, 1), "naive datetime refused: pass a timezone-aware one"),
    ],
)
def test_custom_value_problems(value: object, message: str) -> None:
    assert problems(lambda: custom_fields(plan=value)) == {"$.plan": message}
    assert subject(lambda: custom_fields(plan=value)) == "FrozenMap"


@pytest.mark.parametrize(
    "value",
    ["x", 1, True, Decimal("1.5"), date(2026, 1, 1), T0, datetime(2026, 1, 1, tzinfo=CET), None],
)
def test_custom_value_types_are_accepted(value: object) -> None:
    assert custom_fields(k=value)["k"] == value


def test_custom_keys_must_be_non_empty_strings() -> None:
    assert problems(lambda: FrozenMap({"": 1, 3: 2, "ok": [], "fine": 1})) == {  # type: ignore[dict-item]
        "$['']": "keys must be non-empty strings",
        "$[3]": "keys must be non-empty strings",
        "$.ok": "unsupported value type list: use str, int, bool, Decimal, date, datetime or None",
    }


# -- sources -----------------------------------------------------------------------


@pytest.mark.parametrize("channel", list(Channel))
def test_source_channel_from_text(channel: Channel) -> None:
    assert Source(channel.value).channel is channel  # type: ignore[arg-type]
    assert Source(channel, detail="spring campaign").detail == "spring campaign"


def test_source_problems() -> None:
    assert problems(lambda: Source("fax", detail=" ")) == {  # type: ignore[arg-type]
        "$.channel": "must be one of inbound_form, website, cold_email, cold_call, referral, "
        "list, event, paid_ad, social, partner, other; got 'fax'",
        "$.detail": "must not be empty or blank",
    }
    assert subject(lambda: Source("fax")) == "Source"  # type: ignore[arg-type]
    assert Source(Channel.LIST, detail="d" * 500).detail == "d" * 500
    assert problems(lambda: Source(Channel.LIST, detail="d" * 501)) == {
        "$.detail": "must be at most 500 characters, got 501"
    }


# -- events ------------------------------------------------------------------------


@given(pks.events())
def test_event_time_is_kept_in_utc(event: Event) -> None:
    assert event.at.tzinfo is UTC
    moved = Event(event.kind, event.at.astimezone(CET), event.properties)
    assert moved == event
    assert moved.at.tzinfo is UTC


def test_event_properties_and_get() -> None:
    event = Event("website_visit", T0, {"url": "/pricing"})  # type: ignore[arg-type]
    assert isinstance(event.properties, FrozenMap)
    assert event.get("url") == "/pricing"
    assert event.get("missing") is None
    assert event.get("missing", 3) == 3
    assert Event("a", T0).properties == {}
    same = custom_fields(url="/x")
    assert Event("a", T0, same).properties is same


@pytest.mark.parametrize("kind", ["a", "email_open", "x.y:z-1", "a" + "b" * 63])
def test_event_kinds_that_are_identifiers(kind: str) -> None:
    assert Event(kind, T0).kind == kind


def test_event_problems() -> None:
    found = problems(lambda: Event("Website Visit", datetime(2026, 1, 1), {"n": 1.5}))  # type: ignore[dict-item]
    assert found == {
        "$.kind": "must be a lower-case identifier like 'website_visit', got 'Website Visit'",
        "$.at": "naive datetime refused: pass a timezone-aware one, e.g. tzinfo=UTC",
        "$.properties.n": "unsupported value type float: use str, int, bool, Decimal, date, "
        "datetime or None",
    }
    assert subject(lambda: Event("", T0)) == "Event"
    for kind in ["", "1abc", "a" * 65, 3, "a b"]:
        assert list(problems(lambda kind=kind: Event(kind, T0))) == ["$.kind"]  # type: ignore[misc]
    assert problems(lambda: Event("a", "2026-01-01")) == {  # type: ignore[arg-type]
        "$.at": "must be a datetime, got str"
    }
    assert problems(lambda: Event("a", T0, 3)) == {  # type: ignore[arg-type]
        "$.properties": "must be a mapping of names to values, got int"
    }


# -- stage changes -----------------------------------------------------------------


@given(pks.stage_changes())
def test_stage_change_time_is_kept_in_utc(change: StageChange) -> None:
    assume(change.at.tzinfo is UTC)
    moved = StageChange(
        change.from_stage,
        change.to_stage,
        change.event,
        change.at.astimezone(CET),
        change.actor,
        change.note,
        change.pipeline,
    )
    assert moved == change
    assert moved.at.tzinfo is UTC


def test_stage_change_problems() -> None:
    found = problems(
        lambda: StageChange("", None, " ", datetime(2026, 1, 1), actor="", note=3, pipeline="")  # type: ignore[arg-type]
    )
    assert found == {
        "$.from_stage": "must not be empty or blank",
        "$.to_stage": "is required",
        "$.event": "must not be empty or blank",
        "$.at": "naive datetime refused: pass a timezone-aware one, e.g. tzinfo=UTC",
        "$.actor": "must not be empty or blank",
        "$.note": "must be a string, got int",
        "$.pipeline": "must not be empty or blank",
    }
    assert subject(lambda: StageChange(None, "", "e", T0)) == "StageChange"
    assert problems(lambda: StageChange(None, "s", None, T0)) == {"$.event": "is required"}  # type: ignore[arg-type]
    assert problems(lambda: StageChange(None, "s", "e", T0, note="a\x00")) == {
        "$.note": "must not contain NUL characters (databases such as PostgreSQL cannot store them)"
    }
    long = "s" * 256
    assert set(
        problems(lambda: StageChange(long, long, long, T0, actor="a" * 201, pipeline=long))
    ) == {"$.from_stage", "$.to_stage", "$.event", "$.actor", "$.pipeline"}
    ok = StageChange(
        "s" * 255, "s" * 255, "e" * 255, T0, actor="a" * 200, note="", pipeline="p" * 100
    )
    assert ok.note == ""


TEXT_LIMITS: list[tuple[Callable[..., object], str, int]] = [
    (lambda **kw: Company(**{"name": "Acme", **kw}), "name", 300),
    (lambda **kw: Company(**{"name": "Acme", **kw}), "industry", 200),
    (lambda **kw: Company(**{"name": "Acme", **kw}), "region", 200),
    (lambda **kw: Person(**{"name": "Ada", **kw}), "name", 300),
    (lambda **kw: Person(**{"name": "Ada", **kw}), "job_title", 300),
    (lambda **kw: Source(**{"channel": Channel.LIST, **kw}), "detail", 500),
    (
        lambda **kw: StageChange(
            **{"from_stage": None, "to_stage": "s", "event": "e", "at": T0, **kw}
        ),
        "from_stage",
        255,  # external ids (a CRM's stage ids and API values)
    ),
    (
        lambda **kw: StageChange(
            **{"from_stage": None, "to_stage": "s", "event": "e", "at": T0, **kw}
        ),
        "to_stage",
        255,  # external ids (a CRM's stage ids and API values)
    ),
    (
        lambda **kw: StageChange(
            **{"from_stage": None, "to_stage": "s", "event": "e", "at": T0, **kw}
        ),
        "event",
        255,  # external ids (a CRM's stage ids and API values)
    ),
    (
        lambda **kw: StageChange(
            **{"from_stage": None, "to_stage": "s", "event": "e", "at": T0, **kw}
        ),
        "actor",
        200,
    ),
    (
        lambda **kw: StageChange(
            **{"from_stage": None, "to_stage": "s", "event": "e", "at": T0, **kw}
        ),
        "pipeline",
        100,
    ),
]


@pytest.mark.parametrize(
    ("make", "field", "limit"), TEXT_LIMITS, ids=lambda v: v if isinstance(v, str | int) else ""
)
def test_value_text_fields_are_limited_to_their_length(
    make: Callable[..., object], field: str, limit: int
) -> None:
    assert getattr(make(**{field: "x" * limit}), field) == "x" * limit
    assert problems(lambda: make(**{field: "x" * (limit + 1)})) == {
        f"$.{field}": f"must be at most {limit} characters, got {limit + 1}"
    }


# -- percent_from_logit: the float fast path gives the 40-digit Decimal answer -------------


def _percent_the_slow_way(logit: Decimal) -> Decimal:
    import decimal

    with decimal.localcontext(decimal.Context(prec=40)):
        if logit < -300:
            raw = Decimal(0)
        elif logit > 300:
            raw = Decimal(100)
        else:
            raw = Decimal(100) / (1 + (-logit).exp())
    cents = raw.quantize(Decimal("0.01"), rounding=decimal.ROUND_HALF_EVEN)
    return min(max(cents, Decimal("0.01")), Decimal("99.99"))


def _edge(cents: int, nudge: int) -> Decimal:
    # the logit whose percent is exactly cents/100 + 0.005, moved by `nudge` 1e-12 steps
    import decimal

    with decimal.localcontext(decimal.Context(prec=40)):
        p = Decimal(cents) / 100 + Decimal("0.005")
        return (p / (100 - p)).ln().quantize(Decimal("1e-12")) + Decimal(nudge).scaleb(-12)


@given(
    st.one_of(
        st.decimals(min_value=-400, max_value=400, places=12),
        st.builds(_edge, st.integers(1, 9998), st.integers(-2, 2)),
    )
)
def test_percent_from_logit_agrees_with_forty_digit_decimals(logit: Decimal) -> None:
    from pipelinekit.domain.results import percent_from_logit

    assert percent_from_logit(logit) == _percent_the_slow_way(logit)
