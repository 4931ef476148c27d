"""Finding duplicates: explained scores, blocking that misses nothing, deterministic clusters."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from pipelinekit.dedupe import (
    DuplicateCluster,
    MatchRules,
    PairScore,
    Ref,
    default_rules,
    find,
    find_pairs,
    rules_from_dict,
    score_pair,
)
from pipelinekit.dedupe.normalise import company_key, name_key, phone_key
from pipelinekit.domain import (
    Company,
    EmailAddress,
    Lead,
    LeadId,
    Opportunity,
    OpportunityId,
    Outcome,
    Person,
    PhoneNumber,
    Prospect,
    ProspectId,
)

from ._data import T0, lead_sets, rule_sets


def _lead(i: int, name: str | None = None, email: str | None = None, **kw: Any) -> Lead:
    phone = kw.pop("phone", None)
    company = kw.pop("company", None)
    domain = kw.pop("domain", None)
    person = None
    if name or email or phone:
        person = Person(
            name,
            email=EmailAddress(email) if email else None,
            phone=PhoneNumber(phone) if phone else None,
        )
    at = T0 + timedelta(hours=i)
    return Lead(
        id=LeadId(f"lead-{i:04d}"),
        created_at=at,
        updated_at=at,
        contact=person,
        company=Company(company, domain=domain) if company else None,
        **kw,
    )


def _brute_force(leads: list[Lead], rules: MatchRules) -> set[tuple[Ref, Ref]]:
    found = set()
    for a, b in itertools.combinations(leads, 2):
        pair = score_pair(a, b, rules)
        if pair.score >= rules.threshold:
            found.add((pair.left, pair.right))
    return found


# -- normalising ------------------------------------------------------------------------------


def test_names_and_companies_are_compared_without_case_accents_order_or_legal_form() -> None:
    assert name_key("Lovelace, Ada") == name_key("ada  LOVELACE") == "ada lovelace"
    assert name_key("Zoë Müller") == name_key("Zoe Muller")
    assert company_key("ACME Inc.") == company_key("Acme") == company_key("acme, GmbH") == "acme"
    assert company_key("Initech S.A.R.L.") == "initech"
    assert company_key("Inc") == "inc"  # nothing but a legal form: kept


def test_phones_become_e164_with_phonenumbers_and_a_region() -> None:
    national = PhoneNumber("020 7946 0958").normalised
    international = PhoneNumber("+44 20 7946 0958").normalised
    assert phone_key(national, "GB") == phone_key(international) == "+442079460958"
    # without a region a national number stays digits (nothing to parse it against)
    assert phone_key(national) == "02079460958"


# -- pair scores ------------------------------------------------------------------------------


def test_a_pair_score_lists_each_rule_that_fired_and_what_it_added() -> None:
    rules = default_rules()
    a = _lead(1, "Ada Lovelace", "ada@acme.io", company="ACME Inc.", domain="acme.io")
    b = _lead(2, "Ada Lovelase", "a.lovelace@acme.io", company="Acme", domain="www.acme.io")
    pair = score_pair(a, b, rules)
    assert [p.rule for p in pair.parts] == ["email_domain_name", "company_domain", "company_name"]
    similarity = pair.parts[0].similarity
    assert similarity is not None
    assert 85 <= similarity < 100
    assert pair.parts[0].points == Decimal("0.9") * similarity / 100
    assert pair.parts[1].points == Decimal("0.3")
    assert pair.score == sum(p.points for p in pair.parts)
    assert pair.score >= rules.threshold
    assert "email_domain_name" in pair.explain()


def test_two_colleagues_are_not_duplicates_under_the_default_rules() -> None:
    a = _lead(1, "Ada Lovelace", "ada@acme.io", company="Acme", domain="acme.io")
    b = _lead(2, "Bob Smith", "bob@acme.io", company="Acme Inc", domain="acme.io")
    pair = score_pair(a, b, default_rules())
    assert pair.score == Decimal("0.6")
    assert find([a, b]) == []


def test_public_mail_domains_say_nothing_about_the_company() -> None:
    a = _lead(1, "Ada Lovelace", "ada.l@gmail.com", company="Acme", domain="gmail.com")
    b = _lead(2, "Ada Lovelace", "lovelace@gmail.com", company="Initech", domain="gmail.com")
    assert score_pair(a, b, default_rules()).parts == ()


@given(lead_sets(min_size=2, max_size=6), rule_sets())
def test_a_score_is_the_exact_sum_of_its_parts_and_symmetric(
    leads: list[Lead], data: dict[str, Any]
) -> None:
    rules = rules_from_dict(data)
    for a, b in itertools.combinations(leads, 2):
        forward, backward = score_pair(a, b, rules), score_pair(b, a, rules)
        assert forward == backward
        assert forward.score == sum((p.points for p in forward.parts), Decimal(0))
        assert all(p.points > 0 for p in forward.parts)
        assert len({p.rule for p in forward.parts}) == len(forward.parts)


# -- blocking and clusters ----------------------------------------------------------------------


@given(lead_sets(max_size=25), rule_sets(exact_blocking=True))
def test_blocking_finds_every_pair_that_comparing_all_pairs_finds(
    leads: list[Lead], data: dict[str, Any]
) -> None:
    rules = rules_from_dict(data)
    found = {(p.left, p.right) for p in find_pairs(leads, rules)}
    assert found == _brute_force(leads, rules)


@given(lead_sets(max_size=25), rule_sets())
def test_blocking_with_neighbourhood_rules_finds_only_real_matches(
    leads: list[Lead], data: dict[str, Any]
) -> None:
    rules = rules_from_dict(data)
    found = {(p.left, p.right) for p in find_pairs(leads, rules)}
    assert found <= _brute_force(leads, rules)


@given(lead_sets(max_size=25), rule_sets(), st.randoms(use_true_random=False))
def test_clusters_are_the_transitive_closure_in_a_fixed_order(
    leads: list[Lead], data: dict[str, Any], rng: random.Random
) -> None:
    rules = rules_from_dict(data)
    clusters = find(leads, rules)
    shuffled = list(leads)
    rng.shuffle(shuffled)
    assert find(shuffled, rules) == clusters
    pairs = find_pairs(leads, rules)
    # every matched pair is in exactly one cluster, and each cluster is connected by its pairs
    assert sorted(p for c in clusters for p in c.pairs) == pairs
    seen: set[Ref] = set()
    for cluster in clusters:
        assert list(cluster.members) == sorted(cluster.members)
        assert seen.isdisjoint(cluster.members)
        seen |= set(cluster.members)
        reached = {cluster.members[0]}
        for _ in cluster.members:
            for pair in cluster.pairs:
                if pair.left in reached or pair.right in reached:
                    reached |= {pair.left, pair.right}
        assert reached == set(cluster.members)
        assert all(p.score >= rules.threshold for p in cluster.pairs)
    assert [c.members[0] for c in clusters] == sorted(c.members[0] for c in clusters)


def test_a_chain_of_matches_is_one_cluster() -> None:
    a = _lead(1, "Ada Lovelace", "ada@acme.io")
    b = _lead(
        2, "Ada Lovelace", "ADA@acme.io", phone="+44 20 7946 0958", domain="acme.io", company="Acme"
    )
    c = _lead(3, "A. Lovelace", phone="+442079460958", company="Acme", domain="acme.io")
    d = _lead(4, "Grace Hopper", "grace@navy.mil")
    clusters = find([d, c, b, a])
    assert len(clusters) == 1
    assert [m.id for m in clusters[0].members] == ["lead-0001", "lead-0002", "lead-0003"]
    assert isinstance(clusters[0], DuplicateCluster)
    assert clusters[0].score == max(p.score for p in clusters[0].pairs)
    assert all(isinstance(p, PairScore) for p in clusters[0].pairs)


def test_a_block_larger_than_max_block_is_compared_by_sorted_neighbourhood() -> None:
    # 30 people at one company domain, two of them the same person
    leads = [_lead(i, f"Person {chr(65 + i)}{i}", f"p{i}@big.example") for i in range(30)]
    leads.append(_lead(99, "Person A0", "person.a@big.example"))
    data = {
        "threshold": "0.8",
        "max_block": 5,
        "window": 2,
        "rules": [{"kind": "email_domain_name", "weight": "1", "min_similarity": 95}],
    }
    pairs = find_pairs(leads, rules_from_dict(data))
    assert [(p.left.id, p.right.id) for p in pairs] == [("lead-0000", "lead-0099")]


def test_leads_match_prospects_and_open_opportunities_but_not_closed_or_merged_records() -> None:
    person = Person("Ada Lovelace", email=EmailAddress("ada@acme.io"))
    lead = _lead(1, "Ada Lovelace", "ada@acme.io")
    prospect = Prospect(
        id=ProspectId("p-1"), created_at=T0, updated_at=T0, persona="smb", person=person
    )
    deal = Opportunity(
        id=OpportunityId("o-1"), created_at=T0, updated_at=T0, name="Deal", pipeline="sales",
        stage="meeting", contact=person,
    )  # fmt: skip
    lost = Opportunity(
        id=OpportunityId("o-2"), created_at=T0, updated_at=T0, name="Old deal",
        pipeline="sales", stage="closed_lost", contact=person, outcome=Outcome.LOST,
        closed_at=T0, lost_reason="price",
    )  # fmt: skip
    merged = _lead(2, "Ada Lovelace", "ada@acme.io", status="merged")
    clusters = find([lead, prospect, deal, lost, merged])
    assert len(clusters) == 1
    assert {str(m) for m in clusters[0].members} == {
        "lead:lead-0001",
        "opportunity:o-1",
        "prospect:p-1",
    }
    assert clusters[0].kinds == {"lead", "prospect", "opportunity"}


def test_custom_field_equality_compares_types_too() -> None:
    rules = rules_from_dict({"rules": [{"kind": "custom", "field": "n", "weight": "1"}]})
    a = _lead(1, "A", custom={"n": 1})
    b = _lead(2, "B", custom={"n": True})
    c = _lead(3, "C", custom={"n": 1})
    assert [(p.left.id, p.right.id) for p in find_pairs([a, b, c], rules)] == [
        ("lead-0001", "lead-0003")
    ]


def test_what_is_not_a_record_is_refused_with_its_position() -> None:
    import pytest

    from pipelinekit.errors import ValidationError

    with pytest.raises(ValidationError) as caught:
        find([_lead(1, "A"), "lead-2", 3])  # type: ignore[list-item]
    assert caught.value.paths == ("$[1]", "$[2]")
    with pytest.raises(ValidationError) as caught:
        find([], {"rules": []})  # type: ignore[arg-type]
    assert caught.value.paths == ("$.rules",)


def test_a_lead_and_the_opportunity_it_became_are_not_duplicates() -> None:
    person = Person("Ada Lovelace", email=EmailAddress("ada@acme.io"))
    deal = Opportunity(
        id=OpportunityId("o-1"), created_at=T0, updated_at=T0, name="Deal", pipeline="sales",
        stage="meeting", contact=person, lead_id=LeadId("lead-0001"),
    )  # fmt: skip
    converted = _lead(1, "Ada Lovelace", "ada@acme.io", opportunity_id=OpportunityId("o-1"))
    other = _lead(2, "Ada Lovelace", "ada@acme.io")
    clusters = find([converted, deal])
    assert clusters == []
    # an unlinked lead still joins both: the cluster holds all three through it
    [cluster] = find([converted, deal, other])
    assert {(p.left.id, p.right.id) for p in cluster.pairs} == {
        ("lead-0001", "lead-0002"),
        ("lead-0002", "o-1"),
    }


# -- the bulk path and the pair-by-pair reference ----------------------------------------------


def _both_paths(records: list[Any], rules: MatchRules) -> tuple[Any, Any]:
    from pipelinekit.dedupe import bulk, finding
    from pipelinekit.dedupe.scoring import Scorer

    refs, keys = finding._prepare(records, rules)
    scorer = Scorer(rules)
    assert bulk.available(rules)
    fast = finding._matched(refs, keys, rules, scorer)

    def linked(i: int, j: int) -> bool:
        a, b = keys[i][-1], keys[j][-1]
        return bool(a or b) and ((refs[j].kind, refs[j].id) in a or (refs[i].kind, refs[i].id) in b)

    slow = finding._matched_each(refs, keys, rules, scorer, linked, finding._passive(rules))
    return fast, slow


@given(
    leads=lead_sets(max_size=40),
    data=rule_sets(),
    max_block=st.integers(2, 8),
    window=st.integers(2, 5),
)
def test_the_bulk_path_matches_exactly_the_pairs_of_the_pair_by_pair_reference(
    leads: list[Lead], data: dict[str, Any], max_block: int, window: int
) -> None:
    rules = rules_from_dict({**data, "max_block": max_block, "window": window})
    fast, slow = _both_paths(leads, rules)
    assert fast == slow


def test_the_bulk_path_scores_chunk_by_chunk_like_one_pass(monkeypatch: Any) -> None:
    from pipelinekit.dedupe import bulk

    rng = random.Random(5)
    leads = [
        _lead(
            i,
            rng.choice(["Ada Lovelace", "Ada Lovelase", "Alan Turing", "Alan Turin"]),
            f"{rng.choice(['ada', 'alan'])}{rng.randrange(3)}@acme.io",
            phone=rng.choice([None, "+44 20 7946 0958"]),
            company=rng.choice(["Acme", "Acme Inc", "Initech"]),
            domain="acme.io",
        )
        for i in range(60)
    ]
    rules = rules_from_dict({**default_rules().as_dict(), "max_block": 20, "window": 3})
    whole = find(leads, rules)
    monkeypatch.setattr(bulk, "CHUNK", 7)
    fast, slow = _both_paths(leads, rules)
    assert fast == slow
    assert fast
    assert find(leads, rules) == whole
