"""Engagement events: what a lead did, and when."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import attrs

from ._checks import Checks
from .custom import EMPTY, CustomValue, FrozenMap, check_custom

__all__ = ["Event", "citations"]

_KIND = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")


@attrs.frozen(init=False)
class Event:
    """One engagement event, such as a website visit, an email open or a demo request.

    ``kind`` is a lower-case identifier (``website_visit``, ``email_open``);
    ``at`` must be timezone-aware (it is stored in UTC); ``properties`` holds
    scalar details (``{"url": "/pricing"}``) with the same value types as
    custom fields.
    """

    kind: str
    at: datetime
    properties: FrozenMap = EMPTY

    def __init__(
        self, kind: str, at: datetime, properties: Mapping[str, CustomValue] | None = EMPTY
    ) -> None:
        checks = Checks()
        if not isinstance(kind, str) or not _KIND.fullmatch(kind):
            checks.add(
                "$.kind",
                f"must be a lower-case identifier like 'website_visit', got {kind!r}",
            )
        when = checks.aware("$.at", at)
        props = check_custom(checks, "$.properties", properties)
        checks.done(type(self))
        assert when is not None
        self.__attrs_init__(kind, when, props)

    def get(self, name: str, default: CustomValue = None) -> CustomValue:
        """Return property ``name`` or ``default``."""
        return self.properties.get(name, default)


def citations(events: Sequence[Event], indexes: Iterable[int]) -> tuple[str, ...]:
    """How a breakdown cites ``events[i]`` for each index: ``event:<id>`` when the event
    has an ``id`` property, else its position, ``$.engagement[<i>]``."""
    # the properties' own dict: scoring cites millions of events
    return tuple(
        [
            f"event:{ident}"
            if (ident := events[i].properties._data.get("id")) is not None
            else f"$.engagement[{i}]"
            for i in indexes
        ]
    )
