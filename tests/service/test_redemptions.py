"""Redemption end to end in the service layer: holds, pickups, cancels, expiry, and
the ledger staying consistent through all of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from points.access import Actor, Role, ScopeType
from points.errors import DomainError, Forbidden, NotFound
from points.places import PlaceLevel
from points.redemption import derive_qr_key
from service.access import load_actor
from service.ledger.accounts import member_account, redeemed_sink_key, system_account
from service.ledger.holds import resolve_hold
from service.ledger.models import LedgerAccount, Transfer
from service.ledger.verify import verify
from service.organisation.models import Station
from service.people.directory import ensure_grant
from service.people.models import User
from service.places.tree import add_place
from service.stations import redemption as redemption_module
from service.stations.models import CatalogueItem, Redemption, StockMovement
from service.stations.pickups import hand_over
from service.stations.redemption import ESCROW, RedemptionPolicy, RedemptionView, hold_redemption
from service.stations.release import cancel_redemption, expire_due
from service.stations.reports import ReportFormat, handed_out, station_report
from service.stations.stock import adjust_stock
from service.unit_of_work import UnitOfWork
from tests.ledger_helpers import credit

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)  # 14:00 in Beijing
POLICY = RedemptionPolicy(hold_days=3, max_open=5, qr_key=derive_qr_key("test"))


def fulfil_pickup(uow: UnitOfWork, actor: Actor, station_id: int, **given: Any) -> RedemptionView:
    """A hand-over in its own unit of work, as the API runs it (inside its idempotency
    wrapper's transaction)."""
    with uow:
        done = hand_over(uow.session, actor, station_id, **given)
        uow.commit()
        return done


@dataclass
class Shop:
    uow: UnitOfWork
    station: int
    other_station: int
    item: int
    member: Actor
    clerk: Actor
    other_clerk: Actor
    staff: Actor

    def actor(self, user_id: int) -> Actor:
        return load_actor(self.uow.session, user_id)

    def item_row(self, **changes: Any) -> CatalogueItem:
        session = self.uow.session
        item = session.get(CatalogueItem, self.item)
        assert item is not None
        for name, value in changes.items():
            setattr(item, name, value)
        session.commit()
        return item

    def stock(self, item_id: int | None = None) -> int:
        session = self.uow.session
        session.expire_all()
        return int(
            session.scalar(
                select(CatalogueItem.stock).where(CatalogueItem.id == (item_id or self.item))
            )
            or 0
        )

    def account(self, user_id: int) -> LedgerAccount:
        session = self.uow.session
        session.expire_all()
        return member_account(session, user_id, "xingfubi")

    def redeem(
        self, actor: Actor | None = None, quantity: int = 1, now: datetime = NOW
    ) -> RedemptionView:
        session = self.uow.session
        try:
            held = hold_redemption(session, actor or self.member, self.item, quantity, now, POLICY)
            session.commit()
            return held
        except Exception:
            session.rollback()
            raise

    def pick_up(self, code: str, clerk: Actor | None = None, station: int | None = None) -> Any:
        return fulfil_pickup(
            self.uow,
            clerk or self.clerk,
            station or self.station,
            pickup_code=code,
            qr_payload=None,
            now=NOW + timedelta(hours=1),
            policy=POLICY,
        )

    def verify_clean(self) -> None:
        self.uow.session.commit()
        report = verify(self.uow.session)
        assert report.clean, report.problems


def person(session: Any, name: str, role: Role, scope: ScopeType, scope_id: int) -> User:
    user = User(name=name)
    session.add(user)
    session.flush()
    ensure_grant(session, user, role, scope, scope_id)
    return user


@pytest.fixture
def shop(uow: UnitOfWork) -> Shop:
    session = uow.session
    street = add_place(session, None, "街道", PlaceLevel.STREET)
    community = add_place(session, street, "幸福社区", PlaceLevel.COMMUNITY)
    grid = add_place(session, community, "第一网格", PlaceLevel.GRID)
    station = Station(place_id=community.id, name="小蜜蜂驿站", lat=39.9, lng=116.4)
    other = Station(place_id=community.id, name="爱心超市", lat=39.91, lng=116.41)
    session.add_all([station, other])
    session.flush()
    item = CatalogueItem(
        station_id=station.id,
        name="洗衣液",
        price=30,
        currency="xingfubi",
        stock=10,
        per_member_limit=None,
    )
    session.add(item)
    session.flush()
    member = person(session, "李建国", Role.MEMBER, ScopeType.PLACE, grid.id)
    clerk = person(session, "店员", Role.CLERK, ScopeType.STATION, station.id)
    other_clerk = person(session, "店员乙", Role.CLERK, ScopeType.STATION, other.id)
    staff = person(session, "王芳", Role.STAFF, ScopeType.PLACE, community.id)
    session.commit()
    credit(session, member.id, "xingfubi", 100)
    return Shop(
        uow,
        station.id,
        other.id,
        item.id,
        load_actor(session, member.id),
        load_actor(session, clerk.id),
        load_actor(session, other_clerk.id),
        load_actor(session, staff.id),
    )


def test_a_hold_reserves_points_and_stock_and_a_pickup_spends_them(shop: Shop) -> None:
    held = shop.redeem(quantity=2)
    redemption = held.redemption
    assert redemption.status == "held"
    assert redemption.amount == 60
    assert redemption.expires_at == NOW + timedelta(days=3)
    assert held.qr_payload is not None
    assert held.qr_payload.startswith(f"lxr.{redemption.id}.")
    assert shop.stock() == 8
    account = shop.account(shop.member.user_id)
    assert (account.credits_posted, account.debits_pending, account.debits_posted) == (100, 60, 0)
    hold = shop.uow.session.get(Transfer, redemption.hold_transfer_id)
    assert hold is not None
    assert (hold.kind, hold.phase) == ("redeem_hold", "pending")
    assert hold.idempotency_key == f"redeem_hold:redemption:{redemption.id}"

    done = shop.pick_up(redemption.pickup_code)
    assert done.redemption.status == "fulfilled"
    assert done.redemption.fulfilled_by_id == shop.clerk.user_id
    assert done.qr_payload is None
    account = shop.account(shop.member.user_id)
    assert (account.debits_pending, account.debits_posted) == (0, 60)
    session = shop.uow.session
    sink = system_account(session, redeemed_sink_key(shop.station), "xingfubi")
    escrow = system_account(session, ESCROW, "xingfubi")
    assert sink.credits_posted == 60
    assert escrow.credits_posted - escrow.debits_posted == 0
    assert escrow.credits_pending == 0
    assert shop.stock() == 8  # handed over: it stays gone
    shop.verify_clean()


def test_the_qr_payload_picks_up_too(shop: Shop) -> None:
    held = shop.redeem()
    done = fulfil_pickup(
        shop.uow,
        shop.clerk,
        shop.station,
        pickup_code=None,
        qr_payload=held.qr_payload,
        now=NOW,
        policy=POLICY,
    )
    assert done.redemption.status == "fulfilled"
    shop.verify_clean()


def test_a_used_code_is_409_and_another_stations_clerk_finds_nothing(shop: Shop) -> None:
    held = shop.redeem()
    code = held.redemption.pickup_code
    with pytest.raises(NotFound):  # the code of station A, asked at station B
        shop.pick_up(code, clerk=shop.other_clerk, station=shop.other_station)
    with pytest.raises(NotFound):  # clerk of B at station A: A doesn't exist for them
        shop.pick_up(code, clerk=shop.other_clerk, station=shop.station)
    with pytest.raises(Forbidden):  # staff run the catalogue but don't hand goods over
        shop.pick_up(code, clerk=shop.staff)
    shop.pick_up(code)
    with pytest.raises(DomainError) as again:
        shop.pick_up(code)
    assert again.value.code == "pickup_code_used"
    shop.verify_clean()


def test_cancel_gives_points_and_stock_back_once(shop: Shop) -> None:
    held = shop.redeem(quantity=3)
    assert shop.stock() == 7
    cancelled = cancel_redemption(shop.uow, shop.member, held.redemption.id, NOW, POLICY)
    assert cancelled.redemption.status == "cancelled"
    assert shop.stock() == 10
    account = shop.account(shop.member.user_id)
    assert (account.debits_pending, account.debits_posted) == (0, 0)
    with pytest.raises(DomainError) as again:
        cancel_redemption(shop.uow, shop.member, held.redemption.id, NOW, POLICY)
    assert again.value.code == "invalid_transition"
    with pytest.raises(DomainError) as picked:
        shop.pick_up(held.redemption.pickup_code)
    assert picked.value.code == "pickup_code_used"
    assert shop.stock() == 10
    shop.verify_clean()


def test_only_the_redeemer_cancels(shop: Shop) -> None:
    held = shop.redeem()
    for someone in (shop.clerk, shop.staff):
        with pytest.raises(NotFound):
            cancel_redemption(shop.uow, someone, held.redemption.id, NOW, POLICY)
    # Nothing came back: the hold, the stock and the reserved points stay as they were.
    shop.uow.session.expire_all()
    assert shop.uow.session.get(Redemption, held.redemption.id).status == "held"
    assert shop.stock() == 9
    account = shop.account(shop.member.user_id)
    assert (account.debits_pending, account.debits_posted) == (30, 0)
    assert shop.uow.session.scalar(select(func.count()).select_from(Transfer)) == 2
    shop.verify_clean()


def test_expiry_releases_unclaimed_holds_once_and_leaves_the_rest(shop: Shop) -> None:
    old = shop.redeem(now=NOW - timedelta(days=4))
    fresh = shop.redeem(now=NOW)
    picked = shop.redeem(now=NOW - timedelta(days=1))
    shop.pick_up(picked.redemption.pickup_code)
    assert expire_due(shop.uow, NOW) == 1
    assert expire_due(shop.uow, NOW) == 0  # idempotent
    session = shop.uow.session
    session.expire_all()
    statuses = {
        r.id: r.status
        for r in session.scalars(
            select(Redemption).where(Redemption.user_id == shop.member.user_id)
        )
    }
    assert statuses == {
        old.redemption.id: "expired",
        fresh.redemption.id: "held",
        picked.redemption.id: "fulfilled",
    }
    assert shop.stock() == 8
    account = shop.account(shop.member.user_id)
    assert (account.debits_pending, account.debits_posted) == (30, 30)
    shop.verify_clean()


def test_an_expired_hold_is_not_handed_over_before_the_job_runs(shop: Shop) -> None:
    held = shop.redeem(now=NOW - timedelta(days=3, minutes=1))
    with pytest.raises(DomainError) as late:
        shop.pick_up(held.redemption.pickup_code)
    assert late.value.code == "redemption_expired"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"active": False}, "item_inactive"),
        ({"available_from": NOW + timedelta(days=1)}, "item_inactive"),
        ({"available_until": NOW}, "item_inactive"),
        ({"stock": 0}, "out_of_stock"),
        ({"price": 101}, "insufficient_balance"),
        ({"audience": "members"}, None),
    ],
)
def test_refusals_say_why_and_change_nothing(
    shop: Shop, changes: dict[str, Any], code: str | None
) -> None:
    item = shop.item_row(**changes)
    stock_before = shop.stock()
    if code is None:  # the member is a party member: members-only items are theirs
        shop.redeem()
        return
    with pytest.raises(DomainError) as refused:
        shop.redeem()
    assert refused.value.code == code
    assert shop.stock() == stock_before == item.stock
    assert shop.account(shop.member.user_id).debits_pending == 0
    assert shop.uow.session.scalar(select(func.count()).select_from(Redemption)) == 0
    shop.verify_clean()


