"""The people's side of a report (双报到: a member's work counts where they live and
for their home branch): approved work, households reached, points moved. Each is
summed per person or account before it is joined to the scope's people."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    case,
    distinct,
    func,
    literal,
    select,
    union,
    union_all,
)
from sqlalchemy.orm import Session

from points.households import VisitStatus
from points.ledger import TransferKind
from points.rules import WorkUnit
from points.tasks import ParticipationStatus
from service.certificates.records import verified_work
from service.households.models import HouseholdVisit, ParticipationHousehold
from service.ledger.models import LedgerAccount, Transfer
from service.people.models import User
from service.reports.groups import Groups
from service.reports.tally import Periods, Tally, TopVolunteer, number_of, tally_for
from service.tasks.models import Participation, Task

# Below this share of everyone, a scope's rows are picked out by index before they are
# summed; above it, summing everything and joining after is cheaper than the lookups.
NARROW = 0.2


def is_narrow(session: Session, groups: Groups) -> bool:
    """Whether the scope holds few of all the people (a grid, a branch): one count over
    the people table, which tells the planner what it can't estimate from a LIKE."""
    people = groups.people.subquery("people")
    theirs = session.scalar(select(func.count()).select_from(people)) or 0
    everyone = session.scalar(select(func.count(User.id))) or 0
    return theirs < NARROW * everyone


def _only_theirs(
    column: Any, groups: Groups, narrow: bool, *, through_accounts: bool = False
) -> list[ColumnElement[bool]]:
    if not narrow:
        return []
    who = groups.people.subquery("who")
    if through_accounts:
        return [
            column.in_(select(LedgerAccount.id).join(who, who.c.user_id == LedgerAccount.user_id))
        ]
    return [column.in_(select(who.c.user_id))]


def count_work(
    session: Session,
    groups: Groups,
    periods: Periods,
    tallies: list[Tally],
    top: int,
    *,
    narrow: bool = False,
) -> None:
    """Approved work by when it was approved. Summed per person first, before anything
    is joined to it (a million pieces become a row per person, role and period), so
    the join to the scope's people and the distinct counts run over people, not
    pieces; the top volunteers are read from the same per-person rows, in the same
    statement."""
    p = Participation
    helped = case((Task.work_unit == WorkUnit.RESIDENTS_HELPED.value, p.units), else_=0)
    # Verified hours were measured by check-in and check-out; entered ones (补录) not.
    checked = case((verified_work(), p.hours), else_=0)
    entered = case((verified_work(), 0), else_=p.hours)
    period = periods.of(p.decided_at)
    per_person = (
        select(
            period,
            p.user_id,
            p.role,
            func.count(p.id).label("pieces"),
            func.coalesce(func.sum(p.hours), 0).label("hours"),
            func.coalesce(func.sum(helped), 0).label("helped"),
            func.coalesce(func.sum(checked), 0).label("verified"),
            func.coalesce(func.sum(entered), 0).label("entered"),
        )
        .join(Task, Task.id == p.task_id)
        .where(
            p.status == ParticipationStatus.APPROVED.value,
            periods.over(p.decided_at),
            *_only_theirs(p.user_id, groups, narrow),
        )
        .group_by(period, p.user_id, p.role)
        .cte("per_person")
    )
    w = per_person.c
    people = groups.people.subquery("people")
    nobody = literal(None, Integer)
    statement: Any = (
        select(
            literal("figures").label("part"),
            w.period,
            people.c.grp,
            nobody.label("user_id"),
            literal(None, String).label("name"),
            func.sum(w.pieces).label("pieces"),
            func.count(distinct(w.user_id)).label("volunteers"),
            number_of(w.role == "member").label("members"),
            number_of(w.role == "volunteer").label("volunteers_only"),
            func.sum(w.hours).label("hours"),
            func.sum(w.helped).label("helped"),
            func.sum(w.verified).label("verified"),
            func.sum(w.entered).label("entered"),
        )
        .join(people, people.c.user_id == w.user_id)
        .group_by(w.period, people.c.grp)
    )
    if top:
        hours, pieces = func.sum(w.hours), func.sum(w.pieces)
        best = (
            select(
                literal("top").label("part"),
                w.period,
                people.c.grp,
                w.user_id,
                User.name,
                pieces.label("pieces"),
                nobody,
                nobody,
                nobody,
                hours.label("hours"),
                nobody,
                nobody,
                nobody,
            )
            .join(people, people.c.user_id == w.user_id)
            .join(User, User.id == w.user_id)
            .where(w.period == 0)
            .group_by(w.period, people.c.grp, w.user_id, User.name)
            .order_by(hours.desc(), pieces.desc(), w.user_id)
            .limit(top)
            .subquery("best")
        )
        statement = union_all(statement, select(best))
    for row in session.execute(statement):
        tally = tally_for(tallies, row.period)
        if row.part == "top":
            volunteer = TopVolunteer(row.user_id, row.name, float(row.hours), int(row.pieces))
            tally.top[row.grp].append(volunteer)
            continue
        # PostgreSQL sums whole numbers as numeric: only the hours have a fraction.
        tally.add(row.grp, "participations_approved", int(row.pieces))
        tally.add(row.grp, "volunteers", int(row.volunteers))
        tally.add(row.grp, "volunteers_members", int(row.members))
        tally.add(row.grp, "volunteers_volunteers", int(row.volunteers_only))
        tally.add(row.grp, "volunteer_hours", float(row.hours))
        tally.add(row.grp, "verified_hours", float(row.verified))
        tally.add(row.grp, "entered_hours", float(row.entered))
        tally.add(row.grp, "residents_helped", int(row.helped))


