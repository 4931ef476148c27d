"""The compact stored forms of qualification results and lead documents (schema version 7).

A result's ``to_dict`` document repeats, for every subject a strategy scores,
what only the strategy's configuration decides: its name, version and config
hash, its scale, each criterion's name, cap, group and the field paths it
cites.  Stored, a result is split in two exact parts:

* a **template**, those configuration-decided values, stored once per distinct
  content in the templates table under a key derived from it (so equal
  templates written by concurrent writers are the same row, and a template
  never changes once written);
* the **values** of one subject as a positional JSON array (no keys, trailing
  defaults left out, statuses and verdicts as small numbers, a child's
  ``as_of`` and ``subject_id`` left out when they are its parent's).

:func:`expand` rebuilds exactly the document :func:`compact` was given, so
every read returns what the verbose form returned.  Lead documents leave out
their stage history (kept in the stage history table) and the keys whose value
is the field's default.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "compact",
    "expand",
    "leave_out_columns",
    "put_back_columns",
    "slim_lead",
    "stored_text",
    "template_key",
]

_STATUSES = ("match", "partial", "no_match", "unknown", "knockout")
_VERDICTS = ("qualified", "review", "nurture", "disqualified", "insufficient_data")
_STATUS_CODE = {name: code for code, name in enumerate(_STATUSES)}
_VERDICT_CODE = {name: code for code, name in enumerate(_VERDICTS)}
_SAME = 0  # "as the parent's" (a child's subject_id; its as_of is then null)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NEVER = object()  # the as_of of a row: equal to no result's


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def template_key(template: Any) -> str:
    """The key a template is stored under (64 bits of its content's SHA-256)."""
    return hashlib.sha256(_dumps(template).encode()).hexdigest()[:16]


def _static(evidence: Any) -> bool:
    """Whether cited evidence is configuration (field paths, child results), not data."""
    return isinstance(evidence, list) and all(
        isinstance(e, str) and e.startswith(("$.", "child:")) for e in evidence
    )


def _trim(values: list[Any], defaults: tuple[Any, ...]) -> list[Any]:
    """``values`` without the trailing ones equal (and of the same type) to their default
    (``defaults`` are those of the last ``len(defaults)`` positions)."""
    start = len(values) - len(defaults)
    end = len(values)
    while end > start:
        default, value = defaults[end - 1 - start], values[end - 1]
        if type(value) is not type(default) or value != default:
            break
        end -= 1
    return values[:end]


_MICRO = timedelta(microseconds=1)


def _as_of(text: Any) -> Any:
    """An ``as_of`` text as microseconds when that gives back the same text, else the text."""
    if type(text) is not str:
        return text
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.utcoffset() != timedelta(0):
        return text
    us = (moment.replace(tzinfo=UTC) - _EPOCH) // _MICRO
    return us if _from_micros(us) == text else text


def _from_micros(value: Any) -> Any:
    if type(value) is int:
        return (_EPOCH + value * _MICRO).isoformat()
    return value


# Positions of a result's values: as_of, score, verdict, coverage, lines, grade, band,
# knockouts, subject_id, children, stale, logit (defaults of the trailing ones below).
_RESULT_TAIL: tuple[Any, ...] = (None, None, [], None, [], False, None)
# A line's values: status, points, reason, observed, evidence (when not in the template).
_LINE_TAIL = (None,)


def compact(doc: Mapping[str, Any], subject_id: str) -> tuple[str, Any, dict[str, Any]]:
    """Split the document of a result stored for ``subject_id`` into ``(template key,
    values, {key: template})`` (a ``subject_id`` equal to the row's is left out).

    Raises ``ValueError`` when the document is not a result's ``to_dict`` form
    (the caller then keeps the verbose document).
    """
    row = {"as_of": _NEVER, "subject_id": subject_id}
    template, values = _split(doc, row)  # exact for every to_dict form (a property test)
    key = template_key(template)
    return key, values, {key: template}


_RESULT_KEYS = ("strategy", "strategy_version", "config_hash", "as_of", "score", "scale_min",
                "scale_max", "verdict", "coverage", "breakdown", "grade", "band", "knockouts",
                "subject_id", "children", "stale", "logit")  # fmt: skip
_LINE_KEYS = ("criterion", "status", "points", "reason", "observed", "cap", "group", "evidence")


def _split(doc: Mapping[str, Any], parent: Mapping[str, Any]) -> tuple[list[Any], list[Any]]:
    if not isinstance(doc, Mapping) or tuple(doc) != _RESULT_KEYS:
        raise ValueError("not a result document")
    lines_static: list[Any] = []
    lines: list[Any] = []
    for line in doc["breakdown"]:
        if not isinstance(line, Mapping) or tuple(line) != _LINE_KEYS:
            raise ValueError("not a breakdown line")
        evidence = line["evidence"]
        static = _static(evidence)
        cited = evidence if static else None
        lines_static.append([line["criterion"], line["cap"], line["group"], cited])
        status = _STATUS_CODE.get(line["status"], line["status"])
        values = [status, line["points"], line["reason"], line["observed"]]
        if static:
            lines.append(_trim(values, _LINE_TAIL))
        else:
            lines.append([*values, evidence])
    children = [_split(child, doc) for child in doc["children"]]
    template = [doc["strategy"], doc["strategy_version"], doc["config_hash"], doc["scale_min"],
                doc["scale_max"], lines_static, [t for t, _ in children]]  # fmt: skip
    as_of = doc["as_of"]
    subject = doc["subject_id"]
    as_of = None if as_of == parent["as_of"] else as_of
    subject = _SAME if subject is not None and subject == parent["subject_id"] else subject
    verdict = _VERDICT_CODE.get(doc["verdict"], doc["verdict"])
    values = [_as_of(as_of), doc["score"], verdict, doc["coverage"], lines, doc["grade"],
              doc["band"], doc["knockouts"], subject, [v for _, v in children], doc["stale"],
              doc["logit"]]  # fmt: skip
    return template, _trim(values, _RESULT_TAIL)


def _at(values: list[Any], i: int, default: Any) -> Any:
    return values[i] if i < len(values) else default


def _join(template: list[Any], values: list[Any], parent: Mapping[str, Any]) -> dict[str, Any]:
    strategy, version, config_hash, scale_min, scale_max, lines_static, children_t = template
    as_of = _from_micros(values[0])
    subject = _at(values, 8, None)
    if as_of is None:
        as_of = parent["as_of"]
    if type(subject) is int:
        subject = parent["subject_id"]
    verdict = values[2]
    status_of: Callable[[Any], Any] = lambda s: _STATUSES[s] if type(s) is int else s  # noqa: E731
    breakdown = []
    for (criterion, cap, group, evidence), line in zip(lines_static, values[4], strict=True):
        breakdown.append(
            {
                "criterion": criterion,
                "status": status_of(line[0]),
                "points": line[1],
                "reason": line[2],
                "observed": _at(line, 3, None),
                "cap": cap,
                "group": group,
                "evidence": evidence if evidence is not None else _at(line, 4, []),
            }
        )
    doc: dict[str, Any] = {
        "strategy": strategy,
        "strategy_version": version,
        "config_hash": config_hash,
        "as_of": as_of,
        "score": values[1],
        "scale_min": scale_min,
        "scale_max": scale_max,
        "verdict": _VERDICTS[verdict] if type(verdict) is int else verdict,
        "coverage": values[3],
        "breakdown": breakdown,
        "grade": _at(values, 5, None),
        "band": _at(values, 6, None),
        "knockouts": _at(values, 7, []),
        "subject_id": subject,
        "children": [],
        "stale": _at(values, 10, False),
        "logit": _at(values, 11, None),
    }
    doc["children"] = [
        _join(t, v, doc) for t, v in zip(children_t, _at(values, 9, []), strict=True)
    ]
    return doc


def expand(values: Any, template: Any, subject_id: str) -> dict[str, Any]:
    """The document of a result stored for ``subject_id`` from its ``values`` and
    ``template`` (``ValueError`` if they do not fit together)."""
    try:
        return _join(template, values, {"as_of": _NEVER, "subject_id": subject_id})
    except (TypeError, ValueError, IndexError, KeyError) as error:
        raise ValueError(f"a stored result does not fit its template: {error}") from None


#: Lead document keys left out when they hold the field's default value (top level and the
#: contact, company and source objects; custom fields and engagement keep every key).
_LEAD_DEFAULTS: dict[str | None, dict[str, Any]] = {
    None: {
        "contact": None,
        "company": None,
        "source": None,
        "owner": None,
        "tags": [],
        "external_id": None,
        "prospect_id": None,
        "opportunity_id": None,
        "engagement": [],
        "notes": None,
    },
    "contact": dict.fromkeys(("name", "email", "phone", "job_title", "seniority")),
    "company": dict.fromkeys(
        ("domain", "industry", "employees", "annual_revenue", "country", "region")
    ),
    "source": {"detail": None},
}


def _strip(data: dict[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in data.items()
        if not (k in defaults and type(v) is type(defaults[k]) and v == defaults[k])
    }


def slim_lead(data: dict[str, Any]) -> dict[str, Any]:
    """A lead's ``to_dict`` document as stored: no history, no keys holding their default."""
    data.pop("history", None)
    slim = _strip(data, _LEAD_DEFAULTS[None])
    for key in ("contact", "company", "source"):
        inner = slim.get(key)
        if isinstance(inner, dict):
            slim[key] = _strip(inner, _LEAD_DEFAULTS[key])
    return slim


def stored_text(key: str, values: Any) -> str:
    """The stored text of a compact result."""
    return _dumps([key, values])


#: The lead row columns a lead document leaves out, in the order a read selects them
#: after the document and its result: id, created_us, updated_us, version, stage,
#: external_id.
_COLUMN_KEYS = ("id", "created_at", "updated_at", "version", "status", "external_id")
#: What a lead's document as saved leaves out: its history (in the history table) and
#: what its row's columns give back (:func:`put_back_columns`).
LEAD_LEFT_OUT = ("history", *_COLUMN_KEYS)


def leave_out_columns(data: dict[str, Any], columns: tuple[Any, ...]) -> None:
    """Leave out of a lead's document the values its row's ``columns`` give back exactly."""
    for name, value in zip(_COLUMN_KEYS, _column_values(columns), strict=True):
        if value is not None and name in data and data[name] == value:
            del data[name]


def put_back_columns(data: dict[str, Any], row: Any) -> None:
    """Put back into a lead's document what :func:`leave_out_columns` left out (``row``
    holds the document, its result, then the columns)."""
    for name, value in zip(_COLUMN_KEYS, _column_values(tuple(row[2:8])), strict=True):
        if value is not None and name not in data:
            data[name] = value


def _column_values(columns: tuple[Any, ...]) -> tuple[Any, ...]:
    entity_id, created_us, updated_us, version, stage, external_id = columns
    created = None if created_us is None else _from_micros(created_us)
    updated = None if updated_us is None else _from_micros(updated_us)
    return entity_id, created, updated, version, stage, external_id
