"""Engagement events: what a lead did, and when."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import attrs

from ._checks import Checks, set_attr
from .custom import EMPTY, FrozenMap, check_custom

__all__ = ["Event"]

_KIND = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")


@attrs.frozen
class Event:
    """One engagement event, such as a website visit, an email open or a demo request.

    ``kind`` is a lower-case identifier (``website_visit``, ``email_open``);
    ``at`` must be timezone-aware (it is stored in UTC); ``properties`` holds
    scalar details (``{"url": "/pricing"}``) with the same value types as
    custom fields.
    """

    kind: str
    at: datetime
    properties: FrozenMap = attrs.field(default=EMPTY)

    def __attrs_post_init__(self) -> None:
        checks = Checks()
        if not isinstance(self.kind, str) or not _KIND.fullmatch(self.kind):
            checks.add(
                "$.kind",
                f"must be a lower-case identifier like 'website_visit', got {self.kind!r}",
            )
        at = checks.aware("$.at", self.at)
        props = check_custom(checks, "$.properties", self.properties)
        checks.done(self)
        if at is not self.at:
            set_attr(self, "at", at)
        if props is not self.properties:
            set_attr(self, "properties", props)

    def get(self, name: str, default: Any = None) -> Any:
        """Return property ``name`` or ``default``."""
        return self.properties.get(name, default)
