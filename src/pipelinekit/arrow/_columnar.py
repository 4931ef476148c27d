"""The columnar fast path of :func:`~pipelinekit.arrow.score_table` for ICP fit strategies.

An ICP fit score, verdict, grade and coverage depend on nothing but each
criterion's outcome (weighted points and flags), and each outcome on nothing but
the value the criterion reads.  So the rows are grouped with Arrow compute
instead of being built one by one:

1. each criterion's key: the codes of the columns its field path reads
   (``pyarrow.compute.dictionary_encode`` of the leaf column, struct children
   combined, a presence criterion keyed on presence only);
2. one row per distinct key is built as an entity (and so validated), the
   criterion's value read from it as the strategy reads it, and its outcome
   taken from the strategy's own cached outcome function;
3. the rows are grouped by their tuple of outcomes; one row per group is built
   and evaluated by the strategy itself, and its score columns are spread back
   over the group's rows with ``take``.

Every figure comes from the strategy's own code, on a row of the group: the
results are those of ``evaluate_many`` row for row.  Strategies this path does
not cover (a :func:`~pipelinekit.qualification.predicate` criterion, a field
with no column) return ``None`` and the caller builds every row instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from operator import itemgetter
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..domain.paths import ROOT_FALLBACKS
from ..errors import ValidationError
from ..qualification.base import Strategy
from ..qualification.icp.codegen import Plan, generate
from ..qualification.icp.criteria import Criterion
from ..qualification.icp.strategy import _IcpFit
from ._convert import from_arrow
from ._schema import REQUIRED

__all__ = ["fast_scores"]

_Codes = tuple[pa.Array, int]  # int64 codes (no nulls) and how many distinct there are
_SEPARATOR = "\x00"


def _dense(codes: pa.Array) -> _Codes:
    encoded = pc.dictionary_encode(codes, null_encoding="encode")
    return encoded.indices.cast(pa.int64()), len(encoded.dictionary)


def _combine(a: _Codes, b: _Codes) -> _Codes:
    (left, m), (right, k) = a, b
    if m == 1:
        return b
    if k == 1:
        return a
    return _dense(pc.add(pc.multiply(left, k), right))


def _python_codes(column: pa.Array) -> _Codes:
    seen: dict[str, int] = {}
    codes = [seen.setdefault(repr(v), len(seen)) for v in column.to_pylist()]
    return pa.array(codes, pa.int64()), len(seen)


def _codes(column: pa.Array) -> _Codes:
    """Equal codes for equal values (nulls included), as few codes as there are values."""
    kind = column.type
    if pa.types.is_struct(kind):
        out = _dense(column.is_valid())
        for i in range(kind.num_fields):
            out = _combine(out, _codes(pc.struct_field(column, [i])))
        return out
    if pa.types.is_list(kind) and pa.types.is_string(kind.value_type):
        items = column.flatten()
        if items.null_count or pc.any(pc.match_substring(items, _SEPARATOR)).as_py():
            return _python_codes(column)
        # joined text and length: [] and [""] differ in length, and no item holds the separator
        joined = _dense(pc.binary_join(column, _SEPARATOR))
        return _combine(joined, _dense(pc.list_value_length(column)))
    if pa.types.is_nested(kind):
        return _python_codes(column)
    return _dense(column)


def _missing(column: pa.Array) -> pa.Array:
    """Whether each value counts as unknown (null, blank text, empty list), as presence reads it."""
    kind = column.type
    if pa.types.is_string(kind):
        blank = pc.equal(pc.utf8_trim_whitespace(column), "")
        return pc.fill_null(blank, True)
    if pa.types.is_list(kind):
        return pc.fill_null(pc.equal(pc.list_value_length(column), 0), True)
    return column.is_null()


_INT64 = (-(2**63), 2**63 - 1)
_AMOUNT = pa.decimal128(38, 12)
_STEP = Decimal(10) ** -12


def _boundaries(criterion: Criterion) -> list[Decimal]:
    edges = {e for b in getattr(criterion, "bands", ()) for e in (b.low, b.high) if e is not None}
    return sorted(edges)


def _buckets(numbers: pa.Array, edges: list[Any]) -> _Codes:
    """How many of ``edges`` each number reaches: a band criterion answers the same for
    every number between two consecutive edges (nulls get a code of their own)."""
    count = pa.array([0] * len(numbers), pa.int64())
    for edge in edges:
        count = pc.add(count, pc.fill_null(pc.greater_equal(numbers, edge), False).cast(pa.int64()))
    return _combine(_dense(numbers.is_valid()), _dense(count))


def _band_codes(column: pa.Array, criterion: Criterion) -> _Codes | None:
    """Codes of a band criterion's numbers by the band edges they reach, when column-wise
    comparison is exact: whole numbers, or amounts as 38-digit decimals with 12 places."""
    edges = _boundaries(criterion)
    kind = column.type
    if pa.types.is_integer(kind):
        # for a whole number n, n >= edge exactly when n >= ceil(edge)
        whole = [int(e.to_integral_value(rounding=ROUND_CEILING)) for e in edges]
        low, high = _INT64
        if any(not low <= w <= high for w in whole):
            return None
        return _buckets(column.cast(pa.int64()), whole)
    names = [kind.field(i).name for i in range(kind.num_fields)] if pa.types.is_struct(kind) else []
    if names != ["amount", "currency"] or any(e.quantize(_STEP) != e for e in edges):
        return None
    try:
        amounts = pc.struct_field(column, [0]).cast(_AMOUNT)
        scalars = [pa.scalar(e, _AMOUNT) for e in edges]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, InvalidOperation):
        return None  # an amount beyond 12 places or 38 digits: keyed on its text instead
    codes = _combine(_dense(column.is_valid()), _buckets(amounts, scalars))
    return _combine(codes, _dense(pc.struct_field(column, [1])))


def _leaf(table: pa.Table, path: str) -> tuple[pa.Array, bool] | None:
    """The column holding everything ``path`` reads (a struct child as deep as it goes), and
    whether it is the path's value itself (not a column the value is read from, as a custom
    field is read from the JSON text of all of them)."""
    top, *rest = path.split(".")
    if top not in table.column_names:
        return None
    column: pa.Array = table.column(top).combine_chunks()
    for name in rest:
        if not pa.types.is_struct(column.type):
            return column, False
        index = column.type.get_field_index(name)
        if index < 0:
            return None
        column = pc.struct_field(column, [index])
    return column, True


def _fields(criterion: Criterion) -> Iterator[Criterion] | None:
    inner = getattr(criterion, "criteria", None)
    if criterion.field is not None:
        return iter([criterion])
    if isinstance(inner, tuple):
        found: list[Criterion] = []
        for c in inner:
            more = _fields(c)
            if more is None:
                return None
            found.extend(more)
        return iter(found)
    return None  # a predicate reads what its function reads


def _key(table: pa.Table, criterion: Criterion) -> _Codes | None:
    """Codes of what ``criterion`` reads from each row, or ``None`` if they cannot be found."""
    simple = _fields(criterion)
    if simple is None:
        return None
    out: _Codes = (pa.array([0] * table.num_rows, pa.int64()), 1)
    for c in simple:
        assert c.field is not None
        root = c.field.split(".", 1)[0]
        fallback = ROOT_FALLBACKS.get(root)
        paths = [c.field]
        if fallback is not None:
            # the path's root is read from ``fallback`` when the row's own is null
            paths.append(c.field.replace(root, fallback, 1))
        found = [leaf for leaf in (_leaf(table, p) for p in paths) if leaf is not None]
        if not found:
            return None
        for column, exact in found:
            part = None
            if exact and c.presence:
                part = _dense(_missing(column))
            elif exact and c.kind == "bands":
                part = _band_codes(column, c)
            out = _combine(out, part or _codes(column))
    return out


def _first_rows(codes: pa.Array, rows: pa.Array) -> tuple[list[int], list[int]]:
    """Each distinct code and the first row holding it."""
    grouped = pa.table({"k": codes, "i": rows}).group_by("k", use_threads=False)
    found = grouped.aggregate([("i", "min")])
    return found.column("k").to_pylist(), found.column("i_min").to_pylist()


def _built(table: pa.Table, rows: list[int], kind: str) -> dict[int, Any]:
    entities: list[Any] = from_arrow(table.take(pa.array(rows, pa.int64())), kind)
    return dict(zip(rows, entities, strict=True))


class _Proxy:
    """A criterion's plan for the code generator whose value is the index of its outcome."""

    __slots__ = ("criterion", "explained", "group", "outcomes", "read", "tagged")

    def __init__(self, index: int, group: int) -> None:
        self.criterion = _Read()
        self.group = group
        self.read = itemgetter(index)
        self.outcomes: dict[int, tuple[Decimal, int]] = {}
        self.explained: dict[int, Any] = {}
        self.tagged = False

    def outcome(self, value: int) -> tuple[Decimal, int]:
        return self.outcomes[value]

    def explain(self, value: int) -> Any:  # pragma: no cover - scores only
        raise NotImplementedError


