"""Importing the member roster (党员花名册): people found by phone, placed where they
live and in their branch, with their role there.

The phone's lookup hash is the key: a second run finds everyone the first created.
People are created without an openid; they take over their roster entry when they
sign in with WeChat and bind the same phone (service.people.profile.bind_phone).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from points.access import Action, Role, ScopeType, Target
from points.errors import InvalidInput
from service.audit.log import entry_row, record_many
from service.imports.places import PlaceIndex, split_path
from service.imports.scope import CONSOLE, ImportScope
from service.imports.spreadsheet import ImportReport, OnRow, Outcome, Row, chunked, clean_cells
from service.organisation.models import Branch, Department
from service.people.directory import (
    described,
    ensure_grant,
    grant_entry,
    move_home,
    moved_grant_entries,
)
from service.people.models import RoleGrant, User
from service.people.phones import PhoneVault
from service.people.profile import RESIDENCE_LEVELS
from service.unit_of_work import UnitOfWork

# What an importer needs the right to do somewhere (the console always may).
RIGHT = (Action.GRANT_SERVICE_ROLES, "a roster")
REQUIRED = ("name", "phone", "residence")
BATCH_SIZE = 500
NAME_LENGTH = 64  # User.name
ROLE_ALIASES = {"党员": Role.MEMBER, "志愿者": Role.VOLUNTEER, "居民": Role.RESIDENT}
ROSTER_ROLES = (Role.MEMBER, Role.VOLUNTEER, Role.RESIDENT)

T = TypeVar("T")


@dataclass(frozen=True)
class RosterEntry:
    name: str
    phone: str
    phone_hash: str
    residence_id: int
    branch_id: int | None
    role: Role


@dataclass
class BranchIndex:
    """Branches by name, with their owner (a department or a place) to tell apart
    branches that share a name ("第一党支部")."""

    by_name: defaultdict[str, list[tuple[int, str | None, int | None]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    owners: dict[int, tuple[int | None, int | None]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> BranchIndex:
        index = cls()
        query = select(
            Branch.id, Branch.name, Department.name, Branch.place_id, Branch.department_id
        ).outerjoin(Department, Department.id == Branch.department_id)
        for branch_id, name, department, place_id, department_id in session.execute(query):
            index.by_name[name].append((branch_id, department, place_id))
            index.owners[branch_id] = (place_id, department_id)
        return index

    def target(self, branch_id: int, places: PlaceIndex) -> Target:
        """Where the branch is, as access judges it (as PATCH /users does)."""
        place_id, department_id = self.owners.get(branch_id, (None, None))
        if place_id is not None:
            return Target(place_path=places.tree_paths.get(place_id), branch_id=branch_id)
        return Target(organisation_wide=True, branch_id=branch_id, department_id=department_id)

    def find(self, text: str, places: PlaceIndex) -> int:
        *owner, name = split_path(text, "branch")
        owner_text = "/".join(owner)
        owner_places = set(places.by_suffix.get(tuple(owner), []))
        matches = [
            (branch_id, department or "/".join(places.paths.get(place_id or 0, ())))
            for branch_id, department, place_id in self.by_name.get(name, [])
            if not owner or department == owner_text or place_id in owner_places
        ]
        if not matches:
            raise InvalidInput(f"no branch named {text}", errors={"branch": ["unknown branch"]})
        if len(matches) > 1:
            owners = "; ".join(sorted(label for _, label in matches)[:3])
            raise InvalidInput(
                f"branch {text} is ambiguous (of {owners}); write it as owner/branch",
                errors={"branch": ["ambiguous branch"]},
            )
        return matches[0][0]


def parse_role(text: str) -> Role:
    value = text.strip().lower()
    if not value:
        return Role.MEMBER
    role = ROLE_ALIASES.get(value) or next((r for r in ROSTER_ROLES if r.value == value), None)
    if role is None:
        known = ", ".join([*ROSTER_ROLES, *ROLE_ALIASES])
        raise InvalidInput(f"unknown role {text!r}", errors={"role": [known]})
    return role


def import_roster(
    uow: UnitOfWork,
    vault: PhoneVault,
    rows: Iterable[Row],
    on_row: OnRow | None = None,
    batch_size: int = BATCH_SIZE,
    scope: ImportScope = CONSOLE,
) -> ImportReport:
    """For an actor, only as they could by hand: people placed, put in a branch and
    given the row's role where the actor may grant it, and people already known only
    if they are in the actor's care."""
    scope.require_right(*RIGHT)
    report = ImportReport()
    done = 0

    def finished() -> None:
        nonlocal done
        done += 1
        if on_row is not None:
            on_row(done)

    with uow:
        session = uow.session
        reader = _Reader(vault, PlaceIndex.load(session), BranchIndex.load(session), scope)
        for batch in chunked(rows, batch_size):
            entries: list[tuple[int, RosterEntry]] = []
            for number, record in batch:
                entry = reader.entry(number, record, report)
                if entry is None:
                    finished()
                else:
                    entries.append((number, entry))
            known = _people_by_phone_hash(session, [entry.phone_hash for _, entry in entries])
            audited: list[dict[str, Any]] = []  # the roles each row gave or moved
            for number, entry in entries:
                person = known.get(entry.phone_hash)
                try:
                    if person is not None:
                        reader.check_in_care(person)
                    outcome, rights = _apply(session, vault, entry, person, scope.actor_id)
                except IntegrityError:
                    report.reject(number, InvalidInput("conflicts with a person added meanwhile"))
                except InvalidInput as error:
                    report.reject(number, error)
                else:
                    report.count(outcome, number)
                    audited += rights
                finished()
            record_many(session, audited)
            uow.commit()
    report.errors.sort(key=lambda error: error.row)
    return report


