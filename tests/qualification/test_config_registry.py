"""Configuration from dict/TOML, the registry, and the example plugin end to end."""

from __future__ import annotations

import subprocess
import sys
import warnings
from decimal import Decimal
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

from pipelinekit import ValidationError, _plugins
from pipelinekit.qualification import (
    GROUP,
    PluginWarning,
    Strategy,
    UnknownQualifier,
    available_qualifiers,
    bands,
    build,
    from_toml,
    get_qualifier,
    half_life,
    icp_fit,
    one_of,
    register_qualifier,
    registry,
    rule,
    unregister_qualifier,
)
from pipelinekit.qualification import engagement as engagement_strategy
from pipelinekit.testing.qualification import StrategyContract

from .conftest import AS_OF, make_lead

TOML = """
kind = "icp"
name = "saas-fit"
total_cap = 100

[groups]
firmographic = 60

[[criteria]]
kind = "one_of"
name = "industry"
field = "company.industry"
points = { software = 20, fintech = 15.5 }
knockout = ["gambling"]
group = "firmographic"

[[criteria]]
kind = "bands"
name = "size"
field = "company.employees"
bands = [
  { high = 10, points = 0 },
  { low = 10, high = 200, points = 10 },
  { low = 200, points = 25 },
]
group = "firmographic"
"""


def test_toml_and_python_build_the_same_strategy() -> None:
    from_text = from_toml(TOML)
    in_python = icp_fit(
        "saas-fit",
        [
            one_of("industry", "company.industry", {"software": 20, "fintech": Decimal("15.5")},
                   knockout=["gambling"], group="firmographic"),
            bands("size", "company.employees", [(None, 10, 0), (10, 200, 10), (200, None, 25)],
                  group="firmographic"),
        ],
        groups={"firmographic": 60},
        total_cap=100,
    )  # fmt: skip
    assert from_text.config_hash == in_python.config_hash
    lead = make_lead(industry="fintech", employees=20)
    assert from_text.evaluate(lead, as_of=AS_OF) == in_python.evaluate(lead, as_of=AS_OF)
    assert from_text.evaluate(lead, as_of=AS_OF).score == Decimal("25.5")


def test_config_hash_changes_with_the_rules() -> None:
    a = from_toml(TOML)
    b = from_toml(TOML.replace("software = 20", "software = 21"))
    assert a.config_hash != b.config_hash


def test_every_problem_is_reported_with_its_path() -> None:
    with pytest.raises(ValidationError) as caught:
        build(
            {
                "kind": "icp",
                "name": "x",
                "colour": "red",
                "criteria": [
                    {"kind": "one_of", "name": "i", "field": "company.industry",
                     "points": {"software": "lots"}},
                    {"kind": "bands", "name": "s", "field": "company.employes", "bands": []},
                    {"kind": "sometimes", "name": "z"},
                    {"kind": "present", "name": "e", "field": "contact.email", "penalty": 3},
                ],
            }
        )  # fmt: skip
    assert set(caught.value.paths) == {
        "$.colour",
        "$.criteria[0].points.software",
        "$.criteria[1].field",
        "$.criteria[1].bands",
        "$.criteria[2].kind",
        "$.criteria[3].penalty",
    }


def test_a_kind_or_decay_form_of_the_wrong_type_is_reported_with_its_path() -> None:
    criteria = [{"kind": ["one_of"], "name": "a"}]
    with pytest.raises(ValidationError) as icp_error:
        build({"kind": "icp", "name": "x", "criteria": criteria})
    assert icp_error.value.paths == ("$.criteria[0].kind",)
    decay = {"form": ["half_life"]}
    with pytest.raises(ValidationError) as decay_error:
        build({"kind": "engagement", "name": "x", "rules": [], "decay": decay})
    assert decay_error.value.paths == ("$.decay.form",)


