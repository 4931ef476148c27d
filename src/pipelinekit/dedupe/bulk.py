"""Scoring candidate pairs in bulk: blocks become index arrays, rules array operations.

The fast path of :func:`~pipelinekit.dedupe.find`.  It takes the same
candidate pairs as the pair-by-pair path (the same blocks, the same sorted
neighbourhoods) and computes the same integer scores (a fuzzy rule's
similarity is rapidfuzz's ``ratio`` rounded half to even, as ``round`` does),
so it reports the same matched pairs; a property test compares the two.

Candidate pairs are made block by block as numpy index arrays (blocks of one
size at once), scored a chunk at a time (at most :data:`CHUNK` pairs), and
only the pairs that reach the threshold are kept: nothing per pair is built
in Python except the fuzzy texts of the pairs whose score still depends on them.
It needs numpy and rapidfuzz 3.6 or later (``process.cpdist``); without them
:func:`available` is false and ``find`` scores pair by pair.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .rules import MatchRules, RuleKind

__all__ = ["CHUNK", "available", "matched"]

#: At most this many candidate pairs are scored at once (bounds the memory of one step).
CHUNK = 1 << 19

_LOADED: dict[str, Any] = {}


def available(rules: MatchRules) -> bool:
    """Whether numpy (and, for fuzzy rules, rapidfuzz's ``cpdist``) can be imported."""
    if "numpy" not in _LOADED:
        _LOADED.update(numpy=_module("numpy"), cpdist=_module("rapidfuzz.process", "cpdist"))
    if _LOADED["numpy"] is None:
        return False  # pragma: no cover
    return _LOADED["cpdist"] is not None or not any(rule.fuzzy for rule in rules.rules)


def _module(name: str, attribute: str | None = None) -> Any:
    """An optional module (or one of its attributes), ``None`` when it cannot be imported."""
    try:
        module = importlib.import_module(name)
    except ImportError:  # pragma: no cover - the dedupe extra installs numpy and rapidfuzz
        return None
    return module if attribute is None else getattr(module, attribute, None)


def _codes(np: Any, values: Sequence[Any]) -> Any:
    """Equal values get equal integer codes; ``None`` gets ``-1``."""
    seen: dict[Any, int] = {}
    setdefault = seen.setdefault
    return np.fromiter(
        (-1 if v is None else setdefault(v, len(seen)) for v in values),
        dtype=np.int32,
        count=len(values),
    )


class _Columns:
    """Per rule, the records' keys as arrays: codes of what must be equal, texts to compare."""

    def __init__(self, np: Any, keys: Sequence[Sequence[Any]], rules: MatchRules) -> None:
        self.codes: list[Any] = []
        self.texts: list[list[str] | None] = []
        for index, rule in enumerate(rules.rules):
            column = [record[index] for record in keys]
            if rule.kind is RuleKind.EMAIL_DOMAIN_NAME:
                self.codes.append(_codes(np, [None if v is None else v[0] for v in column]))
                self.texts.append(["" if v is None else v[1] for v in column])
            elif rule.kind is RuleKind.COMPANY_NAME:
                # any two named records are compared: one code for "has a name"
                self.codes.append(
                    np.fromiter((-1 if v is None else 0 for v in column), np.int32, len(column))
                )
                self.texts.append(["" if v is None else v for v in column])
            else:
                self.codes.append(_codes(np, column))
                self.texts.append(None)


def _windows(np: Any, order: Sequence[int], window: int) -> Iterator[tuple[Any, Any]]:
    """Each record of ``order`` with the ``window`` after it, as ``(smaller, larger)`` arrays."""
    ordered = np.asarray(order, dtype=np.int64)
    for step in range(1, min(window, len(ordered) - 1) + 1):
        a, b = ordered[:-step], ordered[step:]
        yield np.minimum(a, b), np.maximum(a, b)


def _candidates(
    np: Any,
    keys: Sequence[Sequence[Any]],
    columns: _Columns,
    rules: MatchRules,
    passive: frozenset[int],
    sort_text: Callable[[int], str],
) -> Iterator[tuple[Any, Any]]:
    """The candidate pairs ``(i, j)``, ``i < j``, as index arrays (a pair may come twice)."""
    for index, rule in enumerate(rules.rules):
        if index in passive:
            continue
        if rule.kind is RuleKind.COMPANY_NAME:
            named = sorted((k[index], i) for i, k in enumerate(keys) if k[index] is not None)
            yield from _windows(np, [i for _, i in named], rules.window)
            continue
        # a block is the records with one code (the email domain's, for a name rule),
        # in index order (a stable sort)
        codes = columns.codes[index]
        present = np.flatnonzero(codes >= 0)
        order = present[np.argsort(codes[present], kind="stable")]
        grouped = codes[order]
        starts = np.flatnonzero(np.concatenate(([True], grouped[1:] != grouped[:-1])))
        sizes = np.diff(np.concatenate((starts, [len(order)])))
        for size in np.unique(sizes).tolist():
            if size < 2:
                continue
            at = starts[sizes == size]
            if size > rules.max_block:
                for first in at.tolist():
                    texts = [(sort_text(i), i) for i in order[first : first + size].tolist()]
                    for ordered in (sorted(texts), sorted((t[::-1], i) for t, i in texts)):
                        yield from _windows(np, [i for _, i in ordered], rules.window)
                continue
            left, right = np.triu_indices(size, 1)  # members in index order: i < j
            per = max(1, CHUNK // len(left))
            for begin in range(0, len(at), per):
                table = order[at[begin : begin + per, None] + np.arange(size)]
                yield table[:, left].ravel(), table[:, right].ravel()


def matched(
    keys: Sequence[Sequence[Any]],
    rules: MatchRules,
    steps: Sequence[tuple[int, RuleKind, int, int, int]],
    threshold: int,
    passive: frozenset[int],
    sort_text: Callable[[int], str],
) -> list[tuple[int, int]]:
    """The distinct index pairs ``(i, j)``, ``i < j``, of candidates whose score reaches
    ``threshold`` (in the scorer's integer units), sorted; links are not looked at here."""
    np = _LOADED["numpy"]
    cpdist = _LOADED["cpdist"]
    ratio: Any = None
    if cpdist is not None:
        from rapidfuzz.fuzz import ratio
    columns = _Columns(np, keys, rules)
    found: list[Any] = []
    for left, right in _candidates(np, keys, columns, rules, passive, sort_text):
        for start in range(0, len(left), CHUNK):
            i, j = left[start : start + CHUNK], right[start : start + CHUNK]
            total = np.zeros(len(i), dtype=np.int64)
            for index, _kind, least, units, rest in steps:
                a = columns.codes[index][i]
                b = columns.codes[index][j]
                fires = (a == b) & (a >= 0)
                texts = columns.texts[index]
                if texts is None:
                    total += fires * (units * 100)
                    continue
                # a similarity is measured only where it can still decide the pair
                undecided = (total < threshold) & (total + units * 100 + rest >= threshold)
                where = np.flatnonzero(fires & undecided)
                if len(where):
                    x = [texts[k] for k in i[where].tolist()]
                    y = [texts[k] for k in j[where].tolist()]
                    similarity = np.rint(cpdist(x, y, scorer=ratio, workers=1)).astype(np.int64)
                    total[where] += np.where(similarity >= least, similarity * units, 0)
            hits = total >= threshold
            if hits.any():
                found.append(i[hits] * len(keys) + j[hits])
    if not found:
        return []
    codes = np.unique(np.concatenate(found))
    n = len(keys)
    return list(zip((codes // n).tolist(), (codes % n).tolist(), strict=True))
