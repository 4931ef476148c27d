"""Checklist frameworks: BANT (the default), MEDDPICC, CHAMP, ANUM, FAINT, GPCTBA/C&I.

Every framework is an ordered list of criteria, each answered on a level scale
(``0`` .. ``max``) with a *separate* unknown, plus one aggregation policy:

* ``sum``: the levels add up; score bands give the verdict (BANT: 0-4
  unqualified, 5-8 nurture, 9-12 qualified, 13-16 act now);
* ``k_of_n``: qualified when at least ``k`` criteria reach ``met_at`` (IBM's
  rule: 3 of 4 BANT criteria met).

On top of either: a per-criterion ``floor`` (every criterion at least N to
qualify) and hard ``gates`` (a gate criterion below ``gate_at`` disqualifies;
ANUM's authority first).  Answers are read from the subject's custom fields
(``custom["bant.budget"] = 3`` or a level name like ``"approved"``) or by an
app-supplied ``reader``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from functools import cache
from types import MappingProxyType
from typing import Any

import attrs

from ..domain._checks import Checks, to_decimal
from ..errors import ValidationError
from .base import Band, StrategyBase, as_list, band_for, check_ascending, subject_id
from .errors import EvaluationError
from .results import BreakdownLine, CriterionStatus, QualificationResult, Verdict

__all__ = [
    "Item",
    "anum",
    "bant",
    "champ",
    "checklist",
    "checklist_answers",
    "faint",
    "gpctba_ci",
    "item",
    "meddpicc",
]

_ZERO = Decimal(0)
Reader = Callable[[Any], Mapping[str, Any] | None]


@attrs.frozen(init=False)
class Item:
    """One criterion of a checklist: a key, a label and its level names (index = level).

    A level is worth ``level x weight`` points.  ``unknown`` lists answers
    that mean "not known" (a CRM picklist's ``"Unknown"``): they are read as
    no answer, or as ``unknown_level`` when that is set.
    """

    key: str
    label: str
    levels: tuple[str, ...]
    weight: Decimal = Decimal(1)
    unknown: tuple[str, ...] = ()
    unknown_level: int | None = None

    def __init__(
        self,
        key: str,
        label: str,
        levels: Iterable[str],
        weight: Decimal | int | str = 1,
        unknown: Iterable[str] = (),
        unknown_level: int | None = None,
    ) -> None:
        checks = Checks()
        factor = to_decimal(checks, "$.weight", weight)
        if factor is not None and factor <= 0:
            checks.add("$.weight", f"must be > 0, got {factor}")
        unknowns: tuple[str, ...] = ()
        if isinstance(unknown, str):
            unknown = (unknown,)
        if not isinstance(unknown, Iterable) or not all(
            isinstance(u, str) and u.strip() for u in unknown
        ):
            checks.add("$.unknown", "must list the answers that mean unknown, e.g. ['Unknown']")
        else:
            unknowns = tuple(unknown)
        checks.text("$.key", key, required=True, max_length=100)
        checks.text("$.label", label, required=True, max_length=200)
        names: tuple[str, ...] = ()
        if isinstance(levels, str) or not isinstance(levels, Iterable):
            checks.add("$.levels", "must be a list of level names, lowest first")
        else:
            names = tuple(levels)
            if len(names) < 2:
                checks.add("$.levels", "needs at least two levels (e.g. 'no', 'yes')")
            for i, name in enumerate(names):
                if not isinstance(name, str) or not name.strip():
                    checks.add(f"$.levels[{i}]", "must be a non-empty string")
            folded = [n.casefold() for n in names if isinstance(n, str)]
            if len(set(folded)) != len(folded):
                checks.add("$.levels", "level names must be distinct")
            clash = [u for u in unknowns if u.strip().casefold() in folded]
            if clash:
                checks.add("$.unknown", f"{clash} are also level names")
        if unknown_level is not None and (
            isinstance(unknown_level, bool)
            or not isinstance(unknown_level, int)
            or not 0 <= unknown_level < max(len(names), 1)
        ):
            checks.add("$.unknown_level", f"must be one of the levels, got {unknown_level!r}")
        checks.done(type(self))
        self.__attrs_init__(
            key, label, names, factor if factor is not None else Decimal(1), unknowns, unknown_level
        )

    def means_unknown(self, answer: Any) -> bool:
        """Whether ``answer`` is one of the answers that mean "not known"."""
        if not self.unknown or not isinstance(answer, str):
            return False
        text = answer.strip().casefold()
        return any(u.strip().casefold() == text for u in self.unknown)

    def config(self) -> dict[str, Any]:
        """This item as plain data (weight and unknown answers only when set)."""
        out: dict[str, Any] = {"key": self.key, "label": self.label, "levels": list(self.levels)}
        if self.weight != 1:
            out["weight"] = self.weight
        if self.unknown:
            out["unknown"] = list(self.unknown)
        if self.unknown_level is not None:
            out["unknown_level"] = self.unknown_level
        return out

    @property
    def max(self) -> int:
        """The highest level."""
        return len(self.levels) - 1

    def level(self, answer: Any) -> int | str:
        """The level an answer means, or a message saying why it is not one."""
        if isinstance(answer, bool):
            return f"{answer!r} is not a level"
        if isinstance(answer, int):
            if 0 <= answer <= self.max:
                return answer
            return f"{answer} is outside 0-{self.max}"
        if isinstance(answer, str):
            text = answer.strip().casefold()
            for i, name in enumerate(self.levels):
                if name.casefold() == text:
                    return i
            if text.isdecimal():  # not isdigit(): "²" is a digit int() refuses
                try:
                    return self.level(int(text))
                except ValueError:
                    pass
            return f"{answer!r} is not one of {', '.join(self.levels)}"
        return f"{type(answer).__name__} is not a level"


def item(
    key: str,
    label: str | None = None,
    levels: Sequence[str] | int = 5,
    *,
    weight: Decimal | int | str = 1,
    unknown: Sequence[str] | str = (),
    unknown_level: int | None = None,
) -> Item:
    """A checklist criterion; ``levels`` names the levels, or gives their count (0..n-1).

    ``weight`` multiplies its level's points (MEDDPICC items weighted on a
    0-3 scale); ``unknown`` answers (``"Unknown"``) are read as no answer,
    or as ``unknown_level`` when given.
    """
    names: Any = levels  # a lone string or a non-list is refused by Item, with its path
    if isinstance(levels, int) and not isinstance(levels, bool):
        names = tuple(str(i) for i in range(levels))
    elif isinstance(levels, Iterable) and not isinstance(levels, str):
        names = tuple(levels)
    shown = key.replace("_", " ").capitalize() if isinstance(key, str) and key else "item"
    return Item(key, label or shown, names, weight, unknown, unknown_level)


def _default_bands(top: Decimal) -> tuple[Band, ...]:
    # BANT's bands generalised: quarters of the scale (0-4, 5-8, 9-12, 13-16 on 16).
    return (
        Band("unqualified", Decimal(0), Verdict.DISQUALIFIED),
        Band("nurture", Decimal(top // 4 + 1), Verdict.NURTURE),
        Band("qualified", Decimal(top // 2 + 1), Verdict.QUALIFIED),
        Band("act_now", Decimal(3 * top // 4 + 1), Verdict.QUALIFIED),
    )


class _Checklist(StrategyBase):
    version = "1"

    def __init__(
        self,
        *,
        name: str,
        items: tuple[Item, ...],
        policy: str,
        k: int,
        met_at: int | None,
        floor: int | None,
        gates: tuple[str, ...],
        gate_at: int,
        bands: tuple[Band, ...],
        min_known: int,
        prefix: str,
        reader: Reader | None,
    ) -> None:
        self.name = name
        self.items = items
        self.policy = policy
        self.k = k
        self.met_at = met_at
        self.floor = floor
        self.gates = gates
        self.gate_at = gate_at
        self.top = sum((i.max * i.weight for i in items), _ZERO)
        self.bands = bands or _default_bands(self.top)
        self.min_known = min_known
        self.prefix = prefix
        self.reader = reader
        self._keys = [(i, f"{prefix}.{i.key}" if prefix else i.key) for i in items]
        self._coverage = [
            (Decimal(n) / len(items)).quantize(Decimal("0.0001")) for n in range(len(items) + 1)
        ]

    def reads(self) -> Mapping[str, tuple[Any, ...]]:
        """Each item's custom field, with its level numbers and names (nothing with a reader)."""
        if self.reader is not None:
            return {}
        return {
            f"custom.{key}": (*range(len(entry.levels)), *entry.levels) for entry, key in self._keys
        }

    def config(self) -> dict[str, Any]:
        return {
            "kind": "checklist",
            "name": self.name,
            "items": [i.config() for i in self.items],
            "policy": self.policy,
            "k": self.k if self.policy == "k_of_n" else None,
            "met_at": self.met_at,
            "floor": self.floor,
            "gates": list(self.gates),
            "gate_at": self.gate_at,
            "bands": [{"name": b.name, "min": b.min, "verdict": b.verdict} for b in self.bands],
            "min_known": self.min_known,
            "prefix": self.prefix,
            "reader": None if self.reader is None else getattr(self.reader, "__qualname__", "?"),
        }

    def _answers(self, subject: Any) -> Mapping[str, Any]:
        if self.reader is None:
            answers = getattr(subject, "custom", None)
            source = "the subject's custom fields"
        else:
            source = "the reader"
            try:
                answers = self.reader(subject)
            except Exception as error:
                raise EvaluationError(
                    self.name,
                    subject_id(subject),
                    f"reader failed: {type(error).__name__}: {error}",
                ) from error
        if answers is None:
            return {}
        if not isinstance(answers, Mapping):
            raise EvaluationError(
                self.name,
                subject_id(subject),
                f"{source} gave {type(answers).__name__}, expected a mapping of answers",
            )
        return answers

    def _evaluate(self, subject: Any, as_of: datetime, explain: bool) -> QualificationResult:
        answers = self._answers(subject)
        lines: list[BreakdownLine] = []
        total = _ZERO
        known = 0
        met = 0
        knockouts: list[str] = []
        gate_unknown = False
        below_floor = False
        for entry, key in self._keys:
            raw = answers.get(key)
            if raw is not None and entry.means_unknown(raw):
                level: int | str | None = entry.unknown_level
            else:
                level = None if raw is None else entry.level(raw)
            is_gate = entry.key in self.gates
            met_at = entry.max if self.met_at is None else min(self.met_at, entry.max)
            if not isinstance(level, int):
                if is_gate:
                    gate_unknown = True
                if self.floor is not None:
                    below_floor = True
                if explain:
                    why = (
                        "no answer"
                        if raw is None
                        else f"answered {raw!r}"
                        if level is None
                        else f"invalid answer: {level}"
                    )
                    lines.append(
                        BreakdownLine(
                            criterion=entry.key,
                            status=CriterionStatus.UNKNOWN,
                            points=_ZERO,
                            reason=f"{entry.label}: {why} (unknown, 0 points)",
                            observed=None if raw is None else str(raw),
                            evidence=(f"$.custom.{key}",) if self.reader is None else (),
                        )
                    )
                continue
            known += 1
            points = level * entry.weight
            total += points
            status = (
                CriterionStatus.MATCH
                if level >= met_at
                else CriterionStatus.PARTIAL
                if level > 0
                else CriterionStatus.NO_MATCH
            )
            if status is CriterionStatus.MATCH:
                met += 1
            notes = []
            if is_gate and level < self.gate_at:
                status = CriterionStatus.KNOCKOUT
                knockouts.append(entry.key)
                notes.append(f"below the gate level {self.gate_at}")
            if self.floor is not None and level < self.floor:
                below_floor = True
                notes.append(f"below the floor {self.floor}")
            if explain:
                extra = f"; {', '.join(notes)}" if notes else ""
                lines.append(
                    BreakdownLine(
                        criterion=entry.key,
                        status=status,
                        points=points,
                        reason=f"{entry.label}: {entry.levels[level]} "
                        f"(level {level} of {entry.max}"
                        f"{'' if entry.weight == 1 else f' x weight {entry.weight}'}){extra}",
                        observed=entry.levels[level],
                        evidence=(f"$.custom.{key}",) if self.reader is None else (),
                    )
                )
        coverage = self._coverage[known]
        score: Decimal | None = total
        band: str | None = None
        if known < self.min_known:
            score, verdict = None, Verdict.INSUFFICIENT_DATA
        else:
            assert score is not None
            chosen = band_for(self.bands, score)
            band, verdict = chosen.name, chosen.verdict
            if self.policy == "k_of_n":
                if met >= self.k:
                    verdict = Verdict.QUALIFIED
                elif verdict is Verdict.QUALIFIED:
                    verdict = Verdict.NURTURE
            if below_floor and verdict is Verdict.QUALIFIED:
                verdict = Verdict.NURTURE
            if knockouts:
                verdict = Verdict.DISQUALIFIED
            elif gate_unknown:
                verdict = Verdict.INSUFFICIENT_DATA
        return QualificationResult(
            strategy=self.name,
            strategy_version=self.version,
            config_hash=self.config_hash,
            as_of=as_of,
            score=score,
            scale_min=_ZERO,
            scale_max=self.top,
            verdict=verdict,
            coverage=coverage,
            breakdown=tuple(lines),
            band=band,
            knockouts=tuple(knockouts),
            subject_id=subject_id(subject),
        )


