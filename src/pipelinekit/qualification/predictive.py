"""Predictive scoring: a naive Bayes model learnt from won and lost deals, as Odoo scores leads.

The model keeps won/lost counts per *(segment, field, value)* in a
:class:`FrequencyTable` and estimates the probability that a subject is won:

* every new row starts at 0.1 won and 0.1 lost (smoothing); a count taken
  back (a deal reopened) never falls below 0.1;
* a **won** deal adds one won to each of its values and to **every** stage; a
  **lost** deal adds one lost to each of its values and to every stage up to
  the one it was lost in (stage order of the pipeline; the first stage when
  none is known); a ``disqualified`` lead is a lost one, as Odoo's lost leads
  count (:func:`closed_outcome`);
* the prior comes from the first stage: ``W = won(first)``, ``L = lost(first)``,
  ``P(won) = W / (W + L)``; nothing is estimated while ``W`` or ``L`` is 0;
* for the subject's stage ``s``: ``pw = won(s) / W`` and ``pl = lost(s) / L``;
  for any other field value ``v``: ``pw = won(f, v) / Σ won(f, ·)`` and
  ``pl = lost(f, v) / Σ lost(f, ·)`` within the segment; a value without a row
  or a field with a zero total is skipped; a tag seen on fewer than
  ``tag_minimum`` closed deals (50) is ignored;
* a subject whose segment has no rows (or that has none) is scored on the
  table pooled over every segment;
* the score is ``100 * P(won)Πpw / (P(won)Πpw + P(lost)Πpl)``, rounded to two
  decimals and kept within ``[0.01, 99.99]``; a won deal scores 100 and a lost
  one 0.

``email_quality`` and ``phone_quality`` are derived fields: ``"correct"`` when
the subject has an email address (a phone number), else the explicit value
``"false"``, which is counted rather than skipped.  A lead has no stage yet: it
is scored as standing at the pipeline's first stage.

The explanation is exact in log-odds: the prior adds ``ln(P(won)/P(lost))``
and each factor ``ln(pw/pl)`` (points rounded to 12 decimals); the result's
``logit`` is their sum and its score is
:func:`~pipelinekit.domain.results.percent_from_logit` of it.  Lines are ranked
as Odoo's tooltip ranks them: what pushes the score up first, strongest first.
"""

from __future__ import annotations

import decimal
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from ..clock import ensure_aware
from ..domain.results import BreakdownLine, CriterionStatus, QualificationResult, Verdict
from ..domain.results import percent_from_logit as percent_from_logit
from ..errors import Problem, ValidationError
from ._fields import getter, is_missing, path_problem
from .base import _UNREADABLE, StrategyBase, subject_id

__all__ = [
    "DERIVED_FIELDS",
    "DOCUMENT_VERSION",
    "FrequencyRow",
    "FrequencyTable",
    "SMOOTHING",
    "PredictiveStrategy",
    "closed_outcome",
    "predictive",
    "stage_reached",
]

#: Fields computed from the subject rather than read from one path.
DERIVED_FIELDS = frozenset({"email_quality", "phone_quality"})

#: What every won and lost count starts from (Laplace-style smoothing of a fresh row).
SMOOTHING = Decimal("0.1")
_SMOOTH = SMOOTHING
_FRESH = [_SMOOTH, _SMOOTH, 0]
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_POINT = Decimal("1e-12")
_PRECISE = decimal.Context(prec=40)
_STAGE = "stage"
_QUALITY, _TAGS, _PATH = object(), object(), object()
_PRIOR = "prior"
T = TypeVar("T")
_OPEN = object()
#: The entity document version (``schema_version``) whose keys ``learn_documents`` reads.
DOCUMENT_VERSION = 1
#: Opportunity paths whose stored value is the text the model counts (plain str or an
#: enumeration's value, already normalised when the entity was built).
_PLAIN_PATHS = frozenset(
    [
        "company.name",
        "company.domain",
        "company.industry",
        "company.country",
        "company.region",
        "contact.job_title",
        "contact.seniority",
        "owner",
        "external_id",
    ]
)


