"""The system tables, named and shaped as in Directus 11 so that permissions and clients can refer to
``directus_users``, ``directus_policies`` ... exactly as they would against Directus.

These definitions are the target of the bootstrap migrations (``tidepool.db.migrations``) and the tables the
services use directly. Differences from Directus, on purpose: ``directus_users.token`` and
``directus_sessions.token`` hold a SHA-256 hash of the secret, so a database dump hands out no working
credential; ``directus_fields.type`` records the declared Directus type, so the type survives engines whose
column types are ambiguous (SQLite stores timestamps, json and csv all as text).
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.dialects.mysql

metadata = sa.MetaData()

UUID = sa.String(36)
NAME = sa.String(64)
TS = sa.DateTime(timezone=True)

migrations = sa.Table(
    "tidepool_migrations",
    metadata,
    sa.Column("version", sa.String(64), primary_key=True),
    sa.Column("applied_at", TS, nullable=False),
)

# One counter per kind of cached state ("schema", "access"), bumped in the same transaction as every write that
# changes it, so each process can tell cheaply that another one changed it (``tidepool.services.versions``).
versions = sa.Table(
    "tidepool_versions",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

# The event log (``tidepool.eventlog``): every committed write's change events, written in the write's own
# transaction and numbered at its commit, so a subscriber can learn what it missed and no committed change
# can lose its event. ``body`` is the event as JSON (keys, the ``before`` rows, origin); ``created_at`` is
# milliseconds since the epoch (the age window of retention). Engine-neutral types on purpose.
event_log = sa.Table(
    "tidepool_events",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("collection", sa.String(64), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("body", sa.Text().with_variant(sa.dialects.mysql.LONGTEXT(), "mysql"), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

# Two counters of the event log: ``last`` (the highest number given out; its row lock, taken as the last
# statement of every write, is what orders numbering with commit) and ``pruned`` (every seq at or below it
# may have been deleted by retention).
event_counters = sa.Table(
    "tidepool_event_counters",
    metadata,
    sa.Column("name", sa.String(16), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

collections = sa.Table(
    "directus_collections",
    metadata,
    sa.Column("collection", NAME, primary_key=True),
    sa.Column("icon", sa.String(64)),
    sa.Column("note", sa.Text),
    sa.Column("hidden", sa.Boolean, nullable=False, default=False),
    sa.Column("singleton", sa.Boolean, nullable=False, default=False),
    sa.Column("sort_field", NAME),
    sa.Column("archive_field", NAME),
    sa.Column("archive_value", sa.String(255)),
    sa.Column("unarchive_value", sa.String(255)),
    sa.Column("status", sa.String(16)),  # "inactive" makes the collection answer COLLECTION_INACTIVE
    sa.Column("sort", sa.Integer),
    sa.Column("group", NAME),
    sa.Column("meta", sa.JSON),  # every other meta key (translations, display_template, color ...)
)

fields = sa.Table(
    "directus_fields",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("collection", NAME, nullable=False),
    sa.Column("field", NAME, nullable=False),
    sa.Column("type", sa.String(32)),
    sa.Column("special", sa.String(255)),  # CSV, as in Directus
    sa.Column("interface", sa.String(64)),
    sa.Column("options", sa.JSON),
    sa.Column("display", sa.String(64)),
    sa.Column("display_options", sa.JSON),
    sa.Column("readonly", sa.Boolean, nullable=False, default=False),
    sa.Column("hidden", sa.Boolean, nullable=False, default=False),
    sa.Column("sort", sa.Integer),
    sa.Column("width", sa.String(30), default="full"),
    sa.Column("note", sa.Text),
    sa.Column("required", sa.Boolean, nullable=False, default=False),
    sa.Column("group", NAME),
    sa.Column("validation", sa.JSON),
    sa.Column("validation_message", sa.Text),
    sa.Column("meta", sa.JSON),
    sa.UniqueConstraint("collection", "field", name="directus_fields_collection_field_unique"),
)

relations = sa.Table(
    "directus_relations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("many_collection", NAME, nullable=False),
    sa.Column("many_field", NAME, nullable=False),
    sa.Column("one_collection", NAME),
    sa.Column("one_field", NAME),
    sa.Column("one_collection_field", NAME),
    sa.Column("one_allowed_collections", sa.Text),
    sa.Column("junction_field", NAME),
    sa.Column("sort_field", NAME),
    sa.Column("one_deselect_action", sa.String(16), nullable=False, default="nullify"),
)

roles = sa.Table(
    "directus_roles",
    metadata,
    sa.Column("id", UUID, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("icon", sa.String(64), nullable=False, default="supervised_user_circle"),
    sa.Column("description", sa.Text),
    sa.Column("parent", UUID, sa.ForeignKey("directus_roles.id", ondelete="SET NULL")),
)

policies = sa.Table(
    "directus_policies",
    metadata,
    sa.Column("id", UUID, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("icon", sa.String(64), nullable=False, default="badge"),
    sa.Column("description", sa.Text),
    sa.Column("ip_access", sa.Text),
    sa.Column("enforce_tfa", sa.Boolean, nullable=False, default=False),
    sa.Column("admin_access", sa.Boolean, nullable=False, default=False),
    sa.Column("app_access", sa.Boolean, nullable=False, default=False),
)

users = sa.Table(
    "directus_users",
    metadata,
    sa.Column("id", UUID, primary_key=True),
    sa.Column("first_name", sa.String(50)),
    sa.Column("last_name", sa.String(50)),
    sa.Column("email", sa.String(128), unique=True),
    sa.Column("password", sa.String(255)),
    sa.Column("location", sa.String(255)),
    sa.Column("title", sa.String(50)),
    sa.Column("description", sa.Text),
    sa.Column("tags", sa.JSON),
    sa.Column("avatar", UUID),
    sa.Column("language", sa.String(255)),
    sa.Column("tfa_secret", sa.String(255)),
    sa.Column("status", sa.String(16), nullable=False, default="active"),
    sa.Column("role", UUID, sa.ForeignKey("directus_roles.id", ondelete="SET NULL")),
    sa.Column("token", sa.String(255), unique=True),  # sha256 hex of the static token
    sa.Column("last_access", TS),
    sa.Column("last_page", sa.String(255)),
    sa.Column("provider", sa.String(128), nullable=False, default="default"),
    sa.Column("external_identifier", sa.String(255), unique=True),
    sa.Column("auth_data", sa.JSON),
    sa.Column("email_notifications", sa.Boolean, default=True),
    sa.Column("appearance", sa.String(255)),
    sa.Column("theme_dark", sa.String(255)),
    sa.Column("theme_light", sa.String(255)),
)

access = sa.Table(
    "directus_access",
    metadata,
    sa.Column("id", UUID, primary_key=True),
    sa.Column("role", UUID, sa.ForeignKey("directus_roles.id", ondelete="CASCADE")),
    sa.Column("user", UUID, sa.ForeignKey("directus_users.id", ondelete="CASCADE")),
    sa.Column("policy", UUID, sa.ForeignKey("directus_policies.id", ondelete="CASCADE"), nullable=False),
    sa.Column("sort", sa.Integer),
)

permissions = sa.Table(
    "directus_permissions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("collection", NAME, nullable=False),
    sa.Column("action", sa.String(10), nullable=False),
    sa.Column("permissions", sa.JSON),
    sa.Column("validation", sa.JSON),
    sa.Column("presets", sa.JSON),
    sa.Column("fields", sa.Text),  # CSV, "*" for all
    sa.Column("policy", UUID, sa.ForeignKey("directus_policies.id", ondelete="CASCADE"), nullable=False),
)

sessions = sa.Table(
    "directus_sessions",
    metadata,
    sa.Column("token", sa.String(64), primary_key=True),  # sha256 hex of the refresh token
    sa.Column("user", UUID, sa.ForeignKey("directus_users.id", ondelete="CASCADE")),
    sa.Column("expires", TS, nullable=False),
    sa.Column("ip", sa.String(255)),
    sa.Column("user_agent", sa.Text),
    sa.Column("share", UUID),
    sa.Column("origin", sa.String(255)),
    sa.Column("next_token", sa.String(64)),
)

# Files and folders (``tidepool.services.files``): Directus's columns. The stored object of a file is
# ``filename_disk`` in the storage location ``storage`` (``tidepool.storage``).
folders = sa.Table(
    "directus_folders",
    metadata,
    sa.Column("id", UUID, primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("parent", UUID, sa.ForeignKey("directus_folders.id", ondelete="SET NULL")),
    sa.Column("type", sa.String(255), nullable=False, server_default="files"),
)

files = sa.Table(
    "directus_files",
    metadata,
    sa.Column("id", UUID, primary_key=True),
    sa.Column("storage", sa.String(255), nullable=False),
    sa.Column("filename_disk", sa.String(255)),
    sa.Column("filename_download", sa.String(255), nullable=False),
    sa.Column("title", sa.String(255)),
    sa.Column("type", sa.String(255)),
    sa.Column("folder", UUID, sa.ForeignKey("directus_folders.id", ondelete="SET NULL")),
    sa.Column("uploaded_by", UUID, sa.ForeignKey("directus_users.id", ondelete="SET NULL")),
    sa.Column("created_on", TS, nullable=False, server_default=sa.func.current_timestamp()),
    sa.Column("modified_by", UUID, sa.ForeignKey("directus_users.id", ondelete="SET NULL")),
    sa.Column("modified_on", TS, nullable=False, server_default=sa.func.current_timestamp()),
    sa.Column("charset", sa.String(50)),
    sa.Column("filesize", sa.BigInteger),
    sa.Column("width", sa.Integer),
    sa.Column("height", sa.Integer),
    sa.Column("duration", sa.Integer),
    sa.Column("embed", sa.String(200)),
    sa.Column("description", sa.Text),
    sa.Column("location", sa.Text),
    sa.Column("tags", sa.Text),
    sa.Column("metadata", sa.JSON),
    sa.Column("focal_point_x", sa.Integer),
    sa.Column("focal_point_y", sa.Integer),
    sa.Column("tus_id", sa.String(64)),
    sa.Column("tus_data", sa.JSON),
    sa.Column("uploaded_on", TS),
)

SYSTEM_TABLES = {table.name: table for table in metadata.sorted_tables}

# Well-known ids, as in Directus (migration 20240806A-permissions-policies).
PUBLIC_POLICY_ID = "abf8a154-5b1c-4a46-ac9c-7300570f4f17"


def is_system_collection(name: str) -> bool:
    return name.startswith(("directus_", "tidepool_"))