def checklist(
    name: str,
    items: Sequence[Item],
    *,
    policy: str = "sum",
    k: int | None = None,
    met_at: int | None = None,
    floor: int | None = None,
    gates: Iterable[str] = (),
    gate_at: int = 1,
    bands: Sequence[Band] = (),
    min_known: int = 1,
    prefix: str | None = None,
    reader: Reader | None = None,
) -> StrategyBase:
    """A checklist strategy over ``items``.

    ``policy`` is ``"sum"`` (bands over the summed levels) or ``"k_of_n"``
    (qualified when ``k`` items reach ``met_at``; ``met_at`` defaults to each
    item's top level).  ``floor``: every item must reach this level to
    qualify (else nurture).  ``gates``: items that disqualify below
    ``gate_at`` and leave the verdict at insufficient data while unknown.
    Fewer than ``min_known`` answered items: ``score=None``.  Answers come from
    ``custom["<prefix>.<key>"]`` (``prefix`` defaults to ``name``; ``""`` for
    bare keys) or from ``reader(subject) -> mapping`` keyed by the bare item keys.
    """
    checks = Checks()
    checks.text("$.name", name, required=True, max_length=200)
    built = tuple(items) if isinstance(items, Sequence) and not isinstance(items, str) else ()
    if not built:
        checks.add("$.items", "needs at least one item")
    keys: list[str] = []
    for i, entry in enumerate(built):
        if not isinstance(entry, Item):
            checks.add(f"$.items[{i}]", "must be built with item(...)")
        elif entry.key in keys:
            checks.add(f"$.items[{i}].key", f"duplicate key {entry.key!r}")
        else:
            keys.append(entry.key)
    top = max((e.max for e in built if isinstance(e, Item)), default=0)
    if policy not in ("sum", "k_of_n"):
        checks.add("$.policy", f"must be 'sum' or 'k_of_n', got {policy!r}")
    if policy == "k_of_n":
        if k is None:
            checks.add("$.k", "policy 'k_of_n' needs k (e.g. 3 for IBM's 3 of 4)")
        elif isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(built):
            checks.add(
                "$.k", f"must be between 1 and the number of items ({len(built)}), got {k!r}"
            )
    elif k is not None:
        checks.add("$.k", "only policy 'k_of_n' takes k")
    for label, value in (("met_at", met_at), ("floor", floor), ("gate_at", gate_at)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top
        ):
            checks.add(f"$.{label}", f"must be a level between 0 and {top}, got {value!r}")
    gate_list = (gates,) if isinstance(gates, str) else tuple(as_list(checks, "$.gates", gates))
    for i, gate in enumerate(gate_list):
        if gate not in keys:
            checks.add(f"$.gates[{i}]", f"unknown item {gate!r}; items: {', '.join(keys)}")
    if isinstance(min_known, bool) or not isinstance(min_known, int) or min_known < 0:
        checks.add("$.min_known", f"must be an integer >= 0, got {min_known!r}")
    bands = as_list(checks, "$.bands", bands)
    for i, band in enumerate(bands):
        if not isinstance(band, Band):
            checks.add(f"$.bands[{i}]", "must be a Band")
    if not checks.problems:
        check_ascending(checks, "$.bands", list(bands))
    if prefix is not None and not isinstance(prefix, str):
        checks.add("$.prefix", "must be a string")
    if reader is not None and not callable(reader):
        checks.add("$.reader", "must be a callable taking the subject and returning a mapping")
    if checks.problems:
        raise ValidationError("checklist", checks.problems)
    return _Checklist(
        name=name,
        items=built,
        policy=policy,
        k=k or 0,
        met_at=met_at,
        floor=floor,
        gates=gate_list,
        gate_at=gate_at,
        bands=tuple(bands),
        min_known=min_known,
        prefix=(name if reader is None else "") if prefix is None else prefix,
        reader=reader,
    )