@attrs.frozen
class FrequencyRow:
    """Won and lost counts of one value of one field in one segment (``None``: no segment).

    ``closed`` counts the closed deals behind the row without smoothing (it is
    what the tag minimum compares against).
    """

    segment: str | None
    field: str
    value: str
    won: Decimal
    lost: Decimal
    closed: int


class FrequencyTable:
    """Won/lost counts per (segment, field, value), updated as deals close and reopen.

    Thread-safe: updates and reads of one table may come from several threads.
    """

    def __init__(self, rows: Iterable[FrequencyRow] = ()) -> None:
        self._lock = threading.Lock()
        #: Changes each time a count changes (what a scorer's cached view is keyed on).
        self.generation = 0
        self._rows: dict[tuple[str | None, str, str], list[Any]] = {}
        for row in rows:
            self._rows[(row.segment, row.field, row.value)] = [row.won, row.lost, row.closed]

    def rows(self) -> list[FrequencyRow]:
        """Every row, sorted by segment, field and value."""
        with self._lock:
            items = sorted(self._rows.items(), key=lambda kv: (kv[0][0] or "", kv[0][1:]))
            return [FrequencyRow(s, f, v, w, lo, c) for (s, f, v), (w, lo, c) in items]

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, pairs: Iterable[tuple[str | None, str, str]], *, won: bool, delta: int) -> None:
        """Add ``delta`` (1 or -1) to the won (or lost) count of each (segment, field, value).

        A row taken back to where it started (0.1 won, 0.1 lost, no closed deal)
        is removed: a rebuild from the stored history would not have it.
        """
        column = 0 if won else 1
        with self._lock:
            self.generation += 1
            for key in pairs:
                row = self._rows.get(key)
                if row is None:
                    row = self._rows[key] = [_SMOOTH, _SMOOTH, 0]
                count = row[column] + delta
                row[column] = count if count > 0 else _SMOOTH
                row[2] = max(row[2] + delta, 0)
                if row == _FRESH:  # every count taken back: as if never counted
                    del self._rows[key]

    def view(self, segment: str | None) -> dict[str, dict[str, tuple[Decimal, Decimal]]]:
        """Won/lost counts per field and value for ``segment``, pooled when it has no rows."""
        with self._lock:
            own = [(k, v) for k, v in self._rows.items() if k[0] == segment]
            rows = own if segment is not None and own else list(self._rows.items())
        table: dict[str, dict[str, tuple[Decimal, Decimal]]] = defaultdict(dict)
        for (_segment, field, value), (won, lost, _closed) in rows:
            before = table[field].get(value, (_ZERO, _ZERO))
            table[field][value] = (before[0] + won, before[1] + lost)
        return table

    def closed_counts(self, field: str) -> dict[str, int]:
        """Closed deals counted per value of ``field`` over every segment (no smoothing)."""
        counts: dict[str, int] = defaultdict(int)
        with self._lock:
            for (_s, f, v), (_w, _l, c) in self._rows.items():
                if f == field:
                    counts[v] += c
        return dict(counts)

    def closed_count(self, field: str, value: str) -> int:
        """Closed deals counted for ``field`` = ``value`` over every segment (no smoothing)."""
        with self._lock:
            return sum(
                c for (_s, f, v), (_w, _l, c) in self._rows.items() if f == field and v == value
            )


def closed_outcome(subject: Any) -> str | None:
    """``"won"`` or ``"lost"`` for a subject the model counts, else ``None``.

    A deal's own outcome; a ``disqualified`` lead is lost (Odoo's lost lead); a
    converted lead is ``None`` (its deal is what counts).
    """
    outcome = getattr(subject, "outcome", None)
    if outcome is not None:
        text = str(outcome)
        return text if text in ("won", "lost") else None
    return "lost" if getattr(subject, "status", None) == "disqualified" else None


def stage_reached(subject: Any, stages: Sequence[str]) -> str | None:
    """The open stage of ``stages`` a deal stood in last: its own, else the last in its history."""
    stage = getattr(subject, "stage", None)
    if stage in stages:
        return str(stage)
    for change in reversed(getattr(subject, "history", ()) or ()):
        if change.from_stage in stages:
            return str(change.from_stage)
        if change.to_stage in stages:
            return str(change.to_stage)
    return None


