"""The strategy contract: what every qualifier (built-in or plugin) looks like.

A strategy is configured once and then evaluates subjects (leads, prospects)
at a point in time.  It never reads the wall clock: ``as_of`` is an argument.
Its results carry its ``name``, ``version`` and ``config_hash`` so a stored
result always says which rules produced it.
"""

from __future__ import annotations

import abc
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

import attrs

from ..clock import ensure_aware
from ..domain._checks import Checks, to_decimal
from ..errors import PipelinekitError, Problem, ValidationError
from .errors import EvaluationError
from .results import QualificationResult, Verdict

__all__ = [
    "Band",
    "Grade",
    "Strategy",
    "StrategyBase",
    "band_for",
    "canonical_config",
    "config_hash",
    "evaluate_many",
    "grade_for",
    "subject_id",
]


@runtime_checkable
class Strategy(Protocol):
    """Anything that scores a subject at a point in time and explains the score."""

    @property
    def name(self) -> str:
        """The strategy's name, recorded in every result."""
        ...

    @property
    def version(self) -> str:
        """The strategy implementation's version, recorded in every result."""
        ...

    @property
    def config_hash(self) -> str:
        """A stable hash of the canonical configuration, recorded in every result."""
        ...

    def config(self) -> dict[str, Any]:
        """The configuration as plain JSON-compatible data (what the hash is computed from)."""
        ...

    def evaluate(
        self, subject: Any, *, as_of: datetime, explain: bool = True
    ) -> QualificationResult:
        """Evaluate one subject as of ``as_of``; ``explain=False`` skips the breakdown."""
        ...

    def evaluate_many(
        self, subjects: Iterable[Any], *, as_of: datetime, explain: bool = True
    ) -> list[QualificationResult]:
        """Evaluate many subjects at the same ``as_of`` (nightly re-scoring)."""
        ...


# what reading a subject of an unexpected shape raises; reported as EvaluationError
_UNREADABLE = (AttributeError, TypeError, KeyError, IndexError, ValueError)


class StrategyBase(abc.ABC):
    """A convenient base for strategies: implement :meth:`config` and :meth:`_evaluate`.

    It checks ``as_of`` (timezone-aware, made UTC), computes the config hash once
    and provides :meth:`evaluate_many` and :meth:`score`.  Subclasses set the
    class attributes ``version`` and (usually per instance) ``name``.
    """

    name: str = "unnamed"
    version: str = "1"
    _hash: str | None = None

    @abc.abstractmethod
    def config(self) -> dict[str, Any]:
        """Return the configuration as JSON-compatible data (Decimals as strings)."""

    @abc.abstractmethod
    def _evaluate(self, subject: Any, as_of: datetime, explain: bool) -> QualificationResult:
        """Evaluate one subject; ``as_of`` is already checked and in UTC."""

    @property
    def config_hash(self) -> str:
        """``sha256:<hex>`` of the canonical JSON of :meth:`config`."""
        if self._hash is None:
            self._hash = config_hash(self.config())
        return self._hash

    def evaluate(
        self, subject: Any, *, as_of: datetime, explain: bool = True
    ) -> QualificationResult:
        """Evaluate ``subject`` as of ``as_of`` (timezone-aware).

        With ``explain=False`` the result has no breakdown lines (faster); the
        score, verdict, grade and band are the same.  A subject the strategy
        cannot read (a field of an unexpected shape) raises
        :class:`~pipelinekit.qualification.EvaluationError`.
        """
        when = ensure_aware(as_of, "as_of")
        try:
            return self._evaluate(subject, when, explain)
        except PipelinekitError:
            raise
        except _UNREADABLE as error:
            raise self._unreadable(subject, error) from error

    def _unreadable(self, subject: Any, error: Exception) -> EvaluationError:
        return EvaluationError(
            self.name,
            subject_id(subject),
            f"cannot read the subject: {type(error).__name__}: {error}",
        )

    def evaluate_many(
        self, subjects: Iterable[Any], *, as_of: datetime, explain: bool = True
    ) -> list[QualificationResult]:
        """Evaluate every subject at the same ``as_of``; results keep the input order."""
        when = ensure_aware(as_of, "as_of")
        if isinstance(subjects, str | bytes) or not isinstance(subjects, Iterable):
            raise ValidationError(
                "evaluate_many",
                [
                    Problem(
                        "$.subjects", f"must be a list of subjects, got {type(subjects).__name__}"
                    )
                ],
            )
        run = self._batch(when, explain)
        results: list[QualificationResult] = []
        append = results.append
        subject: Any = None
        try:
            for subject in subjects:
                append(run(subject))
        except PipelinekitError:
            raise
        except _UNREADABLE as error:
            raise self._unreadable(subject, error) from error
        return results

    def _batch(self, as_of: datetime, explain: bool) -> Callable[[Any], QualificationResult]:
        """How one subject of a batch at ``as_of`` is evaluated (``as_of`` is checked).

        The default calls :meth:`_evaluate`; a strategy may return something
        faster that gives the same results.
        """
        evaluate = self._evaluate
        return lambda subject: evaluate(subject, as_of, explain)

    def reads(self) -> Mapping[str, tuple[Any, ...]]:
        """The fields this strategy reads, each with values it understands.

        Keys are field paths (``"custom.seats"``, ``"company.industry"``);
        values are examples of valid values (``(0, 10, 250)``), or ``()`` for
        "any value the field may hold".  The contract kit
        (:class:`pipelinekit.testing.qualification.StrategyContract`) fills
        these fields with valid, missing and invalid values.  Optional for
        plugins: a strategy without ``reads()`` is tested on generic subjects.
        The default declares nothing.
        """
        return {}

    def score(self, subject: Any, *, as_of: datetime) -> Decimal | None:
        """Just the score (``None`` when the subject cannot be scored)."""
        return self.evaluate(subject, as_of=as_of, explain=False).score

    def score_many(self, subjects: Iterable[Any], *, as_of: datetime) -> list[Decimal | None]:
        """Just the scores of many subjects, in input order."""
        return [r.score for r in self.evaluate_many(subjects, as_of=as_of, explain=False)]

    def __repr__(self) -> str:
        kind = self.config().get("kind", type(self).__name__)
        return f"<{kind} strategy {self.name!r} v{self.version} {self.config_hash[:15]}>"


