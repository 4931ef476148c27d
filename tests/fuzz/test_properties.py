"""Hostile input into every public loader: nothing but a library error escapes, nothing is
half-written.

Hypothesis feeds arbitrary and adversarial data (huge integers, huge exponents,
signalling NaNs, lone surrogates, NUL characters, deep or self-referential nesting,
bytes that are not text), both on its own and planted at any place of a valid
document, into ``from_dict``/``from_json`` for every entity and value object,
``pipeline_from_dict``/``loads_pipeline``, qualifier ``build``/``from_toml``, the
command line's settings and the importer (CSV and JSON Lines, through
``pipelinekit.io``).  The only property is that each call returns or raises a
:class:`~pipelinekit.PipelinekitError`, and that a refused import stores nothing.

The suite's profile runs each test at Hypothesis' default example count; the
``fuzz`` profile (``pytest tests/fuzz --hypothesis-profile=fuzz``) runs 2,000
examples per test.
"""

from __future__ import annotations

import contextlib
import copy
import json
import string
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pipelinekit
from pipelinekit import PipelinekitError, serialization, to_dict, to_json
from pipelinekit.cli.settings import load_settings
from pipelinekit.io import import_leads
from pipelinekit.pipelines import compile_pipeline, loads_pipeline, pipeline_from_dict
from pipelinekit.qualification import available_qualifiers, build, from_toml
from pipelinekit.storage import memory_storage

sys.path.insert(0, str(Path(__file__).resolve().parent))

import targets

AT = datetime(2026, 6, 1, tzinfo=UTC)

# -- hostile values ----------------------------------------------------------------------

_WORDS = st.sampled_from(targets.WORDS)
_NASTY_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\ud800",
        "a\x00b",
        "9" * 5000,
        "1e999999999",
        "-1E+999999999",
        "sNaN",
        "Infinity",
        "-0",
        "12.50",
        "\u202e\ufeff",
        "x" * 2000,
    ]
)
texts = st.one_of(_WORDS, _NASTY_TEXT, st.text(max_size=30))
# huge integers are built when drawn: Hypothesis cannot show them in a strategy's repr
_HUGE = st.sampled_from([5000, 400, 101, 100]).map(lambda n: 10**n) | st.sampled_from(
    [5000, 101]
).map(lambda n: -(10**n))
_NASTY_NUMBERS = _HUGE | st.sampled_from(
    [
        2**63,
        -1,
        Decimal("1e999999999"),
        Decimal("-1E+999999999"),
        Decimal("1e-999999999"),
        Decimal("sNaN"),
        Decimal("NaN"),
        Decimal("Infinity"),
        Decimal("123456789012345678901234567890.12"),
        float("nan"),
        float("inf"),
        1e308,
    ]
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.decimals(),
    _NASTY_NUMBERS,
    texts,
    st.datetimes(timezones=st.sampled_from([None, UTC])),
    st.dates(),
)


def _deep(depth: int) -> Any:
    value: Any = "x"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def _looped() -> dict[str, Any]:
    loop: dict[str, Any] = {"name": "x"}
    loop["company"] = loop
    return loop


#: JSON-like data a failing example can still be printed from
shallow = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(texts, inner, max_size=5),
    ),
    max_leaves=12,
)
#: and data nested past the limits, or holding itself
plain = shallow | st.sampled_from([65, 70, 2000]).map(_deep) | st.builds(_looped)


