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
    # Added by migration 0006-user-fields (the Data Studio reads them on every page):
    sa.Column("theme_light_overrides", sa.JSON),
    sa.Column("theme_dark_overrides", sa.JSON),
    sa.Column("text_direction", sa.String(255), nullable=False, default="auto", server_default="auto"),
)

# The directus_users columns each migration added to a database made before it (see ``migrations``).
USER_FIELDS_0006 = ("theme_light_overrides", "theme_dark_overrides", "text_direction")

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
    # Added by migration 0010-feature-tables (the OAuth client a session was issued to; never set here):
    sa.Column(
        "oauth_client",
        sa.String(255),
        sa.ForeignKey("directus_oauth_clients.client_id", ondelete="CASCADE"),
        index=True,
    ),
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

# -- the project's system collections (Directus 12.4.1 shapes; migration 0008-system-collections) ---------
# Foreign keys only to tables every Tidepool database has; Directus's to directus_files/directus_folders
# (logos, default folder, flow folders) are left out so these tables never depend on the files feature.

JSON = sa.JSON
FALSE, TRUE = sa.false(), sa.true()

settings = sa.Table(
    "directus_settings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project_name", sa.String(100), nullable=False, server_default="Tidepool"),
    sa.Column("project_url", sa.String(255)),
    sa.Column("project_color", sa.String(255), nullable=False, server_default="#6644FF"),
    sa.Column("project_logo", UUID),
    sa.Column("public_foreground", UUID),
    sa.Column("public_background", UUID),
    sa.Column("public_note", sa.Text),
    sa.Column("auth_login_attempts", sa.Integer, server_default=sa.text("25")),
    sa.Column("auth_password_policy", sa.String(100)),
    sa.Column("storage_asset_transform", sa.String(7), server_default="all"),
    sa.Column("storage_asset_presets", JSON),
    sa.Column("custom_css", sa.Text),
    sa.Column("storage_default_folder", UUID),
    sa.Column("basemaps", JSON),
    sa.Column("mapbox_key", sa.String(255)),
    sa.Column("module_bar", JSON),
    sa.Column("project_descriptor", sa.String(100)),
    sa.Column("default_language", sa.String(255), nullable=False, server_default="en-US"),
    sa.Column("custom_aspect_ratios", JSON),
    sa.Column("public_favicon", UUID),
    sa.Column("default_appearance", sa.String(255), nullable=False, server_default="auto"),
    sa.Column("default_theme_light", sa.String(255)),
    sa.Column("theme_light_overrides", JSON),
    sa.Column("default_theme_dark", sa.String(255)),
    sa.Column("theme_dark_overrides", JSON),
    sa.Column("report_error_url", sa.String(255)),
    sa.Column("report_bug_url", sa.String(255)),
    sa.Column("report_feature_url", sa.String(255)),
    sa.Column("public_registration", sa.Boolean, nullable=False, server_default=FALSE),
    sa.Column("public_registration_verify_email", sa.Boolean, nullable=False, server_default=TRUE),
    sa.Column("public_registration_role", UUID, sa.ForeignKey("directus_roles.id", ondelete="SET NULL")),
    sa.Column("public_registration_email_filter", JSON),
    sa.Column("visual_editor_urls", JSON),
    sa.Column("project_id", UUID),
    sa.Column("mcp_enabled", sa.Boolean, nullable=False, server_default=FALSE),
    sa.Column("mcp_allow_deletes", sa.Boolean, nullable=False, server_default=FALSE),
    sa.Column("mcp_prompts_collection", sa.String(255)),
    sa.Column("mcp_system_prompt_enabled", sa.Boolean, nullable=False, server_default=TRUE),
    sa.Column("mcp_system_prompt", sa.Text),
    sa.Column("project_owner", sa.String(255)),
    sa.Column("project_usage", sa.String(255)),
    sa.Column("org_name", sa.String(255)),
    sa.Column("product_updates", sa.Boolean),
    sa.Column("project_status", sa.String(255)),
    sa.Column("ai_openai_api_key", sa.Text),
    sa.Column("ai_anthropic_api_key", sa.Text),
    sa.Column("ai_system_prompt", sa.Text),
    sa.Column("ai_google_api_key", sa.Text),
    sa.Column("ai_openai_compatible_api_key", sa.Text),
    sa.Column("ai_openai_compatible_base_url", sa.Text),
    sa.Column("ai_openai_compatible_name", sa.Text),
    sa.Column("ai_openai_compatible_models", JSON),
    sa.Column("ai_openai_compatible_headers", JSON),
    sa.Column("ai_openai_allowed_models", JSON),
    sa.Column("ai_anthropic_allowed_models", JSON),
    sa.Column("ai_google_allowed_models", JSON),
    sa.Column("collaborative_editing_enabled", sa.Boolean, nullable=False, server_default=FALSE),
    sa.Column("ai_translation_default_model", sa.Text),
    sa.Column("ai_translation_glossary", JSON),
    sa.Column("ai_translation_style_guide", sa.Text),
    sa.Column("license_key", sa.String(255)),
    sa.Column("license_token", sa.Text),
    sa.Column("mcp_oauth_enabled", sa.Boolean, nullable=False, server_default=FALSE),
    sa.Column("mcp_oauth_dcr_enabled", sa.Boolean, nullable=False, server_default=FALSE),
    sa.Column("mcp_oauth_cimd_enabled", sa.Boolean, nullable=False, server_default=FALSE),
    sa.Column("default_save_action", sa.String(255), nullable=False, server_default="save-and-quit"),
)