@dataclass
class _Reader:
    vault: PhoneVault
    places: PlaceIndex
    branches: BranchIndex
    scope: ImportScope
    first_row_of: dict[str, int] = field(default_factory=dict)  # phone hash → row

    def entry(
        self, number: int, record: dict[str, str], report: ImportReport
    ) -> RosterEntry | None:
        """The row's entry, or None after reporting every problem it has."""
        before = len(report.errors)

        def check(parse: Callable[[], T]) -> T | None:
            try:
                return parse()
            except InvalidInput as error:
                report.reject(number, error)
                return None

        cleaned = check(lambda: clean_cells(record))
        if cleaned is None:
            return None
        record = cleaned
        name = check(lambda: _name(record["name"]))
        phone = check(lambda: self._phone(number, record["phone"]))
        residence_id = check(lambda: self._residence(record["residence"]))
        branch = record.get("branch", "")
        branch_id = check(lambda: self.branches.find(branch, self.places) if branch else None)
        role = check(lambda: parse_role(record.get("role", "")))
        if len(report.errors) > before:
            return None
        if name is None or phone is None or residence_id is None or role is None:
            return None  # for the type checker: each None was reported above
        check(lambda: self._in_scope(record, residence_id, branch_id, role))
        if len(report.errors) > before:
            return None
        return RosterEntry(name, phone[0], phone[1], residence_id, branch_id, role)

    def _in_scope(
        self, record: dict[str, str], residence_id: int, branch_id: int | None, role: Role
    ) -> None:
        home = Target(place_path=self.places.tree_paths[residence_id])
        self.scope.check(self.scope.may_grant(role, home), record["residence"], "residence")
        if branch_id is not None:
            branch = self.branches.target(branch_id, self.places)
            self.scope.check(self.scope.may_grant(Role.MEMBER, branch), record["branch"], "branch")

    def check_in_care(self, user: User) -> None:
        """Someone already known (by phone) is updated only by those who look after
        them where they are now, as PATCH /users would be."""
        if self.scope.actor is None:
            return
        place_id, branch_id = user.residence_place_id, user.home_branch_id
        branch = self.branches.target(branch_id, self.places) if branch_id else Target()
        where = Target(
            place_path=self.places.tree_paths.get(place_id) if place_id else None,
            branch_id=branch.branch_id,
            department_id=branch.department_id,
        )
        if not self.scope.may_grant(Role.RESIDENT, where):
            raise InvalidInput(
                "someone with this phone is looked after outside your places; "
                "ask their community's staff",
                errors={"phone": ["outside your scope"]},
            )

    def _phone(self, number: int, raw: str) -> tuple[str, str]:
        phone_hash = self.vault.lookup_hash(raw)
        first = self.first_row_of.setdefault(phone_hash, number)
        if first != number:
            raise InvalidInput(f"duplicate of row {first}", errors={"phone": ["duplicate"]})
        return raw, phone_hash

    def _residence(self, text: str) -> int:
        place_id = self.places.find(split_path(text, "residence"), "residence")
        if self.places.levels[place_id] not in RESIDENCE_LEVELS:
            raise InvalidInput(
                f"{text} is a {self.places.levels[place_id].value}; "
                "a residence is a community or a place in one",
                errors={"residence": ["not a community or below one"]},
            )
        return place_id


