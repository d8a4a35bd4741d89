"""Stations and their catalogues: who finds them, who manages them.

Every signed-in person sees active stations and their active items (nearest first
if asked). A station belongs to a place: admins open and change stations; staff of
that place (and admins) manage its items; its clerks and those staff adjust stock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import false, or_, select
from sqlalchemy.orm import Session

from points.access import Action, Actor, Role, ScopeType, Target, can, place_prefixes, require
from points.errors import InvalidInput, NotFound
from points.geo import check_point, haversine_m
from points.redemption import ItemAudience, LimitPeriod
from service.ledger.accounts import currency as find_currency
from service.organisation.models import Station
from service.people.models import RoleGrant
from service.places.models import Place
from service.places.tree import named_place
from service.stations.models import CatalogueItem
from service.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class StationFields:
    place_id: int | None = None
    name: str | None = None
    address: str | None = None
    lat: float | None = None
    lng: float | None = None
    opening_hours: str | None = None
    active: bool | None = None


@dataclass(frozen=True)
class ItemFields:
    name: str | None = None
    description: str | None = None
    image_url: str | None = None
    price: int | None = None
    currency: str | None = None
    per_member_limit: int | None = None
    limit_period: LimitPeriod | None = None
    audience: ItemAudience | None = None
    active: bool | None = None
    available_from: datetime | None = None
    available_until: datetime | None = None
    stock: int | None = None  # create only: what is on the shelf to begin with
    # Fields a change sets back to empty (no image, no limit, no window): None above
    # means "leave as it is".
    cleared: frozenset[str] = frozenset()


CLEARABLE = frozenset({"image_url", "per_member_limit", "available_from", "available_until"})


@dataclass(frozen=True)
class StationView:
    station: Station
    clerk_ids: list[int]
    distance_m: float | None = None


def station_target(session: Session, station: Station) -> Target:
    return Target(place_path=named_place(session, station.place_id).path, station_id=station.id)


def _managed(session: Session, actor: Actor, station: Station) -> bool:
    target = station_target(session, station)
    return any(
        can(actor, action, target)
        for action in (Action.MANAGE_STATIONS, Action.MANAGE_CATALOGUE, Action.ADJUST_STOCK)
    )


def get_station(session: Session, actor: Actor, station_id: int) -> Station:
    """A station the actor may see: any active one, or one they run."""
    station = session.get(Station, station_id)
    if station is None or not (station.active or _managed(session, actor, station)):
        raise NotFound("station not found")
    return station


def station_for(session: Session, actor: Actor, station_id: int, action: Action) -> Station:
    """A station the actor may do ``action`` at: 404 outside their scope (a clerk of
    another station included), 403 inside it without the right."""
    station = session.get(Station, station_id)
    if station is None:
        raise NotFound("station not found")
    require(actor, action, station_target(session, station), what="station")
    return station


def clerk_ids(session: Session, station_ids: list[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {station_id: [] for station_id in station_ids}
    if not station_ids:
        return found
    for scope_id, user_id in session.execute(
        select(RoleGrant.scope_id, RoleGrant.user_id)
        .where(
            RoleGrant.role == Role.CLERK.value,
            RoleGrant.scope_type == ScopeType.STATION.value,
            RoleGrant.scope_id.in_(station_ids),
        )
        .order_by(RoleGrant.user_id)
    ):
        found[scope_id].append(user_id)
    return found


def view(session: Session, station: Station) -> StationView:
    return StationView(station, clerk_ids(session, [station.id])[station.id])


def list_stations(
    session: Session,
    actor: Actor,
    *,
    near: tuple[float, float] | None,
    place_id: int | None,
    limit: int,
    offset: int,
) -> list[StationView]:
    """Active stations, and inactive ones the actor runs; nearest first with ``near``."""
    managed = {
        prefix
        for action in (Action.MANAGE_STATIONS, Action.MANAGE_CATALOGUE)
        for prefix in place_prefixes(actor, action)
    }
    clerk_of = [g.scope_id for g in actor.grants if g.scope_type is ScopeType.STATION]
    query = (
        select(Station)
        .join(Place, Place.id == Station.place_id)
        .where(
            or_(
                Station.active,
                Station.id.in_(clerk_of),
                false(),
                *(Place.path.startswith(prefix) for prefix in sorted(managed)),
            )
        )
    )
    if place_id is not None:
        query = query.where(Place.path.startswith(named_place(session, place_id).path))
    if near is not None:
        lat, lng = near
        check_point(lat, lng)
        # A local plane is exact enough to order stations within a city, and is plain
        # arithmetic that SQLite and PostgreSQL sort alike; the distance shown is exact.
        squeeze = math.cos(math.radians(lat))
        dlat, dlng = Station.lat - lat, (Station.lng - lng) * squeeze
        query = query.order_by(dlat * dlat + dlng * dlng, Station.id)
    else:
        query = query.order_by(Station.id)
    stations = list(session.scalars(query.offset(offset).limit(limit)))
    clerks = clerk_ids(session, [s.id for s in stations])
    return [
        StationView(
            s,
            clerks[s.id],
            haversine_m(near[0], near[1], s.lat, s.lng) if near is not None else None,
        )
        for s in stations
    ]


def _changes(spec: StationFields | ItemFields) -> dict[str, object]:
    return {
        f.name: getattr(spec, f.name)
        for f in fields(spec)
        if f.name != "cleared" and getattr(spec, f.name) is not None
    }


def create_station(uow: UnitOfWork, actor: Actor, spec: StationFields) -> StationView:
    if spec.place_id is None or spec.name is None or spec.lat is None or spec.lng is None:
        raise InvalidInput("a station needs a place, a name and a location")
    check_point(spec.lat, spec.lng)
    with uow:
        session = uow.session
        place = named_place(session, spec.place_id)
        require(actor, Action.MANAGE_STATIONS, Target(place_path=place.path), what="place")
        station = Station(**_changes(spec))
        session.add(station)
        session.flush()
        uow.commit()
        return view(session, station)


def update_station(
    uow: UnitOfWork, actor: Actor, station_id: int, spec: StationFields
) -> StationView:
    with uow:
        session = uow.session
        station = station_for(session, actor, station_id, Action.MANAGE_STATIONS)
        changes = _changes(spec)
        if "place_id" in changes:
            place = named_place(session, spec.place_id or 0)
            require(actor, Action.MANAGE_STATIONS, Target(place_path=place.path), what="place")
        lat, lng = changes.get("lat", station.lat), changes.get("lng", station.lng)
        check_point(float(lat), float(lng))  # type: ignore[arg-type]
        for name, value in changes.items():
            setattr(station, name, value)
        uow.commit()
        return view(session, station)


def _check_item(session: Session, item: CatalogueItem) -> None:
    try:
        spendable = find_currency(session, item.currency).spendable
    except NotFound:
        raise InvalidInput(
            "unknown currency", errors={"currency": [f"no currency {item.currency!r}"]}
        ) from None
    if not spendable:
        raise InvalidInput(
            "items are priced in a spendable currency",
            errors={"currency": ["积分 is honour, not money: price in xingfubi"]},
        )
    if item.available_from and item.available_until and item.available_until <= item.available_from:
        raise InvalidInput(
            "an item's window ends after it starts",
            errors={"available_until": ["before available_from"]},
        )


def list_items(
    session: Session, actor: Actor, station_id: int, *, limit: int, offset: int
) -> list[CatalogueItem]:
    """A station's items: the active ones, or all of them for whoever runs it."""
    station = get_station(session, actor, station_id)
    query = select(CatalogueItem).where(CatalogueItem.station_id == station.id)
    if not _managed(session, actor, station):
        query = query.where(CatalogueItem.active)
    return list(session.scalars(query.order_by(CatalogueItem.id).offset(offset).limit(limit)))


