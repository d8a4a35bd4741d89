"""Acting for someone (代办): a person with an account linked by staff, with the
resident's recorded consent, as the proxy (代办人) of a resident who has no
smartphone; while the link runs, the proxy files demands, confirms deliveries and
redeems for them, and each such act names both of them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from points.errors import Conflict, Forbidden, InvalidInput


class ConsentMethod(StrEnum):
    """How the resident said yes to being acted for."""

    SIGNED_FORM = "signed_form"  # a signed (or thumb-printed) paper form
    IN_PERSON = "in_person"  # said so to staff in person, staff as witness
    GUARDIAN = "guardian"  # given by a legal guardian, with their papers


class LinkStatus(StrEnum):
    ACTIVE = "active"  # acts only between its start and end
    ENDED = "ended"  # ended by staff (the resident withdrew, the proxy moved away)


class LinkAction(StrEnum):
    END = "end"


LINK_TRANSITIONS: Mapping[tuple[LinkStatus, LinkAction], LinkStatus] = MappingProxyType(
    {(LinkStatus.ACTIVE, LinkAction.END): LinkStatus.ENDED}
)


class ProxyDeed(StrEnum):
    """What a proxy did for the person (the history's kinds)."""

    DEMAND = "demand"  # filed a demand or an order (点单)
    CONFIRM = "confirm"  # confirmed a delivery came
    REDEEM = "redeem"  # redeemed at a station, from the person's points
    CANCEL = "cancel"  # cancelled a redemption of theirs (points and goods come back)


class NotProxy(Forbidden):
    """No running link lets the actor act for this person."""

    code = "not_proxy"


class AlreadyProxy(Conflict):
    code = "already_proxy"


class ProxyLinkChanged(Conflict):
    code = "proxy_link_changed"


def check_link_span(starts_at: datetime, ends_at: datetime | None) -> None:
    if ends_at is not None and ends_at <= starts_at:
        raise InvalidInput("a link ends after it starts", errors={"ends_at": ["after starts_at"]})


def check_consent_given(given_at: datetime | None, starts_at: datetime, now: datetime) -> None:
    """A stated consent comes before the link it allows and is never dated in the
    future (one not stated is taken as given when it is recorded)."""
    if given_at is None:
        return
    if given_at > now:
        raise InvalidInput(
            "consent can't be dated in the future",
            errors={"consent": {"given_at": ["in the future"]}},
        )
    if given_at > starts_at:
        raise InvalidInput(
            "consent is given before the link it allows starts",
            errors={"consent": {"given_at": ["after starts_at"]}},
        )


def check_not_self(subject_id: int, proxy_id: int) -> None:
    if subject_id == proxy_id:
        raise InvalidInput(
            "nobody is their own proxy", errors={"proxy_id": ["the person themselves"]}
        )


def runs_at(
    status: LinkStatus, starts_at: datetime, ends_at: datetime | None, now: datetime
) -> bool:
    """Whether a link lets its proxy act at ``now``."""
    return status is LinkStatus.ACTIVE and starts_at <= now and (ends_at is None or now < ends_at)
