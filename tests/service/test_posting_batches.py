"""Posting several transfers at once records and moves exactly what posting them one
after another would."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from points.ledger import InsufficientBalance, TransferKind
from service.ledger.accounts import issuance_key, member_account, system_account
from service.ledger.earnings import Written
from service.ledger.models import EarningEvent, LedgerAccount, PointLot, Transfer
from service.ledger.posting import TransferRequest, post, post_many
from service.ledger.verify import verify
from service.people.models import User
from service.unit_of_work import UnitOfWork
from tests.ledger_helpers import credit, spend_request

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def person(uow: UnitOfWork, name: str) -> int:
    user = User(name=name)
    uow.session.add(user)
    uow.session.commit()
    return user.id


def earnings(uow: UnitOfWork, user_id: int, tag: str) -> list[TransferRequest]:
    session = uow.session
    return [
        TransferRequest(
            idempotency_key=f"earn:{tag}:{code}",
            kind=TransferKind.EARN,
            currency=code,
            debit_account_id=system_account(session, issuance_key(1), code).id,
            credit_account_id=member_account(session, user_id, code).id,
            amount=amount,
            explanation=f"{amount} {code}",
            created_at=NOW,
        )
        for code, amount in (("jifen", 12), ("xingfubi", 7))
    ]


def standing(uow: UnitOfWork, user_id: int) -> dict[str, tuple[int, int, int]]:
    """Per currency: posted credits, lots' remainder, outbox total."""
    session = uow.session
    session.expire_all()
    found = {}
    for account in session.scalars(select(LedgerAccount).where(LedgerAccount.user_id == user_id)):
        lots = session.scalar(
            select(func.coalesce(func.sum(PointLot.remaining), 0)).where(
                PointLot.account_id == account.id
            )
        )
        boards = session.scalar(
            select(func.coalesce(func.sum(EarningEvent.delta), 0)).where(
                EarningEvent.user_id == user_id,
                EarningEvent.currency == account.currency,
            )
        )
        found[account.currency] = (account.credits_posted, int(lots or 0), int(boards or 0))
    return found


def test_a_batch_records_what_posting_one_by_one_would(uow: UnitOfWork) -> None:
    one_by_one, batched = person(uow, "王芳"), person(uow, "李娜")
    with uow:
        singles = [post(uow.session, request) for request in earnings(uow, one_by_one, "a")]
        together = post_many(uow.session, earnings(uow, batched, "b"))
        uow.commit()
    assert [(t.currency, t.amount, t.kind) for t in together] == [
        (t.currency, t.amount, t.kind) for t in singles
    ]
    assert standing(uow, batched) == standing(uow, one_by_one)
    assert standing(uow, batched) == {"jifen": (12, 0, 12), "xingfubi": (7, 7, 7)}
    assert verify(uow.session).clean


def test_a_batch_asked_again_answers_the_first_transfers(uow: UnitOfWork) -> None:
    member = person(uow, "王芳")
    with uow:
        first = post_many(uow.session, earnings(uow, member, "a"))
        uow.commit()
    with uow:
        again = post_many(uow.session, earnings(uow, member, "a"))
        uow.commit()
    assert [t.id for t in again] == [t.id for t in first]
    assert standing(uow, member)["jifen"] == (12, 0, 12)


def test_a_key_twice_in_one_batch_is_recorded_once(uow: UnitOfWork) -> None:
    member = person(uow, "王芳")
    request = earnings(uow, member, "a")[0]
    uow.session.commit()  # the accounts it opened
    with uow:
        transfers = post_many(uow.session, [request, request])
        uow.commit()
    assert transfers[0].id == transfers[1].id
    count = uow.session.scalar(select(func.count()).select_from(Transfer))
    assert count == 1
    assert standing(uow, member)["jifen"] == (12, 0, 12)


def test_a_batch_with_one_spend_too_many_changes_nothing(uow: UnitOfWork) -> None:
    member = person(uow, "王芳")
    credit(uow.session, member, "xingfubi", 5)
    spends = [
        spend_request(uow.session, member, 3, "spend:1"),
        spend_request(uow.session, member, 3, "spend:2"),
    ]
    uow.session.commit()  # the accounts they opened
    with uow, pytest.raises(InsufficientBalance):
        post_many(uow.session, spends)
    assert uow.session.scalar(select(func.count()).select_from(Transfer)) == 1
    assert standing(uow, member)["xingfubi"] == (5, 5, 5)


def test_outbox_rows_of_a_rolled_back_savepoint_are_not_applied(uow: UnitOfWork) -> None:
    member = person(uow, "王芳")
    with uow:
        session = uow.session
        kept, dropped = earnings(uow, member, "kept")[0], earnings(uow, member, "dropped")[1]
        post(session, kept)
        savepoint = session.begin_nested()
        post(session, dropped)
        savepoint.rollback()
        written = uow.recorded(Written)
        assert [row.currency for row in written] == ["jifen"]
        uow.commit()
    assert standing(uow, member) == {"jifen": (12, 0, 12), "xingfubi": (0, 0, 0)}


def test_an_empty_batch_posts_nothing(uow: UnitOfWork) -> None:
    with uow:
        assert post_many(uow.session, []) == []
        uow.commit()
    assert uow.session.scalar(select(func.count()).select_from(Transfer)) == 0