def create_item(uow: UnitOfWork, actor: Actor, station_id: int, spec: ItemFields) -> CatalogueItem:
    if spec.name is None or spec.price is None or spec.currency is None:
        raise InvalidInput("an item needs a name, a price and a currency")
    with uow:
        session = uow.session
        station = station_for(session, actor, station_id, Action.MANAGE_CATALOGUE)
        item = CatalogueItem(station_id=station.id, **_changes(spec))
        _enum_values(item)
        _check_item(session, item)
        session.add(item)
        session.flush()
        uow.commit()
        return item


def item_for(session: Session, actor: Actor, item_id: int, action: Action) -> CatalogueItem:
    item = session.get(CatalogueItem, item_id)
    if item is None:
        raise NotFound("item not found")
    station_for(session, actor, item.station_id, action)
    return item


def update_item(uow: UnitOfWork, actor: Actor, item_id: int, spec: ItemFields) -> CatalogueItem:
    if spec.stock is not None:
        raise InvalidInput(
            "stock changes by delivery or write-off",
            errors={"stock": ["use POST /items/{id}/stock with a reason"]},
        )
    with uow:
        session = uow.session
        item = item_for(session, actor, item_id, Action.MANAGE_CATALOGUE)
        for name, value in _changes(spec).items():
            setattr(item, name, value)
        for name in spec.cleared & CLEARABLE:
            setattr(item, name, None)
        _enum_values(item)
        _check_item(session, item)
        uow.commit()
        return item


def _enum_values(item: CatalogueItem) -> None:
    # Stored as plain strings; the schema hands enums in.
    for name in ("limit_period", "audience"):
        value = getattr(item, name)
        if isinstance(value, LimitPeriod | ItemAudience):
            setattr(item, name, value.value)
