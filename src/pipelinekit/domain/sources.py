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


def _channel(value: Channel | str) -> Channel:
    try:
        return Channel(value)
    except ValueError:
        return value  # type: ignore[return-value]  # reported by __attrs_post_init__


@attrs.frozen
class Source:
    """A lead source: a :class:`Channel` plus free detail (campaign, list name, referrer)."""

    channel: Channel = attrs.field(converter=_channel)
    detail: str | None = None

    def __attrs_post_init__(self) -> None:
        checks = Checks()
        if not isinstance(self.channel, Channel):  # the converter took every valid value
            choices = ", ".join(c.value for c in Channel)
            checks.add("$.channel", f"must be one of {choices}; got {self.channel!r}")
        checks.text("$.detail", self.detail, required=False, max_length=500)
        checks.done(self)
