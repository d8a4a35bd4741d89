"""Random sequences of ledger operations against an in-memory model.

After every step: each account equals the model and the sum of its transfers
(`verify`), every currency sums to zero, no member is below zero, and no earlier
transfer changed. Replays of earlier idempotency keys are among the steps.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from flask import Flask
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import select

from api import extensions
from points.errors import DomainError
from points.ledger import REVERSIBLE, Phase, Totals, TransferKind, contribution
from service.db import utcnow
from service.ledger.accounts import issuance_key, member_account, redeemed_sink_key, system_account
from service.ledger.expiry import expire_due
from service.ledger.holds import resolve_hold
from service.ledger.models import LedgerAccount, Transfer
from service.ledger.posting import TransferRequest, post
from service.ledger.reversals import reverse
from service.ledger.verify import verify
from service.people.models import User
from tests.conftest import empty_tables

CURRENCIES = ["jifen", "xingfubi"]
amounts = st.integers(min_value=1, max_value=60)


def make_machine(app: Flask) -> type[RuleBasedStateMachine]:
    class LedgerMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            empty_tables(app)
            self.context = app.app_context()
            self.context.push()
            self.session = extensions.session()
            self.members: list[int] = []
            for n in range(3):
                user = User(name=f"成员{n}")
                self.session.add(user)
                self.session.flush()
                self.members.append(user.id)
            self.accounts: dict[tuple[str, str], int] = {}
            for code in CURRENCIES:
                for user_id in self.members:
                    self.accounts[(f"user:{user_id}", code)] = member_account(
                        self.session, user_id, code
                    ).id
                self.accounts[("issuance", code)] = system_account(
                    self.session, issuance_key(1), code
                ).id
                self.accounts[("sink", code)] = system_account(
                    self.session, redeemed_sink_key(1), code
                ).id
            self.session.commit()
            self.model: dict[int, Totals] = defaultdict(Totals)
            self.limited = {
                self.accounts[(f"user:{u}", c)] for u in self.members for c in CURRENCIES
            }
            self.limited |= {self.accounts[("sink", c)] for c in CURRENCIES}
            self.transfers: dict[int, dict[str, Any]] = {}
            self.requests: list[TransferRequest] = []
            self.reversed: set[int] = set()
            self.open_holds: list[int] = []
            self.counter = 0

        def teardown(self) -> None:
            self.session.rollback()
            self.context.pop()

        # --- the model ------------------------------------------------------------------

        def available(self, account_id: int) -> int:
            return self.model[account_id].available

        def apply(self, transfer: Transfer) -> None:
            phase = Phase(transfer.phase)
            self.model[transfer.debit_account_id] += contribution(
                phase, transfer.amount, debit=True
            )
            self.model[transfer.credit_account_id] += contribution(
                phase, transfer.amount, debit=False
            )
            self.transfers[transfer.id] = snapshot(transfer)

        def attempt(self, action: Any, *, fails: bool) -> Transfer | None:
            try:
                transfer: Transfer = action()
            except DomainError:
                self.session.rollback()
                assert fails, "the ledger refused what the model allows"
                return None
            self.session.commit()
            assert not fails, "the ledger allowed what the model forbids"
            return transfer

        def key(self) -> str:
            self.counter += 1
            return f"test:{self.counter}"

        # --- steps ----------------------------------------------------------------------

        @rule(
            member=st.integers(0, 2),
            code=st.sampled_from(CURRENCIES),
            amount=amounts,
            kind=st.sampled_from([TransferKind.EARN, TransferKind.AWARD]),
        )
        def credit(self, member: int, code: str, amount: int, kind: TransferKind) -> None:
            request = TransferRequest(
                idempotency_key=self.key(),
                kind=kind,
                currency=code,
                amount=amount,
                debit_account_id=self.accounts[("issuance", code)],
                credit_account_id=self.accounts[(f"user:{self.members[member]}", code)],
            )
            transfer = self.attempt(lambda: post(self.session, request), fails=False)
            assert transfer is not None
            self.apply(transfer)
            self.requests.append(request)

        @rule(member=st.integers(0, 2), code=st.sampled_from(CURRENCIES), amount=amounts)
        def deduct(self, member: int, code: str, amount: int) -> None:
            debit = self.accounts[(f"user:{self.members[member]}", code)]
            request = TransferRequest(
                idempotency_key=self.key(),
                kind=TransferKind.DEDUCT,
                currency=code,
                amount=amount,
                debit_account_id=debit,
                credit_account_id=self.accounts[("issuance", code)],
            )
            transfer = self.attempt(
                lambda: post(self.session, request), fails=self.available(debit) < amount
            )
            if transfer is not None:
                self.apply(transfer)
                self.requests.append(request)

        @precondition(lambda self: self.requests)
        @rule(data=st.data())
        def replay(self, data: st.DataObject) -> None:
            request = data.draw(st.sampled_from(self.requests))
            before = dict(self.model)
            transfer = self.attempt(lambda: post(self.session, request), fails=False)
            assert transfer is not None
            assert transfer.idempotency_key == request.idempotency_key
            assert dict(self.model) == before

        @precondition(lambda self: self.transfers)
        @rule(data=st.data())
        def reverse_one(self, data: st.DataObject) -> None:
            transfer_id = data.draw(st.sampled_from(sorted(self.transfers)))
            original = self.transfers[transfer_id]
            undoable = TransferKind(original["kind"]) in REVERSIBLE
            fails = (
                not undoable
                or transfer_id in self.reversed
                or (
                    original["credit_account_id"] in self.limited
                    and self.available(original["credit_account_id"]) < original["amount"]
                )
            )
            done = self.attempt(
                lambda: reverse(self.session, transfer_id, actor_id=None, reason="test"),
                fails=fails,
            )
            if done is not None:
                self.apply(done)
                self.reversed.add(transfer_id)

        @rule(member=st.integers(0, 2), amount=amounts)
        def hold(self, member: int, amount: int) -> None:
            debit = self.accounts[(f"user:{self.members[member]}", "xingfubi")]
            request = TransferRequest(
                idempotency_key=self.key(),
                kind=TransferKind.REDEEM_HOLD,
                currency="xingfubi",
                amount=amount,
                phase=Phase.PENDING,
                debit_account_id=debit,
                credit_account_id=self.accounts[("sink", "xingfubi")],
            )
            transfer = self.attempt(
                lambda: post(self.session, request), fails=self.available(debit) < amount
            )
            if transfer is not None:
                self.apply(transfer)
                self.open_holds.append(transfer.id)

        @precondition(lambda self: self.transfers)
        @rule(data=st.data(), hand_over=st.booleans())
        def resolve(self, data: st.DataObject, hand_over: bool) -> None:
            holds = sorted(t for t, row in self.transfers.items() if row["phase"] == "pending")
            if not holds:
                return
            hold_id = data.draw(st.sampled_from(holds))
            transfer = self.attempt(
                lambda: resolve_hold(
                    self.session, hold_id, hand_over=hand_over, actor_id=None, key=self.key()
                ),
                fails=hold_id not in self.open_holds,
            )
            if transfer is not None:
                self.apply(transfer)
                self.open_holds.remove(hold_id)

        @rule()
        def expire_everything_due(self) -> None:
            """A year and more later, every unspent 幸福币 lot expires; holds keep theirs."""
            known = max(self.transfers, default=0)
            report = expire_due(extensions.unit_of_work(), utcnow() + timedelta(days=400))
            new = self.session.scalars(
                select(Transfer).where(Transfer.id > known).order_by(Transfer.id)
            ).all()
            assert report.lots == len(new)
            for transfer in new:
                assert transfer.kind == TransferKind.EXPIRE
                self.apply(transfer)
            for user_id in self.members:
                account = self.accounts[(f"user:{user_id}", "xingfubi")]
                assert self.available(account) == 0

        # --- invariants ------------------------------------------------------------------

        @invariant()
        def totals_match_the_model_and_the_transfers(self) -> None:
            report = verify(self.session)
            assert report.clean, report.problems
            for account in self.session.scalars(select(LedgerAccount)):
                stored = Totals(
                    account.debits_pending,
                    account.debits_posted,
                    account.credits_pending,
                    account.credits_posted,
                )
                assert stored == self.model[account.id]
                if account.no_overdraft:
                    assert stored.within_limit()

        @invariant()
        def earlier_transfers_never_change(self) -> None:
            rows = {t.id: snapshot(t) for t in self.session.scalars(select(Transfer))}
            assert rows == self.transfers

    return LedgerMachine


def snapshot(transfer: Transfer) -> dict[str, Any]:
    return {
        column: getattr(transfer, column)
        for column in (
            "idempotency_key",
            "kind",
            "phase",
            "currency",
            "debit_account_id",
            "credit_account_id",
            "amount",
            "pending_id",
            "reverses_id",
            "created_at",
        )
    }


def test_ledger_operations_keep_every_invariant(app: Flask) -> None:
    machine = make_machine(app)
    machine.TestCase.settings = settings(max_examples=25, stateful_step_count=30, deadline=None)
    run = machine.TestCase("runTest")
    run.runTest()
