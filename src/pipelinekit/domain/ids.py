"""Typed, time-sortable identifiers.

Ids are plain strings at run time (``NewType``), typed apart for the checker:
a :data:`LeadId` cannot be passed where an :data:`OpportunityId` is expected.
New ids are UUIDv7 (RFC 9562): they sort by creation time, which keeps
database indexes compact and keyset pagination stable.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from typing import NewType

__all__ = ["LeadId", "OpportunityId", "ProspectId", "new_id", "uuid7"]

LeadId = NewType("LeadId", str)
ProspectId = NewType("ProspectId", str)
OpportunityId = NewType("OpportunityId", str)


def uuid7(at: datetime) -> uuid.UUID:
    """Return a UUIDv7 whose timestamp is ``at`` (timezone-aware) and whose rest is random."""
    millis = int(at.timestamp() * 1000) & ((1 << 48) - 1)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis << 80) | (0x7 << 76) | ((rand >> 62) & 0xFFF) << 64
    value |= (0b10 << 62) | (rand & ((1 << 62) - 1))
    return uuid.UUID(int=value)


def new_id(at: datetime) -> str:
    """Return a new sortable id string for something created at ``at``."""
    return str(uuid7(at))
