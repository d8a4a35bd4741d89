"""Distances for check-in: the geofence and the impossible-travel sign.

Coordinates are GCJ-02 throughout: ``wx.getLocation({type: 'gcj02'})`` reports
them, and staff pick a task's point on the same (Tencent) map, so both ends share
one datum and no conversion is needed. GCJ-02's offset from WGS-84 shifts nearby
points almost equally (it varies slowly, over kilometres), so distances between
two GCJ-02 points are as good as between their WGS-84 originals.

The Earth is taken as a sphere of the mean radius; against the ellipsoid that is
off by at most about 0.5 %, far less than a phone's location error.
"""

from __future__ import annotations

import math
from datetime import datetime

from points.errors import Conflict, InvalidInput

EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius

# A phone reports how far off its fix may be, and we widen the fence by that much,
# but only up to this: a phone claiming 5 km accuracy must not check in from anywhere.
ACCURACY_CAP_M = 100.0

# 144 km/h: faster than anyone gets between two community tasks by road.
MAX_TRAVEL_SPEED_MPS = 40.0


class OutsideGeofence(Conflict):
    code = "outside_geofence"

    def __init__(self, message: str, *, distance_m: float) -> None:
        super().__init__(message)
        self.distance_m = distance_m  # stored with the failed attempt for the approver


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres between two points given in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lng2 - lng1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    # min() guards asin against rounding just above 1 for antipodal points.
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _point_errors(lat: float, lng: float, lat_field: str, lng_field: str) -> dict[str, object]:
    # Written as "not (low <= x <= high)" so that NaN fails too.
    errors: dict[str, object] = {}
    if not -90.0 <= lat <= 90.0:
        errors[lat_field] = ["must be between -90 and 90"]
    if not -180.0 <= lng <= 180.0:
        errors[lng_field] = ["must be between -180 and 180"]
    return errors


def check_point(lat: float, lng: float) -> None:
    """A task's or a report's point must be a real place (field errors ``lat``/``lng``)."""
    errors = _point_errors(lat, lng, "lat", "lng")
    if errors:
        raise InvalidInput("invalid location", errors=errors)


def check_geofence(
    task_lat: float,
    task_lng: float,
    radius_m: float,
    lat: float,
    lng: float,
    accuracy_m: float,
) -> float:
    """The distance from the task's point to the reported one, if the report is inside
    the fence widened by its (capped) accuracy; ``OutsideGeofence`` otherwise."""
    errors = _point_errors(task_lat, task_lng, "task_lat", "task_lng")
    errors |= _point_errors(lat, lng, "lat", "lng")
    if not (math.isfinite(radius_m) and radius_m > 0):
        errors["radius_m"] = ["must be a positive number of metres"]
    if not (math.isfinite(accuracy_m) and accuracy_m >= 0):
        errors["accuracy"] = ["must be zero or a positive number of metres"]
    if errors:
        raise InvalidInput("invalid location", errors=errors)

    distance = haversine_m(task_lat, task_lng, lat, lng)
    slack = min(accuracy_m, ACCURACY_CAP_M)
    if distance - slack > radius_m:
        raise OutsideGeofence(
            f"{distance:.0f} m from the task; the fence is {radius_m:.0f} m"
            f" (+{slack:.0f} m for location accuracy)",
            distance_m=distance,
        )
    return distance


def impossible_travel(
    prev_lat: float,
    prev_lng: float,
    prev_time: datetime,
    lat: float,
    lng: float,
    time: datetime,
    max_speed_mps: float = MAX_TRAVEL_SPEED_MPS,
    *,
    slack_m: float = ACCURACY_CAP_M,
) -> bool:
    """Whether nobody could have got from one check-in to the other in the time between.

    ``slack_m`` forgives that much of the distance, because each fix may itself be off
    by up to the accuracy cap; without it two check-ins a second apart would be flagged
    for GPS jitter alone. The order of the two check-ins does not matter.
    """
    distance = haversine_m(prev_lat, prev_lng, lat, lng)
    elapsed = abs((time - prev_time).total_seconds())
    return distance - slack_m > max_speed_mps * elapsed


# Four decimals of a degree: about 11 m of latitude, and as much or less of longitude.
REPORT_DECIMALS = 4


def rounded_report_point(lat: float, lng: float) -> tuple[float, float]:
    """Where a problem was seen, kept only to about ten metres: enough to find it, not
    enough to follow the person who reported it (and no more than this one point)."""
    check_point(lat, lng)
    return round(lat, REPORT_DECIMALS), round(lng, REPORT_DECIMALS)
