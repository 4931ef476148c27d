"""from_input: a new entity from a client's data, the server's keys refused with paths."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelinekit import FixedClock, Lead, Opportunity, Prospect, ValidationError, from_input
from pipelinekit.serialization import SERVER_OWNED

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_the_server_fills_id_and_times() -> None:
    first = from_input(Lead, {"company": {"name": "Acme"}, "owner": "sam"}, at=AT)
    second = from_input(Lead, {"company": {"name": "Acme"}}, clock=FixedClock(AT))
    assert first.id != second.id
    assert (first.created_at, first.updated_at, first.version, first.status) == (AT, AT, 0, "new")
    assert first.owner == "sam"
    prospect = from_input(Prospect, {"persona": "buyer", "company": {"name": "Acme"}}, at=AT)
    assert (prospect.persona, prospect.created_at) == ("buyer", AT)


@given(st.sets(st.sampled_from(SERVER_OWNED[Lead]), min_size=1))
def test_server_owned_keys_are_refused_with_every_other_problem(keys: set[str]) -> None:
    body: dict[str, object] = dict.fromkeys(keys, "x")
    body["owner"] = 7  # and a plain type error
    with pytest.raises(ValidationError) as caught:
        from_input(Lead, body, at=AT)
    paths = set(caught.value.paths)
    assert {f"$.{key}" for key in keys} <= paths
    assert "$.owner" in paths


def test_only_new_leads_and_prospects() -> None:
    with pytest.raises(TypeError, match=r"pipeline\.open"):
        from_input(Opportunity, {"name": "Deal"}, at=AT)
    with pytest.raises(ValidationError):
        from_input(Lead, ["not", "an", "object"], at=AT)  # type: ignore[arg-type]