_FIVE = ("none", "low", "medium", "high", "confirmed")
_THREE = ("none", "partial", "validated")


def _preset(
    key: str, items: Sequence[tuple[str, str]], levels: tuple[str, ...], /, **options: Any
) -> StrategyBase:
    # positional-only: ``name`` among the options renames the preset (``bant(name="x")``)
    if options.get("reader") is None:
        options.setdefault("prefix", key)
    title = options.pop("name", None) or key
    return checklist(title, [Item(k, label, levels) for k, label in items], **options)


def bant(**options: Any) -> StrategyBase:
    """BANT, the default framework: Budget, Authority, Need, Timeline, each 0-4.

    Bands of the 0-16 sum: 0-4 unqualified, 5-8 nurture, 9-12 qualified,
    13-16 act now.  Options are :func:`checklist`'s, e.g. IBM's rule
    ``bant(policy="k_of_n", k=3, met_at=3)`` or hard gates
    ``bant(gates=["budget", "authority"], gate_at=2)``.  Level names:
    none, low, medium, high, confirmed.
    """
    items = [("budget", "Budget"), ("authority", "Authority"), ("need", "Need"),
             ("timeline", "Timeline")]  # fmt: skip
    return _preset("bant", items, _FIVE, **options)


def meddpicc(**options: Any) -> StrategyBase:
    """MEDDPICC: eight criteria, each none / partial / validated (0-2), 0-16 in all."""
    items = [
        ("metrics", "Metrics"),
        ("economic_buyer", "Economic buyer"),
        ("decision_criteria", "Decision criteria"),
        ("decision_process", "Decision process"),
        ("paper_process", "Paper process"),
        ("identified_pain", "Identified pain"),
        ("champion", "Champion"),
        ("competition", "Competition"),
    ]
    return _preset("meddpicc", items, _THREE, **options)