@st.composite
def planted(draw: st.DrawFn, base: Any) -> Any:
    """``base`` (a valid document) with one place replaced by hostile data (or removed)."""
    paths: list[tuple[Any, ...]] = []

    def collect(value: Any, path: tuple[Any, ...]) -> None:
        paths.append(path)
        if isinstance(value, dict):
            for key, item in value.items():
                collect(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                collect(item, (*path, index))

    collect(base, ())
    path = draw(st.sampled_from(paths))
    doc = copy.deepcopy(base)
    if not path:
        return draw(plain)
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    if isinstance(parent, dict) and draw(st.booleans()) and draw(st.booleans()):
        del parent[path[-1]]
        parent[draw(texts)] = draw(plain)
    else:
        parent[path[-1]] = draw(plain)
    return doc


def _dumps(value: Any) -> str:
    """``value`` as JSON text; deep or looped data as JSON text nested past any limit."""
    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except (ValueError, RecursionError):  # a container that holds itself, or very deep
        return "[" * 5000 + "]" * 5000


def _only_library_errors(call: Callable[[], object]) -> None:
    with contextlib.suppress(PipelinekitError):
        call()


# -- entities and value objects ----------------------------------------------------------

loadables = st.sampled_from(targets.LOADABLE)
_OPPORTUNITY = pipelinekit.Opportunity.create(
    name="Deal", pipeline="sales", stage="qualified", amount=pipelinekit.Money("100", "EUR"), at=AT
)
_VALID = {
    type(obj): to_dict(obj)
    for obj in (
        targets._lead(),
        _OPPORTUNITY,
        _OPPORTUNITY.amount,
        targets._lead().contact,
        targets._lead().company,
        pipelinekit.Source("referral", "partner"),
    )
}


@given(loadables, st.dictionaries(texts, plain, max_size=8))
def test_from_dict_of_arbitrary_data_raises_only_library_errors(
    cls: type, data: dict[str, Any]
) -> None:
    _only_library_errors(lambda: pipelinekit.from_dict(cls, data))


@given(st.data())
def test_from_dict_of_a_valid_document_with_hostile_data_planted(data: st.DataObject) -> None:
    cls = data.draw(st.sampled_from(sorted(_VALID, key=lambda c: c.__name__)))
    doc = data.draw(planted(_VALID[cls]))
    _only_library_errors(lambda: pipelinekit.from_dict(cls, doc))


@given(loadables, st.one_of(st.text(), st.binary(), plain.map(lambda v: _dumps(v))))
def test_from_json_of_arbitrary_text_and_bytes_raises_only_library_errors(
    cls: type, text: str | bytes
) -> None:
    _only_library_errors(lambda: pipelinekit.from_json(cls, text))


@given(st.data())
def test_accepted_json_round_trips(data: st.DataObject) -> None:
    """What from_json accepts is an entity that writes and reads back unchanged."""
    cls = data.draw(st.sampled_from(sorted(_VALID, key=lambda c: c.__name__)))
    doc = data.draw(planted(_VALID[cls]))
    try:
        text = _dumps(doc)
        obj = pipelinekit.from_json(cls, text)
    except (PipelinekitError, ValueError):  # json.dumps of an unrepresentable float
        return
    assert pipelinekit.from_json(cls, to_json(obj).encode("utf-8")) == obj


# -- pipeline definitions ----------------------------------------------------------------

_PIPELINE_TOML = targets.seed_inputs()["loads_pipeline"][0].decode()
_PIPELINE = loads_pipeline(_PIPELINE_TOML).as_dict()


def _compile(spec: Any) -> None:
    compile_pipeline(spec)


@given(st.one_of(plain, planted(_PIPELINE)))
def test_pipeline_from_dict_raises_only_library_errors(data: Any) -> None:
    _only_library_errors(lambda: _compile(pipeline_from_dict(data)))


@given(st.data())
def test_loads_pipeline_of_hostile_toml_raises_only_library_errors(data: st.DataObject) -> None:
    text = data.draw(st.one_of(st.text(), _spliced(_PIPELINE_TOML)))
    _only_library_errors(lambda: _compile(loads_pipeline(text)))


@st.composite
def _spliced(draw: st.DrawFn, text: str) -> str:
    """``text`` with a hostile fragment put in at some place."""
    at = draw(st.integers(0, len(text)))
    fragment = draw(
        st.sampled_from(
            [
                "9" * 5000,
                "1e999999999",
                "[" * 3000 + "]" * 3000,
                "{ a = " * 500 + "1" + " }" * 500,
                '"\\ud800"',
                "\x00",
                "nan",
                "-inf",
            ]
        )
        | st.text(max_size=20)
    )
    return text[:at] + fragment + text[at:]


# -- qualifiers ------------------------------------------------------------------------------

_QUALIFIER = {"kind": "bant", "name": "fit", "policy": "sum", "bands": []}


@given(st.sampled_from(available_qualifiers()), st.dictionaries(texts, plain, max_size=6))
def test_qualifier_build_raises_only_library_errors(kind: str, config: dict[str, Any]) -> None:
    def scored() -> None:
        build({**config, "kind": kind}).evaluate(targets._lead(), as_of=AT)

    _only_library_errors(scored)


@given(st.one_of(st.text(), _spliced('kind = "bant"\nname = "fit"\npolicy = "sum"\n')))
def test_qualifier_from_toml_raises_only_library_errors(text: str) -> None:
    _only_library_errors(lambda: from_toml(text).evaluate(targets._lead(), as_of=AT))


# -- settings ------------------------------------------------------------------------------

_SETTINGS = '[import]\nbatch_size = 500\ncurrency = "EUR"\n'


@given(st.one_of(st.binary(max_size=200), _spliced(_SETTINGS).map(str.encode)))
def test_settings_files_raise_only_library_errors(raw: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="pk-prop-") as folder:
        file = Path(folder) / "pipelinekit.toml"
        file.write_bytes(raw)
        _only_library_errors(lambda: load_settings(config=file, environ={}, cwd=Path(folder)))


# -- the importer ----------------------------------------------------------------------------

_COLUMNS = ["name", "email", "company", "employees", "annual_revenue", "currency", "tags", "x"]
_cells = st.one_of(
    _NASTY_TEXT,
    st.text(alphabet=string.printable, max_size=12),
    st.sampled_from(["12", "1,000", "1e3", "-3", "EUR", "ada@example.com", "Acme"]),
)


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8", "surrogatepass")


csv_files = st.one_of(
    st.binary(max_size=300),
    st.builds(
        _csv,
        st.lists(st.sampled_from(_COLUMNS), min_size=1, max_size=6, unique=True),
        st.lists(st.lists(_cells, max_size=7), max_size=5),
    ),
)
jsonl_files = st.one_of(
    st.binary(max_size=300),
    st.lists(
        st.dictionaries(st.sampled_from(_COLUMNS) | texts, plain, max_size=6).map(
            lambda row: _dumps(row)
        )
        | st.sampled_from(["[" * 3000, '{"employees": ' + "9" * 5000 + "}", "nan"]),
        max_size=5,
    ).map(lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass")),
)


def _import_twice(raw: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory(prefix="pk-prop-") as folder:
        path = Path(folder) / f"rows{suffix}"
        path.write_bytes(raw)
        storage = memory_storage()
        for at in (AT, AT + timedelta(days=1)):
            try:
                summary = import_leads(path, storage, at=at, batch_size=2)
            except PipelinekitError:
                with storage.unit_of_work() as uow:  # refused: nothing stored at all
                    assert uow.leads.count() == 0
                return
            with storage.unit_of_work() as uow:
                stored = uow.leads.count()
            assert summary.inserted + summary.updated + summary.unchanged <= summary.rows
            assert stored == summary.inserted or at != AT
        storage.close()


@given(csv_files)
def test_csv_import_raises_only_library_errors_and_stores_what_it_reports(raw: bytes) -> None:
    _import_twice(raw, ".csv")


@given(jsonl_files)
def test_json_lines_import_raises_only_library_errors_and_stores_what_it_reports(
    raw: bytes,
) -> None:
    _import_twice(raw, ".jsonl")


def test_the_boundary_flags_each_hostile_value_with_its_path() -> None:
    """The values the strategies plant are the ones the decoding boundary must catch."""
    hostile = {
        "deep": _deep(70),
        "loop": _looped(),
        "int": 10**5000,
        "exp": Decimal("1e999999999"),
        "surrogate": "\ud800",
        "long": "x" * 1_000_001,
    }
    found = pipelinekit.validation.data_problems(hostile)
    assert {p.path.split("[")[0].split(".")[1] for p in found} == set(hostile)
    assert pipelinekit.validation.data_problems(_VALID[pipelinekit.Lead]) == []


# -- from_dict and the constructor agree ---------------------------------------------------

_FIELDS = ("owner", "external_id", "notes", "status", "tags", "custom", "version")


@given(st.sampled_from(_FIELDS), st.one_of(shallow, st.lists(texts, max_size=3)))
def test_from_dict_accepts_exactly_what_the_constructor_accepts(field: str, value: Any) -> None:
    lead = targets._lead()
    data = {**to_dict(lead), field: value}
    try:
        loaded: Any = pipelinekit.from_dict(pipelinekit.Lead, data)
    except PipelinekitError:
        loaded = None
    try:
        built: Any = attrs.evolve(lead, **{field: value})
    except PipelinekitError:
        built = None
    assert (loaded is None) == (built is None), (loaded, built)
    if loaded is not None:
        assert loaded == built


# -- the limits checked while structuring ----------------------------------------------------


def _outcome(call: Callable[[], object]) -> tuple[str, object]:
    try:
        return "built", call()
    except PipelinekitError as error:
        return "refused", [(p.path, p.message) for p in getattr(error, "problems", [])]


def _two_steps(cls: type, doc: Any) -> object:
    """The decoding boundary's walk, then structuring: what from_dict does in one pass."""
    pipelinekit.validation.check_data(doc, cls.__name__)
    payload = dict(doc)
    payload.pop("schema_version", None)
    return serialization._STRUCTURER.structure(payload, cls, subject=cls.__name__)


def _nested_result(levels: int) -> dict[str, Any]:
    """A stored qualification result holding a child ``levels`` deep (2 containers a level)."""
    doc = to_dict(targets._lead().qualification or _RESULT)
    root = copy.deepcopy(doc)
    here = root
    for _ in range(levels):
        child = copy.deepcopy(doc)
        here["children"] = [child]
        here = child
    return root


_RESULT = pipelinekit.qualification.bant().evaluate(targets._lead(), as_of=AT)
_EVENT = pipelinekit.Event("page_view", AT, {"url": "/pricing", "id": 7, "seen": True})
_ONE_PASS = {
    **_VALID,
    pipelinekit.QualificationResult: _nested_result(2),
    pipelinekit.Lead: to_dict(targets._lead().evolve(engagement=(_EVENT,))),
}


@given(st.data())
def test_from_dict_in_one_pass_refuses_and_builds_what_the_two_steps_do(
    data: st.DataObject,
) -> None:
    cls = data.draw(st.sampled_from(sorted(_ONE_PASS, key=lambda c: c.__name__)))
    doc = data.draw(planted(_ONE_PASS[cls]))
    if not isinstance(doc, dict) or doc.get("schema_version", 1) != 1:
        return  # refused before structuring, the same way as before
    assert _outcome(lambda: pipelinekit.from_dict(cls, doc)) == _outcome(
        lambda: _two_steps(cls, doc)
    )


def test_nesting_through_results_holding_results_stops_at_the_depth_limit() -> None:
    """A result's children are a recursive shape: its depth is checked like any other."""
    deepest = pipelinekit.validation.MAX_DEPTH // 2 - 2  # two containers per level
    assert pipelinekit.from_dict(pipelinekit.QualificationResult, _nested_result(deepest))
    assert pipelinekit.validation.data_problems(_nested_result(deepest + 1))
    with pytest.raises(pipelinekit.ValidationError) as caught:
        pipelinekit.from_dict(pipelinekit.QualificationResult, _nested_result(deepest + 1))
    assert {p.message for p in caught.value.problems} == {
        f"nested more than {pipelinekit.validation.MAX_DEPTH} levels deep"
    }


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_places(item, (*path, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_places(item, (*path, index)))
    return found


def _with(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(doc)
    parent = out
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return out


@pytest.mark.parametrize(
    "hostile",
    [
        "\ud800",
        "x" * 1_000_001,
        10**101,
        -(10**101),
        Decimal("1e999999999"),
        Decimal("1" * 101),
        _deep(70),
        [{"k": "\ud800"}],
        {"id": "x" * 1_000_001},
        {"\ud800": 1},
    ],
    ids=["surrogate", "long", "int", "negative-int", "exponent", "digits", "deep", "in-list",
         "in-dict", "key"],
)  # fmt: skip
def test_one_pass_and_two_steps_agree_with_hostile_data_at_every_place(hostile: Any) -> None:
    """Every place of every loadable document, including custom fields, event properties
    and a result's children, holding each kind of value beyond the limits."""
    for cls, valid in _ONE_PASS.items():
        for path in _places(valid):
            doc = _with(valid, path, hostile)
            one_pass = _outcome(lambda: pipelinekit.from_dict(cls, doc))  # noqa: B023
            assert one_pass == _outcome(lambda: _two_steps(cls, doc)), (cls, path)  # noqa: B023
            assert one_pass[0] == "refused", (cls, path)
