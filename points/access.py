"""Roles, the kinds of object a role can be granted on (a place node, a department, a
branch or a station, each grant covering the object's subtree), and the rules of who
may do what that hold whatever the grant."""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum

from points.errors import Forbidden


class Role(StrEnum):
    MEMBER = "member"  # 党员
    VOLUNTEER = "volunteer"  # 志愿者
    RESIDENT = "resident"  # 居民
    STAFF = "staff"  # 社区工作者
    CLERK = "clerk"  # 驿站管理员
    DEPT_OFFICER = "dept_officer"  # 部门报到负责人
    ADMIN = "admin"


class ScopeType(StrEnum):
    """What a grant is attached to; a grant covers that object's subtree."""

    ORG = "org"  # a node of the place tree
    DEPARTMENT = "department"
    BRANCH = "branch"
    STATION = "station"


class Action(StrEnum):
    """What an actor may do. Which roles allow which action is one table below."""

    VIEW_PLACES = "view_places"
    MANAGE_PLACES = "manage_places"
    MANAGE_ORGANISATION = "manage_organisation"  # departments, branches, pairings
    VIEW_PEOPLE = "view_people"
    MANAGE_PEOPLE = "manage_people"  # roster import, grants of any role
    GRANT_SERVICE_ROLES = "grant_service_roles"  # member / volunteer / resident only
    VIEW_RULES = "view_rules"  # earning-rule drafts, simulation
    MANAGE_RULES = "manage_rules"  # draft, change and publish earning rules
    ADJUST_POINTS = "adjust_points"  # award or deduct by hand, confirm others', reverse
    MANAGE_TASKS = "manage_tasks"  # post, publish, close and cancel tasks
    VIEW_HOUSEHOLDS = "view_households"  # the household register (户), to log visits
    MANAGE_HOUSEHOLDS = "manage_households"  # keep the register, confirm visits
    RECORD_VISITS = "record_visits"  # log a visit to a household (走访)
    REPORT_DEMANDS = "report_demands"  # send in a demand or problem (诉求、上报)
    HANDLE_DEMANDS = "handle_demands"  # accept, decline, resolve and close demands
    MANAGE_STATIONS = "manage_stations"  # open, move and close stations (驿站)
    MANAGE_CATALOGUE = "manage_catalogue"  # a station's items: prices, limits, windows
    ADJUST_STOCK = "adjust_stock"  # deliveries in and write-offs, each with a reason
    FULFIL_PICKUPS = "fulfil_pickups"  # hand goods over against a pickup code
    VIEW_STATION_REPORTS = "view_station_reports"  # what a station handed out


ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.MEMBER: frozenset(
        {Action.VIEW_PLACES, Action.VIEW_HOUSEHOLDS, Action.RECORD_VISITS, Action.REPORT_DEMANDS}
    ),
    Role.VOLUNTEER: frozenset(
        {Action.VIEW_PLACES, Action.VIEW_HOUSEHOLDS, Action.RECORD_VISITS, Action.REPORT_DEMANDS}
    ),
    Role.RESIDENT: frozenset({Action.VIEW_PLACES, Action.REPORT_DEMANDS}),
    Role.CLERK: frozenset(
        {Action.ADJUST_STOCK, Action.FULFIL_PICKUPS, Action.VIEW_STATION_REPORTS}
    ),
    Role.DEPT_OFFICER: frozenset({Action.VIEW_PLACES}),
    Role.STAFF: frozenset(
        {
            Action.VIEW_PLACES,
            Action.VIEW_PEOPLE,
            Action.GRANT_SERVICE_ROLES,
            Action.VIEW_RULES,
            Action.ADJUST_POINTS,
            Action.MANAGE_TASKS,
            Action.VIEW_HOUSEHOLDS,
            Action.MANAGE_HOUSEHOLDS,
            Action.HANDLE_DEMANDS,
            # Community staff run the stations placed in their community, but opening
            # or closing a station is an admin's decision.
            Action.MANAGE_CATALOGUE,
            Action.ADJUST_STOCK,
            Action.VIEW_STATION_REPORTS,
        }
    ),
    Role.ADMIN: frozenset(Action),
}

# Roles that community staff may hand out in their own scope; the rest need an admin.
SERVICE_ROLES = frozenset({Role.MEMBER, Role.VOLUNTEER, Role.RESIDENT})


def allows(role: Role, action: Action) -> bool:
    return action in ROLE_ACTIONS[role]


def serving_role(roles: Collection[Role]) -> Role:
    """The role a person serves in, which prices their work: party member first."""
    for role in (Role.MEMBER, Role.VOLUNTEER):
        if role in roles:
            return role
    return Role.RESIDENT


class SelfApproval(Forbidden):
    """Nobody decides on their own work, visit or demand, whatever their grants."""

    code = "self_approval"