def champ(**options: Any) -> StrategyBase:
    """CHAMP: Challenges, Authority, Money, Prioritization, each 0-4."""
    items = [("challenges", "Challenges"), ("authority", "Authority"), ("money", "Money"),
             ("prioritization", "Prioritization")]  # fmt: skip
    return _preset("champ", items, _FIVE, **options)


def anum(**options: Any) -> StrategyBase:
    """ANUM: Authority first, as a gate (below level 2 disqualifies), then Need, Urgency, Money."""
    options.setdefault("gates", ["authority"])
    options.setdefault("gate_at", 2)
    items = [("authority", "Authority"), ("need", "Need"), ("urgency", "Urgency"),
             ("money", "Money")]  # fmt: skip
    return _preset("anum", items, _FIVE, **options)


def faint(**options: Any) -> StrategyBase:
    """FAINT: Funds (instead of Budget), Authority, Interest, Need, Timing, each 0-4 (0-20)."""
    items = [("funds", "Funds"), ("authority", "Authority"), ("interest", "Interest"),
             ("need", "Need"), ("timing", "Timing")]  # fmt: skip
    return _preset("faint", items, _FIVE, **options)


def gpctba_ci(**options: Any) -> StrategyBase:
    """GPCTBA/C&I: Goals, Plans, Challenges, Timeline, Budget, Authority, negative
    Consequences and positive Implications, each none / partial / validated (0-2)."""
    items = [
        ("goals", "Goals"),
        ("plans", "Plans"),
        ("challenges", "Challenges"),
        ("timeline", "Timeline"),
        ("budget", "Budget"),
        ("authority", "Authority"),
        ("consequences", "Negative consequences"),
        ("implications", "Positive implications"),
    ]
    return _preset("gpctba_ci", items, _THREE, **options)


@cache
def checklist_answers() -> Mapping[str, Item]:
    """The custom fields the built-in checklist presets read, and the item each one answers.

    ``{"bant.budget": Item("budget", "Budget", ("none", "low", ...)), ...}`` for
    BANT, MEDDPICC, CHAMP, ANUM, FAINT and GPCTBA/C&I with their default
    prefixes.  An answer is valid when :meth:`Item.level` gives a level for
    it; importers use this to refuse values the presets would score as unknown.
    """
    answers: dict[str, Item] = {}
    for preset in (bant, meddpicc, champ, anum, faint, gpctba_ci):
        built = preset()
        assert isinstance(built, _Checklist)
        answers.update((key, entry) for entry, key in built._keys)
    return MappingProxyType(answers)
