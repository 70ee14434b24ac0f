"""Who may use the system collections (``directus_*``): Directus 11's model, in one table.

Three kinds of caller, for REST and for WebSocket subscriptions alike (both read through the ``Access`` that
``services/permissions.access_for`` builds, and that is where this table is merged in):

- an **admin** (a policy with ``admin_access``) may do everything;
- a user whose policies give **``app_access``** gets ``APP_ACCESS_MINIMAL`` (below) on top of their own
  permission rows: read the schema, most of their own user record (not write it), their own presets,
  notifications, activity and comments, the settings the app needs, the translations, their own roles;
- anyone else (no app access, or the public) gets only what their own permission rows grant: with no row
  on ``directus_collections`` even ``/collections`` is ``403``.

The rows are Directus 12.4.1's ``appAccessMinimalPermissions`` (``@directus/system-data``), recorded as
data: the same collections, actions, item rules (dynamic variables resolved per user like any stored
permission), field lists and validations. They are judged and resolved exactly like stored rows, so a
row for a collection this database does not have yet (``directus_activity`` before its table exists)
grants nothing until the table appears. To give app users something more, add one ``SystemRule`` row.

Some system collections have no minimum row on purpose, as in Directus: ``directus_revisions``,
``directus_versions``, ``directus_files``, ``directus_folders``, ``directus_dashboards``,
``directus_panels``, ``directus_flows``, ``directus_operations``, ``directus_policies``,
``directus_permissions``, ``directus_access``, and the collections of the features Tidepool does not run
(``directus_extensions``, ``directus_migrations``, ``directus_deployments*``, ``directus_oauth_*``); the Data
Studio offers its "recommended" rows for a new policy instead (those are ordinary permission rows the admin
saves).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tidepool.context import Access, Action
from tidepool.errors import ForbiddenError


@dataclass(frozen=True)
class SystemRule:
    """One implicit permission row: ``fields`` None is every field, ``rule`` None every row."""

    collection: str
    action: str
    rule: Mapping[str, Any] | None = None
    fields: tuple[str, ...] | None = None
    validation: Mapping[str, Any] | None = None


_ME = {"_eq": "$CURRENT_USER"}

# The fields of their own user an app user reads (Directus 12.4.1).
OWN_USER_FIELDS = (
    "id", "first_name", "last_name", "last_page", "email", "password", "location", "title", "description",
    "tags", "provider", "preferences_divider", "avatar", "language", "appearance", "theme_light", "theme_dark",
    "tfa_secret", "status", "role",
)  # fmt: skip

# The settings every app user reads (the rest of directus_settings is the admin's).
APP_SETTINGS_FIELDS = (
    "id", "project_url", "project_logo", "module_bar", "storage_asset_transform", "storage_asset_presets",
    "custom_aspect_ratios", "basemaps", "mapbox_key", "visual_editor_urls", "collaborative_editing_enabled",
    "report_error_url", "ai_openai_compatible_models", "ai_openai_allowed_models", "ai_anthropic_allowed_models",
    "ai_google_allowed_models", "mcp_prompts_collection", "default_save_action", "ai_translation_default_model",
    "ai_translation_glossary", "ai_translation_style_guide",
)  # fmt: skip

APP_ACCESS_MINIMAL: tuple[SystemRule, ...] = (
    # the schema (Directus's schemaPermissions)
    SystemRule("directus_collections", "read"),
    SystemRule("directus_fields", "read"),
    SystemRule("directus_relations", "read"),
    SystemRule("directus_translations", "read"),
    # history ("history" helper's tables): own activity, own comments
    SystemRule("directus_activity", "read", {"user": _ME}),
    SystemRule("directus_comments", "read", {"user_created": _ME}),
    SystemRule("directus_comments", "create", validation={"comment": {"_nnull": True}}),
    SystemRule("directus_comments", "update", {"user_created": _ME}, fields=("comment",)),
    SystemRule("directus_comments", "delete", {"user_created": _ME}),
    # presets: own, own role's and global ones are read; only one's own are written
    SystemRule(
        "directus_presets",
        "read",
        {
            "_or": [
                {"user": _ME},
                {"_and": [{"user": {"_null": True}}, {"role": {"_eq": "$CURRENT_ROLE"}}]},
                {"_and": [{"user": {"_null": True}}, {"role": {"_null": True}}]},
            ]
        },
    ),
    SystemRule("directus_presets", "create", validation={"user": _ME}),
    SystemRule("directus_presets", "update", {"user": _ME}, validation={"user": _ME}),
    SystemRule("directus_presets", "delete", {"user": _ME}),
    # accounts
    SystemRule("directus_roles", "read", {"id": {"_in": "$CURRENT_ROLES"}}),
    SystemRule("directus_users", "read", {"id": _ME}, fields=OWN_USER_FIELDS),
    # project
    SystemRule("directus_settings", "read", fields=APP_SETTINGS_FIELDS),
    SystemRule("directus_notifications", "read", {"recipient": _ME}),
    SystemRule("directus_notifications", "update", {"recipient": _ME}, fields=("status",)),
    SystemRule("directus_shares", "read", {"user_created": _ME}),
)


# -- the schema endpoints ---------------------------------------------------------------------------------
# ``/collections``, ``/fields`` and ``/relations`` read their system collection outside the item reader, so
# they ask here first. Directus words the refusal differently per endpoint (recorded from 12.4.1).

_ACTION_WORDED = frozenset({"directus_fields", "directus_relations"})


def require_read(access: Access, collection: str) -> None:
    """``FORBIDDEN`` unless ``access`` may read the system collection ``collection`` (admins always may)."""
    if access.allows(collection, Action.READ):
        return
    if collection in _ACTION_WORDED:
        raise ForbiddenError.action(Action.READ, collection)
    raise ForbiddenError.collection(collection)
