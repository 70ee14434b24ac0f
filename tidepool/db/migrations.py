"""Versioned, idempotent upgrades of the system tables.

Each migration is a (version, function) pair run once, in order, inside one transaction, and recorded in
``tidepool_migrations``. ``bootstrap`` runs every start: an up-to-date database costs one SELECT. To change
a system table, add a migration at the end; never edit one that has shipped.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import CreateColumn

from tidepool.db import system

Migration = tuple[str, Callable[[AsyncConnection], Awaitable[None]]]


async def _create_system_tables(conn: AsyncConnection) -> None:
    tables = [t for t in system.metadata.sorted_tables if t is not system.migrations]
    await conn.run_sync(lambda sync_conn: system.metadata.create_all(sync_conn, tables=tables))


# Directus metadata for the account tables: declared types (so every engine reads JSON, CSV, booleans and
# timestamps back alike), concealed secrets (reads show "**********"), and the o2m aliases
# (``users.policies``, ``roles.policies``, ``roles.users``, ``roles.children``, ``policies.permissions``).
_ACCOUNT_FIELDS: tuple[tuple[str, str, str, str | None], ...] = (
    ("directus_users", "id", "uuid", None),
    ("directus_users", "password", "hash", "hash,conceal"),
    ("directus_users", "token", "string", "conceal"),
    ("directus_users", "tfa_secret", "string", "conceal"),
    ("directus_users", "tags", "json", "cast-json"),
    ("directus_users", "auth_data", "json", "cast-json"),
    ("directus_users", "avatar", "uuid", None),
    ("directus_users", "role", "uuid", "m2o"),
    ("directus_users", "last_access", "timestamp", None),
    ("directus_users", "email_notifications", "boolean", "cast-boolean"),
    ("directus_users", "policies", "alias", "o2m"),
    ("directus_roles", "id", "uuid", None),
    ("directus_roles", "parent", "uuid", "m2o"),
    ("directus_roles", "policies", "alias", "o2m"),
    ("directus_roles", "users", "alias", "o2m"),
    ("directus_roles", "children", "alias", "o2m"),
    ("directus_policies", "id", "uuid", None),
    ("directus_policies", "ip_access", "csv", "cast-csv"),
    ("directus_policies", "enforce_tfa", "boolean", "cast-boolean"),
    ("directus_policies", "admin_access", "boolean", "cast-boolean"),
    ("directus_policies", "app_access", "boolean", "cast-boolean"),
    ("directus_policies", "permissions", "alias", "o2m"),
    ("directus_permissions", "policy", "uuid", "m2o"),
    ("directus_permissions", "fields", "csv", "cast-csv"),
    ("directus_permissions", "permissions", "json", "cast-json"),
    ("directus_permissions", "validation", "json", "cast-json"),
    ("directus_permissions", "presets", "json", "cast-json"),
    ("directus_access", "id", "uuid", None),
    ("directus_access", "role", "uuid", "m2o"),
    ("directus_access", "user", "uuid", "m2o"),
    ("directus_access", "policy", "uuid", "m2o"),
    ("directus_sessions", "user", "uuid", "m2o"),
    ("directus_sessions", "expires", "timestamp", None),
)

# (many_collection, many_field, one_collection, one_field, one_deselect_action)
_ACCOUNT_RELATIONS: tuple[tuple[str, str, str, str | None, str], ...] = (
    ("directus_access", "user", "directus_users", "policies", "delete"),
    ("directus_access", "role", "directus_roles", "policies", "delete"),
    ("directus_access", "policy", "directus_policies", None, "nullify"),
    ("directus_permissions", "policy", "directus_policies", "permissions", "delete"),
    ("directus_users", "role", "directus_roles", "users", "nullify"),
    ("directus_roles", "parent", "directus_roles", "children", "nullify"),
)


async def _account_metadata(conn: AsyncConnection) -> None:
    await _insert_metadata(conn, _ACCOUNT_FIELDS, _ACCOUNT_RELATIONS)


async def _insert_metadata(
    conn: AsyncConnection,
    field_rows: tuple[tuple[str, str, str, str | None], ...],
    relation_rows: tuple[tuple[str, str, str, str | None, str], ...],
) -> None:
    """``directus_fields`` rows (collection, field, type, special) and ``directus_relations`` rows (either may
    be empty)."""
    flags = {"readonly": False, "hidden": False, "required": False}
    if field_rows:
        await conn.execute(
            system.fields.insert(),
            [{"collection": c, "field": f, "type": t, "special": s, **flags} for c, f, t, s in field_rows],
        )
    if relation_rows:
        await conn.execute(
            system.relations.insert(),
            [
                {
                    "many_collection": many,
                    "many_field": field,
                    "one_collection": one,
                    "one_field": one_field,
                    "one_deselect_action": deselect,
                }
                for many, field, one, one_field, deselect in relation_rows
            ],
        )


async def _version_markers(conn: AsyncConnection) -> None:
    """``tidepool_versions`` with its rows at 0 (a fresh database already has the table from 0001)."""
    await conn.run_sync(lambda c: system.versions.create(c, checkfirst=True))
    present = set((await conn.execute(sa.select(system.versions.c.name))).scalars())
    missing = [{"name": name, "value": 0} for name in VERSION_KINDS if name not in present]
    if missing:
        await conn.execute(system.versions.insert(), missing)


VERSION_KINDS = ("schema", "access", "sessions")


async def _event_log(conn: AsyncConnection) -> None:
    """``tidepool_events`` and its counters at 0 (a fresh database already has both tables from 0001)."""
    await conn.run_sync(lambda c: system.event_log.create(c, checkfirst=True))
    await conn.run_sync(lambda c: system.event_counters.create(c, checkfirst=True))
    present = set((await conn.execute(sa.select(system.event_counters.c.name))).scalars())
    missing = [{"name": name, "value": 0} for name in ("last", "pruned") if name not in present]
    if missing:
        await conn.execute(system.event_counters.insert(), missing)


# Directus metadata of the file tables (``0009-files``): declared types and specials, and their relations.
_FILE_FIELDS: tuple[tuple[str, str, str, str | None], ...] = (
    ("directus_files", "id", "uuid", "uuid"),
    ("directus_files", "folder", "uuid", "m2o"),
    ("directus_files", "uploaded_by", "uuid", "user-created"),
    ("directus_files", "created_on", "timestamp", "date-created"),
    ("directus_files", "modified_by", "uuid", "user-updated"),
    ("directus_files", "modified_on", "timestamp", "date-created,date-updated"),
    ("directus_files", "filesize", "bigInteger", None),
    ("directus_files", "tags", "json", "cast-json"),
    ("directus_files", "metadata", "json", "cast-json"),
    ("directus_files", "tus_data", "json", "cast-json"),
    ("directus_files", "uploaded_on", "timestamp", None),
    ("directus_folders", "id", "uuid", "uuid"),
    ("directus_folders", "parent", "uuid", "m2o"),
)

_FILE_RELATIONS: tuple[tuple[str, str, str, str | None, str], ...] = (
    ("directus_files", "folder", "directus_folders", None, "nullify"),
    ("directus_files", "uploaded_by", "directus_users", None, "nullify"),
    ("directus_files", "modified_by", "directus_users", None, "nullify"),
    ("directus_folders", "parent", "directus_folders", None, "nullify"),
    ("directus_users", "avatar", "directus_files", None, "nullify"),
)


async def _file_tables(conn: AsyncConnection) -> None:
    """``directus_files`` and ``directus_folders`` with their Directus metadata (a fresh database already has
    the tables from 0001; its metadata rows come from here alike)."""
    await conn.run_sync(lambda c: system.folders.create(c, checkfirst=True))
    await conn.run_sync(lambda c: system.files.create(c, checkfirst=True))
    await _insert_metadata(conn, _FILE_FIELDS, _FILE_RELATIONS)


async def _user_fields(conn: AsyncConnection) -> None:
    """``directus_users.theme_light_overrides``, ``theme_dark_overrides`` (json) and ``text_direction``
    (``auto``), as Directus 12 has them, on a database made before they were declared; and their field rows,
    so every engine reads the overrides back as JSON."""
    table = system.users
    present = {c["name"] for c in await conn.run_sync(lambda c: sa.inspect(c).get_columns(table.name))}
    preparer = conn.dialect.identifier_preparer
    for name in system.USER_FIELDS_0006:
        if name not in present:
            column = CreateColumn(table.c[name]).compile(dialect=conn.dialect)
            await conn.execute(sa.text(f"ALTER TABLE {preparer.quote(table.name)} ADD COLUMN {column}"))
    fields = system.fields
    known = set((await conn.execute(sa.select(fields.c.field).where(fields.c.collection == table.name))).scalars())
    rows = [
        {"collection": table.name, "field": name, "type": "json", "special": "cast-json"}
        for name in ("theme_light_overrides", "theme_dark_overrides")
        if name not in known
    ]
    if rows:
        await conn.execute(
            fields.insert(), [{**row, "readonly": False, "hidden": False, "required": False} for row in rows]
        )


# -- 0008-system-collections: settings, presets, translations, shares, notifications, dashboards, panels,
# flows, operations (``tidepool.db.system.PROJECT_TABLES``) and their Directus metadata.

_AUTHORED = ("shares", "dashboards", "panels", "flows", "operations")  # uuid keys, date_created, user_created

# (collection, field, type, special) beyond the JSON and boolean casts every such column gets.
_PROJECT_SPECIALS: tuple[tuple[str, str, str, str], ...] = (
    *((c, "id", "uuid", "uuid") for c in ("translations", *_AUTHORED)),
    *((c, "date_created", "timestamp", "date-created") for c in ("shares", "dashboards", "panels")),
    *((c, "date_created", "dateTime", "date-created") for c in ("flows", "operations")),  # as Directus: no zone
    *((c, "user_created", "uuid", "user-created") for c in _AUTHORED),
    ("notifications", "timestamp", "timestamp", "date-created"),
    ("shares", "password", "hash", "hash,conceal"),
    ("shares", "date_start", "timestamp", ""),
    ("shares", "date_end", "timestamp", ""),
    ("presets", "user", "uuid", "m2o"),
    ("presets", "role", "uuid", "m2o"),
    ("notifications", "recipient", "uuid", "m2o"),
    ("notifications", "sender", "uuid", "m2o"),
    ("shares", "role", "uuid", "m2o"),
    ("panels", "dashboard", "uuid", "m2o"),
    ("operations", "flow", "uuid", "m2o"),
    ("operations", "resolve", "uuid", "m2o"),
    ("operations", "reject", "uuid", "m2o"),
    ("settings", "public_registration_role", "uuid", "m2o"),
    ("dashboards", "panels", "alias", "o2m"),
    ("flows", "operations", "alias", "o2m"),
)  # fmt: skip

_PROJECT_RELATIONS: tuple[tuple[str, str, str, str | None, str], ...] = (
    ("directus_presets", "user", "directus_users", None, "nullify"),
    ("directus_presets", "role", "directus_roles", None, "nullify"),
    ("directus_notifications", "recipient", "directus_users", None, "nullify"),
    ("directus_notifications", "sender", "directus_users", None, "nullify"),
    ("directus_shares", "role", "directus_roles", None, "nullify"),
    ("directus_shares", "user_created", "directus_users", None, "nullify"),
    ("directus_dashboards", "user_created", "directus_users", None, "nullify"),
    ("directus_panels", "dashboard", "directus_dashboards", "panels", "delete"),
    ("directus_panels", "user_created", "directus_users", None, "nullify"),
    ("directus_flows", "user_created", "directus_users", None, "nullify"),
    ("directus_operations", "flow", "directus_flows", "operations", "delete"),
    ("directus_operations", "resolve", "directus_operations", None, "nullify"),
    ("directus_operations", "reject", "directus_operations", None, "nullify"),
    ("directus_operations", "user_created", "directus_users", None, "nullify"),
    ("directus_settings", "public_registration_role", "directus_roles", None, "nullify"),
)

# The row Directus's bootstrap writes (its project id, and the AI models a later migration fills in).
_SETTINGS_ROW = {
    "id": 1,
    "ai_openai_allowed_models": ["gpt-5.4-nano", "gpt-5.4-mini", "gpt-5.4"],
    "ai_anthropic_allowed_models": ["claude-haiku-4-5", "claude-sonnet-4-6"],
    "ai_google_allowed_models": [
        "gemini-3-pro-preview",
        "gemini-3-flash-preview",
        "gemini-2.5-pro",
        "gemini-2.5-flash",
    ],
}


def _project_field_rows() -> list[dict[str, object]]:
    casts = {sa.JSON: ("json", "cast-json"), sa.Boolean: ("boolean", "cast-boolean")}
    rows: dict[tuple[str, str], tuple[str, str | None]] = {}
    for table in system.PROJECT_TABLES:
        for column in table.c:
            for kind, (directus_type, special) in casts.items():
                if isinstance(column.type, kind):
                    rows[(table.name, column.name)] = (directus_type, special)
    for short, field, directus_type, special in _PROJECT_SPECIALS:
        rows[(f"directus_{short}", field)] = (directus_type, special or None)
    return [
        {"collection": c, "field": f, "type": t, "special": s, "readonly": False, "hidden": False, "required": False}
        for (c, f), (t, s) in rows.items()
    ]


async def _project_collections(conn: AsyncConnection) -> None:
    """The project's system tables (a database made by 0001 before they existed lacks them), their field
    and relation metadata, and the one settings row."""
    tables = list(system.PROJECT_TABLES)
    await conn.run_sync(lambda c: system.metadata.create_all(c, tables=tables, checkfirst=True))
    await conn.execute(system.fields.insert(), _project_field_rows())
    await conn.execute(
        system.relations.insert(),
        [
            {"many_collection": m, "many_field": f, "one_collection": o, "one_field": of, "one_deselect_action": d}
            for m, f, o, of, d in _PROJECT_RELATIONS
        ],
    )
    if (await conn.execute(sa.select(sa.func.count()).select_from(system.settings))).scalar_one() == 0:
        await conn.execute(system.settings.insert().values(**_SETTINGS_ROW, project_id=str(uuid.uuid4())))


# Directus metadata for the history tables (``tidepool.services.history``), comments and content versions:
# declared types and specials (timestamps, JSON, the special fields a write fills) and their relations.
_HISTORY_FIELDS: tuple[tuple[str, str, str, str | None], ...] = (
    ("directus_activity", "timestamp", "timestamp", "date-created,cast-timestamp"),
    ("directus_activity", "revisions", "alias", "o2m"),
    ("directus_revisions", "data", "json", "cast-json"),
    ("directus_revisions", "delta", "json", "cast-json"),
    ("directus_comments", "id", "uuid", "uuid"),
    ("directus_comments", "date_created", "timestamp", "date-created,cast-timestamp"),
    ("directus_comments", "date_updated", "timestamp", "date-updated,cast-timestamp"),
    ("directus_comments", "user_created", "string", "user-created"),
    ("directus_comments", "user_updated", "string", "user-updated"),
    ("directus_versions", "id", "uuid", "uuid"),
    ("directus_versions", "date_created", "timestamp", "date-created,cast-timestamp"),
    ("directus_versions", "date_updated", "timestamp", "date-updated,cast-timestamp"),
    ("directus_versions", "user_created", "string", "user-created"),
    ("directus_versions", "user_updated", "string", "user-updated"),
    ("directus_versions", "delta", "json", "cast-json"),
)

_HISTORY_RELATIONS: tuple[tuple[str, str, str, str | None, str], ...] = (
    ("directus_activity", "user", "directus_users", None, "nullify"),
    ("directus_revisions", "activity", "directus_activity", "revisions", "nullify"),
    ("directus_revisions", "parent", "directus_revisions", None, "nullify"),
    ("directus_revisions", "version", "directus_versions", None, "nullify"),
    ("directus_comments", "user_created", "directus_users", None, "nullify"),
    ("directus_comments", "user_updated", "directus_users", None, "nullify"),
    ("directus_versions", "user_created", "directus_users", None, "nullify"),
    ("directus_versions", "user_updated", "directus_users", None, "nullify"),
)


async def _history(conn: AsyncConnection) -> None:
    """Activity, revisions, comments and content versions (a fresh database has the tables from 0001), with
    their field and relation metadata; rows another migration already wrote for them are kept."""
    tables = [system.activity, system.content_versions, system.revisions, system.comments]
    await conn.run_sync(lambda c: system.metadata.create_all(c, tables=tables, checkfirst=True))
    fields, relations = system.fields, system.relations
    known = {(r[0], r[1]) for r in await conn.execute(sa.select(fields.c.collection, fields.c.field))}
    rows = [
        {"collection": c, "field": f, "type": t, "special": s, "readonly": False, "hidden": False, "required": False}
        for c, f, t, s in _HISTORY_FIELDS
        if (c, f) not in known
    ]
    if rows:
        await conn.execute(fields.insert(), rows)
    linked = {(r[0], r[1]) for r in await conn.execute(sa.select(relations.c.many_collection, relations.c.many_field))}
    links = [
        {"many_collection": m, "many_field": f, "one_collection": o, "one_field": of, "one_deselect_action": d}
        for m, f, o, of, d in _HISTORY_RELATIONS
        if (m, f) not in linked
    ]
    if links:
        await conn.execute(relations.insert(), links)


# -- 0010-feature-tables: the system collections of Directus features Tidepool does not run (extensions,
# Directus's migration log, deployments, MCP OAuth; ``tidepool.db.system.FEATURE_TABLES``), the OAuth client of a
# session, and their Directus metadata: declared types where the column type says less, specials, relations.

_FEATURE_FIELDS: tuple[tuple[str, str, str, str | None], ...] = (
    *((f"directus_{c}", "id", "uuid", "uuid") for c in (
        "extensions", "deployments", "deployment_projects", "deployment_runs", "oauth_codes", "oauth_consents",
        "oauth_tokens",
    )),
    *((f"directus_{c}", "date_created", "timestamp", "date-created,cast-timestamp") for c in (
        "deployments", "deployment_projects", "deployment_runs", "oauth_clients", "oauth_consents", "oauth_tokens",
    )),
    *((f"directus_{c}", "user_created", "string", "user-created") for c in (
        "deployments", "deployment_projects", "deployment_runs",
    )),
    *((f"directus_oauth_{c}", f, "string", "m2o") for c in ("codes", "consents", "tokens") for f in ("client", "user")),
    *((c, f, "timestamp", "cast-timestamp") for c, f in (
        ("directus_deployments", "last_synced_at"), ("directus_deployment_runs", "started_at"),
        ("directus_deployment_runs", "completed_at"), ("directus_oauth_clients", "metadata_fetched_at"),
        ("directus_oauth_clients", "metadata_expires_at"), ("directus_oauth_codes", "expires_at"),
        ("directus_oauth_codes", "used_at"), ("directus_oauth_tokens", "expires_at"),
    )),
    *((c, f, "string", "conceal") for c, f in (
        ("directus_oauth_clients", "client_secret_hash"), ("directus_oauth_codes", "code_hash"),
        ("directus_oauth_tokens", "session"), ("directus_oauth_tokens", "previous_session"),
        ("directus_oauth_tokens", "code_hash"),
    )),
    *((c, f, "json", "cast-json") for c, f in (
        ("directus_deployments", "options"), ("directus_deployments", "webhook_ids"),
        ("directus_oauth_clients", "redirect_uris"), ("directus_oauth_clients", "grant_types"),
    )),
    ("directus_oauth_consents", "date_updated", "timestamp", "date-updated,cast-timestamp"),
    ("directus_deployments", "credentials", "text", "encrypt"),
    ("directus_deployment_projects", "deployable", "boolean", "cast-boolean"),
    ("directus_extensions", "enabled", "boolean", "cast-boolean"),
    ("directus_migrations", "timestamp", "dateTime", None),
    ("directus_deployments", "projects", "alias", "o2m"),
    ("directus_deployment_projects", "runs", "alias", "o2m"),
    ("directus_oauth_clients", "tokens", "alias", "o2m"),
)  # fmt: skip

_FEATURE_RELATIONS: tuple[tuple[str, str, str, str | None, str], ...] = (
    ("directus_deployments", "user_created", "directus_users", None, "nullify"),
    ("directus_deployment_projects", "deployment", "directus_deployments", "projects", "delete"),
    ("directus_deployment_projects", "user_created", "directus_users", None, "nullify"),
    ("directus_deployment_runs", "project", "directus_deployment_projects", "runs", "delete"),
    ("directus_deployment_runs", "user_created", "directus_users", None, "nullify"),
    ("directus_oauth_codes", "client", "directus_oauth_clients", None, "nullify"),
    ("directus_oauth_codes", "user", "directus_users", None, "nullify"),
    ("directus_oauth_consents", "client", "directus_oauth_clients", None, "nullify"),
    ("directus_oauth_consents", "user", "directus_users", None, "nullify"),
    ("directus_oauth_tokens", "client", "directus_oauth_clients", "tokens", "nullify"),
    ("directus_oauth_tokens", "user", "directus_users", None, "nullify"),
    ("directus_sessions", "oauth_client", "directus_oauth_clients", None, "nullify"),
)


async def _feature_tables(conn: AsyncConnection) -> None:
    """The feature tables (a fresh database already has them from 0001), ``directus_sessions.oauth_client`` on
    a database made before it was declared, and their metadata rows (kept where a row already says more)."""
    tables = list(system.FEATURE_TABLES)
    await conn.run_sync(lambda c: system.metadata.create_all(c, tables=tables, checkfirst=True))
    await _add_column(conn, system.sessions.c.oauth_client)
    for index in system.sessions.indexes:
        await conn.run_sync(index.create, checkfirst=True)
    fields, relations = system.fields, system.relations
    known = {(r[0], r[1]) for r in await conn.execute(sa.select(fields.c.collection, fields.c.field))}
    field_rows = tuple(row for row in _FEATURE_FIELDS if (row[0], row[1]) not in known)
    linked = {(r[0], r[1]) for r in await conn.execute(sa.select(relations.c.many_collection, relations.c.many_field))}
    relation_rows = tuple(row for row in _FEATURE_RELATIONS if (row[0], row[1]) not in linked)
    await _insert_metadata(conn, field_rows, relation_rows)


async def _add_column(conn: AsyncConnection, column: sa.Column[Any]) -> None:
    """``column`` added to its table unless the table has it, with its foreign key: SQLite and PostgreSQL take
    the reference in the column's definition; MySQL ignores it there, so it gets its own constraint."""
    table = column.table
    present = {c["name"] for c in await conn.run_sync(lambda c: sa.inspect(c).get_columns(table.name))}
    if column.name in present:
        return
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    definition = CreateColumn(column).compile(dialect=dialect)
    (fk,) = column.foreign_keys or (None,)
    reference = ""
    if fk is not None:
        target = fk.column
        reference = f" REFERENCES {quote(target.table.name)} ({quote(target.name)}) ON DELETE {fk.ondelete}"
    inline = reference if dialect.name != "mysql" else ""
    await conn.execute(sa.text(f"ALTER TABLE {quote(table.name)} ADD COLUMN {definition}{inline}"))
    if reference and not inline:
        name = quote(f"{table.name}_{column.name}_foreign")
        await conn.execute(
            sa.text(
                f"ALTER TABLE {quote(table.name)} ADD CONSTRAINT {name} FOREIGN KEY ({quote(column.name)}){reference}"
            )
        )


MIGRATIONS: list[Migration] = [
    ("0001-system-tables", _create_system_tables),
    ("0002-account-metadata", _account_metadata),
    ("0003-version-markers", _version_markers),
    ("0004-sessions-marker", _version_markers),  # adds the ``sessions`` row to an existing database
    ("0005-event-log", _event_log),
    ("0006-user-fields", _user_fields),
    ("0007-history", _history),
    ("0008-system-collections", _project_collections),
    ("0009-files", _file_tables),
    ("0010-feature-tables", _feature_tables),
]


async def applied_versions(conn: AsyncConnection) -> set[str]:
    await conn.run_sync(lambda c: system.migrations.create(c, checkfirst=True))
    rows = await conn.execute(sa.select(system.migrations.c.version))
    return {row[0] for row in rows}


async def migrate(conn: AsyncConnection) -> list[str]:
    """Apply the migrations this database lacks; returns the versions applied now."""
    done = await applied_versions(conn)
    applied: list[str] = []
    for version, step in MIGRATIONS:
        if version in done:
            continue
        await step(conn)
        await conn.execute(system.migrations.insert().values(version=version, applied_at=datetime.now(UTC)))
        applied.append(version)
    return applied
