"""The outbox: a durable event is kept with the transaction that recorded it, handed
out after commit, retried when its handler fails, and handed out by the sweeper when
the writer never did; two sweepers never hand out one message twice at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Self

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import extensions
from points.places import PlaceLevel
from service.db import utcnow
from service.outbox.dispatch import GIVE_UP_AFTER, LEASE, RETRY_FIRST, Dispatcher
from service.outbox.events import Durable
from service.outbox.models import OutboxMessage
from service.outbox.status import oldest_waiting, retry_given_up, status
from service.places.tree import add_place
from service.unit_of_work import UnitOfWork
from tests.all_at_once import all_at_once


@dataclass(frozen=True, slots=True)
class StreetOpened(Durable, kind="test.street_opened"):
    name: str

    def to_payload(self) -> dict[str, Any]:
        return {"name": self.name}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Self:
        return cls(payload["name"])


class Heard:
    """A handler that notes what it was handed, failing while ``failing`` is set."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.failing = False

    def __call__(self, session: Session, events: Sequence[Durable]) -> None:
        if self.failing:
            raise ConnectionError("the post office is closed")
        self.events += [event.name for event in events if isinstance(event, StreetOpened)]


def open_street(
    session: Session, name: str, dispatcher: Dispatcher | None, *, commit: bool = True
) -> None:
    uow = UnitOfWork(session, dispatcher=dispatcher)
    with uow:
        add_place(session, None, name, PlaceLevel.STREET)
        uow.record(StreetOpened(name))
        uow.record("not durable: never written")
        if commit:
            uow.commit()


def messages(session: Session) -> list[OutboxMessage]:
    found = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    session.rollback()
    return found


def test_a_durable_event_is_written_with_its_kind_and_handed_out_after_commit(
    uow: UnitOfWork,
) -> None:
    heard = Heard()
    open_street(uow.session, "东风街道", Dispatcher({StreetOpened: heard}))
    assert heard.events == ["东风街道"]
    [message] = messages(uow.session)
    assert (message.kind, message.payload) == ("test.street_opened", {"name": "东风街道"})
    assert message.handled_at is not None
    assert message.attempts == 1
    assert status(uow.session) == []


def test_nothing_is_written_or_handed_out_when_the_work_rolls_back(uow: UnitOfWork) -> None:
    heard = Heard()
    dispatcher = Dispatcher({StreetOpened: heard})
    open_street(uow.session, "草稿街道", dispatcher, commit=False)
    inner = UnitOfWork(uow.session, dispatcher=dispatcher)
    with inner:
        savepoint = uow.session.begin_nested()
        inner.record(StreetOpened("undone"))
        savepoint.rollback()
        inner.record(StreetOpened("kept"))
        inner.commit()
    assert heard.events == ["kept"]
    assert [message.payload["name"] for message in messages(uow.session)] == ["kept"]


def test_a_failed_handler_leaves_the_message_to_a_later_sweep(uow: UnitOfWork) -> None:
    heard = Heard()
    heard.failing = True
    dispatcher = Dispatcher({StreetOpened: heard})
    open_street(uow.session, "西湖街道", dispatcher)  # the failure is logged, not raised
    assert heard.events == []
    [message] = messages(uow.session)
    assert message.handled_at is None
    assert message.failed_at is None
    assert message.last_error == "ConnectionError: the post office is closed"
    assert message.due_at > utcnow() + RETRY_FIRST - timedelta(seconds=5)
    [waiting] = status(uow.session)
    assert (waiting.kind, waiting.waiting, waiting.given_up) == ("test.street_opened", 1, 0)

    heard.failing = False
    assert dispatcher.sweep(uow.session, now=utcnow()).handled == 0  # backing off
    report = dispatcher.sweep(uow.session, now=utcnow() + RETRY_FIRST * 2)
    assert (report.handled, report.failed) == (1, 0)
    assert heard.events == ["西湖街道"]
    [message] = messages(uow.session)
    assert message.handled_at is not None
    assert message.last_error is None
    assert message.attempts == 2


def test_what_the_writer_never_handed_out_the_sweeper_does_once_the_lease_ran_out(
    uow: UnitOfWork,
) -> None:
    open_street(uow.session, "南山街道", None)  # a writer that died right after commit
    heard = Heard()
    dispatcher = Dispatcher({StreetOpened: heard})
    assert dispatcher.sweep(uow.session, now=utcnow()).handled == 0  # still the writer's
    assert dispatcher.sweep(uow.session, now=utcnow() + LEASE).handled == 1
    assert dispatcher.sweep(uow.session, now=utcnow() + LEASE).handled == 0  # done once
    assert heard.events == ["南山街道"]
    assert oldest_waiting(uow.session) is None


def test_a_kind_no_handler_knows_is_left_for_the_sweeper_that_does(uow: UnitOfWork) -> None:
    open_street(uow.session, "北湖街道", Dispatcher({}))
    assert Dispatcher({}).sweep(uow.session, now=utcnow() + LEASE).handled == 0
    [message] = messages(uow.session)
    assert message.handled_at is None
    assert oldest_waiting(uow.session) == message.created_at


def test_a_message_that_keeps_failing_is_given_up_until_an_operator_retries_it(
    uow: UnitOfWork,
) -> None:
    heard = Heard()
    heard.failing = True
    dispatcher = Dispatcher({StreetOpened: heard})
    open_street(uow.session, "东湖街道", dispatcher)
    later = utcnow()
    for _ in range(GIVE_UP_AFTER - 1):
        later += timedelta(hours=2)  # past any back-off
        dispatcher.sweep(uow.session, now=later)
    [message] = messages(uow.session)
    assert message.attempts == GIVE_UP_AFTER
    assert message.failed_at is not None
    assert dispatcher.sweep(uow.session, now=later + timedelta(days=1)).handled == 0
    [waiting] = status(uow.session)
    assert (waiting.waiting, waiting.given_up) == (0, 1)
    assert waiting.last_error == "ConnectionError: the post office is closed"

    heard.failing = False
    assert retry_given_up(uow.session, now=utcnow(), kind="test.other") == 0
    assert retry_given_up(uow.session, now=utcnow(), kind="test.street_opened") == 1
    assert dispatcher.sweep(uow.session, now=utcnow()).handled == 1
    assert heard.events == ["东湖街道"]
    assert status(uow.session) == []


def test_two_sweepers_at_once_hand_each_message_out_once(app: Flask, uow: UnitOfWork) -> None:
    for n in range(20):
        open_street(uow.session, f"街道{n}", None)
    heard = Heard()
    due = utcnow() + LEASE

    def sweeper(index: int, go: Callable[[], None]) -> int:
        with app.app_context():
            session = extensions.session()
            dispatcher = Dispatcher({StreetOpened: heard})
            go()
            return dispatcher.sweep(session, now=due, batch=5).handled

    handled = all_at_once(2, sweeper)
    assert sum(handled) == 20
    assert sorted(heard.events) == sorted(f"街道{n}" for n in range(20))
    assert all(message.handled_at is not None for message in messages(uow.session))


def test_a_durable_kind_must_be_named() -> None:
    with pytest.raises(TypeError, match="must name its kind"):

        class Nameless(Durable):
            pass


def test_payloads_read_back_as_written(uow: UnitOfWork) -> None:
    name = "多行\n街道 🏘️"
    open_street(uow.session, name, None)
    [message] = messages(uow.session)
    assert StreetOpened.from_payload(message.payload) == StreetOpened(name)
    created: datetime = message.created_at
    assert created.tzinfo is not None
