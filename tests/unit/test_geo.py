"""Haversine distances, the geofence with capped accuracy, and impossible travel."""

import math
from datetime import UTC, datetime, timedelta

import pytest

from points.errors import Conflict, InvalidInput
from points.geo import (
    ACCURACY_CAP_M,
    EARTH_RADIUS_M,
    OutsideGeofence,
    check_geofence,
    check_point,
    haversine_m,
    impossible_travel,
)

TIANANMEN = (39.9087, 116.3975)
BIRDS_NEST = (39.9929, 116.3965)
BEIJING_WEST = (39.8946, 116.3222)
AIRPORT_T3 = (40.0799, 116.6031)


def north_of(point: tuple[float, float], metres: float) -> tuple[float, float]:
    """A point ``metres`` due north along the sphere haversine_m uses."""
    return point[0] + math.degrees(metres / EARTH_RADIUS_M), point[1]


@pytest.mark.parametrize(
    ("a", "b", "ellipsoidal_m"),
    [
        # WGS-84 geodesic distances (Vincenty's inverse formula), computed separately.
        (TIANANMEN, BIRDS_NEST, 9349.4),
        (TIANANMEN, BEIJING_WEST, 6627.0),
        (TIANANMEN, AIRPORT_T3, 25877.5),
    ],
)
def test_known_distances_in_beijing(
    a: tuple[float, float], b: tuple[float, float], ellipsoidal_m: float
) -> None:
    assert haversine_m(*a, *b) == pytest.approx(ellipsoidal_m, rel=0.005)


def test_the_textbook_haversine_example() -> None:
    # Nashville to Los Angeles: 2887.2599506 km on a 6372.8 km sphere, scaled to ours.
    expected = 2887259.9506071106 * EARTH_RADIUS_M / 6372800.0
    assert haversine_m(36.12, -86.67, 33.94, -118.40) == pytest.approx(expected, rel=1e-9)


def test_one_degree_of_latitude() -> None:
    assert haversine_m(39.0, 116.0, 40.0, 116.0) == pytest.approx(
        EARTH_RADIUS_M * math.pi / 180, rel=1e-12
    )


def test_short_distances_at_beijing_latitude() -> None:
    # A thousandth of a degree: ~111 m north-south, ~85 m east-west at 40°N.
    assert haversine_m(40.0, 116.0, 40.001, 116.0) == pytest.approx(111.195, abs=0.01)
    assert haversine_m(40.0, 116.0, 40.0, 116.001) == pytest.approx(85.18, abs=0.01)


@pytest.mark.parametrize("b", [BIRDS_NEST, BEIJING_WEST, AIRPORT_T3, (-33.86, 151.21)])
def test_distance_is_symmetric(b: tuple[float, float]) -> None:
    assert haversine_m(*TIANANMEN, *b) == pytest.approx(haversine_m(*b, *TIANANMEN), abs=1e-6)


def test_zero_and_antipodal_distances() -> None:
    assert haversine_m(*TIANANMEN, *TIANANMEN) == 0.0
    assert haversine_m(0.0, 0.0, 0.0, 180.0) == pytest.approx(math.pi * EARTH_RADIUS_M)
    assert haversine_m(90.0, 0.0, -90.0, 0.0) == pytest.approx(math.pi * EARTH_RADIUS_M)


def test_longitude_wraps_around_the_date_line() -> None:
    assert haversine_m(0.0, 179.9995, 0.0, -179.9995) == pytest.approx(111.195, abs=0.01)


def test_inside_the_fence_returns_the_distance() -> None:
    lat, lng = north_of(TIANANMEN, 80)
    assert check_geofence(*TIANANMEN, 100, lat, lng, 0) == pytest.approx(80, abs=1e-6)
    assert check_geofence(*TIANANMEN, 100, *TIANANMEN, 0) == 0.0


def test_the_fence_edge_is_inside() -> None:
    lat, lng = north_of(TIANANMEN, 150)
    distance = haversine_m(*TIANANMEN, lat, lng)
    assert check_geofence(*TIANANMEN, distance, lat, lng, 0) == distance
    with pytest.raises(OutsideGeofence):
        check_geofence(*TIANANMEN, distance - 0.001, lat, lng, 0)
    # With accuracy: the edge moves out by exactly the accuracy.
    check_geofence(*TIANANMEN, distance - 30, lat, lng, 30)
    with pytest.raises(OutsideGeofence):
        check_geofence(*TIANANMEN, distance - 30.001, lat, lng, 30)


def test_outside_the_fence() -> None:
    lat, lng = north_of(TIANANMEN, 150)
    with pytest.raises(OutsideGeofence) as raised:
        check_geofence(*TIANANMEN, 100, lat, lng, 0)
    assert raised.value.code == "outside_geofence"
    assert isinstance(raised.value, Conflict)
    assert raised.value.distance_m == pytest.approx(150, abs=1e-6)
    assert "150 m" in raised.value.message


def test_reported_accuracy_widens_the_fence() -> None:
    lat, lng = north_of(TIANANMEN, 150)
    assert check_geofence(*TIANANMEN, 100, lat, lng, 60) == pytest.approx(150, abs=1e-6)


