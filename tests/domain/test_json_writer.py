"""The one-pass JSON writer of storage documents is exactly ``to_dict`` + ``json.dumps``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any, NewType

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pipelinekit as pk
from pipelinekit._jsontext import text_writer
from pipelinekit.serialization import json_writer, to_dict
from pipelinekit.testing import strategies as pks
from pipelinekit.validation import Structurer


def _compact(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _expected(obj: Any, omit: frozenset[str] = frozenset()) -> str:
    data = to_dict(obj)
    for key in omit:
        data.pop(key)
    return _compact(data)


_ENTITIES = st.one_of(
    pks.leads(qualification=st.none() | pks.qualification_results()),
    pks.prospects(),
    pks.opportunities(),
)


@given(_ENTITIES)
def test_entities_are_written_exactly_as_to_dict_and_json_dumps(entity: Any) -> None:
    assert json_writer(type(entity))(entity) == _expected(entity)


@given(pks.leads(qualification=pks.qualification_results()), pks.prospects())
def test_omitted_keys_are_left_out_and_nothing_else(lead: pk.Lead, prospect: pk.Prospect) -> None:
    without = frozenset({"qualification", "history"})
    assert json_writer(pk.Lead, without)(lead) == _expected(lead, without)
    assert json_writer(pk.Prospect, frozenset({"fit"}))(prospect) == _expected(
        prospect, frozenset({"fit"})
    )


@given(
    st.one_of(pks.qualification_results(), pks.money(), pks.stage_changes(), pks.email_addresses())
)
def test_value_objects_are_written_exactly(value: Any) -> None:
    assert json_writer(type(value))(value) == _expected(value)


def test_text_that_json_escapes_and_every_custom_value_type() -> None:
    at = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
    lead = pk.Lead.create(
        contact=pk.Person.of('Zoë "Q" \\ 100%\n\t\u2028', email="zoe@example.com"),
        company=pk.Company("Ünïcode ☃ %s", employees=2**40, annual_revenue=pk.Money("0.10", "EUR")),
        custom={
            "big": 10**18,
            "yes": True,
            "no": False,
            "none": None,
            "d": Decimal("1E+3"),
            "day": date(2026, 1, 2),
            "at": at,
            "t": "\x01\x1f\x7f",
        },
        tags={"b", "a", "é"},
        at=at,
    )
    assert json_writer(pk.Lead)(lead) == _expected(lead)


def test_unknown_classes_are_refused() -> None:
    with pytest.raises(TypeError, match="entity or value class"):
        json_writer(dict)


# -- the generator on classes of its own: every kind of field it treats specially -------------

Code = NewType("Code", str)


class Colour(StrEnum):
    RED = "red"


class Size(Enum):
    SMALL = 1


@attrs.frozen
class Leaf:
    code: Code
    colour: Colour
    size: Size
    count: int
    ratio: float
    flag: bool
    price: Decimal
    day: date | None
    at: datetime | None


@attrs.frozen
class Node:
    name: str
    leaf: Leaf | None
    leaves: tuple[Leaf, ...]
    children: tuple[Node, ...]
    extra: dict[str, int]
    either: int | str
    special: Special


@attrs.frozen
class Special:
    value: str


def _structurer() -> Structurer:
    structurer = Structurer()
    structurer.register(Special, lambda v: Special(v), lambda s: {"wrapped": s.value})
    return structurer


_LEAVES = st.builds(
    Leaf,
    code=st.text().map(Code),
    colour=st.just(Colour.RED),
    size=st.just(Size.SMALL),
    count=st.integers(),
    ratio=st.floats(allow_nan=False),
    flag=st.booleans(),
    price=st.decimals(allow_nan=False, allow_infinity=False),
    day=st.none() | st.dates(),
    at=st.none() | st.datetimes(timezones=st.just(UTC)),
)
_NODES = st.recursive(
    st.builds(
        Node,
        name=st.text(),
        leaf=st.none() | _LEAVES,
        leaves=st.lists(_LEAVES, max_size=2).map(tuple),
        children=st.just(()),
        extra=st.dictionaries(st.text(), st.integers(), max_size=2),
        either=st.integers() | st.text(),
        special=st.builds(Special, st.text()),
    ),
    lambda nodes: st.builds(
        Node,
        name=st.text(),
        leaf=st.none(),
        leaves=st.just(()),
        children=st.lists(nodes, max_size=2).map(tuple),
        extra=st.just({}),
        either=st.just(0),
        special=st.builds(Special, st.text()),
    ),
    max_leaves=4,
)


@given(_NODES)
def test_generated_writer_matches_the_converter_on_any_attrs_class(node: Node) -> None:
    structurer = _structurer()
    converter = structurer._fast
    write = text_writer(
        converter,
        Node,
        registered=structurer._is_registered,
        first={"v": "100%"},
        omit=("either",),
    )
    data = converter.unstructure(node, Node)
    data.pop("either")
    assert write(node) == _compact({"v": "100%", **data})