def _name(text: str) -> str:
    if not text:
        raise InvalidInput("name is missing", errors={"name": ["required"]})
    if len(text) > NAME_LENGTH:
        raise InvalidInput(f"name longer than {NAME_LENGTH} characters", errors={"name": []})
    return text


def _people_by_phone_hash(session: Session, hashes: list[str]) -> dict[str, User]:
    if not hashes:
        return {}
    query = select(User).where(User.phone_hash.in_(hashes)).options(selectinload(User.grants))
    return {user.phone_hash or "": user for user in session.scalars(query)}


def _apply(
    session: Session,
    vault: PhoneVault,
    entry: RosterEntry,
    user: User | None,
    actor_id: int | None,
) -> tuple[Outcome, list[dict[str, Any]]]:
    """Write the row in a savepoint of its own, so a failure undoes this row alone; with
    the audit entries of the roles it gave or moved (by ``actor_id``, None at the
    console), written with its batch."""
    if user is None:
        with session.begin_nested():
            created = _create(session, vault, entry, actor_id)
        return Outcome.CREATED, created
    changes: dict[str, object] = {}
    # Once someone has signed in, the name is theirs to keep.
    if user.openid is None and user.name != entry.name:
        changes["name"] = entry.name
    # A blank branch cell says nothing, rather than "leave the branch".
    if entry.branch_id is not None and user.home_branch_id != entry.branch_id:
        changes["home_branch_id"] = entry.branch_id
    wanted = (entry.role.value, ScopeType.PLACE.value, entry.residence_id)
    new_grant = wanted not in {_key(g) for g in user.grants}
    moved = user.residence_place_id != entry.residence_id
    if not changes and not moved and not new_grant:
        return Outcome.UNCHANGED, []
    rights: list[dict[str, Any]] = []
    with session.begin_nested():
        for attribute, value in changes.items():
            setattr(user, attribute, value)
        if moved:
            # The roles held at the old home move with the person, as PATCH /users does.
            rights += moved_grant_entries(
                session, move_home(user, entry.residence_id), actor_id=actor_id
            )
        if moved or new_grant:
            held = {_key(g) for g in user.grants}
            grant = ensure_grant(session, user, entry.role, ScopeType.PLACE, entry.residence_id)
            if _key(grant) not in held:
                grant.granted_by_id = actor_id
                rights.append(_granted(session, grant, actor_id))
            # Tokens already issued carry the old roles.
            user.token_version = User.token_version + 1
    return Outcome.UPDATED, rights


def _key(grant: RoleGrant) -> tuple[str, str, int]:
    return (grant.role, grant.scope_type, grant.scope_id)


def _granted(session: Session, grant: RoleGrant, actor_id: int | None) -> dict[str, Any]:
    return grant_entry(
        session,
        grant,
        actor_id=actor_id,
        action="grant.create",
        before=None,
        after=described(grant),
    )


def _create(
    session: Session, vault: PhoneVault, entry: RosterEntry, actor_id: int | None
) -> list[dict[str, Any]]:
    # Core inserts with bound parameters, compiled once: a new person has no grants to
    # look through, and skipping the ORM's unit of work per row is most of what keeps a
    # 10,000-row roster well under 30 s.
    sealed = vault.seal(entry.phone)
    connection = session.connection()
    user_id = connection.execute(
        insert(User).returning(User.id),
        {
            "name": entry.name,
            "phone_ciphertext": sealed.ciphertext,
            "phone_hash": sealed.lookup_hash,
            "phone_masked": sealed.masked,
            "residence_place_id": entry.residence_id,
            "home_branch_id": entry.branch_id,
        },
    ).scalar_one()
    grant: dict[str, Any] = {
        "user_id": user_id,
        "role": entry.role.value,
        "scope_type": ScopeType.PLACE.value,
        "scope_id": entry.residence_id,
    }
    grant_id = connection.execute(
        insert(RoleGrant).returning(RoleGrant.id), {**grant, "granted_by_id": actor_id}
    ).scalar_one()
    return [
        entry_row(
            session,
            actor_id=actor_id,
            action="grant.create",
            object_type="grant",
            object_id=grant_id,
            before=None,
            after=grant,
            place_id=entry.residence_id,
        )
    ]
