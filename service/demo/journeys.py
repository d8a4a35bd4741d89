"""Demands at every stage of the loop in the demo world, walked there by the real use
cases, so the lists, the overdue view, the public list, ratings and 报到率 have
something to show: each with the resident who raised it and the step it stopped at."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from points.access import Actor
from points.content import Scene, Verdict
from points.demands import DemandLevel, OwnerKind
from points.rules import Category
from service.access import load_actor
from service.demands.handling import NewDemand, report_demand
from service.demands.loop import (
    Owner,
    accept_demand,
    assign_demand,
    close_demand,
    decline_demand,
    publish_demand,
    resolve_demand,
    start_demand,
    verify_demand,
)
from service.demands.models import Demand
from service.demands.rating import rate_demand
from service.people.models import User
from service.unit_of_work import UnitOfWork
from service.wechat.security import PhotoCheck, TextCheck


class _OurOwnWords:
    """The demo's texts are written by us, not by residents: nothing for WeChat to
    judge, and the demo seeds in any WeChat mode without calling it."""

    def check_text(self, content: str, openid: str | None, scene: Scene) -> TextCheck:
        return TextCheck(Verdict.PASS)

    def check_photo(
        self, media_url: str, openid: str | None, scene: Scene, *, width: int, height: int
    ) -> PhotoCheck:
        raise NotImplementedError("the demo hands in no photos")


DEMO_TEXT = _OurOwnWords()

WHISTLE_NOTE = "占道经营需城管执法，请民政局协调街道城管中队"
PUBLIC_SUMMARY = "幸福社区已完成居民反映的问题，欢迎监督"
RATING_COMMENTS = {5: "处理很及时，谢谢网格员", 4: "满意", 2: "只处理了一半"}


@dataclass(frozen=True)
class Journey:
    category: Category
    description: str
    reporter: str  # openid
    steps: tuple[str, ...]  # names of the steps below, in order
    reported_hours_ago: int = 48


JOURNEYS = (
    Journey(Category.FACILITY, "5栋单元门门禁坏了，刷卡没反应", "demo-resident-2", ("accept",)),
    Journey(
        Category.ENVIRONMENT,
        "2栋旁边绿化带有人堆放建筑垃圾",
        "demo-resident-1",
        ("accept", "assign_member", "start"),
    ),
    Journey(
        Category.SAFETY,
        "小区北门围栏有一段倒了，孩子容易钻出去",
        "demo-resident-2",
        ("accept", "assign_member", "start", "resolve"),
    ),
    Journey(
        Category.SERVICE,
        "独居的王奶奶家水管漏水，需要人帮忙联系维修",
        "demo-resident-1",
        ("accept", "assign_member", "start", "resolve", "verify", "publish", "rate_5"),
    ),
    Journey(
        Category.CULTURE,
        "希望社区活动室周末也能开放给老年合唱队",
        "demo-resident-2",
        ("accept", "assign_member", "resolve", "verify", "publish", "rate_4", "close"),
    ),
    Journey(
        Category.GOVERNANCE,
        "沿街商铺占道经营，早晚高峰人行道走不通",
        "demo-resident-1",
        ("accept_street", "whistle", "acknowledge"),
    ),
    Journey(
        Category.CHARITY,
        "楼下空地想改成便民晾衣区，大家都同意",
        "demo-resident-2",
        ("accept", "assign_member", "resolve", "verify", "publish", "rate_2"),
    ),
    Journey(
        Category.SPACE,
        "想在小区里养鸽子，希望社区同意",
        "demo-resident-1",
        ("decline",),
    ),
    # Reported three days ago and never accepted: past its working day, on the overdue list.
    Journey(
        Category.FACILITY,
        "6栋电梯按钮失灵，已经三天了",
        "demo-resident-2",
        (),
        reported_hours_ago=72,
    ),
)


def walk_demand_journeys(
    uow: UnitOfWork, department_id: int, now: datetime
) -> list[dict[str, Any]]:
    """Each journey's demand, walked to where it stops, once: a demand already there
    (the demo seeded before) is left as it is."""
    session = uow.session
    people = {
        user.openid: user
        for user in session.scalars(select(User).where(User.openid.is_not(None)))
        if user.openid
    }
    actors: dict[str, Actor] = {}

    def actor(openid: str) -> Actor:
        if openid not in actors:
            actors[openid] = load_actor(session, people[openid].id)
        return actors[openid]

    member = people["demo-member-2"].id
    staff, officer, doer = (actor(o) for o in ("demo-staff-1", "demo-officer-1", "demo-member-2"))

    def take(step: str, demand_id: int, at: datetime, reporter: Actor) -> None:
        match step:
            case "accept":
                accept_demand(uow, staff, demand_id, at)
            case "accept_street":
                accept_demand(uow, staff, demand_id, at, level=DemandLevel.STREET)
            case "assign_member":
                assign_demand(uow, staff, demand_id, Owner(OwnerKind.MEMBER, user_id=member), at)
            case "whistle":
                whistled = Owner(OwnerKind.DEPARTMENT, department_id=department_id)
                assign_demand(uow, staff, demand_id, whistled, at, note=WHISTLE_NOTE)
            case "acknowledge":
                start_demand(uow, officer, demand_id, at, note="已报到，明天到现场")
            case "start":
                start_demand(uow, doer, demand_id, at)
            case "resolve":
                resolve_demand(uow, doer, demand_id, "已到现场处理，并拍照留存", at)
            case "verify":
                verify_demand(uow, staff, demand_id, at)
            case "publish":
                publish_demand(uow, staff, demand_id, PUBLIC_SUMMARY, at)
            case "close":
                close_demand(uow, staff, demand_id, at)
            case "decline":
                decline_demand(uow, staff, demand_id, "饲养鸽子不符合小区管理规约", at)
            case _ if step.startswith("rate_"):
                score = int(step.removeprefix("rate_"))
                rate_demand(
                    uow, reporter, demand_id, score, RATING_COMMENTS[score], at, checks=DEMO_TEXT
                )

    walked = []
    for journey in JOURNEYS:
        reporter = people[journey.reporter]
        demand = session.scalars(
            select(Demand).where(
                Demand.reporter_id == reporter.id, Demand.description == journey.description
            )
        ).first()
        if demand is None:
            at = now - timedelta(hours=journey.reported_hours_ago)
            assert reporter.residence_place_id is not None  # every demo person lives somewhere
            demand = report_demand(
                uow,
                actor(journey.reporter),
                NewDemand(reporter.residence_place_id, journey.category, journey.description),
                at,
                checks=DEMO_TEXT,
            )
            for step in journey.steps:
                at += timedelta(hours=1)
                take(step, demand.id, at, actor(journey.reporter))
            session.refresh(demand)
        walked.append(
            {
                "id": demand.id,
                "org_id": demand.place_id,
                "status": demand.status,
                "reporter_openid": journey.reporter,
                "description": demand.description,
            }
        )
    return walked
