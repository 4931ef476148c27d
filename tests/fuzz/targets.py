"""Fuzz targets for the public loaders: bytes in, and only a PipelinekitError may come out.

One function per loader, shared by the atheris harnesses (``atheris_*.py``, which
look for crashes) and by ``test_corpus.py`` (which replays the kept corpus in the
normal test run, without atheris).  A target returns normally or raises
:class:`pipelinekit.PipelinekitError`; anything else escaping is a crash.

The importer is reached through :func:`_importer` only.
"""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pipelinekit
from pipelinekit import PipelinekitError
from pipelinekit.pipelines import compile_pipeline, loads_pipeline
from pipelinekit.qualification import build, from_toml

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)

#: The types ``from_json`` / ``from_dict`` targets build, chosen by the first byte.
LOADABLE: tuple[type, ...] = (
    pipelinekit.Lead,
    pipelinekit.Prospect,
    pipelinekit.Opportunity,
    pipelinekit.Money,
    pipelinekit.Company,
    pipelinekit.Person,
    pipelinekit.EmailAddress,
    pipelinekit.PhoneNumber,
    pipelinekit.Source,
    pipelinekit.Event,
    pipelinekit.StageChange,
    pipelinekit.QualificationResult,
    pipelinekit.BreakdownLine,
)

#: Words the structure decoder uses as keys and strings, so that inputs reach past
#: "unknown key" into the fields' own checks.
WORDS: tuple[str, ...] = (
    # entity and value fields
    "id",
    "created_at",
    "updated_at",
    "contact",
    "company",
    "source",
    "status",
    "owner",
    "tags",
    "custom",
    "external_id",
    "prospect_id",
    "opportunity_id",
    "engagement",
    "qualification",
    "history",
    "notes",
    "version",
    "schema_version",
    "name",
    "email",
    "phone",
    "job_title",
    "seniority",
    "domain",
    "industry",
    "employees",
    "annual_revenue",
    "country",
    "region",
    "amount",
    "currency",
    "channel",
    "detail",
    "kind",
    "at",
    "properties",
    "from_stage",
    "to_stage",
    "event",
    "actor",
    "note",
    "pipeline",
    "stage",
    "probability",
    "probability_source",
    "manual_probability",
    "automated_probability",
    "expected_close",
    "outcome",
    "closed_at",
    "lost_reason",
    "competitor",
    "persona",
    "person",
    "fit",
    "lead_id",
    "value",
    "raw",
    "strategy",
    "score",
    "max_score",
    "verdict",
    "breakdown",
    "knockouts",
    "children",
    "subject_id",
    "criterion",
    "points",
    "observed",
    "reason",
    "label",
    "weight",
    # qualifier configuration
    "bant",
    "meddpicc",
    "champ",
    "anum",
    "faint",
    "gpctba_ci",
    "checklist",
    "icp",
    "engagement",
    "weighted",
    "matrix",
    "gate",
    "criteria",
    "rules",
    "bands",
    "grades",
    "qualify_at",
    "disqualify_below",
    "threshold",
    "half_life_days",
    "decay",
    "weights",
    "field",
    "test",
    "op",
    "equals",
    "in",
    "min",
    "max",
    "one_of",
    "all_of",
    "any_of",
    "not",
    "mode",
    "rows",
    "columns",
    "cells",
    "parts",
    "reader",
    "required",
    "predicate",
    "present",
    "penalty",
    "daily_cap",
    "policy",
    "k_of_n",
    "demo_request",
    "software",
    # values
    "EUR",
    "USD",
    "JPY",
    "DE",
    "US",
    "new",
    "open",
    "won",
    "lost",
    "manual",
    "closed",
    "referral",
    "website",
    "c_level",
    "qualified",
    "disqualified",
    "nurture",
    "met",
    "unmet",
    "unknown",
    "2026-01-01T00:00:00+00:00",
    "2026-01-01",
    "ada@example.com",
    "+44 20 7946 0958",
    "example.com",
    "12.50",
    "1e999999",
    "-0",
    "NaN",
)