def evaluate_many(
    strategy: Strategy, subjects: Iterable[Any], *, as_of: datetime, explain: bool = True
) -> list[QualificationResult]:
    """Evaluate ``subjects`` with any :class:`Strategy` at one ``as_of``, in input order."""
    many = getattr(strategy, "evaluate_many", None)
    if many is not None:
        return list(many(subjects, as_of=as_of, explain=explain))
    return [strategy.evaluate(s, as_of=as_of, explain=explain) for s in subjects]


def canonical_config(value: Any) -> Any:
    """Turn a configuration into canonical JSON data (sorted keys, exact numbers as strings)."""
    if isinstance(value, Mapping):
        return {str(k): canonical_config(v) for k, v in sorted(value.items(), key=_key)}
    if isinstance(value, list | tuple):
        return [canonical_config(v) for v in value]
    if isinstance(value, frozenset | set):
        return sorted(canonical_config(v) for v in value)
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return str(value.normalize()) if value else "0"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "value") and isinstance(value.value, str):  # enums
        return value.value
    raise TypeError(f"cannot put {type(value).__name__} into a canonical configuration")


def _key(item: tuple[Any, Any]) -> str:
    return str(item[0])


def config_hash(config: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` of the canonical JSON of ``config``; equal configs hash equal."""
    text = json.dumps(canonical_config(config), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def subject_id(subject: Any) -> str | None:
    """The subject's ``id`` as a string, or ``None`` when it has none."""
    ident = getattr(subject, "id", None)
    return None if ident is None else str(ident)


@attrs.frozen(init=False)
class Band:
    """A named score band: scores from ``min`` up to the next band's ``min`` get ``verdict``.

    BANT's bands, for instance: ``unqualified`` from 0, ``nurture`` from 5,
    ``qualified`` from 9, ``act_now`` from 13.
    """

    name: str
    min: Decimal
    verdict: Verdict

    def __init__(self, name: str, min: Decimal | int | str, verdict: Verdict | str) -> None:
        checks = Checks()
        checks.text("$.name", name, required=True, max_length=100)
        low = to_decimal(checks, "$.min", min)
        kind = checks.choice("$.verdict", Verdict, verdict)
        checks.done(type(self))
        assert low is not None
        assert kind is not None
        self.__attrs_init__(name, low, kind)


@attrs.frozen(init=False)
class Grade:
    """A letter grade given from ``min`` points up (``Grade("A", 80)``)."""

    letter: str
    min: Decimal

    def __init__(self, letter: str, min: Decimal | int | str) -> None:
        checks = Checks()
        checks.text("$.letter", letter, required=True, max_length=10)
        low = to_decimal(checks, "$.min", min)
        checks.done(type(self))
        assert low is not None
        self.__attrs_init__(letter, low)


def as_list(checks: Checks, path: str, value: Any) -> list[Any]:
    """``value`` as a list; a string or anything not iterable is a problem at ``path``."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        checks.add(path, f"must be a list, got {type(value).__name__}")
        return []
    return list(value)


def check_ascending(checks: Checks, path: str, items: Sequence[Band] | Sequence[Grade]) -> None:
    """Record a problem unless ``items`` have strictly increasing ``min``."""
    for i in range(1, len(items)):
        if items[i].min <= items[i - 1].min:
            checks.add(
                f"{path}[{i}].min",
                f"must be greater than the previous one ({items[i - 1].min}): list them ascending",
            )


def band_for(bands: Sequence[Band], score: Decimal) -> Band:
    """The highest band whose ``min`` the score reaches (the lowest band below all of them)."""
    chosen = bands[0]
    for band in bands:
        if score >= band.min:
            chosen = band
        else:
            break
    return chosen


def grade_for(grades: Sequence[Grade], score: Decimal) -> str | None:
    """The best grade whose ``min`` the score reaches, or ``None`` below all of them."""
    chosen: str | None = None
    for grade in grades:
        if score >= grade.min:
            chosen = grade.letter
        else:
            break
    return chosen
