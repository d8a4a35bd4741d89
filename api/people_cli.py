"""`lianxin people …`: the operator's commands on people."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from api import extensions
from api.text import cli_text
from points.errors import DomainError
from points.text import TextKind, text_problem
from service.auth.console_accounts import set_console_password

people = AppGroup("people", help="People: console accounts.")


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    # Signing in takes a password as sent, and refuses one with a control character.
    problem = text_problem(password, TextKind.VERBATIM)
    if problem is not None:
        raise click.BadParameter(problem, param_hint="password")
    return password


@people.command("set-password")
@click.option("--user", "user_id", type=int, help="The person's id.")
@click.option("--phone", callback=cli_text(TextKind.VERBATIM), help="Or their phone number.")
@click.option("--username", required=True, callback=cli_text(), help="Their console username.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def set_password(
    user_id: int | None, phone: str | None, username: str, password_stdin: bool
) -> None:
    """Give someone a console username and a password they keep (argon2id, audited)."""
    if (user_id is None) == (phone is None):
        raise click.UsageError("give exactly one of --user and --phone")
    try:
        phone_hash = extensions.phone_vault().lookup_hash(phone) if phone else None
        person = set_console_password(
            extensions.unit_of_work(), user_id, phone_hash, username, read_password(password_stdin)
        )
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"{person.name} (user {person.id}) signs in to the console as {person.username}")