def test_nested_children_report_nested_paths() -> None:
    with pytest.raises(ValidationError) as caught:
        build(
            {
                "kind": "matrix",
                "name": "m",
                "fit": {"kind": "bant", "policy": "k_of_n"},
                "engagement": {"kind": "engagement", "name": "e",
                               "rules": [{"name": "r", "kind": "demo_request", "points": 0}],
                               "decay": {"form": "half_life", "days": -1}},
            }
        )  # fmt: skip
    assert set(caught.value.paths) == {
        "$.fit.k",
        "$.engagement.rules[0].points",
        "$.engagement.decay.days",
    }


def test_engagement_from_config_matches_python() -> None:
    built = build(
        {
            "kind": "engagement",
            "name": "e",
            "rules": [{"name": "demo", "kind": "demo_request", "points": 40, "daily_cap": 2}],
            "decay": {"form": "half_life", "days": 30},
        }
    )
    python = engagement_strategy(
        "e", [rule("demo", "demo_request", 40, daily_cap=2)], decay=half_life(30)
    )
    assert built.config_hash == python.config_hash


def test_named_predicates_are_passed_to_build() -> None:
    vip = {"kind": "predicate", "name": "vip", "test": "is_vip", "points": 7}
    config = {"kind": "icp", "name": "p", "criteria": [vip]}
    with pytest.raises(ValidationError) as caught:
        build(config)
    assert caught.value.paths == ("$.criteria[0].test",)
    strategy = build(config, named={"is_vip": lambda s: "vip" in s.tags})
    assert strategy.evaluate(make_lead(tags=frozenset(["vip"])), as_of=AS_OF).score == 7


def test_invalid_toml_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as caught:
        from_toml("kind = ")
    assert caught.value.paths == ("$",)


def test_unknown_kind_lists_the_available_ones() -> None:
    with pytest.raises(UnknownQualifier) as caught:
        get_qualifier("bnat")
    assert "bant" in caught.value.available
    assert "icp" in str(caught.value)
    with pytest.raises(ValidationError) as via_build:
        build({"kind": "bnat"})
    assert "available: " in str(via_build.value)


def test_builtins_come_through_the_entry_point_group() -> None:
    from importlib.metadata import entry_points

    names = {
        ep.name for ep in entry_points(group=GROUP) if ep.dist and ep.dist.name == "pipelinekit"
    }
    assert {"bant", "meddpicc", "champ", "anum", "faint", "gpctba_ci", "checklist", "icp",
            "engagement", "weighted", "matrix", "gate"} <= names  # fmt: skip
    assert names <= set(available_qualifiers())


def test_register_qualifier_at_run_time() -> None:
    def build_fixed(config: Any) -> Strategy:
        return icp_fit(config["name"], [one_of("c", "company.country", {"DE": 1})])

    register_qualifier("fixed", build_fixed)
    try:
        assert "fixed" in available_qualifiers()
        assert build({"kind": "fixed", "name": "f"}).evaluate(make_lead(), as_of=AS_OF).score == 1
        with pytest.raises(ValueError, match="already registered"):
            register_qualifier("fixed", build_fixed)
        register_qualifier("fixed", build_fixed, replace=True)
    finally:
        unregister_qualifier("fixed")
    assert "fixed" not in available_qualifiers()


