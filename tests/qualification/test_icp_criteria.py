"""ICP criteria: what each kind says about a value, its configuration, and its problems.

Each criterion kind classifies a known value into a status, unweighted points
and a reason; these are the words users read in breakdowns, so they are pinned
exactly, as are the configuration each kind reports and the problems its
factory lists for bad settings.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from pipelinekit import Money, ValidationError
from pipelinekit.qualification import (
    CriterionStatus,
    EvaluationError,
    bands,
    one_of,
    pattern,
    predicate,
    present,
)
from pipelinekit.qualification.icp.criteria import (
    MissingData,
    NumericBand,
    all_of,
    matched,
    num,
    signed,
)

D = Decimal
M, P, N, U, K = (
    CriterionStatus.MATCH,
    CriterionStatus.PARTIAL,
    CriterionStatus.NO_MATCH,
    CriterionStatus.UNKNOWN,
    CriterionStatus.KNOCKOUT,
)


class Plan(enum.Enum):
    PRO = "Pro"


def test_numbers_are_shown_plainly_and_signed() -> None:
    assert num(D("12.50")) == "12.5"
    assert num(D("1E+2")) == "100"
    assert num(D(0)) == "0"
    assert num(D("-0.00")) == "0"
    assert signed(D(20)) == "+20"
    assert signed(D(-5)) == "-5"
    assert signed(D(0)) == "0"


def test_one_of_classifies_values_members_and_knockouts() -> None:
    c = one_of("ind", "company.industry", {"Software": 20, "fintech": 15, "retail": -5},
               default=2, knockout=["gambling"])  # fmt: skip
    assert c.classify("software") == (M, D(20), "software is listed")
    assert c.classify("FinTech") == (P, D(15), "FinTech is listed")
    assert c.classify("retail") == (N, D(-5), "retail is listed")
    assert c.classify("farming") == (P, D(2), "not one of the listed values")
    assert c.classify("Gambling") == (K, D(0), "Gambling is a knockout value")
    assert c.classify(["fintech", "software"]) == (M, D(20), "software is listed")
    assert c.classify(("retail", "gambling")) == (K, D(0), "gambling is a knockout value")
    assert c.classify(frozenset()) == (P, D(2), "not one of the listed values")
    assert c.classify(Plan.PRO)[2] == "not one of the listed values"
    tier = one_of("plan", "custom.plan", {"Pro": 5}, case_sensitive=True)
    assert tier.classify(Plan.PRO) == (M, D(5), "Pro is listed")
    assert tier.classify("pro") == (N, D(0), "not one of the listed values")
    assert tier.understood() == ("Pro",)
    assert c.understood() == ("Software", "fintech", "gambling", "retail")
    tags = one_of("t", "tags", {"vip": 3}, knockout=["spam"])
    assert tags.understood() == (frozenset(["spam"]), frozenset(["vip"]))
    assert c.bounds() == (D(-5), D(20))
    assert one_of("w", "custom.w", {"a": 4}, weight=3).bounds() == (D(0), D(12))
    penalised = one_of("w", "custom.w", {"a": 4}, missing="penalty", penalty=7)
    assert penalised.bounds() == (D(-7), D(4))


def test_bands_classify_numbers_and_money() -> None:
    c = bands("size", "company.employees",
              [(None, 10, 0), (10, 200, 10, "mid-size"), {"low": 200, "high": 5000, "points": 25},
               NumericBand(5000, None, knockout=True)], default=-1)  # fmt: skip
    assert c.classify(9) == (N, D(0), "in band < 10")
    assert c.classify(10) == (P, D(10), "in band mid-size")
    assert c.classify(D("199.9")) == (P, D(10), "in band mid-size")
    assert c.classify(200) == (M, D(25), "in band 200-5000")
    assert c.classify(5000) == (K, D(0), "5000 is in knockout band >= 5000")
    assert c.classify(True) == (U, D(0), "bool is not a number")
    assert c.classify("12") == (U, D(0), "str is not a number")
    assert c.classify(Money(D(300), "EUR")) == (M, D(25), "in band 200-5000")
    gap = bands("g", "custom.n", [(0, 10, 5), (20, 30, 8)], default=1)
    assert gap.classify(15) == (P, D(1), "outside every band")
    revenue = bands("rev", "company.annual_revenue", [(0, 100, 5)], currency="eur")
    assert revenue.config()["currency"] == "EUR"
    assert revenue.classify(Money(D(50), "USD")) == (
        U, D(0), "amount in USD, bands are in EUR (never converted)",
    )  # fmt: skip
    assert revenue.classify(Money(D(50), "EUR")) == (M, D(5), "in band 0-100")
    assert [b.describe() for b in c.bands] == ["< 10", "mid-size", "200-5000", ">= 5000"]
    assert c.config()["bands"][1] == {
        "low": D(10), "high": D(200), "points": D(10), "label": "mid-size", "knockout": False,
    }  # fmt: skip
    assert c.bounds() == (D(-1), D(25))


def test_patterns_take_the_first_match() -> None:
    c = pattern("seniority", "contact.job_title",
                [{"regex": r"\bintern\b", "knockout": True},
                 {"regex": r"\b(cto|vp)\b", "points": 20, "label": "exec"},
                 {"regex": "head of", "points": 10}], default=1)  # fmt: skip
    assert c.classify("VP Sales") == (M, D(20), "matches exec")
    assert c.classify("Head of IT") == (P, D(10), "matches /head of/")
    assert c.classify("Summer intern, CTO office") == (
        K,
        D(0),
        "matches knockout pattern /\\bintern\\b/",
    )
    assert c.classify("Engineer") == (P, D(1), "matches no pattern")
    assert c.classify(Plan.PRO) == (P, D(1), "matches no pattern")
    strict = pattern("s", "contact.job_title", {"CTO": 5}, case_sensitive=True)
    assert strict.classify("cto") == (N, D(0), "matches no pattern")
    assert strict.classify("CTO") == (M, D(5), "matches /CTO/")
    assert c.config()["patterns"][1] == {
        "regex": r"\b(cto|vp)\b", "points": D(20), "label": "exec", "knockout": False,
    }  # fmt: skip


def test_presence_and_predicates_classify_their_answers() -> None:
    mail = present("mail", "contact.email", points=5, absent=-2)
    assert mail.classify(True) == (M, D(5), "contact.email is present")
    assert mail.classify(False) == (N, D(-2), "contact.email is missing")
    assert mail.classify("  ") == (N, D(-2), "contact.email is missing")
    assert mail.config()["points"] == 5
    assert mail.config()["absent"] == -2
    assert mail.read()(SimpleNamespace(contact=SimpleNamespace(email=""))) is False
    assert mail.read()(SimpleNamespace(contact=SimpleNamespace(email="a@b.c"))) is True

    def is_vip(subject: Any) -> bool | None:
        return subject.vip

    vip = predicate("vip", is_vip, points=8, otherwise=1, description="a VIP account")
    assert vip.classify(True) == (M, D(8), "a VIP account: yes")
    assert vip.classify(False) == (P, D(1), "a VIP account: no")
    hard = predicate("vip", is_vip, knockout=True)
    assert hard.classify(False) == (K, D(0), "vip: no (knockout)")
    assert hard.classify(True) == (M, D(1), "vip: yes")
    assert vip.read()(SimpleNamespace(vip=None)) is None
    config = vip.config()
    assert config["test"].endswith(
        "test_presence_and_predicates_classify_their_answers.<locals>.is_vip"
    )
    assert (config["points"], config["otherwise"], config["knockout"], config["description"]) == (
        D(8), D(1), False, "a VIP account",
    )  # fmt: skip
    assert config["field"] is None
    with pytest.raises(EvaluationError) as wrong:
        vip.read()(SimpleNamespace(id="s-1", vip="yes"))
    assert wrong.value.message == "must return True, False or None, got str"
    assert wrong.value.strategy == "predicate 'vip'"
    assert wrong.value.subject_id == "s-1"
    with pytest.raises(EvaluationError) as broken:
        vip.read()(SimpleNamespace(id="s-2"))
    assert broken.value.message.startswith("AttributeError: ")
    assert broken.value.subject_id == "s-2"


def test_all_of_needs_every_part_to_match() -> None:
    rule = all_of("fit", [one_of("ind", "company.industry", {"software": 5}),
                          bands("size", "company.employees", [(50, None, 1)])],
                  points=12, otherwise=-3)  # fmt: skip

    def firm(industry: Any, employees: Any) -> Any:
        return SimpleNamespace(company=SimpleNamespace(industry=industry, employees=employees))

    read = rule.read()
    assert read(firm("software", 80)) is True
    assert read(firm("retail", None)) is False
    assert read(firm("software", None)) is None
    assert read(firm("software", 10)) is False
    assert rule.classify(True) == (M, D(12), "ind and size: all match")
    assert rule.classify(False) == (N, D(-3), "ind and size: not all match")
    hard = all_of("fit", [present("a", "contact.email"), present("b", "contact.phone")],
                  knockout=True)  # fmt: skip
    assert hard.classify(False) == (K, D(0), "a and b: not all match (knockout)")
    config = rule.config()
    assert [c["name"] for c in config["criteria"]] == ["ind", "size"]  # type: ignore[union-attr]
    assert (config["points"], config["otherwise"], config["knockout"]) == (D(12), D(-3), False)
    assert rule.bounds() == (D(-3), D(12))
    assert matched(rule.criteria[0], "software") is True  # type: ignore[attr-defined]
    assert matched(rule.criteria[0], "retail") is False  # type: ignore[attr-defined]
    assert matched(rule.criteria[0], " ") is None  # type: ignore[attr-defined]
    assert matched(rule.criteria[1], "many") is None  # type: ignore[attr-defined]
    assert matched(present("p", "contact.email"), "") is False


def test_every_criterion_reports_its_common_settings() -> None:
    c = one_of("ind", "company.industry", {"a": 1}, weight="1.5", group="firmo",
               missing=MissingData.PENALTY, penalty=3, required=True)  # fmt: skip
    assert c.config() == {
        "kind": "one_of", "name": "ind", "field": "company.industry", "weight": D("1.5"),
        "group": "firmo", "missing": "penalty", "penalty": D(3), "required": True,
        "points": {"a": D(1)}, "default": D(0), "knockout": [], "case_sensitive": False,
    }  # fmt: skip
    assert one_of("x", "custom.x", {"a": 1}, missing="block").missing is MissingData.BLOCK
    assert bands("b", "custom.n", [(0, 1, 1)]).config()["kind"] == "bands"
    assert pattern("p", "custom.t", {"a": 1}).config()["kind"] == "pattern"
    assert present("p", "custom.t").config()["kind"] == "present"


def _problems(call: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        call()
    return {p.path: p.message for p in caught.value.problems}


def test_common_problems() -> None:
    assert _problems(lambda: one_of("x", "custom.x", {"a": 1}, weight=0)) == {
        "$.weight": "must be > 0, got 0"
    }
    assert _problems(lambda: one_of("x", "custom.x", {"a": 1}, missing="often")) == {
        "$.missing": "must be one of neutral, zero, penalty, block; got 'often'"
    }
    assert _problems(lambda: one_of("x", "custom.x", {"a": 1}, missing=3)) == {  # type: ignore[arg-type]
        "$.missing": "must be one of neutral, zero, penalty, block; got 3"
    }
    assert _problems(lambda: one_of("x", "custom.x", {"a": 1}, penalty=-2)) == {
        "$.penalty": "give the penalty as a positive number of points to subtract"
    }
    assert _problems(lambda: one_of("x", "custom.x", {"a": 1}, missing="penalty")) == {
        "$.penalty": "missing='penalty' needs penalty points > 0"
    }
    assert _problems(lambda: one_of("x", "custom.x", {"a": 1}, required="yes")) == {  # type: ignore[arg-type]
        "$.required": "must be true or false, got 'yes'"
    }
    assert set(_problems(lambda: one_of("", "custom.x", {"a": 1}))) == {"$.name"}
    assert set(_problems(lambda: one_of("x" * 201, "custom.x", {"a": 1}))) == {"$.name"}
    assert set(_problems(lambda: one_of("x", "custom.x", {"a": 1}, group="g" * 101))) == {"$.group"}
    assert set(_problems(lambda: one_of("x", "nowhere", {"a": 1}))) == {"$.field"}
    assert one_of("x" * 200, "custom.x", {"a": 1}, group="g" * 100, penalty=2).penalty == 2


def test_kind_problems() -> None:
    assert _problems(lambda: one_of("x", "custom.x", {})) == {
        "$.points": "must map values to points, e.g. {'software': 20}"
    }
    assert _problems(lambda: one_of("x", "custom.x", {"": 1, 3: 2})) == {  # type: ignore[dict-item]
        "$.points['']": "values must be non-empty strings",
        "$.points[3]": "values must be non-empty strings",
    }
    assert _problems(lambda: one_of("x", "custom.x", {"a": 1}, knockout="b")) == {
        "$.knockout": "must be a list of values"
    }
    assert _problems(lambda: one_of("x", "custom.x", {"a": 1}, knockout=["b", ""])) == {
        "$.knockout": "values must be non-empty strings"
    }
    assert _problems(lambda: one_of("x", "custom.x", {"a": 1, "b": 2}, knockout=["b", "a"])) == {
        "$.knockout": "['a', 'b'] also give points: a value is one or the other"
    }
    assert _problems(lambda: NumericBand()) == {"$": "a band needs low, high or both"}
    assert _problems(lambda: NumericBand(5, 5)) == {"$.high": "must be greater than low (5), got 5"}
    assert set(_problems(lambda: NumericBand(1, 2, label="l" * 101))) == {"$.label"}
    assert _problems(lambda: bands("b", "custom.n", "0-10")) == {  # type: ignore[arg-type]
        "$.bands": "must be a list of bands"
    }
    assert _problems(lambda: bands("b", "custom.n", [])) == {"$.bands": "needs at least one band"}
    assert _problems(lambda: bands("b", "custom.n", [3])) == {  # type: ignore[list-item]
        "$.bands[0]": "must be a NumericBand or a mapping"
    }
    assert set(_problems(lambda: bands("b", "custom.n", [{"low": 5, "high": 1}]))) == {
        "$.bands[0].high"
    }
    assert _problems(lambda: bands("b", "custom.n", [{"lo": 5}]))["$.bands[0]"].startswith(
        "takes low, high, points, label, knockout ("
    )
    assert _problems(lambda: bands("b", "custom.n", [(0, 10, 1), (5, None, 2)])) == {
        "$.bands": "bands 0-10 and >= 5 overlap"
    }
    assert _problems(lambda: bands("b", "custom.n", [(None, 10, 1), (None, 5, 2)])) == {
        "$.bands": "bands < 10 and < 5 overlap"
    }
    assert _problems(lambda: bands("b", "custom.n", [(0, None, 1), (5, 6, 2)])) == {
        "$.bands": "bands >= 0 and 5-6 overlap"
    }
    assert bands("b", "custom.n", [(5, 10, 1), (0, 5, 2)]).bands[0].low == 0  # type: ignore[attr-defined]
    for code in ("EURO", 3):
        assert _problems(lambda c=code: bands("b", "custom.n", [(0, 1, 1)], currency=c)) == {
            "$.currency": "must be an ISO 4217 code like 'EUR'"
        }
    with pytest.raises(ValidationError) as text:
        pattern("p", "custom.t", "cto")  # type: ignore[arg-type]
    assert [(p.path, p.message) for p in text.value.problems] == [
        ("$.patterns", "must map regular expressions to points"),
        ("$.patterns", "needs at least one pattern"),
    ]
    assert _problems(lambda: pattern("p", "custom.t", [])) == {
        "$.patterns": "needs at least one pattern"
    }
    assert _problems(lambda: pattern("p", "custom.t", ["cto"])) == {  # type: ignore[list-item]
        "$.patterns[0]": "must be a mapping with regex and points"
    }
    assert _problems(lambda: pattern("p", "custom.t", [{"regex": "a", "score": 1}])) == {
        "$.patterns[0]": "unknown keys ['score']: use regex, points, label, knockout"
    }
    assert _problems(lambda: pattern("p", "custom.t", [{"regex": "", "points": 1}])) == {
        "$.patterns[0].regex": "must be a non-empty regular expression"
    }
    assert _problems(lambda: pattern("p", "custom.t", {"(": 1}))["$.patterns[0].regex"].startswith(
        "invalid regular expression: "
    )
    assert _problems(lambda: pattern("p", "custom.t", [{"regex": "a", "label": 3}])) == {
        "$.patterns[0].label": "must be a string"
    }
    assert _problems(lambda: pattern("p", "custom.t", [{"regex": "a", "knockout": "y"}])) == {
        "$.patterns[0].knockout": "must be true or false"
    }
    assert _problems(lambda: predicate("v", "not callable")) == {  # type: ignore[arg-type]
        "$.test": "must be a callable taking the subject, returning True/False/None"
    }
    assert _problems(lambda: all_of("a", [present("p", "contact.email")])) == {
        "$.criteria": "needs at least two criteria (one_of, bands, pattern, ...)"
    }
    assert _problems(lambda: all_of("a", "pq")) == {  # type: ignore[arg-type]
        "$.criteria": "needs at least two criteria (one_of, bands, pattern, ...)"
    }
    assert _problems(lambda: all_of("a", [present("p", "contact.email"), 3])) == {  # type: ignore[list-item]
        "$.criteria[1]": "must be built with one_of, bands, pattern, ..."
    }
    assert set(_problems(lambda: present("p", "contact.email", points="x"))) == {"$.points"}
    assert set(_problems(lambda: present("p", "contact.email", absent="x"))) == {"$.absent"}
    assert set(_problems(lambda: predicate("v", bool, otherwise="x"))) == {"$.otherwise"}
    assert set(_problems(lambda: all_of("a", [present("p", "contact.email")] * 2,
                                        points="x"))) == {"$.points"}  # fmt: skip


def test_defaults_and_partial_answers_of_rules() -> None:
    parts = [present("a", "contact.email"), present("b", "contact.phone")]
    rule = all_of("r", parts)
    assert rule.config()["points"] == 1
    assert rule.config()["otherwise"] == 0
    assert rule.classify(False) == (N, D(0), "a and b: not all match")
    some = all_of("r", parts, points=6, otherwise=2)
    assert some.classify(False) == (P, D(2), "a and b: not all match")
    assert predicate("v", bool, points=5, otherwise=2).classify(False) == (P, D(2), "v: no")
    assert set(_problems(lambda: predicate("v", bool, group=""))) == {"$.group"}
    assert set(_problems(lambda: all_of("r", parts, group="g" * 101))) == {"$.group"}
    for make, subject in (
        (lambda: all_of("r", parts, weight=0), "_AllOf"),
        (lambda: predicate("v", bool, weight=0), "_Predicate"),
        (lambda: present("p", "contact.email", weight=0), "_Present"),
        (lambda: one_of("o", "custom.o", {"a": 1}, weight=0), "_OneOf"),
        (lambda: bands("b", "custom.n", [(0, 1, 1)], weight=0), "_Bands"),
        (lambda: pattern("p", "custom.t", {"a": 1}, weight=0), "_Pattern"),
    ):
        with pytest.raises(ValidationError) as caught:
            make()
        assert caught.value.subject == subject


def test_values_that_are_no_numbers_are_refused_where_they_were_given() -> None:
    assert set(_problems(lambda: one_of("x", "custom.x", {"a": 1}, weight="x"))) == {"$.weight"}
    assert set(_problems(lambda: one_of("x", "custom.x", {"a": 1}, penalty="x"))) == {"$.penalty"}
    assert set(_problems(lambda: one_of(None, "custom.x", {"a": 1}))) == {"$.name"}  # type: ignore[arg-type]
    from pipelinekit.qualification import icp_fit

    plain = [one_of("x", "custom.x", {"a": 1})]
    assert set(_problems(lambda: icp_fit("f", plain, min_coverage="x"))) == {"$.min_coverage"}
