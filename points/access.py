"""Roles, the kinds of object a role can be granted on (a place node, a department, a
branch or a station, each grant covering the object's subtree), and the rules of who
may do what that hold whatever the grant."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from points.errors import Forbidden, NotFound


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

    PLACE = "org"  # a node of the place tree (the HTTP contract and stored grants say "org")
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
    HANDLE_DEMANDS = "handle_demands"  # accept, assign, verify, publish and close demands
    ANSWER_WHISTLES = "answer_whistles"  # 报到 and respond to demands whistled to a department
    MANAGE_DEMAND_LIMITS = "manage_demand_limits"  # the deadlines of the demand loop
    MANAGE_STATIONS = "manage_stations"  # open, move and close stations (驿站)
    MANAGE_CATALOGUE = "manage_catalogue"  # a station's items: prices, limits, windows
    ADJUST_STOCK = "adjust_stock"  # deliveries in and write-offs, each with a reason
    FULFIL_PICKUPS = "fulfil_pickups"  # hand goods over against a pickup code
    VIEW_STATION_REPORTS = "view_station_reports"  # what a station handed out
    VIEW_AUDIT = "view_audit"  # the audit trail: changes of rights, decisions on points
    REVIEW_CONTENT = "review_content"  # see residents' held text and photos, release them
    VIEW_REPORTS = "view_reports"  # 述统亮评: a period's figures and league tables


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
    # A department's officer reports on what the department's branches and paired
    # communities did, as they answer for it in the department's assessment.
    Role.DEPT_OFFICER: frozenset({Action.VIEW_PLACES, Action.ANSWER_WHISTLES, Action.VIEW_REPORTS}),
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
            Action.REVIEW_CONTENT,
            # Community staff run the stations placed in their community, but opening
            # or closing a station is an admin's decision.
            Action.MANAGE_CATALOGUE,
            Action.ADJUST_STOCK,
            Action.VIEW_STATION_REPORTS,
            Action.VIEW_REPORTS,
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


# Who may do what to which object, the one policy every use case asks. A grant covers
# its object's subtree: a grant on a place node covers every place below it (by
# materialised path), a department grant that department and its branches, a branch
# or station grant just that one. An object outside all of the actor's grants does not
# exist for them (NotFound); one in scope that their roles don't allow is Forbidden.


@dataclass(frozen=True)
class Grant:
    role: Role
    scope_type: ScopeType
    scope_id: int
    scope_path: str | None = None  # the place's path, for org grants

    @property
    def on_root(self) -> bool:
        """A grant on a root of the place tree covers organisation-wide objects too."""
        return self.scope_path is not None and self.scope_path.count("/") == 2


@dataclass(frozen=True)
class Target:
    """Where an object sits, as far as access is concerned."""

    place_path: str | None = None
    department_id: int | None = None
    branch_id: int | None = None
    station_id: int | None = None
    organisation_wide: bool = False  # departments and their branches


@dataclass(frozen=True)
class Actor:
    user_id: int
    grants: tuple[Grant, ...] = ()

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(grant.role for grant in self.grants)


def covers(grant: Grant, target: Target) -> bool:
    match grant.scope_type:
        case ScopeType.PLACE:
            if grant.scope_path is None:
                return False
            if target.organisation_wide and grant.on_root:
                return True
            return target.place_path is not None and target.place_path.startswith(grant.scope_path)
        case ScopeType.DEPARTMENT:
            return target.department_id == grant.scope_id
        case ScopeType.BRANCH:
            return target.branch_id == grant.scope_id
        case ScopeType.STATION:
            return target.station_id == grant.scope_id
    return False


def can(actor: Actor, action: Action, target: Target) -> bool:
    return any(allows(g.role, action) and covers(g, target) for g in actor.grants)


def require(actor: Actor, action: Action, target: Target, *, what: str = "object") -> None:
    """Raise unless the actor may do ``action`` on ``target``."""
    in_scope = [grant for grant in actor.grants if covers(grant, target)]
    if not in_scope:
        raise NotFound(f"{what} not found")
    if not any(allows(grant.role, action) for grant in in_scope):
        raise Forbidden(f"your roles here do not allow {action.value.replace('_', ' ')}")


def place_prefixes(actor: Actor, action: Action) -> list[str]:
    """The subtrees in which the actor may do ``action``, for scoping list queries."""
    return sorted(
        {
            g.scope_path
            for g in actor.grants
            if g.scope_type is ScopeType.PLACE and g.scope_path and allows(g.role, action)
        }
    )