def test_members_only_items_refuse_other_residents(shop: Shop) -> None:
    shop.item_row(audience="members")
    with pytest.raises(DomainError) as refused:
        shop.redeem(actor=shop.staff)
    assert refused.value.code == "not_in_audience"


def test_a_closed_station_redeems_nothing(shop: Shop) -> None:
    station = shop.uow.session.get(Station, shop.station)
    assert station is not None
    station.active = False
    shop.uow.session.commit()
    with pytest.raises(DomainError) as refused:
        shop.redeem()
    assert refused.value.code == "item_inactive"


def test_the_per_member_limit_counts_held_and_fulfilled_in_the_period(shop: Shop) -> None:
    shop.item_row(per_member_limit=2, limit_period="month", price=5)
    first = shop.redeem()
    shop.pick_up(first.redemption.pickup_code)
    shop.redeem()
    with pytest.raises(DomainError) as refused:
        shop.redeem()
    assert refused.value.code == "limit_reached"
    assert shop.stock() == 8
    # Next month counts afresh.
    shop.redeem(now=datetime(2026, 12, 1, 0, 0, tzinfo=UTC))
    shop.verify_clean()


def test_a_cancelled_redemption_does_not_count_against_the_limit(shop: Shop) -> None:
    shop.item_row(per_member_limit=1, price=5)
    held = shop.redeem()
    cancel_redemption(shop.uow, shop.member, held.redemption.id, NOW, POLICY)

    again = shop.redeem()

    assert again.redemption.id != held.redemption.id
    assert (again.redemption.status, again.redemption.amount) == ("held", 5)
    session = shop.uow.session
    assert session.get(Redemption, held.redemption.id).status == "cancelled"
    assert shop.stock() == 9  # the cancelled one came back, the new one is set aside
    account = shop.account(shop.member.user_id)
    assert (account.credits_posted, account.debits_pending, account.debits_posted) == (100, 5, 0)
    kinds = session.scalars(
        select(Transfer.kind).where(Transfer.source.like("redemption:%")).order_by(Transfer.id)
    ).all()
    assert kinds == ["redeem_hold", "redeem_void", "redeem_hold"]
    # The limit still holds: the live hold counts.
    with pytest.raises(DomainError) as refused:
        shop.redeem()
    assert refused.value.code == "limit_reached"
    assert shop.stock() == 9
    shop.verify_clean()