@pytest.mark.parametrize("accuracy", [ACCURACY_CAP_M, 101, 5000, 1e9])
def test_accuracy_is_capped(accuracy: float) -> None:
    near = north_of(TIANANMEN, 199)
    check_geofence(*TIANANMEN, 100, *near, accuracy)  # 199 - 100 <= 100
    far = north_of(TIANANMEN, 250)
    with pytest.raises(OutsideGeofence):
        check_geofence(*TIANANMEN, 100, *far, accuracy)  # 250 - 100 > 100, whatever claimed


def test_a_phone_claiming_5_km_accuracy_cannot_check_in_from_across_town() -> None:
    with pytest.raises(OutsideGeofence):
        check_geofence(*TIANANMEN, 200, *BEIJING_WEST, 5000)


@pytest.mark.parametrize(
    ("args", "fields"),
    [
        ((91.0, 116.0, 100, 39.9, 116.4, 10), {"task_lat"}),
        ((39.9, -181.0, 100, 39.9, 116.4, 10), {"task_lng"}),
        ((39.9, 116.4, 100, -90.5, 116.4, 10), {"lat"}),
        ((39.9, 116.4, 100, 39.9, 180.01, 10), {"lng"}),
        ((39.9, 116.4, 100, math.nan, math.nan, 10), {"lat", "lng"}),
        ((39.9, 116.4, 0, 39.9, 116.4, 10), {"radius_m"}),
        ((39.9, 116.4, -5, 39.9, 116.4, 10), {"radius_m"}),
        ((39.9, 116.4, math.inf, 39.9, 116.4, 10), {"radius_m"}),
        ((39.9, 116.4, 100, 39.9, 116.4, -1), {"accuracy"}),
        ((39.9, 116.4, 100, 39.9, 116.4, math.nan), {"accuracy"}),
        ((39.9, 116.4, 100, 39.9, 116.4, math.inf), {"accuracy"}),
        ((95.0, 116.4, -1, 39.9, 200.0, -1), {"task_lat", "radius_m", "lng", "accuracy"}),
    ],
)
def test_bad_inputs_name_every_bad_field(
    args: tuple[float, float, float, float, float, float], fields: set[str]
) -> None:
    with pytest.raises(InvalidInput) as raised:
        check_geofence(*args)
    assert set(raised.value.errors) == fields


def test_the_extreme_valid_coordinates_are_accepted() -> None:
    check_point(90.0, 180.0)  # raises InvalidInput if not
    check_point(-90.0, -180.0)
    # The pole is one point, whatever its longitude; the date line is no distance.
    assert check_geofence(90.0, 180.0, 1, 90.0, -180.0, 0) == pytest.approx(0, abs=1e-6)
    assert check_geofence(0.0, 180.0, 1, 0.0, -180.0, 0) == pytest.approx(0, abs=1e-6)


def test_check_point_names_its_fields() -> None:
    with pytest.raises(InvalidInput) as raised:
        check_point(100.0, 200.0)
    assert set(raised.value.errors) == {"lat", "lng"}


T0 = datetime(2025, 3, 5, 9, 0, tzinfo=UTC)


def test_travel_within_the_speed_limit_is_plausible() -> None:
    # Tiananmen to the Bird's Nest (~9.4 km) in 10 minutes is ~15.6 m/s.
    assert not impossible_travel(*TIANANMEN, T0, *BIRDS_NEST, T0 + timedelta(minutes=10))


def test_travel_beyond_the_speed_limit_is_impossible() -> None:
    # ~9.4 km in 2 minutes would be ~78 m/s.
    assert impossible_travel(*TIANANMEN, T0, *BIRDS_NEST, T0 + timedelta(minutes=2))


def test_the_speed_limit_edge() -> None:
    lat, lng = north_of(TIANANMEN, 4100)  # 4000 m beyond the 100 m slack
    # At 40 m/s that takes 100 s: a hundredth of a second either side decides.
    assert not impossible_travel(*TIANANMEN, T0, lat, lng, T0 + timedelta(seconds=100.01))
    assert impossible_travel(*TIANANMEN, T0, lat, lng, T0 + timedelta(seconds=99.99))
    assert not impossible_travel(
        *TIANANMEN, T0, lat, lng, T0 + timedelta(seconds=99.99), max_speed_mps=41
    )


def test_gps_jitter_at_the_same_moment_is_not_travel() -> None:
    assert not impossible_travel(*TIANANMEN, T0, *north_of(TIANANMEN, 90), T0)
    assert impossible_travel(*TIANANMEN, T0, *north_of(TIANANMEN, 90), T0, slack_m=0)
    assert not impossible_travel(*TIANANMEN, T0, *TIANANMEN, T0, slack_m=0)


def test_order_of_the_two_check_ins_does_not_matter() -> None:
    later = T0 + timedelta(minutes=2)
    assert impossible_travel(*TIANANMEN, later, *BIRDS_NEST, T0)
    assert not impossible_travel(*TIANANMEN, later + timedelta(minutes=8), *BIRDS_NEST, T0)
