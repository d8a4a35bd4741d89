"""Console accounts (工作台账号) for real people: the operator sets one at the terminal,
an admin gives a staff member or clerk of their scope a username and a temporary
password, and whoever got a temporary one chooses their own at first sign-in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from points.access import Action, Actor, Role, ScopeType, allows, can, require
from points.errors import Conflict, Forbidden, InvalidInput, NotFound
from service.audit.log import record
from service.auth.models import ConsoleSession
from service.auth.passwords import hash_password, verify_password
from service.auth.sign_in import AccountLocked, count_failed_password
from service.organisation.models import Branch, Department, Station
from service.people.admin import person_target, scope_target
from service.people.directory import bump_token_version
from service.people.models import RoleGrant, User
from service.places.models import Place
from service.unit_of_work import UnitOfWork

# Who a console account is given to; an admin's own grants must be covered too, so
# nobody resets the password of someone with more reach than theirs.
CONSOLE_ROLES = frozenset({Role.STAFF, Role.CLERK})
GUARDED_ROLES = CONSOLE_ROLES | {Role.ADMIN, Role.DEPT_OFFICER}
USERNAME_LENGTH = (3, 64)
SHOWN = 500


class UsernameTaken(Conflict):
    code = "username_taken"


class NoConsoleRole(Conflict):
    code = "no_console_role"


@dataclass(frozen=True)
class ConsolePerson:
    """A staff member or clerk an admin may give a console account, with their roles."""

    user: User
    roles: list[tuple[Role, str]]  # each role with the name of where it is held


def _checked_username(username: str) -> str:
    low, high = USERNAME_LENGTH
    if not low <= len(username) <= high or any(ch.isspace() for ch in username):
        raise InvalidInput(
            "a username is 3 to 64 characters without spaces",
            errors={"username": [f"{low} to {high} characters, no spaces"]},
        )
    return username


def _console_grants(session: Session, user_id: int) -> list[RoleGrant]:
    return list(
        session.scalars(
            select(RoleGrant)
            .where(
                RoleGrant.user_id == user_id,
                RoleGrant.role.in_([role.value for role in GUARDED_ROLES]),
            )
            .order_by(RoleGrant.id)
        )
    )


def _person_for(session: Session, actor: Actor, user_id: int) -> User:
    """The person, if every console-bearing role of theirs lies in the actor's scope for
    managing people: 404 outside it, 403 inside without the right."""
    person = session.get(User, user_id)
    if person is None:
        raise NotFound("person not found")
    if person.id == actor.user_id:
        raise Forbidden("change your own password on the password page")
    grants = _console_grants(session, person.id)
    for grant in grants:
        target = scope_target(session, ScopeType(grant.scope_type), grant.scope_id)
        require(actor, Action.MANAGE_PEOPLE, target, what="person")
    if not any(Role(grant.role) in CONSOLE_ROLES for grant in grants):
        require(actor, Action.MANAGE_PEOPLE, person_target(session, person), what="person")
        raise NoConsoleRole("only a staff member or a clerk gets a console account")
    return person


def console_person(session: Session, actor: Actor, user_id: int) -> ConsolePerson:
    """One staff member or clerk the actor may give a console account (404 otherwise)."""
    person = _person_for(session, actor, user_id)
    grants = _console_grants(session, person.id)
    return ConsolePerson(person, [(Role(g.role), _scope_name(session, g)) for g in grants])


def console_people(session: Session, actor: Actor) -> list[ConsolePerson]:
    """Staff and clerks whose every console-bearing role lies in the actor's scope."""
    if not any(allows(grant.role, Action.MANAGE_PEOPLE) for grant in actor.grants):
        raise Forbidden("your roles do not include managing people")
    rows = session.execute(
        select(RoleGrant, User)
        .join(User, User.id == RoleGrant.user_id)
        .where(RoleGrant.role.in_([role.value for role in GUARDED_ROLES]))
        .order_by(User.name, User.id, RoleGrant.id)
        .limit(SHOWN)
    ).all()
    found: dict[int, ConsolePerson] = {}
    refused: set[int] = {actor.user_id}
    for grant, user in rows:
        target = scope_target(session, ScopeType(grant.scope_type), grant.scope_id)
        if not can(actor, Action.MANAGE_PEOPLE, target):
            refused.add(user.id)
            continue
        person = found.setdefault(user.id, ConsolePerson(user, []))
        person.roles.append((Role(grant.role), _scope_name(session, grant)))
    return [
        person
        for person in found.values()
        if person.user.id not in refused and any(role in CONSOLE_ROLES for role, _ in person.roles)
    ]