class Reader:
    """Reads a Python value out of fuzz bytes (deterministic: same bytes, same value)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        value = self.data[self.pos]
        self.pos += 1
        return value

    def chunk(self, size: int) -> bytes:
        piece = self.data[self.pos : self.pos + size]
        self.pos += size
        return piece

    def text(self) -> str:
        choice = self.byte()
        if choice < 160:
            return WORDS[choice % len(WORDS)]
        raw = self.chunk(self.byte() % 24)
        if choice < 240:
            return raw.decode("utf-8", "replace")
        return raw.decode("utf-16-le", "surrogatepass") if len(raw) % 2 == 0 else raw.hex()

    def value(self, depth: int = 0) -> Any:
        kind = self.byte() % (14 if depth < 12 else 9)
        if kind == 0:
            return None
        if kind == 1:
            return bool(self.byte() & 1)
        if kind == 2:
            return int.from_bytes(self.chunk(self.byte() % 9), "big", signed=True)
        if kind == 3:
            return self.text()
        if kind == 4:
            return Decimal(self.byte() - 128).scaleb(self.byte() - 128)
        if kind == 5:
            raw = self.chunk(8).ljust(8, b"\0")
            return float.fromhex(raw.hex()[:1] + "." + raw.hex()[1:] + "p" + str(self.byte() - 128))
        if kind == 6:
            offset = timedelta(minutes=(self.byte() - 128) * 7)
            zone = timezone(offset) if self.byte() & 1 else None
            return datetime(2026, 1, 1, tzinfo=zone) + timedelta(hours=self.byte() - 128)
        if kind == 7:
            return date(2026, 1, 1) + timedelta(days=self.byte() - 128)
        if kind == 8:
            return 10 ** (self.byte() * 40)  # huge ints
        if kind in (9, 10, 11):
            return {self.text(): self.value(depth + 1) for _ in range(self.byte() % 6)}
        if kind == 12:
            return [self.value(depth + 1) for _ in range(self.byte() % 5)]
        return tuple(self.value(depth + 1) for _ in range(self.byte() % 3))


def _importer() -> ModuleType:
    """The module holding ``import_leads``."""
    import pipelinekit.io

    return pipelinekit.io


def from_json_target(data: bytes) -> None:
    """``from_json(cls, text)`` with the class chosen by the first byte."""
    if not data:
        return
    cls = LOADABLE[data[0] % len(LOADABLE)]
    pipelinekit.from_json(cls, data[1:])


def from_dict_target(data: bytes) -> None:
    """``from_dict(cls, mapping)`` on any Python structure, not only JSON's."""
    if not data:
        return
    cls = LOADABLE[data[0] % len(LOADABLE)]
    reader = Reader(data[1:])
    mapping = {reader.text(): reader.value() for _ in range(reader.byte() % 12)}
    pipelinekit.from_dict(cls, mapping)


def loads_pipeline_target(data: bytes) -> None:
    """``loads_pipeline(text)``, and compiling what it accepts."""
    text = data.decode("utf-8", "surrogateescape")
    spec = loads_pipeline(text)
    compile_pipeline(spec)


_LEAD: Any = None


def _lead() -> Any:
    global _LEAD
    if _LEAD is None:
        _LEAD = pipelinekit.Lead.create(
            contact=pipelinekit.Person.of("Ada", email="ada@example.com", job_title="CTO"),
            company=pipelinekit.Company(
                "Acme", domain="acme.io", industry="software", employees=250, country="DE"
            ),
            tags={"webinar"},
            custom={"bant.budget": True, "seats": 12},
            at=datetime(2026, 1, 1, tzinfo=UTC),
        )
    return _LEAD


def _evaluate(strategy: Any) -> None:
    strategy.evaluate(_lead(), as_of=AS_OF)


def qualifier_build_target(data: bytes) -> None:
    """``qualification.build(config)`` on any structure; the built strategy scores a lead."""
    reader = Reader(data)
    config = {reader.text(): reader.value() for _ in range(reader.byte() % 10)}
    config["kind"] = reader.text()
    _evaluate(build(config))


def qualifier_toml_target(data: bytes) -> None:
    """``qualification.from_toml(text)``; the built strategy scores a lead."""
    _evaluate(from_toml(data.decode("utf-8", "surrogateescape")))


def _import(data: bytes, suffix: str) -> None:
    importer = _importer()
    with tempfile.TemporaryDirectory(prefix="pk-fuzz-") as folder:
        path = Path(folder) / f"rows{suffix}"
        path.write_bytes(data)
        storage = pipelinekit.memory_storage()
        try:
            importer.import_leads(path, storage, at=AS_OF)
            importer.import_leads(path, storage, at=AS_OF + timedelta(days=1))  # re-import
        finally:
            storage.close()


def import_csv_target(data: bytes) -> None:
    """``import_leads`` of a CSV file, imported twice (insert, then upsert)."""
    _import(data, ".csv")


def import_jsonl_target(data: bytes) -> None:
    """``import_leads`` of a JSON Lines file, imported twice (insert, then upsert)."""
    _import(data, ".jsonl")


TARGETS: dict[str, Callable[[bytes], None]] = {
    "from_json": from_json_target,
    "from_dict": from_dict_target,
    "loads_pipeline": loads_pipeline_target,
    "qualifier_build": qualifier_build_target,
    "qualifier_toml": qualifier_toml_target,
    "import_csv": import_csv_target,
    "import_jsonl": import_jsonl_target,
}


