"""The Idempotency-Key store on its own: the rare ways a claimed key is looked up
and not found (the common ones are covered over HTTP in tests/api/test_stations.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from points.errors import Conflict
from service.idempotency import store
from service.idempotency.models import IdempotencyRecord
from service.idempotency.store import IdempotentRequest, StoredResponse, fingerprint, run_once
from service.people.models import User
from service.unit_of_work import UnitOfWork


@pytest.fixture
def request_of_someone(uow: UnitOfWork) -> IdempotentRequest:
    user = User(name="李建国")
    uow.session.add(user)
    uow.session.commit()
    return IdempotentRequest(actor_id=user.id, key="order-1", fingerprint="f" * 64)


def answer(
    uow: UnitOfWork, request: IdempotentRequest, body: str, done: list[str] | None = None
) -> StoredResponse:
    """Run work that answers ``body`` (noting in ``done`` that it ran) under the key."""

    def work(session: Session) -> str:
        if done is not None:
            done.append(body)
        return body

    return run_once(uow, request, work, lambda result: StoredResponse(201, result))


def test_a_key_forgotten_between_its_clash_and_the_look_is_claimed_afresh(
    uow: UnitOfWork, request_of_someone: IdempotentRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert answer(uow, request_of_someone, "first").body == "first"
    look = store._stored

    def purged_meanwhile(session: Session, request: IdempotentRequest) -> StoredResponse | None:
        session.execute(delete(IdempotencyRecord))  # as forget_before would, just then
        return look(session, request)

    monkeypatch.setattr(store, "_stored", purged_meanwhile)
    done: list[str] = []
    again = answer(uow, request_of_someone, "second", done)
    assert (again.body, again.replayed, done) == ("second", False, ["second"])
    bodies = uow.session.scalars(select(IdempotencyRecord.body)).all()
    assert bodies == ["second"]


def test_a_key_that_clashes_but_is_never_found_is_refused_without_work(
    uow: UnitOfWork, request_of_someone: IdempotentRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer(uow, request_of_someone, "first")
    monkeypatch.setattr(store, "_stored", lambda session, request: None)
    done: list[str] = []
    with pytest.raises(Conflict):
        answer(uow, request_of_someone, "second", done)
    assert done == []
    assert uow.session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 1


def test_a_body_with_times_has_a_fingerprint_of_them_as_sent() -> None:
    beijing = timezone(timedelta(hours=8))
    taken = datetime(2026, 11, 2, 9, 5, tzinfo=beijing)
    same = fingerprint("post", "/p/1/checkin", {"taken_at": taken, "lat": 1.0})
    assert same == fingerprint("POST", "/p/1/checkin", {"lat": 1.0, "taken_at": taken})
    later = {"taken_at": taken + timedelta(seconds=1), "lat": 1.0}
    assert fingerprint("POST", "/p/1/checkin", later) != same
    with pytest.raises(TypeError, match="not part of a JSON body"):
        fingerprint("POST", "/p/1/checkin", {"odd": object()})
