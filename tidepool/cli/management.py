"""Management subcommands (users, roles, permissions) are added to the main group here."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    return None