class PredictiveStrategy(StrategyBase):
    """A naive Bayes estimate of the probability that a subject is won (see the module docs)."""

    version = "1"

    def __init__(
        self,
        name: str,
        *,
        stages: Sequence[str],
        fields: Sequence[str],
        segment: str | None,
        tag_minimum: int,
        qualify_at: Decimal,
        review_at: Decimal,
        table: FrequencyTable,
    ) -> None:
        self.name = name
        self.stages = tuple(stages)
        self.fields = tuple(fields)
        self.segment = segment
        self.tag_minimum = tag_minimum
        self.qualify_at = qualify_at
        self.review_at = review_at
        self.table = table
        self._rank = {stage: i for i, stage in enumerate(self.stages)}
        self._segment = None if segment is None else getter(segment)
        self._readers = {
            f: getter(f) for f in self.fields if f not in DERIVED_FIELDS and f != "tags"
        }
        self._views: dict[str | None, tuple[int, _View | None]] = {}
        email, phone = getter("contact.email"), getter("contact.phone")
        self._plan: list[tuple[str, object, Any]] = [
            (f, _QUALITY, email)
            if f == "email_quality"
            else (f, _QUALITY, phone)
            if f == "phone_quality"
            else (f, _TAGS, None)
            if f == "tags"
            else (f, _PATH, self._readers[f])
            for f in self.fields
        ]

    # -- configuration -------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """The settings and the learnt table (a trained model round-trips through build())."""
        return {
            "kind": "predictive",
            "name": self.name,
            "stages": list(self.stages),
            "fields": list(self.fields),
            "segment": self.segment,
            "tag_minimum": self.tag_minimum,
            "qualify_at": str(self.qualify_at),
            "review_at": str(self.review_at),
            "table": [
                {
                    "segment": r.segment,
                    "field": r.field,
                    "value": r.value,
                    "won": str(r.won),
                    "lost": str(r.lost),
                    "closed": r.closed,
                }
                for r in self.table.rows()
            ],
        }

    def untrained(self) -> PredictiveStrategy:
        """A copy with the same settings and an empty table (what a backtest trains)."""
        return self.with_rows(())

    def with_rows(self, rows: Iterable[FrequencyRow]) -> PredictiveStrategy:
        """A copy with the same settings and the table of ``rows`` (as a storage keeps them)."""
        return PredictiveStrategy(
            self.name,
            stages=self.stages,
            fields=self.fields,
            segment=self.segment,
            tag_minimum=self.tag_minimum,
            qualify_at=self.qualify_at,
            review_at=self.review_at,
            table=FrequencyTable(rows),
        )

    # -- learning ------------------------------------------------------------------
    def values(self, subject: Any) -> list[tuple[str, str]]:
        """The (field, value) pairs of ``subject`` the model counts (stage excluded)."""
        pairs: list[tuple[str, str]] = []
        append = pairs.append
        for field, kind, read in self._plan:
            if kind is _QUALITY:
                value = read(subject)
                blank = value is None or (isinstance(value, str) and not value.strip())
                append((field, "false" if blank else "correct"))
            elif kind is _TAGS:
                tags = getattr(subject, "tags", None)
                if tags:
                    pairs.extend(("tags", str(tag)) for tag in sorted(tags, key=str))
            else:
                value = read(subject)
                if value.__class__ is str:
                    if value.strip():
                        append((field, value))
                elif not is_missing(value):
                    append((field, _text(value)))
        return pairs

    def _segment_of(self, subject: Any) -> str | None:
        if self._segment is None:
            return None
        value = self._segment(subject)
        return None if is_missing(value) else _text(value)

    def record(self, subject: Any, *, won: bool, stage: str | None = None) -> None:
        """Count a deal that was just won or lost (``stage``: where a lost deal was lost).

        Call it *before* re-scoring, so the new probability already includes the
        outcome.  ``stage`` defaults to :func:`stage_reached`.
        """
        self._update(subject, won=won, stage=stage, delta=1)

    def forget(self, subject: Any, *, won: bool, stage: str | None = None) -> None:
        """Take back a counted outcome (the deal was reopened); counts never fall below 0.1."""
        self._update(subject, won=won, stage=stage, delta=-1)

    def learn(self, deals: Iterable[Any]) -> int:
        """Count every closed subject of ``deals``; returns how many were counted.

        A deal counts when it is won or lost; a lead when it is ``disqualified``
        (Odoo's lost lead: lost at the first stage).  Open deals and leads are
        skipped, and so is a converted lead (its deal is what counts).
        """
        counted = 0
        for deal in deals:
            outcome = closed_outcome(deal)
            if outcome is not None:
                self._update(deal, won=outcome == "won", stage=None, delta=1)
                counted += 1
        return counted

    def learn_documents(
        self, documents: Iterable[tuple[Any, T]], structure: Callable[[T], Any]
    ) -> int:
        """Count the closed deals of stored opportunities: ``(document, row)`` pairs.

        ``document`` is the parsed dict ``to_dict`` wrote, ``structure(row)`` the
        opportunity.  The same counts as ``learn(structure(r) for _, r in documents)``, read from
        the few keys the model needs instead of building each opportunity: a
        document the plain reading cannot vouch for (another schema version, a
        field that is not plain text, a lost deal whose stage is not one of the
        model's) goes through ``structure`` (``from_dict``) and :meth:`learn`.
        """
        plain = self._plain_reader()
        counted = 0
        for doc, row in documents:
            step = plain(doc) if plain is not None else None
            if step is None:
                counted += self.learn([structure(row)])
            elif step is not _OPEN:
                won, keys = step
                self.table.add(keys, won=won, delta=1)
                counted += 1
        self._hash = None
        return counted

    def _plain_reader(self) -> Callable[[Mapping[str, Any]], Any] | None:
        """A function giving a document's ``(won, keys)``, ``_OPEN`` or ``None`` (structure it)."""
        paths = [f for f in self.fields if f not in DERIVED_FIELDS and f != "tags"]
        if self.segment is not None:
            paths.append(self.segment)
        if any(p not in _PLAIN_PATHS for p in paths):
            return None
        plan = [
            (f, _QUALITY, ("contact", "email"))
            if f == "email_quality"
            else (f, _QUALITY, ("contact", "phone"))
            if f == "phone_quality"
            else (f, _TAGS, ())
            if f == "tags"
            else (f, _PATH, tuple(f.split(".")))
            for f in self.fields
        ]
        segment_path = None if self.segment is None else tuple(self.segment.split("."))
        stages, rank = self.stages, self._rank
        missing = object()

        def read(doc: Mapping[str, Any], path: tuple[str, ...]) -> Any:
            value: Any = doc
            for key in path:
                if value is None:
                    return None
                if not isinstance(value, dict):
                    return missing
                value = value.get(key)
            return value

        def reader(doc: Mapping[str, Any]) -> Any:
            if not isinstance(doc, dict) or doc.get("schema_version") != DOCUMENT_VERSION:
                return None
            outcome = doc.get("outcome")
            if outcome is None or outcome == "open":
                return _OPEN if "status" not in doc else None
            if outcome not in ("won", "lost"):
                return None
            won = outcome == "won"
            if segment_path is None:
                segment = None
            else:
                value = read(doc, segment_path)
                if value is missing or (value is not None and value.__class__ is not str):
                    return None
                segment = value if value is not None and value.strip() else None
            pairs: list[tuple[str | None, str, str]] = []
            append = pairs.append
            for field, kind, path in plan:
                if kind is _TAGS:
                    tags = doc.get("tags")
                    if tags is None:
                        continue
                    if tags.__class__ is not list or any(t.__class__ is not str for t in tags):
                        return None
                    pairs.extend((segment, "tags", t) for t in sorted(set(tags)))
                    continue
                value = read(doc, path)
                if value is missing or (value is not None and value.__class__ is not str):
                    return None
                blank = value is None or not value.strip()
                if kind is _QUALITY:
                    append((segment, field, "false" if blank else "correct"))
                elif not blank:
                    append((segment, field, str(value)))
            if won:
                pairs.extend((segment, _STAGE, s) for s in stages)
            else:
                stage = doc.get("stage")
                if stage not in rank:
                    return None  # the stage comes from the history: structure it
                pairs.extend((segment, _STAGE, s) for s in stages[: rank[stage] + 1])
            return won, list(dict.fromkeys(pairs))

        return reader

    def _update(self, subject: Any, *, won: bool, stage: str | None, delta: int) -> None:
        self.table.add(self.counted(subject, won=won, stage=stage), won=won, delta=delta)
        self._hash = None

    def counted(
        self, subject: Any, *, won: bool, stage: str | None = None
    ) -> list[tuple[str | None, str, str]]:
        """The (segment, field, value) rows a won (lost) ``subject`` counts in.

        Its values, and the stages a won deal (every one) or a lost deal (up to
        ``stage``, by default :func:`stage_reached`) counts for.  Raises
        :class:`~pipelinekit.ValidationError` for a stage of no pipeline stage.
        """
        reached = stage if stage is not None else stage_reached(subject, self.stages)
        if reached is not None and reached not in self._rank:
            raise ValidationError(
                "predictive",
                [
                    Problem(
                        "$.stage", f"unknown stage {reached!r}; stages: {', '.join(self.stages)}"
                    )
                ],
            )
        segment = self._segment_of(subject)
        pairs = [(segment, field, value) for field, value in self.values(subject)]
        if won:
            pairs.extend((segment, _STAGE, s) for s in self.stages)
        else:  # a lost subject with no known stage stood at least at the first one
            last = self._rank[reached] if reached is not None else 0
            pairs.extend((segment, _STAGE, s) for s in self.stages[: last + 1])
        return list(dict.fromkeys(pairs))

    # -- scoring ---------------------------------------------------------------------
    def _evaluate(self, subject: Any, as_of: datetime, explain: bool) -> QualificationResult:
        outcome = str(getattr(subject, "outcome", "open"))
        ident = subject_id(subject)
        if outcome in ("won", "lost"):
            points = _HUNDRED if outcome == "won" else _ZERO
            line = BreakdownLine(
                "outcome",
                CriterionStatus.MATCH if outcome == "won" else CriterionStatus.NO_MATCH,
                points,
                f"the deal is {outcome}",
                outcome,
            )
            return QualificationResult(
                self.name, self.version, self.config_hash, as_of, points, _ZERO, _HUNDRED,
                Verdict.QUALIFIED if outcome == "won" else Verdict.DISQUALIFIED, Decimal(1),
                (line,) if explain else (), subject_id=ident,
            )  # fmt: skip
        view = self._view(self._segment_of(subject))
        if view is None:
            return QualificationResult(
                self.name, self.version, self.config_hash, as_of, None, _ZERO, _HUNDRED,
                Verdict.INSUFFICIENT_DATA, _ZERO, subject_id=ident,
            )  # fmt: skip
        if not explain:
            logit, known = self._logit(subject, view)
            return self._result(subject, ident, as_of, logit, known, ())
        prior = view.prior
        stage = getattr(subject, "stage", None) or self.stages[0]
        factors: list[tuple[str, str, Decimal | None, str]] = []
        found = view.stages.get(stage)
        if found is None:
            factors.append((_STAGE, stage, None, f"no closed deal reached stage {stage!r}"))
        else:
            factors.append((_STAGE, stage, *found))
        known = 0
        for field, value in self.values(subject):
            if field == "tags" and value not in view.tags:
                reason = f"tag seen on fewer than {self.tag_minimum} closed deals"
                factors.append((field, value, None, reason))
                continue
            found = view.factors.get((field, value))
            if found is None:
                factors.append((field, value, None, "no closed deal had this value"))
                continue
            known += 1
            factors.append((field, value, *found))
        logit = prior + sum((f[2] for f in factors if f[2] is not None), _ZERO)
        breakdown: tuple[BreakdownLine, ...] = ()
        if explain:
            share = view.share
            ranked = sorted(
                (f for f in factors if f[2] is not None),
                key=lambda f: (-(f[2] or _ZERO), f[0], f[1]),
            )
            skipped = [f for f in factors if f[2] is None]
            built = [
                BreakdownLine(
                    _PRIOR,
                    CriterionStatus.PARTIAL,
                    prior,
                    f"base rate: {_pct(share)} of closed deals were won",
                    None,
                )
            ]
            built.extend(_line(f) for f in ranked)
            built.extend(_line(f) for f in skipped)
            breakdown = tuple(built)
        return self._result(subject, ident, as_of, logit, known, breakdown)

    def _result(
        self,
        subject: Any,
        ident: str | None,
        as_of: datetime,
        logit: Decimal,
        known: int,
        breakdown: tuple[BreakdownLine, ...],
    ) -> QualificationResult:
        score = percent_from_logit(logit)
        fields = len(self.fields) or 1
        coverage = min(Decimal(known) / fields, Decimal(1)) if self.fields else Decimal(1)
        verdict = (
            Verdict.QUALIFIED
            if score >= self.qualify_at
            else Verdict.REVIEW
            if score >= self.review_at
            else Verdict.NURTURE
        )
        return QualificationResult(
            self.name, self.version, self.config_hash, as_of, score, _ZERO, _HUNDRED, verdict,
            coverage, breakdown, subject_id=ident, logit=logit,
        )  # fmt: skip

    def score_many(self, subjects: Iterable[Any], *, as_of: datetime) -> list[Decimal | None]:
        """Just the scores, as :meth:`evaluate_many` gives them, without building results."""
        ensure_aware(as_of, "as_of")
        if isinstance(subjects, str | bytes) or not isinstance(subjects, Iterable):
            return super().score_many(subjects, as_of=as_of)  # its error names the problem
        scores: list[Decimal | None] = []
        for subject in subjects:
            try:
                scores.append(self._score(subject))
            except _UNREADABLE as error:
                raise self._unreadable(subject, error) from error
        return scores

    def _score(self, subject: Any) -> Decimal | None:
        outcome = getattr(subject, "outcome", "open")
        if outcome == "won":
            return _HUNDRED
        if outcome == "lost":
            return _ZERO
        view = self._view(self._segment_of(subject))
        if view is None:
            return None
        return percent_from_logit(self._logit(subject, view)[0])

    def _logit(self, subject: Any, view: _View) -> tuple[Decimal, int]:
        """The log-odds of ``subject`` (summed as the breakdown sums them) and the
        number of field values the model knew."""
        stage = getattr(subject, "stage", None) or self.stages[0]
        found = view.stages.get(stage)
        points = [view.prior] if found is None else [view.prior, found[0]]
        factors, tags = view.factors, view.tags
        for field, value in self.values(subject):
            if field == "tags" and value not in tags:
                continue
            factor = factors.get((field, value))
            if factor is not None:
                points.append(factor[0])
        known = len(points) - (1 if found is None else 2)
        return points[0] + sum(points[1:], _ZERO), known

    def _view(self, segment: str | None) -> _View | None:
        """The log-odds points of every known value for ``segment``, computed once per
        state of the table (``None``: nothing can be estimated yet)."""
        generation = self.table.generation
        cached = self._views.get(segment)
        if cached is not None and cached[0] == generation:
            return cached[1]
        view = self._prepare(segment)
        if len(self._views) > 1000:
            self._views.clear()
        self._views[segment] = (generation, view)
        return view

    def _prepare(self, segment: str | None) -> _View | None:
        table = self.table.view(segment)
        stages = table.get(_STAGE, {})
        first = stages.get(self.stages[0]) if self.stages else None
        if first is None or first[0] == 0 or first[1] == 0:
            return None
        won_first, lost_first = first
        with decimal.localcontext(_PRECISE):
            total = won_first + lost_first
            prior = _points((won_first / total) / (lost_first / total))
            by_stage = {
                stage: (
                    _points((c[0] / won_first) / (c[1] / lost_first)),
                    _tally(c, won_first, lost_first, "at this stage"),
                )
                for stage, c in stages.items()
            }
            factors: dict[tuple[str, str], tuple[Decimal, str]] = {}
            for field, column in table.items():
                if field == _STAGE:
                    continue
                won_total = sum((c[0] for c in column.values()), _ZERO)
                lost_total = sum((c[1] for c in column.values()), _ZERO)
                if won_total == 0 or lost_total == 0:
                    continue
                for value, c in column.items():
                    factors[(field, value)] = (
                        _points((c[0] / won_total) / (c[1] / lost_total)),
                        _tally(c, won_total, lost_total, "with this value"),
                    )
            share = won_first / total
        tags = {
            value
            for value, closed in self.table.closed_counts("tags").items()
            if closed >= self.tag_minimum
        }
        return _View(prior, share, by_stage, factors, frozenset(tags))

    def factors(self, subject: Any) -> Iterator[tuple[str, str, Decimal]]:
        """Odoo's per-factor view: (field, value, pw / (pw + pl)); above 0.5 pushes up."""
        with decimal.localcontext(_PRECISE):
            result = self._evaluate(subject, _EPOCH, True)
            for line in result.breakdown:
                if line.criterion in (_PRIOR, "outcome") or line.status is CriterionStatus.UNKNOWN:
                    continue
                ratio = line.points.exp()
                yield (
                    line.criterion,
                    str(line.observed),
                    (ratio / (1 + ratio)).quantize(Decimal("0.0001")),
                )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@attrs.frozen
