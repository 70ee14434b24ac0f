"""Management subcommands: ``users``, ``roles`` and ``permissions``.

The seed guide ("a role that can read and create messages, and a user with a static token") is three
commands::

    tidepool roles create Writers
    tidepool permissions grant --role Writers --collection messages --action read,create
    tidepool users create --email w@example.com --password secret --role Writers --token

Every command runs through the same account services as the REST API (so passwords are hashed, tokens
stored as SHA-256, and the access model stays consistent); each write moves the access version marker, so a
running server picks the change up within ``CACHE_SYNC_INTERVAL`` (``tidepool.services.versions``). Errors
print one line and exit 1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
import sqlalchemy as sa

from tidepool.context import Action
from tidepool.db import system
from tidepool.errors import CliError
from tidepool.runtime import open_runtime
from tidepool.security import new_token
from tidepool.services.base import ServiceContext

T = TypeVar("T")


def run(work: Callable[[ServiceContext], Awaitable[T]]) -> T:
    """Open the configured database (bootstrapping it if needed) and run ``work`` with full access."""
    # lazy: the package's __init__ imports this module
    from tidepool.cli import settings_from_env

    settings = settings_from_env()

    async def main() -> T:
        async with open_runtime(settings) as runtime:
            return await work(runtime.context())

    return asyncio.run(main())


# ---- lookups ---------------------------------------------------------------------------------------------


async def find_role(ctx: ServiceContext, name_or_id: str) -> str:
    roles = system.roles
    async with ctx.connection() as conn:
        rows = (
            await conn.execute(
                sa.select(roles.c.id).where(sa.or_(roles.c.id == name_or_id, roles.c.name == name_or_id))
            )
        ).all()
    if not rows:
        raise CliError(f'role "{name_or_id}" does not exist')
    if len(rows) > 1:
        raise CliError(f'several roles are named "{name_or_id}"; use the role id')
    return str(rows[0].id)


async def find_user(ctx: ServiceContext, email: str) -> str:
    users = system.users
    async with ctx.connection() as conn:
        user_id = await conn.scalar(sa.select(users.c.id).where(sa.func.lower(users.c.email) == email.strip().lower()))
    if user_id is None:
        raise CliError(f'user "{email}" does not exist')
    return str(user_id)


async def role_policy(ctx: ServiceContext, role_id: str, role_name: str) -> str:
    """The policy a grant goes to: the role's policy named like the role, else its first, else a new one."""
    # loaded by the command that uses it (~70 ms off every other `tidepool` run)
    from tidepool.services.policies import PoliciesService
    from tidepool.services.roles import RolesService

    access, policies = system.access, system.policies
    async with ctx.connection() as conn:
        rows = (
            await conn.execute(
                sa.select(policies.c.id, policies.c.name, policies.c.admin_access)
                .join(access, access.c.policy == policies.c.id)
                .where(access.c.role == role_id)
                .order_by(access.c.sort, access.c.id)
            )
        ).all()
    named = [r for r in rows if r.name == role_name] or [r for r in rows if not r.admin_access]
    if named:
        return str(named[0].id)
    policy_id = str(await PoliciesService(ctx).create_one({"name": role_name}))
    await RolesService(ctx).update_one(role_id, {"policies": {"create": [{"policy": policy_id}]}})
    return policy_id


# ---- commands --------------------------------------------------------------------------------------------


def _friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    # lazy: the package's __init__ imports this module
    from tidepool.cli import friendly_errors

    return friendly_errors(func)


@click.group("users")
def users_group() -> None:
    """Create users and give them static tokens."""


@users_group.command("create")
@click.option("--email", required=True, help="E-mail (the login).")
@click.option("--password", default=None, help="Password (omit for a token-only user).")
@click.option("--role", "role", default=None, help="Role name or id.")
@click.option("--token", "with_token", is_flag=True, help="Also set a new static token and print it.")
@_friendly
def users_create(email: str, password: str | None, role: str | None, with_token: bool) -> None:
    """Create an active user."""
    # loaded by the command that uses it (~70 ms off every other `tidepool` run)
    from tidepool.services.users import UsersService

    token = new_token() if with_token else None

    async def work(ctx: ServiceContext) -> str:
        data: dict[str, Any] = {"email": email, "status": "active"}
        if password is not None:
            data["password"] = password
        if role is not None:
            data["role"] = await find_role(ctx, role)
        if token is not None:
            data["token"] = token
        return str(await UsersService(ctx).create_one(data))

    user_id = run(work)
    click.echo(f"created user {email.strip().lower()} ({user_id})")
    if token is not None:
        click.echo(f"static token: {token}")