presets = sa.Table(
    "directus_presets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("bookmark", sa.String(255)),
    sa.Column("user", UUID, sa.ForeignKey("directus_users.id", ondelete="CASCADE")),
    sa.Column("role", UUID, sa.ForeignKey("directus_roles.id", ondelete="CASCADE")),
    sa.Column("collection", NAME),
    sa.Column("search", sa.String(100)),
    sa.Column("layout", sa.String(100), server_default="tabular"),
    sa.Column("layout_query", JSON),
    sa.Column("layout_options", JSON),
    sa.Column("refresh_interval", sa.Integer),
    sa.Column("filter", JSON),
    sa.Column("icon", sa.String(64), server_default="bookmark"),
    sa.Column("color", sa.String(255)),
)

translations = sa.Table(
    "directus_translations",
    metadata,
    sa.Column("id", UUID, primary_key=True),
    sa.Column("language", sa.String(255), nullable=False),
    sa.Column("key", sa.String(255), nullable=False),
    sa.Column("value", sa.Text, nullable=False),
)

shares = sa.Table(
    "directus_shares",
    metadata,
    sa.Column("id", UUID, primary_key=True),
    sa.Column("name", sa.String(255)),
    sa.Column("collection", NAME, nullable=False),
    sa.Column("item", sa.String(255), nullable=False),
    sa.Column("role", UUID, sa.ForeignKey("directus_roles.id", ondelete="CASCADE")),
    sa.Column("password", sa.String(255)),
    sa.Column("user_created", UUID, sa.ForeignKey("directus_users.id", ondelete="SET NULL")),
    sa.Column("date_created", TS),
    sa.Column("date_start", TS),
    sa.Column("date_end", TS),
    sa.Column("times_used", sa.Integer, server_default=sa.text("0")),
    sa.Column("max_uses", sa.Integer),
)