def _scope_name(session: Session, grant: RoleGrant) -> str:
    # Read by scope_target just before: the session has each of these already.
    found: Place | Station | Branch | Department | None
    match ScopeType(grant.scope_type):
        case ScopeType.PLACE:
            found = session.get(Place, grant.scope_id)
        case ScopeType.STATION:
            found = session.get(Station, grant.scope_id)
        case ScopeType.BRANCH:
            found = session.get(Branch, grant.scope_id)
        case ScopeType.DEPARTMENT:
            found = session.get(Department, grant.scope_id)
    return found.name if found is not None else "—"


def _set(
    session: Session, person: User, username: str, password: str, *, temporary: bool
) -> str | None:
    taken = session.scalar(select(User.id).where(User.username == username, User.id != person.id))
    if taken is not None:
        raise UsernameTaken("that username is taken", errors={"username": ["taken"]})
    before = person.username
    hashed = hash_password(password)
    try:
        with session.begin_nested():
            person.username = username
            session.flush()
    except IntegrityError:
        # Given to someone else a moment ago.
        raise UsernameTaken("that username is taken", errors={"username": ["taken"]}) from None
    person.password_hash, person.password_must_change = hashed, temporary
    person.failed_logins, person.locked_until = 0, None
    _end_sessions(session, person.id)
    return before


def _end_sessions(session: Session, user_id: int, keep: str = "") -> None:
    """What was signed in with the old password ends with it: console sessions (but the
    one making the change) and API tokens (which a WeChat sign-in renews at once)."""
    session.execute(
        delete(ConsoleSession).where(ConsoleSession.user_id == user_id, ConsoleSession.id != keep)
    )
    bump_token_version(session, user_id)


def give_console_account(
    uow: UnitOfWork, actor: Actor, user_id: int, username: str, password: str
) -> User:
    """An admin gives a staff member or clerk of their scope a username and a temporary
    password, which the person must change at first sign-in."""
    with uow:
        session = uow.session
        person = _person_for(session, actor, user_id)
        before = _set(session, person, _checked_username(username), password, temporary=True)
        record(
            session,
            actor_id=actor.user_id,
            action="person.console_account",
            object_type="user",
            object_id=person.id,
            before={"username": before},
            after={"username": person.username, "temporary": True},
            place_id=person.residence_place_id,
        )
        uow.commit()
        return person


def set_console_password(
    uow: UnitOfWork, user_id: int | None, phone_hash: str | None, username: str, password: str
) -> User:
    """At the terminal (the operator: no actor to check), a person's console username and
    password, to keep."""
    if (user_id is None) == (phone_hash is None):
        raise InvalidInput("give exactly one of --user and --phone")
    with uow:
        session = uow.session
        key = User.id == user_id if user_id is not None else User.phone_hash == phone_hash
        person = session.scalars(select(User).where(key)).one_or_none()
        if person is None:
            raise NotFound("no such person")
        before = _set(session, person, _checked_username(username), password, temporary=False)
        record(
            session,
            actor_id=None,
            action="person.console_account",
            object_type="user",
            object_id=person.id,
            before={"username": before},
            after={"username": person.username, "temporary": False},
            place_id=person.residence_place_id,
        )
        uow.commit()
        return person


def change_own_password(
    uow: UnitOfWork,
    actor: Actor,
    current: str,
    new: str,
    now: datetime,
    keep_session: str = "",
) -> None:
    """Whoever is signed in chooses a new password (a temporary one must be changed so).
    A wrong current password counts towards the same lockout as signing in; the change
    ends every other console session and every API token the old password opened."""
    with uow:
        session = uow.session
        person = session.get(User, actor.user_id)
        if person is None:
            raise NotFound("no such person")
        if person.locked_until is not None and person.locked_until > now:
            raise AccountLocked(
                "too many wrong passwords; try again after "
                f"{person.locked_until.isoformat(timespec='minutes')}"
            )
        if not verify_password(person.password_hash, current):
            count_failed_password(session, person.id, now)
            uow.commit()
            raise InvalidInput(
                "the current password is wrong", errors={"current_password": ["wrong password"]}
            )
        if new == current:
            raise InvalidInput(
                "choose a password other than the current one",
                errors={"new_password": ["the same as the current one"]},
            )
        person.password_hash = hash_password(new)
        person.password_must_change = False
        person.failed_logins, person.locked_until = 0, None
        _end_sessions(session, person.id, keep=keep_session)
        record(
            session,
            actor_id=actor.user_id,
            action="person.password_change",
            object_type="user",
            object_id=person.id,
            before=None,
            after={"username": person.username},
            place_id=person.residence_place_id,
        )
        uow.commit()
