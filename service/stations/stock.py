"""Stock moves only by conditional UPDATE: taken for a redemption while enough is
left, given back when a hold ends unclaimed, and adjusted by hand with a reason."""

from __future__ import annotations

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from points.access import Action, Actor
from points.errors import Conflict, InvalidInput
from points.redemption import OutOfStock
from service.db import rows_changed
from service.stations.catalogue import item_for
from service.stations.models import ITEM_TABLE, CatalogueItem, StockMovement
from service.unit_of_work import UnitOfWork


class NotEnoughStock(Conflict):
    """A write-off larger than what is on the shelf."""

    code = "not_enough_stock"


# Built once, as Core: every redemption, cancel and expiry runs one of them, and
# building a statement costs more than running it.
_GIVE_BACK = (
    update(ITEM_TABLE)
    .where(ITEM_TABLE.c.id == bindparam("item_id"))
    .values(stock=ITEM_TABLE.c.stock + bindparam("quantity"))
)
_TAKE = (
    update(ITEM_TABLE)
    .where(ITEM_TABLE.c.id == bindparam("item_id"), ITEM_TABLE.c.stock >= bindparam("quantity"))
    .values(stock=ITEM_TABLE.c.stock - bindparam("quantity"))
)


def take(session: Session, item_id: int, quantity: int) -> None:
    taken = rows_changed(session.execute(_TAKE, {"item_id": item_id, "quantity": quantity}))
    if taken != 1:
        raise OutOfStock("not enough of this item is left")


def give_back(session: Session, item_id: int, quantity: int) -> None:
    session.execute(_GIVE_BACK, {"item_id": item_id, "quantity": quantity})


def adjust_stock(
    uow: UnitOfWork, actor: Actor, item_id: int, delta: int, reason: str
) -> StockMovement:
    """A delivery in (``delta`` > 0) or a write-off (< 0), logged with who and why."""
    if delta == 0:
        raise InvalidInput("a stock change moves something", errors={"delta": ["not zero"]})
    if not reason.strip():
        raise InvalidInput("say why the stock changes", errors={"reason": ["required"]})
    with uow:
        session = uow.session
        item = item_for(session, actor, item_id, Action.ADJUST_STOCK)
        changed = rows_changed(
            session.execute(
                update(CatalogueItem)
                .where(CatalogueItem.id == item.id, CatalogueItem.stock + delta >= 0)
                .values(stock=CatalogueItem.stock + delta)
                .execution_options(synchronize_session=False)
            )
        )
        if changed != 1:
            raise NotEnoughStock("cannot write off more than is on the shelf")
        after = session.scalar(select(CatalogueItem.stock).where(CatalogueItem.id == item.id))
        movement = StockMovement(
            item_id=item.id,
            delta=delta,
            reason=reason.strip(),
            actor_id=actor.user_id,
            stock_after=int(after or 0),
        )
        session.add(movement)
        uow.commit()
        return movement


def movements(
    session: Session, actor: Actor, item_id: int, *, limit: int, before_id: int | None
) -> list[StockMovement]:
    item = item_for(session, actor, item_id, Action.ADJUST_STOCK)
    query = (
        select(StockMovement)
        .where(StockMovement.item_id == item.id)
        .order_by(StockMovement.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(StockMovement.id < before_id)
    return list(session.scalars(query))