notifications = sa.Table(
    "directus_notifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("timestamp", TS),
    sa.Column("status", sa.String(255), server_default="inbox"),
    sa.Column("recipient", UUID, sa.ForeignKey("directus_users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("sender", UUID, sa.ForeignKey("directus_users.id", ondelete="SET NULL")),
    sa.Column("subject", sa.String(255), nullable=False),
    sa.Column("message", sa.Text),
    sa.Column("collection", NAME),
    sa.Column("item", sa.String(255)),
)

dashboards = sa.Table(
    "directus_dashboards",
    metadata,
    sa.Column("id", UUID, primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("icon", sa.String(64), nullable=False, server_default="dashboard"),
    sa.Column("note", sa.Text),
    sa.Column("date_created", TS),
    sa.Column("user_created", UUID, sa.ForeignKey("directus_users.id", ondelete="SET NULL")),
    sa.Column("color", sa.String(255)),
)

panels = sa.Table(
    "directus_panels",
    metadata,
    sa.Column("id", UUID, primary_key=True),
    sa.Column("dashboard", UUID, sa.ForeignKey("directus_dashboards.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(255)),
    sa.Column("icon", sa.String(64)),
    sa.Column("color", sa.String(10)),
    sa.Column("show_header", sa.Boolean, nullable=False, server_default=FALSE),
    sa.Column("note", sa.Text),
    sa.Column("type", sa.String(255), nullable=False),
    sa.Column("position_x", sa.Integer, nullable=False),
    sa.Column("position_y", sa.Integer, nullable=False),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("options", JSON),
    sa.Column("date_created", TS),
    sa.Column("user_created", UUID, sa.ForeignKey("directus_users.id", ondelete="SET NULL")),
)

flows = sa.Table(
    "directus_flows",
    metadata,
    sa.Column("id", UUID, primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("icon", sa.String(64)),
    sa.Column("color", sa.String(255)),
    sa.Column("description", sa.Text),
    sa.Column("status", sa.String(255), nullable=False, server_default="active"),
    sa.Column("trigger", sa.String(255)),
    sa.Column("accountability", sa.String(255), server_default="all"),
    sa.Column("options", JSON),
    sa.Column("operation", UUID),
    sa.Column("date_created", sa.DateTime),
    sa.Column("user_created", UUID, sa.ForeignKey("directus_users.id", ondelete="SET NULL")),
    sa.Column("folder", UUID),
)

operations = sa.Table(
    "directus_operations",
    metadata,
    sa.Column("id", UUID, primary_key=True),
    sa.Column("name", sa.String(255)),
    sa.Column("key", sa.String(255), nullable=False),
    sa.Column("type", sa.String(255), nullable=False),
    sa.Column("position_x", sa.Integer, nullable=False),
    sa.Column("position_y", sa.Integer, nullable=False),
    sa.Column("options", JSON),
    sa.Column("resolve", UUID),
    sa.Column("reject", UUID),
    sa.Column("flow", UUID, sa.ForeignKey("directus_flows.id", ondelete="CASCADE"), nullable=False),
    sa.Column("date_created", sa.DateTime),
    sa.Column("user_created", UUID, sa.ForeignKey("directus_users.id", ondelete="SET NULL")),
)

# The tables migration 0008 creates (a database made before it has none of them).
PROJECT_TABLES = (settings, presets, translations, shares, notifications, dashboards, panels, flows, operations)

# History (``tidepool.services.history``): one ``directus_activity`` row per action of every tracked write, and
# for collections with ``accountability: "all"`` one ``directus_revisions`` row holding the item's data and the
# change, both written in the write's own transaction. Shaped as Directus 11.
activity = sa.Table(
    "directus_activity",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("action", sa.String(45), nullable=False),
    sa.Column("user", UUID),
    sa.Column("timestamp", TS, nullable=False, index=True),
    sa.Column("ip", sa.String(50)),
    sa.Column("user_agent", sa.Text),
    sa.Column("collection", NAME, nullable=False),
    sa.Column("item", sa.String(255), nullable=False),
    sa.Column("origin", sa.String(255)),
)

# Content versions: a named draft (``key``) of one item, its unsaved changes kept in ``delta``.
content_versions = sa.Table(
    "directus_versions",
    metadata,
    sa.Column("id", UUID, primary_key=True),
    sa.Column("key", NAME, nullable=False),
    sa.Column("name", sa.String(255)),
    sa.Column("collection", NAME, nullable=False),
    sa.Column("item", sa.String(255)),
    sa.Column("hash", sa.String(255)),
    sa.Column("date_created", TS, server_default=sa.func.current_timestamp()),
    sa.Column("date_updated", TS, server_default=sa.func.current_timestamp()),
    sa.Column("user_created", UUID, sa.ForeignKey("directus_users.id", ondelete="SET NULL")),
    sa.Column("user_updated", UUID, sa.ForeignKey("directus_users.id")),
    sa.Column("delta", sa.JSON(none_as_null=True)),
)

revisions = sa.Table(
    "directus_revisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("activity", sa.Integer, sa.ForeignKey("directus_activity.id", ondelete="CASCADE"), nullable=False),
    sa.Column("collection", NAME, nullable=False),
    sa.Column("item", sa.String(255), nullable=False),
    sa.Column("data", sa.JSON(none_as_null=True)),
    sa.Column("delta", sa.JSON(none_as_null=True)),
    sa.Column("parent", sa.Integer, sa.ForeignKey("directus_revisions.id")),
    sa.Column("version", UUID, sa.ForeignKey("directus_versions.id", ondelete="CASCADE")),
)

comments = sa.Table(
    "directus_comments",
    metadata,
    sa.Column("id", UUID, primary_key=True),
    sa.Column("collection", NAME, nullable=False),
    sa.Column("item", sa.String(255), nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
    sa.Column("date_created", TS, server_default=sa.func.current_timestamp()),
    sa.Column("date_updated", TS, server_default=sa.func.current_timestamp()),
    sa.Column("user_created", UUID, sa.ForeignKey("directus_users.id", ondelete="SET NULL")),
    sa.Column("user_updated", UUID, sa.ForeignKey("directus_users.id")),
)

# -- the system collections of Directus features Tidepool does not run (migration 0010-feature-tables) -----
# Extensions, Directus's own migration log, deployments (to Vercel, Netlify ...) and the MCP OAuth server:
# Directus 12.4.1's columns, so clients list and read them as on a Directus with none of it configured. Nothing
# in Tidepool writes them; their columns are in the order Directus numbers its fields (``system_meta``).

extensions = sa.Table(
    "directus_extensions",
    metadata,
    sa.Column("id", UUID, primary_key=True),
    sa.Column("folder", sa.String(255), nullable=False),
    sa.Column("source", sa.String(255), nullable=False),
    sa.Column("bundle", UUID),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=TRUE),
)

directus_migrations = sa.Table(
    "directus_migrations",
    metadata,
    sa.Column("version", sa.String(255), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.DateTime, server_default=sa.func.current_timestamp()),
)

deployments = sa.Table(
    "directus_deployments",
    metadata,
    sa.Column("id", UUID, primary_key=True),
    sa.Column("provider", sa.String(255), nullable=False, unique=True),
    sa.Column("credentials", sa.Text),
    sa.Column("options", sa.Text),
    sa.Column("webhook_ids", JSON),
    sa.Column("last_synced_at", TS),
    sa.Column("date_created", TS, server_default=sa.func.current_timestamp()),
    sa.Column("user_created", UUID, sa.ForeignKey("directus_users.id", ondelete="SET NULL")),
    sa.Column("webhook_secret", sa.String(255)),
)

deployment_projects = sa.Table(
    "directus_deployment_projects",
    metadata,
    sa.Column("id", UUID, primary_key=True),
    sa.Column("deployment", UUID, sa.ForeignKey("directus_deployments.id", ondelete="CASCADE"), nullable=False),
    sa.Column("external_id", sa.String(255), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("url", sa.String(255)),
    sa.Column("framework", sa.String(255)),
    sa.Column("deployable", sa.Boolean, nullable=False, server_default=TRUE),
    sa.Column("date_created", TS, server_default=sa.func.current_timestamp()),
    sa.Column("user_created", UUID, sa.ForeignKey("directus_users.id", ondelete="SET NULL")),
)

deployment_runs = sa.Table(
    "directus_deployment_runs",
    metadata,
    sa.Column("id", UUID, primary_key=True),
    sa.Column("project", UUID, sa.ForeignKey("directus_deployment_projects.id", ondelete="CASCADE"), nullable=False),
    sa.Column("external_id", sa.String(255), nullable=False),
    sa.Column("target", sa.String(255), nullable=False),
    sa.Column("status", sa.String(255)),
    sa.Column("url", sa.String(255)),
    sa.Column("started_at", TS),
    sa.Column("completed_at", TS),
    sa.Column("date_created", TS, server_default=sa.func.current_timestamp()),
    sa.Column("user_created", UUID, sa.ForeignKey("directus_users.id", ondelete="SET NULL")),
)

oauth_clients = sa.Table(
    "directus_oauth_clients",
    metadata,
    sa.Column("client_name", sa.String(200), nullable=False),
    sa.Column("redirect_uris", JSON, nullable=False),
    sa.Column("grant_types", JSON, nullable=False),
    sa.Column("date_created", TS, nullable=False, server_default=sa.func.current_timestamp(), index=True),
    sa.Column("client_id", sa.String(255), primary_key=True),
    sa.Column("token_endpoint_auth_method", sa.String(255), nullable=False, server_default="none"),
    sa.Column("client_secret_hash", sa.String(64)),
    sa.Column("registration_type", sa.String(10), nullable=False, server_default="dcr"),
    sa.Column("client_uri", sa.Text),
    sa.Column("logo_uri", sa.Text),
    sa.Column("tos_uri", sa.Text),
    sa.Column("policy_uri", sa.Text),
    sa.Column("metadata_fetched_at", TS),
    sa.Column("metadata_expires_at", TS),
    sa.Column("metadata_etag", sa.String(255)),
)

_CLIENT = "directus_oauth_clients.client_id"

oauth_codes = sa.Table(
    "directus_oauth_codes",
    metadata,
    sa.Column("id", UUID, primary_key=True),
    sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("client", sa.String(255), sa.ForeignKey(_CLIENT, ondelete="CASCADE"), nullable=False),
    sa.Column("user", UUID, sa.ForeignKey("directus_users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("redirect_uri", sa.String(255), nullable=False),
    sa.Column("resource", sa.String(255), nullable=False),
    sa.Column("code_challenge", sa.String(128), nullable=False),
    sa.Column("code_challenge_method", sa.String(10), nullable=False),
    sa.Column("scope", sa.String(255)),
    sa.Column("expires_at", TS, nullable=False, index=True),
    sa.Column("used_at", TS, index=True),
)

oauth_consents = sa.Table(
    "directus_oauth_consents",
    metadata,
    sa.Column("id", UUID, primary_key=True),
    sa.Column("user", UUID, sa.ForeignKey("directus_users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("client", sa.String(255), sa.ForeignKey(_CLIENT, ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("redirect_uri", sa.String(255), nullable=False),
    sa.Column("scope", sa.String(255)),
    sa.Column("date_created", TS, nullable=False),
    sa.Column("date_updated", TS, nullable=False),
)

oauth_tokens = sa.Table(
    "directus_oauth_tokens",
    metadata,
    sa.Column("id", UUID, primary_key=True),
    sa.Column("client", sa.String(255), sa.ForeignKey(_CLIENT, ondelete="CASCADE"), nullable=False),
    sa.Column("user", UUID, sa.ForeignKey("directus_users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("session", sa.String(64), nullable=False, index=True),
    sa.Column("previous_session", sa.String(64), index=True),
    sa.Column("resource", sa.String(255), nullable=False),
    sa.Column("code_hash", sa.String(64), nullable=False, index=True),
    sa.Column("scope", sa.String(255)),
    sa.Column("expires_at", TS, nullable=False, index=True),
    sa.Column("date_created", TS, nullable=False),
)

# The tables migration 0010 creates, in an order their foreign keys allow.
FEATURE_TABLES = (
    extensions,
    directus_migrations,
    deployments,
    deployment_projects,
    deployment_runs,
    oauth_clients,
    oauth_codes,
    oauth_consents,
    oauth_tokens,
)

SYSTEM_TABLES = {table.name: table for table in metadata.sorted_tables}

# Well-known ids, as in Directus (migration 20240806A-permissions-policies).
PUBLIC_POLICY_ID = "abf8a154-5b1c-4a46-ac9c-7300570f4f17"


def is_system_collection(name: str) -> bool:
    return name.startswith(("directus_", "tidepool_"))