def run(name: str, data: bytes) -> None:
    """Run target ``name``; a PipelinekitError is an answer, anything else propagates."""
    with contextlib.suppress(PipelinekitError):
        TARGETS[name](data)


@dataclass(frozen=True)
class KnownCrash:
    """A crash already found and reported, left for the decoding-boundary hardening work.

    The harnesses skip inputs that reproduce one, so that a ten-minute run goes on
    looking for new crashes instead of stopping at the first known one; the corpus
    test checks that each is still reproduced by a kept input (and fails once it is
    fixed, so that the entry is removed).
    """

    key: str
    targets: frozenset[str]
    error: type[BaseException]
    message: str  # a regular expression searched in str(error)
    reason: str

    def matches(self, name: str, error: BaseException) -> bool:
        return (
            name in self.targets
            and isinstance(error, self.error)
            and re.search(self.message, str(error)) is not None
        )


#: Crashes found by the atheris runs (or by hand, next to them) and not fixed yet; the
#: harnesses pass over them and the corpus test marks their inputs as expected failures.
#: Every crash found so far is fixed, and its input kept in the corpus as a regression
#: test: non-UTF-8 bytes to ``from_json``, nesting past the recursion limit, integer
#: literals past the interpreter's int/str limit, a huge integer echoed in a message,
#: and a CSV cell ``1e999999999`` that made the importer build a billion-digit integer.
KNOWN_CRASHES: tuple[KnownCrash, ...] = ()


def known_crash(name: str, error: BaseException) -> KnownCrash | None:
    """The reported crash ``error`` (raised by target ``name``) reproduces, if any."""
    return next((k for k in KNOWN_CRASHES if k.matches(name, error)), None)


def seed_inputs() -> dict[str, list[bytes]]:
    """Valid inputs to start each corpus from (what the docs show)."""
    lead = _lead()
    opportunity = pipelinekit.Opportunity.create(
        name="Deal",
        pipeline="sales",
        stage="qualified",
        amount=pipelinekit.Money("100", "EUR"),
        at=AS_OF,
    )
    entities = [lead, opportunity, pipelinekit.Money("12.50", "EUR")]
    as_json = [
        bytes([LOADABLE.index(type(obj))]) + pipelinekit.to_json(obj).encode() for obj in entities
    ]
    pipeline_toml = b"""key = "partners"
label = "Partner deals"

[[stages]]
key = "intro"
probability = 10
rotting_days = 14

[[stages]]
key = "pilot"
probability = 50
forecast = "best_case"
required_fields = ["amount"]

[[stages]]
key = "signed"
kind = "won"

[[stages]]
key = "dropped"
kind = "lost"

[[transitions]]
event = "start_pilot"
source = "intro"
target = "pilot"
guards = [{ name = "field_compare", field = "custom.seats", op = ">=", value = 10 }]

[[transitions]]
event = "sign"
source = "pilot"
target = "signed"

[[transitions]]
event = "drop"
source = "*"
target = "dropped"
guards = ["lost_reason_given"]
"""
    icp_toml = b"""kind = "icp"
name = "saas-fit"

[[criteria]]
kind = "one_of"
name = "industry"
field = "company.industry"
points = { software = 25, fintech = 25, retail = 10 }

[[criteria]]
kind = "present"
name = "e"
field = "contact.email"
penalty = 3
"""
    engagement_toml = b"""kind = "engagement"
name = "e"

[[rules]]
name = "demo"
kind = "demo_request"
points = 40
daily_cap = 2
"""
    csv_rows = (
        b"external_id,name,email,company,employees,annual_revenue,currency,country,tags\n"
        b"c-1,Ada Lovelace,ada@example.com,Acme,250,1000000,EUR,DE,vip;webinar\n"
        b"c-2,,grace@example.com,,x,,,ZZ,\n"
    )
    jsonl_rows = (
        json.dumps({"external_id": "j-1", "name": "Ada", "company": {"name": "Acme"}}).encode()
        + b"\n[1,2]\n{not json\n"
    )
    return {
        "from_json": as_json,
        "from_dict": [bytes([0]) + b"\x05" + bytes(range(40))],
        "loads_pipeline": [pipeline_toml],
        "qualifier_build": [b"\x00\x01" + bytes(range(20))],
        "qualifier_toml": [icp_toml, engagement_toml, b'kind = "bant"\npolicy = "k_of_n"\n'],
        "import_csv": [csv_rows],
        "import_jsonl": [jsonl_rows],
    }
