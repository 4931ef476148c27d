"""Registers pipelinekit's types with ``st.from_type`` (loaded by Hypothesis' entry point).

Hypothesis calls :func:`_register` when it is imported, in any environment
where pipelinekit is installed; pipelinekit itself never imports Hypothesis
at run time.
"""

from __future__ import annotations


def _register() -> None:
    from hypothesis import strategies as st

    from .. import domain
    from ..domain import results
    from . import strategies as pks

    registrations: dict[type, st.SearchStrategy[object]] = {
        domain.Money: pks.money(),
        domain.EmailAddress: pks.email_addresses(),
        domain.PhoneNumber: pks.phone_numbers(),
        domain.Person: pks.people(),
        domain.Company: pks.companies(),
        domain.Source: pks.sources(),
        domain.Event: pks.events(),
        domain.StageChange: pks.stage_changes(),
        domain.FrozenMap: pks.custom_fields(),
        domain.Lead: pks.leads(),
        domain.Prospect: pks.prospects(),
        domain.Opportunity: pks.opportunities(),
        results.BreakdownLine: pks.breakdown_lines(),
        results.QualificationResult: pks.qualification_results(),
    }
    from ..pipelines.spec import PipelineSpec
    from .pipelines import pipeline_specs

    registrations[PipelineSpec] = pipeline_specs()
    for kind, strategy in registrations.items():
        st.register_type_strategy(kind, strategy)