@users_group.command("token")
@click.argument("email")
@_friendly
def users_token(email: str) -> None:
    """Set a new static token for EMAIL and print it (the previous one stops working)."""
    # loaded by the command that uses it (~70 ms off every other `tidepool` run)
    from tidepool.services.users import UsersService

    token = new_token()

    async def work(ctx: ServiceContext) -> None:
        await UsersService(ctx).update_one(await find_user(ctx, email), {"token": token})

    run(work)
    click.echo(token)


@click.group("roles")
def roles_group() -> None:
    """Create roles."""


@roles_group.command("create")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Give the role's policy admin access (bypasses permissions).")
@click.option("--app", is_flag=True, help="Give the role's policy app access.")
@click.option("--parent", default=None, help="Parent role name or id (the role inherits its policies).")
@_friendly
def roles_create(name: str, admin: bool, app: bool, parent: str | None) -> None:
    """Create a role NAME with a policy of the same name attached to it."""
    # loaded by the command that uses it (~70 ms off every other `tidepool` run)
    from tidepool.services.policies import PoliciesService
    from tidepool.services.roles import RolesService

    async def work(ctx: ServiceContext) -> str:
        async with ctx.transaction() as tx:
            policy = {"name": name, "admin_access": admin, "app_access": app or admin}
            policy_id = await PoliciesService(tx).create_one(policy)
            role: dict[str, Any] = {"name": name, "policies": [{"policy": policy_id}]}
            if parent is not None:
                role["parent"] = await find_role(tx, parent)
            return str(await RolesService(tx).create_one(role))

    click.echo(f"created role {name} ({run(work)})")


@click.group("permissions")
def permissions_group() -> None:
    """Grant permissions to roles."""


@permissions_group.command("grant")
@click.option("--role", required=True, help="Role name or id.")
@click.option("--collection", required=True, help="Collection the permission applies to.")
@click.option("--action", "actions", required=True, help="Comma-separated: create,read,update,delete,share.")
@click.option("--fields", default="*", show_default=True, help="Comma-separated fields, or * for all.")
@_friendly
def permissions_grant(role: str, collection: str, actions: str, fields: str) -> None:
    """Allow ROLE to perform ACTIONS on COLLECTION (replacing the fields of an existing grant)."""
    wanted = _actions(actions)

    async def work(ctx: ServiceContext) -> None:
        role_id = await find_role(ctx, role)
        async with ctx.transaction() as tx:
            policy_id = await role_policy(tx, role_id, role)
            for action in wanted:
                await _grant(tx, policy_id, collection, action, fields)

    run(work)
    click.echo(f"granted {','.join(wanted)} on {collection} to role {role} (fields: {fields})")


def _actions(raw: str) -> list[str]:
    allowed = [a.value for a in Action]
    actions = [a.strip() for a in raw.split(",") if a.strip()]
    unknown = [a for a in actions if a not in allowed]
    if unknown or not actions:
        raise CliError(f"unknown action {', '.join(unknown) or '(none)'}; use {', '.join(allowed)}")
    return actions


async def _grant(ctx: ServiceContext, policy_id: str, collection: str, action: str, fields: str) -> None:
    # loaded by the command that uses it (~70 ms off every other `tidepool` run)
    from tidepool.services.policies import PermissionRowsService

    table = system.permissions
    field_list = [f.strip() for f in fields.split(",") if f.strip()] or ["*"]
    async with ctx.connection() as conn:
        existing = await conn.scalar(
            sa.select(table.c.id).where(
                table.c.policy == policy_id, table.c.collection == collection, table.c.action == action
            )
        )
    service = PermissionRowsService(ctx)
    if existing is not None:
        await service.update_one(existing, {"fields": field_list})
        return
    row = {"policy": policy_id, "collection": collection, "action": action, "fields": field_list}
    await service.create_one({**row, "permissions": {}, "validation": {}, "presets": None})


def register(group: click.Group) -> None:
    group.add_command(users_group)
    group.add_command(roles_group)
    group.add_command(permissions_group)
