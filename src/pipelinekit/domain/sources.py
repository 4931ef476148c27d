"""Where a lead came from."""

from __future__ import annotations

import enum

import attrs

from ._checks import Checks

__all__ = ["Channel", "Source"]


class Channel(enum.StrEnum):
    """The channel a lead arrived through."""

    INBOUND_FORM = "inbound_form"
    WEBSITE = "website"
    COLD_EMAIL = "cold_email"
    COLD_CALL = "cold_call"
    REFERRAL = "referral"
    LIST = "list"
    EVENT = "event"
    PAID_AD = "paid_ad"
    SOCIAL = "social"
    PARTNER = "partner"
    OTHER = "other"


@attrs.frozen(init=False)
class Source:
    """A lead source: a :class:`Channel` plus free detail (campaign, list name, referrer)."""

    channel: Channel
    detail: str | None = None

    def __init__(self, channel: Channel | str, detail: str | None = None) -> None:
        checks = Checks()
        kind = checks.choice("$.channel", Channel, channel)
        checks.text("$.detail", detail, required=False, max_length=500)
        checks.done(type(self))
        assert kind is not None
        self.__attrs_init__(kind, detail)
