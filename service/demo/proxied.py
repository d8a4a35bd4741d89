"""The demo's 代办: an old man living alone with no smartphone, put on the register by
staff, his 联户 party member linked as his proxy on his word given to staff in person,
and an errand the member filed for him — walked there by the real use cases, once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from points.demands import DemandOrder
from points.proxies import ConsentMethod
from points.rules import Category
from service.access import load_actor
from service.demands.handling import NewDemand, report_demand
from service.demands.models import Demand
from service.demo.journeys import DEMO_TEXT
from service.households.models import Household, HouseholdResident
from service.households.offline import OfflineResident, register_offline_resident
from service.people.models import User
from service.proxies.acting import running_link
from service.proxies.links import Consent, NewLink, link_proxy
from service.unit_of_work import UnitOfWork

LONE_DOOR = "1栋1单元101"  # 独居老人 (DEMO_HOUSEHOLDS)
OLD_MAN = "钱爷爷"
ERRAND = "代钱爷爷办：去社区卫生站取降压药，送到家里"


def walk_proxied(uow: UnitOfWork, now: datetime) -> list[dict[str, Any]]:
    session = uow.session
    people = {
        user.openid: user
        for user in session.scalars(select(User).where(User.openid.is_not(None)))
        if user.openid
    }
    staff, proxy = people["demo-staff-1"], people["demo-member-1"]
    home = people["demo-resident-1"].residence_place_id  # the elder's grid
    household = session.scalars(
        select(Household).where(Household.place_id == home, Household.label == LONE_DOOR)
    ).one()
    old_man = session.scalars(
        select(User)
        .join(HouseholdResident, HouseholdResident.user_id == User.id)
        .where(HouseholdResident.household_id == household.id, User.name == OLD_MAN)
    ).first()
    if old_man is None:
        old_man = register_offline_resident(
            uow, load_actor(session, staff.id), household.id, OfflineResident(OLD_MAN), None
        )
    link = running_link(session, proxy.id, old_man.id, now)
    if link is None:
        link = link_proxy(
            uow,
            load_actor(session, staff.id),
            old_man.id,
            NewLink(
                proxy_id=proxy.id,
                relation="联户党员",
                consent=Consent(ConsentMethod.IN_PERSON, note="本人在社区工作人员见证下口头同意"),
                starts_at=now - timedelta(days=1),
            ),
            now - timedelta(days=1),
        )
    errand = session.scalars(select(Demand).where(Demand.description == ERRAND)).first()
    if errand is None:
        errand = report_demand(
            uow,
            load_actor(session, proxy.id),
            NewDemand(
                household.place_id,
                Category.SERVICE,
                ERRAND,
                order=DemandOrder.ERRAND,
                household_id=household.id,
                for_user_id=old_man.id,
            ),
            now - timedelta(hours=1),
            checks=DEMO_TEXT,
        )
    return [
        {
            "user_id": old_man.id,
            "name": old_man.name,
            "household_id": household.id,
            "proxy_openid": proxy.openid,
            "link_id": link.id,
            "demand_id": errand.id,
        }
    ]
