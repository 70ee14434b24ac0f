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
from dataclasses import dataclass, replace
from typing import Any

from tidepool.context import Access, Action, Permission
from tidepool.db.schema import SchemaOverview
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


# -- the schema's own rows ----------------------------------------------------------------------------------
# ``/collections``, ``/fields`` and ``/relations`` answer only what describes a collection or field the caller
# may read (``services/collections``, ``fields``, ``relations``). The same rows read as items (a subscription to
# ``directus_fields``, a relational expansion such as ``directus_comments.collection.*``) must describe no more,
# so every read permission on these three collections is limited here, in the caller's ``Access``, to those rows:
# the reader, the filters and the realtime checks all read item rules from there.

Permissions = Mapping[tuple[str, Action], tuple[Permission, ...]]
Readable = Mapping[str, frozenset[str] | None]  # collection -> readable fields (None: every field)


def limit_schema_rows(permissions: Permissions, schema: SchemaOverview | None) -> Permissions:
    """``permissions`` with each read of a schema collection limited to the rows of what the others let read."""
    readable = _readable(permissions)
    limits = {
        "directus_collections": _collections_rule(readable, schema),
        "directus_fields": _fields_rule(readable),
        "directus_relations": _relations_rule(readable),
    }
    limited = dict(permissions)
    for collection, limit in limits.items():
        granted = limited.get((collection, Action.READ))
        if granted:
            limited[(collection, Action.READ)] = tuple(replace(p, rule=_both(p.rule, limit)) for p in granted)
    return limited


def _readable(permissions: Permissions) -> Readable:
    readable: dict[str, frozenset[str] | None] = {}
    for (collection, action), granted in permissions.items():
        if action != Action.READ or not granted:
            continue
        if any(p.fields is None or "*" in p.fields for p in granted):
            readable[collection] = None
        else:
            readable[collection] = frozenset().union(*(p.fields or () for p in granted))
    return readable


# An item rule no row matches: the key of these tables is never null.
_NO_ROW: Mapping[str, Any] = {"_and": [{"collection": {"_null": True}}, {"collection": {"_nnull": True}}]}


def _collections_rule(readable: Readable, schema: SchemaOverview | None) -> Mapping[str, Any]:
    """The readable collections and the folders holding them, as ``/collections`` lists them."""
    names = set(readable)
    for name in readable:
        info = schema.collection(name) if schema is not None else None
        folder = (info.meta or {}).get("group") if info is not None else None
        if isinstance(folder, str):
            names.add(folder)
    return {"collection": {"_in": sorted(names)}} if names else _NO_ROW


def _fields_rule(readable: Readable) -> Mapping[str, Any]:
    """The rows of the readable fields of readable collections, as ``/fields`` lists them."""
    every = sorted(c for c, fields in readable.items() if fields is None)
    some = [
        {"_and": [{"collection": {"_eq": c}}, {"field": {"_in": sorted(fields)}}]}
        for c, fields in sorted(readable.items())
        if fields
    ]
    branches = ([{"collection": {"_in": every}}] if every else []) + some
    return {"_or": branches} if branches else _NO_ROW


def _relations_rule(readable: Readable) -> Mapping[str, Any]:
    """Relations both of whose sides are readable (the many side alone for an m2a), as ``/relations`` lists them."""
    names = sorted(readable)
    if not names:
        return {"_and": [{"many_collection": {"_null": True}}, {"many_collection": {"_nnull": True}}]}
    one_side = {"_or": [{"one_collection": {"_null": True}}, {"one_collection": {"_in": names}}]}
    return {"_and": [{"many_collection": {"_in": names}}, one_side]}


def _both(rule: Mapping[str, Any] | None, limit: Mapping[str, Any]) -> Mapping[str, Any]:
    return dict(limit) if not rule else {"_and": [dict(rule), dict(limit)]}