def count_households(
    session: Session, groups: Groups, periods: Periods, tallies: list[Tally]
) -> None:
    """Distinct households reached: visits staff confirmed, and the households an
    approved piece of work names (a household reached twice counts once)."""
    people = groups.people.subquery("people")
    visit_period = periods.of(HouseholdVisit.visited_at)
    visited = (
        select(visit_period, people.c.grp, HouseholdVisit.household_id)
        .join(people, people.c.user_id == HouseholdVisit.visitor_id)
        .where(
            HouseholdVisit.status == VisitStatus.CONFIRMED.value,
            periods.over(HouseholdVisit.visited_at),
        )
    )
    work_period = periods.of(Participation.decided_at)
    reached = (
        select(work_period, people.c.grp, ParticipationHousehold.household_id)
        .join(Participation, Participation.id == ParticipationHousehold.participation_id)
        .join(people, people.c.user_id == Participation.user_id)
        .where(
            Participation.status == ParticipationStatus.APPROVED.value,
            periods.over(Participation.decided_at),
        )
    )
    both = union(visited, reached).subquery("households")
    statement = select(both.c.period, both.c.grp, func.count()).group_by(both.c.period, both.c.grp)
    for index, grp, households in session.execute(statement):
        tally_for(tallies, index).add(grp, "households_visited", households)


_ISSUED = (TransferKind.EARN.value, TransferKind.AWARD.value)
_TAKEN = {TransferKind.REDEEM_POST.value: "redeemed", TransferKind.EXPIRE.value: "expired"}


def count_points(
    session: Session,
    groups: Groups,
    periods: Periods,
    tallies: list[Tally],
    *,
    narrow: bool = False,
) -> None:
    """积分 and 幸福币 credited to the people by rule or by hand, and taken from them by
    a handed-over redemption or by expiry, as the ledger's transfers record them: one
    scan, each transfer joined to the person on the side that concerns them."""
    theirs = case(
        (Transfer.kind.in_(_ISSUED), Transfer.credit_account_id), else_=Transfer.debit_account_id
    )
    period = periods.of(Transfer.created_at)
    # Summed per account first: the join to accounts and people runs over accounts.
    per_account = (
        select(
            period,
            theirs.label("account_id"),
            Transfer.kind,
            Transfer.currency,
            func.sum(Transfer.amount).label("amount"),
        )
        .where(
            Transfer.kind.in_([*_ISSUED, *_TAKEN]),
            periods.over(Transfer.created_at),
            *_only_theirs(theirs, groups, narrow, through_accounts=True),
        )
        .group_by(period, theirs, Transfer.kind, Transfer.currency)
        .subquery("per_account")
    )
    a = per_account.c
    people = groups.people.subquery("people")
    statement = (
        select(a.period, people.c.grp, a.kind, a.currency, func.sum(a.amount))
        .join(LedgerAccount, LedgerAccount.id == a.account_id)
        .join(people, people.c.user_id == LedgerAccount.user_id)
        .group_by(a.period, people.c.grp, a.kind, a.currency)
    )
    for index, grp, kind, currency, amount in session.execute(statement):
        name = f"{currency}_issued" if kind in _ISSUED else f"{currency}_{_TAKEN[kind]}"
        if name != "jifen_redeemed":  # 积分 is never spent; nothing to show
            tally_for(tallies, index).add(grp, name, int(amount))
