"""Check-ins and check-outs taken without signal (离线签到) and sent later.

The phone keeps what it measured (where, which code it scanned) and when, by its own
clock, and sends it once it has signal again. The server then judges the attempt as of
that stated time instead of its own: the window, the code's validity, the travel from
the last check-in and the hours worked all use it. The phone's clock is trusted only
within bounds: not ahead of the server's by more than a little skew, not before the
person signed up (nobody checks in for a task before taking it), not older than the
limit when it arrives (a queue days old is no longer "without signal"), and a
check-out not before its check-in. Whatever passes is flagged ``offline`` for the
approver, who sees both the stated time and when the server heard of it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from points.errors import Conflict, InvalidInput

# How long a queued check-in may wait for signal: a day's work, not last week's.
OFFLINE_LIMIT = timedelta(hours=12)
# Phones keep network time, but not to the second; a little ahead is not "the future".
CLOCK_SKEW = timedelta(minutes=2)


class DeviceTimeInFuture(InvalidInput):
    code = "device_time_in_future"


class DeviceTimeBeforeSignUp(InvalidInput):
    code = "device_time_before_signup"


class CheckOutBeforeCheckIn(InvalidInput):
    code = "checkout_before_checkin"


class OfflineTooLate(Conflict):
    code = "offline_too_late"


def check_device_time(
    taken_at: datetime,
    received_at: datetime,
    signed_up_at: datetime,
    limit: timedelta = OFFLINE_LIMIT,
    skew: timedelta = CLOCK_SKEW,
) -> None:
    """Refuse a stated time the server can't believe (see the module's text). An attempt
    exactly ``limit`` old is still in time."""
    if taken_at.tzinfo is None or taken_at.utcoffset() is None:
        raise ValueError("a device time must be timezone-aware")  # the API demands an offset
    if taken_at > received_at + skew:
        raise DeviceTimeInFuture(
            f"the device time {taken_at.isoformat()} is ahead of the server's"
            f" {received_at.isoformat()}; check the phone's clock",
            errors={"taken_at": ["ahead of the server's clock"]},
        )
    if taken_at < signed_up_at:
        raise DeviceTimeBeforeSignUp(
            f"the device time {taken_at.isoformat()} is before you signed up"
            f" ({signed_up_at.isoformat()})",
            errors={"taken_at": ["before you signed up"]},
        )
    if received_at - taken_at > limit:
        hours = limit / timedelta(hours=1)
        raise OfflineTooLate(
            f"an offline check-in must arrive within {hours:g} hours of being taken",
            errors={"taken_at": [f"older than {hours:g} h"]},
        )


def check_out_after_check_in(taken_at: datetime, checked_in_at: datetime) -> None:
    if taken_at < checked_in_at:
        raise CheckOutBeforeCheckIn(
            f"the check-out time {taken_at.isoformat()} is before the check-in"
            f" ({checked_in_at.isoformat()})",
            errors={"taken_at": ["before the check-in"]},
        )