class _View:
    """One segment's model at one state of the table: points and reasons per value."""

    prior: Decimal
    share: Decimal
    stages: dict[str, tuple[Decimal, str]]
    factors: dict[tuple[str, str], tuple[Decimal, str]]
    tags: frozenset[str]


def _points(ratio: Decimal) -> Decimal:
    with decimal.localcontext(_PRECISE):
        return ratio.ln().quantize(_POINT)


def _tally(counts: tuple[Decimal, Decimal], won: Decimal, lost: Decimal, where: str) -> str:
    return f"won {counts[0]} of {won}, lost {counts[1]} of {lost} {where}"


def _pct(share: Decimal) -> str:
    return f"{(share * 100).quantize(Decimal('0.1'))} %"


def _line(factor: tuple[str, str, Decimal | None, str]) -> BreakdownLine:
    field, value, points, reason = factor
    if points is None:
        return BreakdownLine(field, CriterionStatus.UNKNOWN, _ZERO, f"skipped: {reason}", value)
    status = (
        CriterionStatus.MATCH
        if points > 0
        else CriterionStatus.NO_MATCH
        if points < 0
        else CriterionStatus.PARTIAL
    )
    push = "pushes up" if points > 0 else "pushes down" if points < 0 else "neutral"
    return BreakdownLine(field, status, points, f"{push}: {reason}", value)


