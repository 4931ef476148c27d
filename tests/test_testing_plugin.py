"""pipelinekit's types are registered for ``st.from_type`` through Hypothesis' entry point."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

import pipelinekit as pk


@given(st.from_type(pk.Lead), st.from_type(pk.Opportunity), st.from_type(pk.Money))
def test_from_type_builds_valid_objects(lead: pk.Lead, opp: pk.Opportunity, m: pk.Money) -> None:
    assert isinstance(lead, pk.Lead)
    assert isinstance(opp, pk.Opportunity)
    assert isinstance(m, pk.Money)
    assert lead.evolve() == lead


@given(st.from_type(pk.QualificationResult))
def test_generated_results_explain_their_score(result: pk.QualificationResult) -> None:
    if result.score is not None and result.breakdown:
        assert sum(line.points for line in result.breakdown) == result.score
