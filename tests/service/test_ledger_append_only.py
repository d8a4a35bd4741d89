"""Transfers and lot uses are append-only in the database itself (migration 0017), not
only by the code paths that write them: an UPDATE or DELETE sent by anyone, through the
ORM or as raw SQL, is refused, and the ledger stays as it was."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from api import extensions
from api.cli import cli
from service.ledger.accounts import system_account
from service.ledger.holds import resolve_hold
from service.ledger.models import LotUse, PointLot, Transfer
from service.ledger.posting import post
from service.ledger.reversals import reverse
from service.ledger.verify import verify
from service.people.models import User
from tests.conftest import empty_tables
from tests.ledger_helpers import credit, spend_request


def _member(session: Session) -> int:
    user = User(name="孙建国")
    session.add(user)
    session.flush()
    return user.id


def _snapshot(session: Session) -> list[tuple[object, ...]]:
    return [
        tuple(row)
        for row in session.execute(
            select(Transfer.id, Transfer.amount, Transfer.kind, Transfer.explanation).order_by(
                Transfer.id
            )
        )
    ]


def _refused(session: Session, attempt: Callable[[], object], operation: str) -> None:
    with pytest.raises(DBAPIError) as raised:
        attempt()
    session.rollback()
    assert "append-only" in str(raised.value)
    assert operation in str(raised.value)


CHANGES: dict[str, Callable[[Session, int], object]] = {
    "core update": lambda s, i: s.execute(
        update(Transfer).where(Transfer.id == i).values(amount=Transfer.amount + 100)
    ),
    "raw update": lambda s, i: s.execute(
        text("UPDATE ledger_transfer SET explanation = 'fixed by hand' WHERE id = :id"),
        {"id": i},
    ),
    "orm update": lambda s, i: (
        setattr(s.get(Transfer, i), "amount", 1),
        s.flush(),
    ),
}


@pytest.mark.parametrize("how", sorted(CHANGES))
def test_a_posted_transfer_cannot_be_updated(app: Flask, runner: FlaskCliRunner, how: str) -> None:
    with app.app_context():
        session = extensions.session()
        transfer = credit(session, _member(session), "jifen", 40)
        before = _snapshot(session)

        _refused(session, lambda: CHANGES[how](session, transfer.id), "UPDATE")

        assert _snapshot(session) == before
        assert session.get(Transfer, transfer.id).amount == 40
        assert verify(session).clean
    checked = runner.invoke(cli, ["ledger", "verify"])
    assert checked.exit_code == 0, checked.output
    assert "ledger clean: 2 accounts, 1 transfers" in checked.output


REMOVALS: dict[str, Callable[[Session, int], object]] = {
    "core delete": lambda s, i: s.execute(delete(Transfer).where(Transfer.id == i)),
    "raw delete": lambda s, i: s.execute(text("DELETE FROM ledger_transfer")),
    "orm delete": lambda s, i: (s.delete(s.get(Transfer, i)), s.flush()),
}


@pytest.mark.parametrize("how", sorted(REMOVALS))
def test_a_transfer_cannot_be_deleted(app: Flask, runner: FlaskCliRunner, how: str) -> None:
    with app.app_context():
        session = extensions.session()
        user_id = _member(session)
        credit(session, user_id, "jifen", 40)
        transfer = credit(session, user_id, "jifen", 15)
        before = _snapshot(session)

        _refused(session, lambda: REMOVALS[how](session, transfer.id), "DELETE")

        assert _snapshot(session) == before
        assert verify(session).clean
    checked = runner.invoke(cli, ["ledger", "verify"])
    assert checked.exit_code == 0, checked.output
    assert "ledger clean: 2 accounts, 2 transfers" in checked.output


def test_a_lot_use_cannot_be_changed_or_removed(app: Flask) -> None:
    """A voided hold gives back with a negative use; no use is ever edited away."""
    with app.app_context():
        session = extensions.session()
        user_id = _member(session)
        credit(session, user_id, "xingfubi", 30)
        post(session, spend_request(session, user_id, 12, "test:spend"))
        session.commit()
        use = session.scalars(select(LotUse)).one()
        assert use.amount == 12

        _refused(
            session,
            lambda: session.execute(update(LotUse).where(LotUse.id == use.id).values(amount=1)),
            "UPDATE",
        )
        _refused(
            session, lambda: session.execute(delete(LotUse).where(LotUse.id == use.id)), "DELETE"
        )

        assert session.scalars(select(LotUse.amount)).all() == [12]
        assert session.scalars(select(PointLot.remaining)).all() == [18]
        assert verify(session).clean


def test_posting_reversing_and_releasing_holds_never_touch_a_transfer_row(app: Flask) -> None:
    """The code paths that move points only ever insert transfers: holds, their void
    and their hand-over, spends and reversals all go through with the guard in place."""
    with app.app_context():
        session = extensions.session()
        user_id = _member(session)
        credit(session, user_id, "xingfubi", 50)
        earned = credit(session, user_id, "jifen", 30)
        voided = post(session, spend_request(session, user_id, 20, "test:hold:1", pending=True))
        kept = post(session, spend_request(session, user_id, 10, "test:hold:2", pending=True))
        session.commit()
        resolve_hold(session, voided.id, hand_over=False, actor_id=None, key="test:void")
        sink = system_account(session, "sink:test", "xingfubi").id
        resolve_hold(
            session, kept.id, hand_over=True, actor_id=None, key="test:post", settle_to=sink
        )
        reverse(session, earned.id, actor_id=None, reason="审核有误")
        session.commit()

        kinds = session.scalars(select(Transfer.kind).order_by(Transfer.id)).all()
        assert kinds == [
            "earn",
            "earn",
            "redeem_hold",
            "redeem_hold",
            "redeem_void",
            "redeem_post",
            "redeem_post",
            "reverse",
        ]
        assert session.scalars(select(PointLot.remaining)).all() == [40]
        assert verify(session).clean


def test_the_suites_wipe_leaves_the_guard_in_place(app: Flask) -> None:
    """empty_tables lifts the triggers inside its own transaction only."""
    with app.app_context():
        session = extensions.session()
        credit(session, _member(session), "jifen", 5)
    empty_tables(app)
    with app.app_context():
        session = extensions.session()
        assert session.scalar(select(func.count()).select_from(Transfer)) == 0
        transfer = credit(session, _member(session), "jifen", 7)
        _refused(session, lambda: CHANGES["core update"](session, transfer.id), "UPDATE")
        _refused(session, lambda: REMOVALS["core delete"](session, transfer.id), "DELETE")
        assert _snapshot(session)[0][1] == 7
