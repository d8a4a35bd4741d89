"""The no-show policies places keep (爽约规则), the one that applies at a place (its
own, or the nearest one up the tree, or the default), and the check sign-up makes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from points.access import Action, Actor, Target, place_prefixes, require
from points.errors import Conflict, Forbidden, NotFound
from points.no_shows import DEFAULT_POLICY, NoShowPolicy, check_may_sign_up, nearest_policy
from points.tasks import ParticipationStatus, TaskStatus
from service.db import rows_changed
from service.places.models import Place
from service.places.tree import named_place
from service.tasks.models import NoShowPolicy as KeptPolicy
from service.tasks.models import Participation, Task
from service.unit_of_work import UnitOfWork


class PolicyChanged(Conflict):
    code = "no_show_policy_changed"


@dataclass(frozen=True)
class PlacePolicy:
    policy: NoShowPolicy
    place_id: int | None  # None: the built-in default
    id: int | None


def _ids_up(path: str) -> list[int]:
    """The place of ``path`` (``/1/2/5/``) and its ancestors, nearest first."""
    return [int(part) for part in reversed(path.strip("/").split("/")) if part]


def _policy(row: KeptPolicy) -> NoShowPolicy:
    return NoShowPolicy(row.max_no_shows, row.window_days, row.active)


def policy_at(session: Session, place_path: str) -> PlacePolicy:
    """The policy that holds at the place of ``place_path``."""
    ids = _ids_up(place_path)
    rows = {
        row.place_id: row
        for row in session.scalars(select(KeptPolicy).where(KeptPolicy.place_id.in_(ids)))
    }
    policy = nearest_policy({place_id: _policy(row) for place_id, row in rows.items()}, ids)
    if policy is DEFAULT_POLICY:
        return PlacePolicy(policy, None, None)
    row = next(rows[place_id] for place_id in ids if place_id in rows)
    return PlacePolicy(policy, row.place_id, row.id)


def no_shows_since(session: Session, user_id: int, since: datetime) -> list[datetime]:
    """When someone's unexcused no-shows happened, after ``since``: of tasks that took
    place (one called off after it ended needed nobody, so missing it costs nothing)."""
    return list(
        session.scalars(
            select(Participation.no_show_at)
            .join(Task, Task.id == Participation.task_id)
            .where(
                Participation.user_id == user_id,
                Participation.status == ParticipationStatus.NO_SHOW.value,
                Participation.no_show_at > since,
                Task.status != TaskStatus.CANCELLED.value,
            )
        )
    )


def check_no_shows(session: Session, user_id: int, place_path: str, now: datetime) -> None:
    """Refuse (409 ``too_many_no_shows``, saying when it clears) someone the policy of
    the place blocks. Their no-shows anywhere count: it is the same person."""
    policy = policy_at(session, place_path).policy
    if policy.active:
        check_may_sign_up(policy, no_shows_since(session, user_id, policy.counts_from(now)), now)


def list_policies(session: Session, actor: Actor) -> list[PlacePolicy]:
    """The policies kept in the places the actor runs tasks in, then the default."""
    prefixes = place_prefixes(actor, Action.MANAGE_TASKS)
    if not prefixes:
        raise Forbidden("your roles do not include running tasks")
    rows = session.execute(
        select(KeptPolicy, Place.path)
        .join(Place, Place.id == KeptPolicy.place_id)
        .order_by(Place.path)
    )
    kept = [
        PlacePolicy(_policy(row), row.place_id, row.id)
        for row, path in rows
        if any(path.startswith(prefix) for prefix in prefixes)
    ]
    return [*kept, PlacePolicy(DEFAULT_POLICY, None, None)]


def keep_policy(
    uow: UnitOfWork, actor: Actor, place_id: int, policy: NoShowPolicy, now: datetime
) -> PlacePolicy:
    """Set the policy of a place and the places below it that keep none of their own
    (replacing the one it kept, if any). Staff and admins of the place."""
    with uow:
        session = uow.session
        place = named_place(session, place_id)
        require(actor, Action.MANAGE_TASKS, Target(place_path=place.path), what="place")
        row = session.scalars(
            select(KeptPolicy).where(KeptPolicy.place_id == place.id)
        ).one_or_none()
        if row is None:
            row = KeptPolicy(place_id=place.id)
            session.add(row)
        row.max_no_shows, row.window_days, row.active = (
            policy.limit,
            policy.window_days,
            policy.active,
        )
        row.updated_by_id, row.updated_at = actor.user_id, now
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError:  # another of its staff kept one for the place just now
            raise PolicyChanged("this place's policy changed a moment ago; reload it") from None
        uow.commit()
        return PlacePolicy(policy, place.id, row.id)


def forget_policy(uow: UnitOfWork, actor: Actor, policy_id: int) -> None:
    """The place follows the nearest policy above it (or the default) again."""
    with uow:
        session = uow.session
        row = session.execute(
            select(KeptPolicy.id, Place.path)
            .join(Place, Place.id == KeptPolicy.place_id)
            .where(KeptPolicy.id == policy_id)
        ).first()
        if row is None:
            raise NotFound("no such policy is kept")
        require(actor, Action.MANAGE_TASKS, Target(place_path=row.path), what="policy")
        if not rows_changed(session.execute(delete(KeptPolicy).where(KeptPolicy.id == policy_id))):
            raise NotFound("no such policy is kept")
        uow.commit()
