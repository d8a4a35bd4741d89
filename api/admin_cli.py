"""`lianxin admin …`: operator commands."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from api import extensions
from api.text import cli_text
from points.errors import DomainError
from points.places import PlaceLevel
from points.text import TextKind, text_problem
from service.auth.bootstrap import NewAdmin, create_admin

admin = AppGroup("admin", help="Operator commands.")


@admin.command("create")
@click.option("--name", required=True, callback=cli_text(), help="The admin's display name.")
@click.option(
    "--openid", callback=cli_text(TextKind.VERBATIM), help="Sign in with WeChat as this openid."
)
@click.option("--username", callback=cli_text(), help="Sign in to the console with this username.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--org", "org_id", type=int, help="Place id the role covers, with its subtree.")
@click.option(
    "--root-name",
    callback=cli_text(),
    help="On an empty installation: create the root place first.",
)
@click.option(
    "--root-level",
    type=click.Choice([level.value for level in PlaceLevel]),
    default=PlaceLevel.DISTRICT.value,
    show_default=True,
)
def create(
    name: str,
    openid: str | None,
    username: str | None,
    password_stdin: bool,
    org_id: int | None,
    root_name: str | None,
    root_level: str,
) -> None:
    """Make an admin (the first one of a fresh installation, or another)."""
    password = None
    if username is not None:
        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        # Signing in takes a password as sent, and refuses one with a control character.
        problem = text_problem(password, TextKind.VERBATIM)
        if problem is not None:
            raise click.BadParameter(problem, param_hint="password")
    spec = NewAdmin(
        name=name,
        openid=openid,
        username=username,
        password=password,
        place_id=org_id,
        root_name=root_name,
        root_level=PlaceLevel(root_level),
    )
    try:
        user, place = create_admin(extensions.unit_of_work(), spec)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"admin {user.name} (user {user.id}) on {place.name} (org:{place.id})")
