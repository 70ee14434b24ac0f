"""What the CLI prints after a bootstrap: the URL and, once, generated credentials."""

from __future__ import annotations

import click

from tidepool.config import Settings
from tidepool.db.bootstrap import BootstrapResult


def server_url(settings: Settings) -> str:
    host = settings.HOST
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return f"http://{shown}:{settings.PORT}"


def print_bootstrap(result: BootstrapResult | None, settings: Settings) -> None:
    if result is None:
        return
    if result.migrations:
        click.echo(f"migrated system tables: {', '.join(result.migrations)}")
    if result.admin_email:
        click.echo(f"created first admin: {result.admin_email}")
        if result.admin_password:
            click.echo(f"  generated password (shown once): {result.admin_password}")
        if result.admin_token_set:
            click.echo("  static token: the value of ADMIN_TOKEN")