def _text(value: object) -> str:
    if hasattr(value, "value") and isinstance(value.value, str):
        return str(value.value)
    return str(value)


def predictive(
    name: str = "predictive",
    *,
    stages: Sequence[str],
    fields: Sequence[str] = (
        "email_quality",
        "phone_quality",
        "company.country",
        "source.channel",
        "tags",
    ),
    segment: str | None = None,
    tag_minimum: int = 50,
    qualify_at: Decimal | int | str = 60,
    review_at: Decimal | int | str = 30,
    table: Iterable[FrequencyRow | Mapping[str, Any]] = (),
) -> PredictiveStrategy:
    """A predictive strategy over the pipeline's open ``stages`` (in order) and ``fields``.

    ``segment`` is the field that splits the counts (Odoo's sales team, e.g.
    ``"owner"`` or ``"custom.team"``).  ``table`` restores learnt counts (rows or
    the mappings :meth:`PredictiveStrategy.config` writes).  Raises
    :class:`~pipelinekit.ValidationError` listing every problem.
    """
    problems: list[Problem] = []
    if not isinstance(name, str) or not name.strip():
        problems.append(Problem("$.name", "must be a non-empty name"))
    if isinstance(stages, str) or not isinstance(stages, Sequence) or not stages:
        problems.append(Problem("$.stages", "must list the pipeline's open stages in order"))
        stages = ()
    else:
        for i, stage in enumerate(stages):
            if not isinstance(stage, str) or not stage:
                problems.append(Problem(f"$.stages[{i}]", "must be a stage key"))
        if len(set(stages)) != len(stages):
            problems.append(Problem("$.stages", "lists a stage twice"))
    if isinstance(fields, str) or not isinstance(fields, Sequence):
        problems.append(Problem("$.fields", "must be a list of field paths"))
        fields = ()
    for i, field in enumerate(fields):
        if field in DERIVED_FIELDS or field == "tags":
            continue
        problem = path_problem(field)
        if problem is not None:
            problems.append(Problem(f"$.fields[{i}]", problem))
    if segment is not None and path_problem(segment) is not None:
        problems.append(Problem("$.segment", str(path_problem(segment))))
    if isinstance(tag_minimum, bool) or not isinstance(tag_minimum, int) or tag_minimum < 0:
        problems.append(
            Problem("$.tag_minimum", f"must be a whole number >= 0, got {tag_minimum!r}")
        )
    thresholds: list[Decimal] = []
    for key, value in (("qualify_at", qualify_at), ("review_at", review_at)):
        try:
            number = Decimal(str(value)) if not isinstance(value, bool | float) else None
        except decimal.InvalidOperation:
            number = None
        if number is None or not number.is_finite() or not 0 <= number <= 100:
            problems.append(Problem(f"$.{key}", f"must be a number from 0 to 100, got {value!r}"))
            number = _ZERO
        thresholds.append(number)
    rows = _rows(table, problems)
    if problems:
        raise ValidationError("predictive", problems)
    return PredictiveStrategy(
        name,
        stages=stages,
        fields=fields,
        segment=segment,
        tag_minimum=tag_minimum,
        qualify_at=thresholds[0],
        review_at=thresholds[1],
        table=FrequencyTable(rows),
    )


