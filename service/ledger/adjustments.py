"""Awards and deductions by hand (人工奖励 / 扣分), with a reason, and above a set
amount a second staff member's confirmation before anything moves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import literal, or_, select
from sqlalchemy.orm import Session

from points.access import Action, Actor, Role, ScopeType, allows, place_prefixes, require
from points.adjustments import (
    ADJUSTMENT_TRANSITIONS,
    AdjustmentAction,
    AdjustmentKind,
    AdjustmentStatus,
)
from points.currency import Currency
from points.errors import Conflict, Forbidden, InvalidInput, NotFound
from points.ledger import IdempotencyKeyReused, TransferKind
from points.lifecycle import transition
from points.notices import Topic
from service.audit.log import record
from service.ledger.accounts import currency, issuance_key, member_account, system_account
from service.ledger.models import Adjustment, LedgerAccount, Transfer
from service.ledger.posting import TransferRequest, post
from service.ledger.reversals import reverse
from service.lifecycle import move_status
from service.notices import tell
from service.organisation.models import Branch
from service.people.admin import person_target
from service.people.models import RoleGrant, User
from service.places.models import Place
from service.unit_of_work import UnitOfWork

_PENDING = AdjustmentStatus.PENDING_CONFIRMATION


class SelfAdjustment(Forbidden):
    code = "self_adjustment"


class NotPending(Conflict):
    code = "not_pending"


@dataclass(frozen=True)
class AdjustmentRequest:
    user_id: int
    kind: AdjustmentKind
    currency: str
    amount: int
    reason: str


def _member(session: Session, actor: Actor, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("person not found")
    require(actor, Action.ADJUST_POINTS, person_target(session, user), what="person")
    if user.id == actor.user_id:
        raise SelfAdjustment("nobody awards or deducts their own points")
    if user.residence_place_id is None:
        raise InvalidInput("this person has no residence yet; set it before adjusting points")
    return user


def request_adjustment(
    uow: UnitOfWork,
    actor: Actor,
    wanted: AdjustmentRequest,
    *,
    confirm_above: int,
    now: datetime,
    key: str | None = None,
) -> Adjustment:
    if wanted.amount <= 0:
        raise InvalidInput("amounts are positive", errors={"amount": ["must be positive"]})
    with uow:
        session = uow.session
        member = _member(session, actor, wanted.user_id)
        currency(session, wanted.currency)
        if key is not None:
            earlier = session.scalars(
                select(Adjustment).where(Adjustment.idempotency_key == key)
            ).one_or_none()
            if earlier is not None:
                same = (earlier.user_id, earlier.kind, earlier.currency, earlier.amount) == (
                    wanted.user_id,
                    wanted.kind.value,
                    wanted.currency,
                    wanted.amount,
                )
                if not same:
                    raise IdempotencyKeyReused(
                        f"already adjusted by {earlier.amount} {earlier.currency} in this batch"
                    )
                return earlier
        adjustment = Adjustment(
            user_id=wanted.user_id,
            kind=wanted.kind.value,
            currency=wanted.currency,
            amount=wanted.amount,
            reason=wanted.reason,
            requested_by_id=actor.user_id,
            status=_PENDING.value,
            created_at=now,
            idempotency_key=key,
        )
        session.add(adjustment)
        session.flush()
        if wanted.amount <= confirm_above:
            _post(session, adjustment, member, actor.user_id, now)
        record(
            session,
            actor_id=actor.user_id,
            action=f"adjustment.{wanted.kind.value}",
            object_type="adjustment",
            object_id=adjustment.id,
            before=None,
            after={
                "amount": wanted.amount,
                "currency": wanted.currency,
                "user_id": wanted.user_id,
                "reason": wanted.reason,
                "status": adjustment.status,
                "transfer_id": adjustment.transfer_id,
            },
            place_id=member.residence_place_id,
        )
        if adjustment.status == _PENDING.value:
            _tell_confirmers(session, adjustment, member, actor.user_id)
        uow.commit()
        return adjustment


def _tell_confirmers(session: Session, adjustment: Adjustment, member: User, asker_id: int) -> None:
    """Staff and admins whose places hold the member, but neither the asker nor the
    member, hear that a second confirmation waits for one of them."""
    home = session.get(Place, member.residence_place_id)
    if home is None:
        return
    confirmers = session.scalars(
        select(RoleGrant.user_id)
        .join(Place, Place.id == RoleGrant.scope_id)
        .where(
            RoleGrant.scope_type == ScopeType.PLACE.value,
            RoleGrant.role.in_([Role.STAFF.value, Role.ADMIN.value]),
            literal(home.path).startswith(Place.path),
            RoleGrant.user_id.not_in([asker_id, member.id]),
        )
        .distinct()
    ).all()
    tell(
        session,
        Topic.ADJUSTMENT_TO_CONFIRM,
        confirmers,
        {
            "adjustment_id": adjustment.id,
            "member_name": member.name,
            "direction": "奖励" if adjustment.kind == "award" else "扣减",
            "amount": f"{adjustment.amount} {Currency(adjustment.currency).label}",
            "reason": adjustment.reason,
        },
        source=f"adjustment:{adjustment.id}:to_confirm",
    )


def confirm_adjustment(
    uow: UnitOfWork, actor: Actor, adjustment_id: int, now: datetime
) -> Adjustment:
    with uow:
        session = uow.session
        adjustment, member = _pending(session, actor, adjustment_id)
        if actor.user_id == adjustment.requested_by_id:
            raise Forbidden("a second staff member must confirm; you asked for this one")
        _post(session, adjustment, member, actor.user_id, now)
        record(
            session,
            actor_id=actor.user_id,
            action="adjustment.confirm",
            object_type="adjustment",
            object_id=adjustment.id,
            before={"status": _PENDING.value},
            after={"status": AdjustmentStatus.POSTED.value, "transfer_id": adjustment.transfer_id},
            place_id=member.residence_place_id,
        )
        uow.commit()
        return adjustment


def reject_adjustment(
    uow: UnitOfWork, actor: Actor, adjustment_id: int, reason: str, now: datetime
) -> Adjustment:
    with uow:
        session = uow.session
        adjustment, member = _pending(session, actor, adjustment_id)
        _decide(session, adjustment, AdjustmentAction.REJECT, actor.user_id, now)
        record(
            session,
            actor_id=actor.user_id,
            action="adjustment.reject",
            object_type="adjustment",
            object_id=adjustment.id,
            before={"status": _PENDING.value},
            after={"status": AdjustmentStatus.REJECTED.value, "reason": reason},
            place_id=member.residence_place_id,
        )
        uow.commit()
        session.refresh(adjustment)
        return adjustment


def _pending(session: Session, actor: Actor, adjustment_id: int) -> tuple[Adjustment, User]:
    adjustment = session.get(Adjustment, adjustment_id)
    if adjustment is None:
        raise NotFound("adjustment not found")
    member = _member(session, actor, adjustment.user_id)
    if adjustment.status != _PENDING.value:
        raise NotPending(f"this adjustment is already {adjustment.status}")
    return adjustment, member


def _decide(
    session: Session,
    adjustment: Adjustment,
    action: AdjustmentAction,
    actor_id: int,
    now: datetime,
) -> None:
    target = transition(ADJUSTMENT_TRANSITIONS, _PENDING, action)
    # Conditional, so two confirmations at once can't both post.
    decided = move_status(
        session, Adjustment, adjustment.id, _PENDING, target, decided_by_id=actor_id, decided_at=now
    )
    if not decided:
        raise NotPending("someone decided this adjustment a moment ago")


def _post(
    session: Session, adjustment: Adjustment, member: User, actor_id: int, now: datetime
) -> None:
    _decide(session, adjustment, AdjustmentAction.POST, actor_id, now)
    # Points come from the place the member lives in (checked set by _member).
    issuer = system_account(
        session, issuance_key(member.residence_place_id or 0), adjustment.currency
    )
    mine = member_account(session, member.id, adjustment.currency)
    award = adjustment.kind == AdjustmentKind.AWARD
    transfer = post(
        session,
        TransferRequest(
            idempotency_key=f"adjustment:{adjustment.id}",
            kind=TransferKind.AWARD if award else TransferKind.DEDUCT,
            currency=adjustment.currency,
            debit_account_id=issuer.id if award else mine.id,
            credit_account_id=mine.id if award else issuer.id,
            amount=adjustment.amount,
            source=f"adjustment:{adjustment.id}",
            actor_id=actor_id,
            explanation=adjustment.reason,
            created_at=now,
        ),
    )
    adjustment.transfer_id = transfer.id
    session.flush()
    session.refresh(adjustment)


def list_pending(session: Session, actor: Actor, limit: int) -> list[Adjustment]:
    """Adjustments waiting for confirmation about people the actor may adjust (the same
    scope as _member, as one query), oldest first."""
    allowed = [g for g in actor.grants if allows(g.role, Action.ADJUST_POINTS)]
    scopes = [
        Place.path.startswith(prefix) for prefix in place_prefixes(actor, Action.ADJUST_POINTS)
    ]
    scopes.append(
        User.home_branch_id.in_([g.scope_id for g in allowed if g.scope_type is ScopeType.BRANCH])
    )
    scopes.append(
        Branch.department_id.in_(
            [g.scope_id for g in allowed if g.scope_type is ScopeType.DEPARTMENT]
        )
    )
    return list(
        session.scalars(
            select(Adjustment)
            .join(User, User.id == Adjustment.user_id)
            .join(Place, Place.id == User.residence_place_id)
            .outerjoin(Branch, Branch.id == User.home_branch_id)
            .where(
                Adjustment.status == _PENDING.value,
                Adjustment.user_id != actor.user_id,
                or_(*scopes),
            )
            .order_by(Adjustment.id)
            .limit(limit)
        )
    )


def reverse_for_staff(uow: UnitOfWork, actor: Actor, transfer_id: int, reason: str) -> Transfer:
    """Staff undo a transfer of a member they look after (an approval made in error)."""
    with uow:
        session = uow.session
        original = session.get(Transfer, transfer_id)
        owners = _account_owners(session, original) if original is not None else []
        if original is None or not owners:
            raise NotFound("transfer not found")
        member = _member(session, actor, owners[0])
        done = reverse(session, original.id, actor_id=actor.user_id, reason=reason)
        record(
            session,
            actor_id=actor.user_id,
            action="transfer.reverse",
            object_type="transfer",
            object_id=original.id,
            before={
                "kind": original.kind,
                "amount": original.amount,
                "currency": original.currency,
            },
            after={"reversal": done.id, "reason": reason, "user_id": member.id},
            place_id=member.residence_place_id,
        )
        uow.commit()
        return done


def _account_owners(session: Session, transfer: Transfer) -> list[int]:
    """The member whose account the transfer touched (system accounts have none)."""
    return [
        owner
        for owner in session.scalars(
            select(LedgerAccount.user_id).where(
                LedgerAccount.id.in_([transfer.debit_account_id, transfer.credit_account_id]),
                LedgerAccount.user_id.is_not(None),
            )
        )
        if owner is not None
    ]
