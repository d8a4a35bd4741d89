"""`lianxin ledger …`: checks an operator runs (nightly, or after an incident)."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from api import extensions
from service.ledger.verify import verify

ledger = AppGroup("ledger", help="Check the points ledger.")


@ledger.command("verify")
def verify_command() -> None:
    """Recompute every account from its transfers; exit 1 on any difference."""
    started = time.perf_counter()
    report = verify(extensions.session())
    seconds = time.perf_counter() - started
    summary = f"{report.accounts:,} accounts, {report.transfers:,} transfers in {seconds:.1f} s"
    if report.clean:
        click.echo(f"ledger clean: {summary}")
        return
    for problem in report.problems:
        click.echo(f"  {problem}", err=True)
    if report.problem_count > len(report.problems):
        click.echo(f"  … and {report.problem_count - len(report.problems)} more", err=True)
    raise click.ClickException(f"ledger has {report.problem_count} problem(s): {summary}")
