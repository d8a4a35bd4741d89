from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import text

from api import extensions
from api.cli import cli
from service.ledger.accounts import member_account
from service.people.models import User
from tests.ledger_helpers import credit


def test_verify_is_clean_then_names_a_corrupted_account(app: Flask, runner: FlaskCliRunner) -> None:
    with app.app_context():
        session = extensions.session()
        user = User(name="赵桂兰")
        session.add(user)
        session.flush()
        credit(session, user.id, "jifen", 40)
        credit(session, user.id, "xingfubi", 25)
        account_id = member_account(session, user.id, "xingfubi").id
        user_id = user.id
    clean = runner.invoke(cli, ["ledger", "verify"])
    assert clean.exit_code == 0, clean.output
    assert "ledger clean: 4 accounts, 2 transfers" in clean.output

    with app.app_context():
        session = extensions.session()
        # What a bad manual fix in psql would do: a total no transfer explains.
        session.execute(
            text("UPDATE ledger_account SET credits_posted = credits_posted + 5 WHERE id = :id"),
            {"id": account_id},
        )
        session.commit()
    broken = runner.invoke(cli, ["ledger", "verify"])
    assert broken.exit_code == 1
    assert f"account {account_id} (user {user_id}, xingfubi)" in broken.output
    assert "xingfubi does not sum to zero" in broken.output
    assert "jifen" not in broken.output.split("problem(s)")[0].replace("xingfubi", "")


def test_verify_counts_every_problem_and_lists_the_first(
    app: Flask, runner: FlaskCliRunner
) -> None:
    with app.app_context():
        session = extensions.session()
        for n in range(25):
            user = User(name=f"成员{n}")
            session.add(user)
            session.flush()
            credit(session, user.id, "jifen", 10)
        session.execute(
            text(
                "UPDATE ledger_account SET credits_posted = credits_posted + 1 "
                "WHERE user_id IS NOT NULL"
            )
        )
        session.commit()
    broken = runner.invoke(cli, ["ledger", "verify"])
    assert broken.exit_code == 1
    assert "ledger has 26 problem(s)" in broken.output  # 25 accounts and the zero-sum
    assert "… and 6 more" in broken.output