def test_open_holds_are_capped_per_member(shop: Shop) -> None:
    shop.item_row(price=1)
    for _ in range(POLICY.max_open):
        shop.redeem()
    with pytest.raises(DomainError) as refused:
        shop.redeem()
    assert refused.value.code == "too_many_open_holds"
    assert shop.stock() == 10 - POLICY.max_open
    shop.verify_clean()


def test_a_pickup_code_collision_draws_again(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    shop.item_row(price=1)
    codes = iter(["234567", "234567", "234567", "765432"])
    monkeypatch.setattr(redemption_module, "new_pickup_code", lambda: next(codes))
    first = shop.redeem()
    second = shop.redeem()
    assert (first.redemption.pickup_code, second.redemption.pickup_code) == ("234567", "765432")
    # Once the first is closed, its code may be issued again at this station.
    shop.pick_up("234567")
    monkeypatch.setattr(redemption_module, "new_pickup_code", lambda: "234567")
    assert shop.redeem().redemption.pickup_code == "234567"
    shop.verify_clean()


def test_stock_changes_are_logged_with_who_and_why(shop: Shop) -> None:
    delivered = adjust_stock(shop.uow, shop.clerk, shop.item, 5, "周一到货")
    assert (delivered.delta, delivered.stock_after, delivered.actor_id) == (
        5,
        15,
        shop.clerk.user_id,
    )
    written_off = adjust_stock(shop.uow, shop.staff, shop.item, -3, "包装破损")
    assert written_off.stock_after == 12
    with pytest.raises(DomainError) as too_many:
        adjust_stock(shop.uow, shop.clerk, shop.item, -13, "盘点")
    assert too_many.value.code == "not_enough_stock"
    with pytest.raises(NotFound):
        adjust_stock(shop.uow, shop.other_clerk, shop.item, 1, "别的驿站")
    assert shop.stock() == 12
    reasons = shop.uow.session.scalars(select(StockMovement.reason).order_by(StockMovement.id))
    assert list(reasons) == ["周一到货", "包装破损"]


def test_the_report_counts_what_was_handed_out_per_day_and_item(shop: Shop) -> None:
    shop.item_row(price=5)
    for quantity in (1, 2):
        held = shop.redeem(quantity=quantity)
        shop.pick_up(held.redemption.pickup_code)
    shop.redeem()  # held, not handed out
    session = shop.uow.session
    lines = handed_out(
        session, shop.clerk, shop.station, NOW - timedelta(days=1), NOW + timedelta(days=1)
    )
    assert [
        (line.day.isoformat(), line.quantity, line.amount, line.redemptions) for line in lines
    ] == [("2026-11-20", 3, 15, 2)]
    csv = station_report(
        session,
        shop.staff,
        shop.station,
        NOW - timedelta(days=1),
        NOW + timedelta(days=1),
        ReportFormat.CSV,
    )
    text = csv.content.decode("utf-8-sig").splitlines()
    assert text[0].startswith("date,item_id,item")
    assert text[1] == f"2026-11-20,{shop.item},洗衣液,3,15,xingfubi,2"
    with pytest.raises(NotFound):
        handed_out(session, shop.other_clerk, shop.station, NOW - timedelta(days=1), NOW)


def test_settling_a_hold_to_a_sink_happens_once(shop: Shop) -> None:
    """posting.resolve_hold(settle_to=…): the post and the settlement replay together."""
    held = shop.redeem()
    session = shop.uow.session
    sink = system_account(session, redeemed_sink_key(shop.station), "xingfubi").id
    hold_id = held.redemption.hold_transfer_id
    assert hold_id is not None
    first = resolve_hold(session, hold_id, hand_over=True, actor_id=None, key="k", settle_to=sink)
    again = resolve_hold(session, hold_id, hand_over=True, actor_id=None, key="k", settle_to=sink)
    session.commit()
    assert first.id == again.id
    settled = session.scalars(select(Transfer).where(Transfer.idempotency_key == "k:settle")).all()
    assert [(t.kind, t.phase, t.amount, t.credit_account_id) for t in settled] == [
        ("redeem_post", "posted", 30, sink)
    ]
    shop.verify_clean()
