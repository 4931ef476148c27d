"""One field-path reader serves guards and qualification criteria alike."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelinekit import Company, Lead, Money, Person, Prospect
from pipelinekit.domain import paths
from pipelinekit.pipelines import MISSING, read_field
from pipelinekit.qualification import icp_fit, one_of

AT = datetime(2026, 1, 1, tzinfo=UTC)


def _lead(**custom: object) -> Lead:
    return Lead.create(
        contact=Person.of("Ada", email="ada@example.com"),
        company=Company("Acme", employees=12, annual_revenue=Money(5, "EUR")),
        custom=custom,
        at=AT,
    )


def test_paths_read_attributes_mapping_keys_and_dotted_custom_keys() -> None:
    lead = _lead(plan="pro", **{"bant.budget": 3})
    assert paths.reader("company.employees")(lead) == 12
    assert paths.reader("company.annual_revenue.currency")(lead) == "EUR"
    assert paths.reader("contact.email.domain")(lead) == "example.com"
    assert paths.reader("custom.plan")(lead) == "pro"
    assert paths.reader("custom.bant.budget")(lead) == 3
    assert paths.reader("custom.nope")(lead) is None
    assert paths.reader("company.nope.deeper")(lead) is None
    assert paths.reader("status")(lead) == "new"


def test_the_contact_root_reads_a_prospects_person() -> None:
    prospect = Prospect.create(persona="cto", person=Person.of("Grace"), at=AT)
    assert paths.reader("contact.name")(prospect) == "Grace"


def test_guards_and_criteria_read_the_same_value() -> None:
    lead = _lead(**{"bant.budget": "approved"})
    assert read_field(lead, "custom.bant.budget") == "approved"
    fit = icp_fit("fit", [one_of("budget", "custom.bant.budget", {"approved": 10})])
    assert fit.evaluate(lead, as_of=AT).score == 10
    assert read_field(lead, "custom.missing") is MISSING


def test_pending_inputs_are_read_below_their_name() -> None:
    lead = _lead()
    overrides = {"lost_reason": "price", "extra": {"nested": "yes"}}
    assert read_field(lead, "lost_reason", overrides) == "price"
    assert read_field(lead, "extra.nested", overrides) == "yes"
    assert read_field(lead, "extra.absent", overrides) is MISSING


def test_text_that_is_not_a_path_is_refused_by_the_compiled_reader() -> None:
    assert not paths.is_path("amount!")
    with pytest.raises(ValueError, match="not a dotted field path"):
        paths.reader("amount!")
    assert read_field(_lead(), "amount!") is MISSING


_names = st.sampled_from(["a", "b", "class", "x-y", "c"])


@given(st.lists(_names, min_size=1, max_size=3), st.dictionaries(_names, st.integers()))
def test_direct_code_reads_what_the_safe_code_reads_or_raises(
    parts: list[str], leaves: dict[str, int]
) -> None:
    # an object tree where every name leads on; direct code may only raise
    # AttributeError where the safe code gives None
    def tree(depth: int) -> object:
        if depth == 0:
            return SimpleNamespace(**leaves)
        return SimpleNamespace(**{name: tree(depth - 1) for name in ("a", "b", "c")})

    subject = SimpleNamespace(root=tree(len(parts) - 1))
    path = ".".join(["root", *parts])
    safe = paths.reader(path)(subject)
    env: dict[str, object] = {}
    expr, root = paths.expression(path, env, direct=True)
    lines = [f"    {line}" for line in paths.root_lines(root)]
    body = "\n".join(["def read(subject):", *lines, f"    return {expr}"])
    exec(body, env)
    read = env["read"]
    assert callable(read)
    try:
        direct = read(subject)
    except AttributeError:
        assert safe is None
    else:
        assert direct == safe
