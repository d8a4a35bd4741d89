"""What notices say, and values fitted to WeChat's limits per field type."""

from __future__ import annotations

import pytest

from points.notices import Topic, field_type, field_value, known_field, local_time, wording

FACT_NAMES = [
    "task_title",
    "points",
    "explanation",
    "reason",
    "changed",
    "starts_at",
    "address",
    "item_name",
    "quantity",
    "pickup_code",
    "expires_at",
    "amount",
    "status_name",
    "note",
    "demand_id",
    "due_at",
    "member_name",
    "direction",
    "hours",
]


def test_every_topic_has_words() -> None:
    facts: dict[str, str | int] = {
        name: "2026-12-04T10:00:00+00:00" if name.endswith("_at") else "x" for name in FACT_NAMES
    }
    for topic in Topic:
        told = wording(topic, facts)
        assert told.title
        assert "{" not in told.body


def test_moments_show_in_beijing_time() -> None:
    assert local_time("2026-12-04T10:00:00+00:00") == "2026年12月4日 18:00"
    assert local_time("2026-12-31T17:00:00+00:00", with_time=False) == "2027年1月1日"
    assert local_time("not a time") == "not a time"
    told = wording(
        Topic.TASK_STARTING,
        {"task_title": "巡逻", "starts_at": "2026-12-04T10:00:00+00:00", "address": "东门"},
    )
    assert told.body == "「巡逻」将于 2026年12月4日 18:00 开始，地点：东门"


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("thing1", "一" * 20, "一" * 20),
        ("thing1", "一" * 21, "一" * 19 + "…"),
        ("phrase3", "已通过审核", "已通过审核"),
        ("phrase3", "已经通过了审核", "已经通过了"),
        ("number2", "11 积分", "11"),
        ("number2", "无", "0"),
        ("character_string4", "A" * 40, "A" * 32),
        ("time5", "2026-12-04T10:00:00+00:00", "2026年12月4日 18:00"),
        ("date6", "2026-12-04T17:00:00+00:00", "2026年12月5日"),
        ("name7", "欧阳" * 6, "欧阳" * 4 + "欧…"),
    ],
)
def test_values_are_fitted_to_the_field_type(key: str, value: str, shown: str) -> None:
    assert field_value(key, value) == shown


def test_field_types_are_read_from_the_key() -> None:
    assert field_type("character_string12") == "character_string"
    assert known_field("thing1")
    assert known_field("time3")
    assert not known_field("colour1")
