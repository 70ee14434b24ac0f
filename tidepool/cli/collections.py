"""``tidepool collections ...``: schema management from the shell, through the same services as REST.

The seed guide's collection in one command::

    tidepool collections create messages --field text:string --field user:string --date-created

Changes made here land in the database directly and move its schema version marker; a server that is already
running reloads its schema within ``CACHE_SYNC_INTERVAL`` (``tidepool.services.versions``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from tidepool.runtime import Runtime, open_runtime
from tidepool.services.base import ServiceContext

T = TypeVar("T")


def _stamp(kind: str, special: str, display: str, *, interface: str = "datetime", **extra: Any) -> dict[str, Any]:
    """A field the server fills in on every write (who or when), read-only and hidden as the Data Studio makes it."""
    meta = {"special": [special], "interface": interface, "readonly": True, "hidden": True, "width": "half"}
    return {"type": kind, "meta": {**meta, "display": display, **extra}}


# --flag: (field definition, relation to directus_users or None), as the Data Studio's "optional system fields".
_SYSTEM_FIELDS: dict[str, dict[str, Any]] = {
    "date_created": _stamp("timestamp", "date-created", "datetime", display_options={"relative": True}),
    "date_updated": _stamp("timestamp", "date-updated", "datetime", display_options={"relative": True}),
    "user_created": _stamp("uuid", "user-created", "user", interface="select-dropdown-m2o"),
    "user_updated": _stamp("uuid", "user-updated", "user", interface="select-dropdown-m2o"),
    "sort": {"type": "integer", "meta": {"interface": "input", "hidden": True}},
    "status": {
        "type": "string",
        "meta": {
            "interface": "select-dropdown",
            "width": "full",
            "options": {
                "choices": [
                    {"text": "Published", "value": "published"},
                    {"text": "Draft", "value": "draft"},
                    {"text": "Archived", "value": "archived"},
                ]
            },
        },
        "schema": {"default_value": "draft", "is_nullable": False},
    },
}
_USER_FIELDS = ("user_created", "user_updated")
_MODIFIERS: dict[str, tuple[str, Any]] = {"required": ("is_nullable", False), "unique": ("is_unique", True)}


def parse_field_option(option: str) -> dict[str, Any]:
    """``name[:type[:required][:unique]]`` as a field definition (type defaults to string)."""
    name, _, rest = option.partition(":")
    parts = [p for p in rest.split(":") if p] if rest else []
    field_type = parts[0] if parts else "string"
    schema: dict[str, Any] = {}
    for modifier in parts[1:]:
        if modifier not in _MODIFIERS:
            raise click.BadParameter(f"unknown modifier {modifier!r} (use required, unique)", param_hint="--field")
        key, value = _MODIFIERS[modifier]
        schema[key] = value
    return {"field": name, "type": field_type, "meta": {}, "schema": schema}


def build_payload(
    name: str, fields: tuple[str, ...], system_fields: list[str], icon: str | None, note: str | None, uuid_pk: bool
) -> dict[str, Any]:
    primary: dict[str, Any] = (
        {
            "field": "id",
            "type": "uuid",
            "meta": {"special": ["uuid"], "hidden": True, "readonly": True},
            "schema": {"is_primary_key": True},
        }
        if uuid_pk
        else {
            "field": "id",
            "type": "integer",
            "meta": {"hidden": True, "interface": "input", "readonly": True},
            "schema": {"is_primary_key": True, "has_auto_increment": True},
        }
    )
    defined = [primary, *(parse_field_option(f) for f in fields)]
    defined += [{"field": s, "schema": {}, **_SYSTEM_FIELDS[s]} for s in system_fields]
    meta: dict[str, Any] = {"icon": icon, "note": note}
    if "sort" in system_fields:
        meta["sort_field"] = "sort"
    if "status" in system_fields:
        meta |= {"archive_field": "status", "archive_value": "archived", "unarchive_value": "draft"}
    return {"collection": name, "meta": meta, "schema": {}, "fields": defined}


def _run(work: Callable[[ServiceContext], Awaitable[T]]) -> T:
    # lazy: the package's __init__ imports this module
    from tidepool.cli import settings_from_env

    async def main() -> T:
        runtime: Runtime
        async with open_runtime(settings_from_env()) as runtime:
            return await work(runtime.context())

    return asyncio.run(main())


@click.group()
def collections() -> None:
    """Create, list and delete collections."""


@collections.command("create")
@click.argument("name")
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="NAME[:TYPE[:required][:unique]]",
    help="A field; TYPE is a Directus type (string, text, integer, boolean, json, timestamp ...).",
)
@click.option("--date-created", is_flag=True, help="Add date_created, set on create.")
@click.option("--date-updated", is_flag=True, help="Add date_updated, set on every update.")
@click.option("--user-created", is_flag=True, help="Add user_created (m2o to directus_users), set on create.")
@click.option("--user-updated", is_flag=True, help="Add user_updated (m2o to directus_users), set on update.")
@click.option("--sort", "sort_field", is_flag=True, help="Add an integer sort field (the collection's sort_field).")
@click.option("--status", is_flag=True, help="Add status (published/draft/archived) as the archive field.")
@click.option("--uuid-pk", is_flag=True, help="Use a generated uuid primary key instead of an integer.")
@click.option("--icon", default=None, help="Material icon name shown by Directus clients.")
@click.option("--note", default=None, help="A note describing the collection.")
def create(
    name: str,
    fields: tuple[str, ...],
    date_created: bool,
    date_updated: bool,
    user_created: bool,
    user_updated: bool,
    sort_field: bool,
    status: bool,
    uuid_pk: bool,
    icon: str | None,
    note: str | None,
) -> None:
    """Create collection NAME with its fields, e.g. `messages --field text:string --date-created`."""
    # lazy: the package's __init__ imports this module
    from tidepool.cli import friendly_errors

    chosen = {
        "date_created": date_created,
        "date_updated": date_updated,
        "user_created": user_created,
        "user_updated": user_updated,
        "sort": sort_field,
        "status": status,
    }
    system_fields = [name for name, wanted in chosen.items() if wanted]
    payload = build_payload(name, fields, system_fields, icon, note, uuid_pk)

    async def work(ctx: ServiceContext) -> list[str]:
        # loaded by the command that uses it (~70 ms off every other `tidepool` run)
        from tidepool.services.collections import CollectionsService
        from tidepool.services.relations import RelationsService

        created = await CollectionsService(ctx).create_collection(payload)
        for field in system_fields:
            if field in _USER_FIELDS:
                body = {"collection": created, "field": field, "related_collection": "directus_users"}
                await RelationsService(ctx).create_relation(body)
        return list(ctx.schema.collections[created].fields)

    field_names = friendly_errors(_run)(work)
    click.echo(f"created collection {name}: {', '.join(field_names)}")


@collections.command("list")
def list_() -> None:
    """List the collections (system ones excluded)."""

    async def work(ctx: ServiceContext) -> list[str]:
        # loaded by the command that uses it (~70 ms off every other `tidepool` run)
        from tidepool.services.collections import CollectionsService

        return [
            c["collection"]
            for c in await CollectionsService(ctx).list_collections()
            if not c["collection"].startswith(("directus_", "tidepool_"))
        ]

    for name in _run(work):
        click.echo(name)


@collections.command("delete")
@click.argument("name")
@click.confirmation_option(prompt="This drops the table and its rows. Continue?")
def delete(name: str) -> None:
    """Delete collection NAME: its table, rows, fields and relations."""
    # lazy: the package's __init__ imports this module
    from tidepool.cli import friendly_errors

    async def work(ctx: ServiceContext) -> None:
        # loaded by the command that uses it (~70 ms off every other `tidepool` run)
        from tidepool.services.collections import CollectionsService

        await CollectionsService(ctx).delete_collection(name)

    friendly_errors(_run)(work)
    click.echo(f"deleted collection {name}")


def register(group: click.Group) -> None:
    group.add_command(collections)