def _rows(
    table: Iterable[FrequencyRow | Mapping[str, Any]], problems: list[Problem]
) -> list[FrequencyRow]:
    rows: list[FrequencyRow] = []
    if isinstance(table, str | bytes) or not isinstance(table, Iterable):
        problems.append(Problem("$.table", "must be a list of rows"))
        return rows
    for i, item in enumerate(table):
        if isinstance(item, FrequencyRow):
            rows.append(item)
            continue
        path = f"$.table[{i}]"
        if not isinstance(item, Mapping):
            problems.append(
                Problem(path, "must be a row {segment, field, value, won, lost, closed}")
            )
            continue
        unknown = set(item) - {"segment", "field", "value", "won", "lost", "closed"}
        for key in sorted(unknown, key=str):
            problems.append(Problem(f"{path}.{key}", "unknown key"))
        segment, field, value = item.get("segment"), item.get("field"), item.get("value")
        if segment is not None and not isinstance(segment, str):
            problems.append(Problem(f"{path}.segment", "must be text or null"))
        for key, text in (("field", field), ("value", value)):
            if not isinstance(text, str) or not text:
                problems.append(Problem(f"{path}.{key}", "must be non-empty text"))
        counts: list[Decimal] = []
        for key in ("won", "lost"):
            raw = item.get(key)
            try:
                number = (
                    Decimal(raw)
                    if isinstance(raw, str | int) and not isinstance(raw, bool)
                    else None
                )
            except decimal.InvalidOperation:
                number = None
            if number is None or not number.is_finite() or number < _SMOOTH:
                problems.append(Problem(f"{path}.{key}", f"must be a count >= 0.1, got {raw!r}"))
                number = _SMOOTH
            counts.append(number)
        closed = item.get("closed", 0)
        if isinstance(closed, bool) or not isinstance(closed, int) or closed < 0:
            problems.append(
                Problem(f"{path}.closed", f"must be a whole number >= 0, got {closed!r}")
            )
            closed = 0
        if (
            isinstance(field, str)
            and isinstance(value, str)
            and (segment is None or isinstance(segment, str))
        ):
            rows.append(FrequencyRow(segment, field, value, counts[0], counts[1], closed))
    return rows