class _Read:
    __slots__ = ()
    field = None
    presence = False


def _suspect(table: pa.Table) -> bool:
    """Whether a column every entity has breaks its rule somewhere (checked column-wise):
    a null in a required column, a blank or over-long id, a negative version, an
    update before the creation."""
    if any(table.column(n).null_count for n in table.column_names if n in REQUIRED):
        return True
    ids = table.column("id")
    blank = pc.equal(pc.utf8_trim_whitespace(ids), "")
    long = pc.greater(pc.utf8_length(ids), 128)
    early = pc.less(table.column("updated_at"), table.column("created_at"))
    negative = pc.less(table.column("version"), 0)
    return any(pc.any(check).as_py() for check in (blank, long, early, negative))


#: Columns with at most this many distinct values have a row built for each value.
FEW = 1024


def _samples(table: pa.Table, rows: pa.Array) -> set[int]:
    """A row for each distinct value of every column with few of them (status, source, owner,
    tags...): their values are checked even where no criterion reads them."""
    out: set[int] = set()
    for name in table.column_names:
        column = table.column(name)
        kind = column.type
        texts = pa.types.is_list(kind) and pa.types.is_string(kind.value_type)
        flat = pa.types.is_struct(kind) and not any(pa.types.is_nested(f.type) for f in kind)
        if name == "id" or pa.types.is_timestamp(kind):
            continue  # one per row, or checked column-wise (see _suspect)
        if pa.types.is_nested(kind) and not (texts or flat):
            continue
        whole = column.combine_chunks()
        if len(whole) > 4 * FEW and _codes(whole.slice(0, 4 * FEW))[1] > FEW:
            continue  # already too many in the first rows
        codes, size = _codes(whole)
        if size <= FEW:
            out.update(_first_rows(codes, rows)[1])
    return out


