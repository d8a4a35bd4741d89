"""Binding a WeChat phone number to the account signed in: when the number is one
staff loaded onto the roster, the person signs in as that roster entry from then on,
with its roles, and gets new tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from points.access import Actor
from points.errors import Conflict
from service.auth.sign_in import SignedIn, issue_tokens
from service.people.models import User
from service.people.phones import PhoneVault
from service.people.profile import own_user
from service.unit_of_work import UnitOfWork


class PhoneGateway(Protocol):
    def phone_number(self, code: str) -> str: ...


class PhoneTaken(Conflict):
    code = "phone_taken"


class AccountHasHistory(Conflict):
    code = "account_has_history"


@dataclass(frozen=True)
class PhoneBound:
    user: User
    # Set when the phone matched a roster entry staff had loaded: the person now signs
    # in as that entry (with its roles), and these tokens replace the old ones.
    signed_in: SignedIn | None


def bind_phone(
    uow: UnitOfWork,
    actor: Actor,
    wechat: PhoneGateway,
    vault: PhoneVault,
    secret_key: str,
    code: str,
    now: datetime,
) -> PhoneBound:
    phone = wechat.phone_number(code)  # network first; no transaction held open meanwhile
    sealed = vault.seal(phone)
    with uow:
        session = uow.session
        user = own_user(uow, actor)
        holder = session.scalars(
            select(User).where(User.phone_hash == sealed.lookup_hash)
        ).one_or_none()
        if holder is None or holder.id == user.id:
            user.phone_ciphertext = sealed.ciphertext
            user.phone_hash = sealed.lookup_hash
            user.phone_masked = sealed.masked
            uow.commit()
            return PhoneBound(user, None)
        if holder.openid is not None:
            raise PhoneTaken("this phone number is bound to another WeChat account")
        roster_entry = _absorb_into_roster_entry(uow, user, holder, now)
        signed_in = issue_tokens(session, secret_key, roster_entry, now)
        uow.commit()
        return PhoneBound(roster_entry, signed_in)


def _absorb_into_roster_entry(uow: UnitOfWork, user: User, entry: User, now: datetime) -> User:
    """The person staff pre-loaded (with branch, residence and roles) signs in from now
    on; the account WeChat sign-in had just created for them is retired, with its grants
    and refresh tokens. If anything else already refers to it (points, sign-ups, …) the
    database refuses the delete, and two histories are never merged silently."""
    session = uow.session
    openid, unionid = user.openid, user.unionid
    consent = (user.privacy_policy_version, user.privacy_consented_at, user.avatar_url)
    try:
        with session.begin_nested():
            session.delete(user)
            session.flush()  # frees the openid too
    except IntegrityError:
        raise AccountHasHistory(
            "you are on the community roster, but this account already has a history; "
            "ask community staff to link the two"
        ) from None
    entry.openid, entry.unionid = openid, unionid
    entry.privacy_policy_version, entry.privacy_consented_at = consent[0], consent[1]
    entry.avatar_url = entry.avatar_url or consent[2]
    entry.last_sign_in_at = now
    session.flush()
    return entry