def test_a_broken_plugin_warns_by_name_and_the_others_keep_working(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = _plugins.entry_points

    def with_broken(group: str) -> list[EntryPoint]:
        broken = EntryPoint("broken_one", "no_such_module_anywhere:build", GROUP)
        return [*real(group=group), broken] if group == GROUP else list(real(group=group))

    monkeypatch.setattr(_plugins, "entry_points", with_broken)
    registry._reset()
    try:
        assert "broken_one" in available_qualifiers()  # listed without importing anything
        with pytest.warns(PluginWarning, match="broken_one"), pytest.raises(UnknownQualifier):
            get_qualifier("broken_one")
        assert "broken_one" not in available_qualifiers()
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # warned once only
            with pytest.raises(UnknownQualifier, match="could not be loaded") as caught:
                get_qualifier("broken_one")
            assert caught.value.broken is not None
            assert "ModuleNotFoundError" in caught.value.broken
            assert build({"kind": "bant"}).name == "bant"
    finally:
        registry._reset()


def test_loading_is_lazy() -> None:
    code = (
        "import sys, pipelinekit.qualification as q\n"
        "names = q.available_qualifiers()\n"
        "assert 'email_domain' in names, names\n"
        "assert 'pipelinekit_plugin_example' not in sys.modules\n"
        "q.get_qualifier('email_domain')\n"
        "assert 'pipelinekit_plugin_example' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.fixture(autouse=True)
def _plugin_installed(example_plugin: str) -> None:
    """Every test here runs with the example plugin installed (as a user would have it)."""


def test_the_example_plugin_is_discovered_end_to_end(example_plugin: str) -> None:
    assert example_plugin in available_qualifiers()
    strategy = build({"kind": example_plugin, "name": "email", "disposable": ["spam.example"]})
    work = strategy.evaluate(make_lead(email="ada@acme.io"), as_of=AS_OF)
    free = strategy.evaluate(make_lead(email="ada@gmail.com"), as_of=AS_OF)
    junk = strategy.evaluate(make_lead(email="ada@spam.example"), as_of=AS_OF)
    none = strategy.evaluate(make_lead(email=None), as_of=AS_OF)
    assert (work.score, free.score, junk.score, none.score) == (10, 2, 0, None)
    assert junk.knockouts == ("email_domain",)
    with pytest.raises(ValidationError) as caught:
        build({"kind": example_plugin, "nmae": "x"})
    assert set(caught.value.paths) == {"$.nmae", "$.name"}


class TestExamplePluginContract(StrategyContract):
    """The plugin-author guide's contract test, run here against the example plugin."""

    def make_strategy(self) -> Strategy:
        return build({"kind": "email_domain", "name": "email"})

    def unscorable(self) -> list[Any]:
        return [make_lead(email=None)]


def test_two_plugins_with_one_name_warn_and_the_builtin_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = _plugins.entry_points

    def with_twin(group: str) -> list[EntryPoint]:
        return [EntryPoint("bant", "someone_else.module:build", GROUP), *real(group=group)]

    monkeypatch.setattr(_plugins, "entry_points", with_twin)
    registry._reset()
    try:
        with pytest.warns(PluginWarning, match="someone_else.module:build"):
            names = available_qualifiers()
        assert "bant" in names
        assert build({"kind": "bant"}).name == "bant"  # pipelinekit's own, no import error
    finally:
        registry._reset()


@pytest.mark.parametrize(
    ("raises", "contained"), [("SystemExit(3)", True), ("KeyboardInterrupt", False)]
)
def test_a_plugin_ending_the_process_at_import_is_contained_but_ctrl_c_is_not(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, raises: str, contained: bool
) -> None:
    module = f"pk_plugin_raising_{'exit' if contained else 'interrupt'}"
    (tmp_path / f"{module}.py").write_text(f"raise {raises}\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    real = _plugins.entry_points

    def with_exiting(group: str) -> list[EntryPoint]:
        exiting = EntryPoint("exiting", f"{module}:build", GROUP)
        return [*real(group=group), exiting] if group == GROUP else list(real(group=group))

    monkeypatch.setattr(_plugins, "entry_points", with_exiting)
    registry._reset()
    try:
        if contained:
            with pytest.warns(PluginWarning, match="exiting"), pytest.raises(UnknownQualifier):
                get_qualifier("exiting")
            assert "exiting" not in available_qualifiers()
            assert build({"kind": "bant"}).name == "bant"
        else:
            with pytest.raises(KeyboardInterrupt):
                get_qualifier("exiting")
    finally:
        registry._reset()
        sys.modules.pop(module, None)