def fast_scores(
    strategy: Strategy, table: pa.Table, kind: str, when: datetime
) -> tuple[list[Any], pa.Array] | None:
    """One result per group of rows with the same outcomes, and each row's group.

    ``table`` is conformed to ``kind``'s schema.  ``None`` when the fast path
    does not cover ``strategy`` or the rows it builds are not valid (the caller
    then builds every row, and reports every bad one).
    """
    if not isinstance(strategy, _IcpFit) or kind == "opportunity":
        return None
    count = table.num_rows
    if count == 0 or _suspect(table):
        return None
    keys = []
    for criterion in strategy.criteria:
        key = _key(table, criterion)
        if key is None:
            return None
        keys.append(key)
    rows = pa.array(range(count), pa.int64())
    firsts = [_first_rows(codes, rows) for codes, _ in keys]
    checked = {r for _, found in firsts for r in found} | _samples(table, rows)
    try:
        built = _built(table, sorted(checked), kind)
    except ValidationError:
        return None
    plans: list[Plan] = strategy._plans
    combined: _Codes = (pa.array([0] * count, pa.int64()), 1)
    proxies: list[_Proxy] = []
    classes_per_row: list[pa.Array] = []
    for plan, (codes, size), (distinct, found) in zip(plans, keys, firsts, strict=True):
        read = plan.read
        classes: dict[tuple[str, int], int] = {}
        proxy = _Proxy(len(proxies), plan.group)
        per_code = [0] * size
        for code, row in zip(distinct, found, strict=True):
            points, flags = plan.outcome(read(built[row]))
            # points by their text: 10 and 10.0 are equal, but sum to different texts
            index = classes.setdefault((str(points), flags), len(classes))
            proxy.outcomes[index] = (points, flags)
            per_code[code] = index
        proxies.append(proxy)
        per_row = pc.take(pa.array(per_code, pa.int64()), codes)
        classes_per_row.append(per_row)
        combined = _combine(combined, (per_row, len(classes)))
    groups, size = combined
    distinct, found = _first_rows(groups, rows)
    ordered = [0] * size
    for code, row in zip(distinct, found, strict=True):
        ordered[code] = row
    taken = pa.array(ordered, pa.int64())
    outcomes = zip(*(c.take(taken).to_pylist() for c in classes_per_row), strict=True)
    # the strategy's own summing code, over each group's outcomes instead of a subject
    run = generate(proxies, strategy._group_caps, strategy.total_cap, False)  # type: ignore[arg-type]
    floor = strategy.floor
    results = []
    made: dict[tuple[int, int, str], Any] = {}
    for outcome in outcomes:
        _, flags, known, total, _ = run(outcome)
        if floor is not None and total < floor:
            total = floor
        # many groups sum to the same figures: one result each
        figures = (flags, known, str(total))
        result = made.get(figures)
        if result is None:
            result = made[figures] = strategy._result(None, when, (), (), flags, known, total)
        results.append(result)
    return results, groups
