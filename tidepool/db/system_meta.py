"""How the system collections, fields and relations are listed in ``/collections``, ``/fields`` and
``/relations``: Directus's metadata for them, generated from Tidepool's own system tables.

Which system collections and fields exist is read from the database (the tables ``tidepool.db.system``
creates, whoever added them); this module only says how each is described, in a compact table Tidepool
keeps: per collection the properties clients act on (``singleton``, ``display_template``, ``accountability``,
archive and sort fields, icon), per field the interface and flags the Data Studio renders a system form with,
and otherwise a default derived from the field's type. Every system collection Directus 12.4.1 lists has a table
here (the features Tidepool does not run, such as deployments and OAuth, have empty ones), and one Tidepool
lacked would not be listed: listing it would promise items no request can read.

The relations Directus models without a foreign key in Tidepool's tables (``directus_users.avatar`` ...)
are in ``RELATIONS``; ``tidepool.db.introspect`` adds each one whose two collections and field exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# --- collections ---------------------------------------------------------------------------------------------

# Only what differs from ``_COLLECTION_DEFAULTS`` (``accountability`` is "all" unless said otherwise).
COLLECTIONS: dict[str, dict[str, Any]] = {
    "directus_access": {"icon": "admin_panel_settings", "display_template": "{{ policy.name }}", "sort_field": "sort"},
    "directus_activity": {"accountability": None},
    "directus_collections": {"icon": "database"},
    "directus_deployments": {"icon": "cloud_upload"},
    "directus_fields": {"icon": "input"},
    "directus_files": {"icon": "folder", "display_template": "{{ $thumbnail }} {{ title }}"},
    "directus_folders": {"display_template": "{{ name }}"},
    **{f"directus_oauth_{name}": {"accountability": None} for name in ("clients", "codes", "consents", "tokens")},
    "directus_permissions": {"icon": "admin_panel_settings"},
    "directus_policies": {"icon": "admin_panel_settings"},
    "directus_presets": {"icon": "bookmark", "accountability": None},
    "directus_relations": {"icon": "merge_type"},
    "directus_revisions": {"accountability": None},
    "directus_roles": {"icon": "supervised_user_circle"},
    "directus_settings": {"singleton": True},
    "directus_shares": {"icon": "share"},
    "directus_users": {
        "icon": "people_alt",
        "display_template": "{{ first_name }} {{ last_name }}",
        "archive_field": "status",
        "archive_value": "archived",
        "unarchive_value": "draft",
    },
}
_COLLECTION_DEFAULTS: dict[str, Any] = {
    "hidden": False,
    "singleton": False,
    "icon": None,
    "note": None,
    "translations": None,
    "display_template": None,
    "accountability": "all",
}


def default(collection: str, key: str) -> Any:
    """What a collection's ``meta`` says of ``key`` when no ``directus_collections`` row says otherwise:
    Directus's value for its own collections (``directus_settings`` is a singleton, the history tables and
    presets keep no history), the plain default for every other one. The schema overview (``singleton``) and
    history (``accountability``) both ask here."""
    return COLLECTIONS.get(collection, {}).get(key, _COLLECTION_DEFAULTS[key])


def collection_meta(name: str, row: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A system collection's ``meta``; a ``directus_collections`` row an admin wrote for it wins."""
    own = COLLECTIONS.get(name, {})
    meta: dict[str, Any] = {"collection": name, **_COLLECTION_DEFAULTS, "note": f"$t:directus_collection.{name}"}
    meta.update(own)
    for key, value in (row or {}).items():
        if key not in ("collection", "system") and value is not None:
            meta[key] = value
    meta["system"] = True
    return meta


# --- fields --------------------------------------------------------------------------------------------------

# The interface a field of each type gets when the table below says nothing.
INTERFACES: dict[str, str | None] = {
    "string": "input",
    "text": "input-multiline",
    "integer": "input",
    "bigInteger": "input",
    "float": "input",
    "decimal": "input",
    "boolean": "boolean",
    "timestamp": "datetime",
    "dateTime": "datetime",
    "date": "datetime",
    "time": "datetime",
    "json": "input-code",
    "csv": "tags",
    "uuid": "input",
    "hash": "input-hash",
}
_HIDDEN = {"hidden": True}
_READONLY = {"readonly": True}
_M2O = {"interface": "select-dropdown-m2o", "special": ["m2o"]}
_LABELS = {"display": "labels", "display_options": {"format": False}, "width": "full"}
# (collection, field) -> what differs from the type's default: the fields clients render or rely on.
FIELDS: dict[tuple[str, str], dict[str, Any]] = {
    ("directus_users", "id"): {"special": ["uuid"]},
    ("directus_users", "password"): {"interface": "input-hash", "options": {"masked": True}},
    ("directus_users", "tags"): {"interface": "tags"},
    ("directus_users", "avatar"): {"interface": "file"},
    ("directus_users", "language"): {"interface": "system-language"},
    ("directus_users", "tfa_secret"): {"interface": "system-mfa-setup"},
    ("directus_users", "status"): {"interface": "select-dropdown"},
    ("directus_users", "role"): {**_M2O, "options": {"template": "{{ name }}"}},
    ("directus_users", "token"): {"interface": "system-token", "width": "full"},
    ("directus_users", "last_access"): {"interface": None, **_READONLY},
    ("directus_users", "last_page"): {"interface": None},
    ("directus_users", "provider"): {"interface": "select-dropdown"},
    ("directus_users", "auth_data"): {"interface": None, **_HIDDEN},
    ("directus_users", "appearance"): {"interface": "select-dropdown"},
    ("directus_users", "theme_dark"): {"interface": "system-theme", "options": {"appearance": "dark"}},
    ("directus_users", "theme_light"): {"interface": "system-theme", "options": {"appearance": "light"}},
    ("directus_users", "policies"): {"interface": "list-m2m", "special": ["m2m"]},
    ("directus_roles", "id"): {"special": ["uuid"], **_HIDDEN},
    ("directus_roles", "icon"): {"interface": "select-icon"},
    ("directus_roles", "description"): {"interface": "input"},
    ("directus_roles", "parent"): {**_M2O, "options": {"template": "{{ name }}"}},
    ("directus_roles", "children"): {"interface": "list-o2m-tree-view", **_HIDDEN},
    ("directus_roles", "policies"): {"interface": "list-m2m", "special": ["m2m"]},
    ("directus_roles", "users"): {"interface": "list-o2m", "options": {"fields": ["first_name", "last_name"]}},
    ("directus_policies", "users"): {
        "interface": "list-m2m",
        "special": ["m2m"],
        "options": {
            "template": "{{ user.first_name }} {{ user.last_name }}",
            "junctionFilter": {"user": {"_nnull": True}},
        },
    },
    ("directus_policies", "roles"): {
        "interface": "list-m2m",
        "special": ["m2m"],
        "options": {"template": "{{ role.name }}", "junctionFilter": {"role": {"_nnull": True}}},
    },
    ("directus_policies", "id"): {"special": ["uuid"], "interface": None, **_HIDDEN},
    ("directus_policies", "name"): {"interface": None},
    ("directus_policies", "icon"): {"interface": "select-icon"},
    ("directus_policies", "description"): {"interface": "input"},
    ("directus_policies", "permissions"): {"interface": "system-permissions"},
    ("directus_access", "id"): {"special": ["uuid"], "interface": None, **_HIDDEN},
    ("directus_access", "role"): {"special": ["m2o"], "interface": None, **_HIDDEN},
    ("directus_access", "user"): {"special": ["m2o"], "interface": None, **_HIDDEN},
    ("directus_access", "policy"): {"special": ["m2o"], "interface": None, **_HIDDEN},
    ("directus_access", "sort"): {"interface": None, **_HIDDEN},
    ("directus_permissions", "permissions"): {"interface": None, **_HIDDEN},
    ("directus_permissions", "presets"): {"interface": None, **_HIDDEN},
    ("directus_permissions", "policy"): {**_M2O, **_HIDDEN},
    ("directus_collections", "collection"): {"options": {"font": "monospace"}, **_READONLY},
    ("directus_collections", "icon"): {"interface": "select-icon"},
    ("directus_collections", "note"): {"interface": "input"},
    ("directus_collections", "display_template"): {"interface": "system-display-template"},
    ("directus_collections", "archive_field"): {"interface": "system-field"},
    ("directus_collections", "sort_field"): {"interface": "system-field"},
    ("directus_collections", "status"): {"interface": "select-dropdown"},
    ("directus_collections", "sort"): {"interface": None, **_HIDDEN},
    ("directus_collections", "group"): {"interface": None, **_HIDDEN},
    ("directus_oauth_clients", "redirect_uris"): _LABELS,
    ("directus_oauth_clients", "grant_types"): _LABELS,
    ("directus_oauth_clients", "client_id"): _HIDDEN,
    ("directus_oauth_clients", "client_secret_hash"): {**_HIDDEN, "width": "full"},
    ("directus_oauth_clients", "tokens"): {
        "interface": "list-o2m",
        "options": {"fields": ["user", "expires_at", "date_created"]},
        "width": "full",
        **_HIDDEN,
    },
    ("directus_oauth_clients", "registration_type"): {
        "display": "labels",
        "display_options": {
            "choices": [
                {
                    "text": "$t:field_options.directus_oauth_clients.registration_type_dcr",
                    "value": "dcr",
                    "foreground": "var(--theme--primary)",
                    "background": "var(--theme--primary-subdued)",
                },
                {
                    "text": "$t:field_options.directus_oauth_clients.registration_type_cimd",
                    "value": "cimd",
                    "foreground": "var(--blue)",
                    "background": "var(--blue-25)",
                },
            ]
        },
    },
    **{("directus_oauth_clients", f): _READONLY for f in ("client_uri", "logo_uri", "tos_uri", "policy_uri")},
    **{("directus_oauth_clients", f): _HIDDEN for f in ("metadata_fetched_at", "metadata_expires_at", "metadata_etag")},
    **{(f"directus_oauth_{c}", "redirect_uri"): {"width": "full"} for c in ("codes", "consents")},
}
# Directus's system forms leave these fields plain: no interface, the width of half a form (``_PLAIN``), or of a
# whole one (``_BARE``: the collections of features whose screens Directus builds without field metadata).
_PLAIN = {"interface": None, "width": "half"}
_BARE = {"interface": None}
_COLLECTION_FIELDS: dict[str, dict[str, Any]] = {
    **dict.fromkeys(("directus_sessions", "directus_fields", "directus_relations", "directus_permissions"), _PLAIN),
    **dict.fromkeys((f"directus_oauth_{name}" for name in ("clients", "codes", "consents", "tokens")), _PLAIN),
    **dict.fromkeys(
        ("directus_extensions", "directus_migrations", "directus_deployments", "directus_deployment_projects"), _BARE
    ),
    "directus_deployment_runs": _BARE,
}
# Where Directus numbers a collection's fields otherwise than the column order followed by the aliases: its order.
FIELD_ORDER: dict[str, tuple[str, ...]] = {
    "directus_deployments": (
        "id", "provider", "credentials", "options", "projects", "webhook_ids", "last_synced_at", "date_created",
        "user_created",
    ),
    "directus_deployment_projects": (
        "id", "deployment", "external_id", "name", "url", "framework", "deployable", "runs", "date_created",
        "user_created",
    ),
    "directus_oauth_clients": (
        "client_name", "redirect_uris", "grant_types", "date_created", "client_id", "token_endpoint_auth_method",
        "client_secret_hash", "tokens", "registration_type", "client_uri", "logo_uri", "tos_uri", "policy_uri",
        "metadata_fetched_at", "metadata_expires_at", "metadata_etag",
    ),
}  # fmt: skip
# Fields Directus lists with no ``meta`` at all (a column its metadata never described).
UNDESCRIBED = frozenset({("directus_deployments", "webhook_secret")})
_FIELD_KEYS = (
    "system",
    "collection",
    "field",
    "special",
    "interface",
    "options",
    "display",
    "display_options",
    "readonly",
    "hidden",
    "sort",
    "width",
    "group",
    "translations",
    "note",
    "conditions",
    "required",
    "searchable",
)


def field_sort(collection: str, field: str, position: int) -> int:
    """A system field's ``sort``: its place in Directus's order where ``FIELD_ORDER`` has one, else
    ``position`` (1-based, columns first, then aliases)."""
    order = FIELD_ORDER.get(collection)
    return order.index(field) + 1 if order is not None and field in order else position


def field_meta(
    collection: str, field: str, field_type: str, special: tuple[str, ...], sort: int
) -> dict[str, Any] | None:
    """A system field's ``meta``, keys in Directus's order (None for the few Directus leaves undescribed).
    ``special`` is what Tidepool's metadata rows say (``conceal``, ``hash``, ``cast-json`` ...) unless the
    table names Directus's (``roles.policies`` is an ``m2m`` to clients, read by Tidepool as the o2m to its
    junction): the listing only describes; what Tidepool does with the field follows its rows."""
    if (collection, field) in UNDESCRIBED:
        return None
    meta: dict[str, Any] = {
        "system": True,
        "collection": collection,
        "field": field,
        "special": list(special) or None,
        "interface": INTERFACES.get(field_type),
        "options": None,
        "display": None,
        "display_options": None,
        "readonly": False,
        "hidden": False,
        "sort": field_sort(collection, field, sort),
        "width": "full",
        "group": None,
        "translations": None,
        "note": None,
        "conditions": None,
        "required": False,
        "searchable": True,
    }
    meta.update(_COLLECTION_FIELDS.get(collection, {}))
    meta.update(FIELDS.get((collection, field), {}))
    return {key: meta[key] for key in _FIELD_KEYS}


# --- relations -----------------------------------------------------------------------------------------------

# (many collection, many field, one collection): relations Directus has that Tidepool's tables may hold
# without a foreign key; each is listed when both collections and the field exist and nothing else names it.
RELATIONS: tuple[tuple[str, str, str], ...] = (
    ("directus_users", "avatar", "directus_files"),
    ("directus_collections", "group", "directus_collections"),
    ("directus_fields", "collection", "directus_collections"),
    ("directus_fields", "group", "directus_fields"),
    ("directus_sessions", "share", "directus_shares"),
    ("directus_activity", "user", "directus_users"),
    ("directus_comments", "collection", "directus_collections"),
    ("directus_flows", "operation", "directus_operations"),
    ("directus_flows", "folder", "directus_folders"),
    ("directus_shares", "collection", "directus_collections"),
    ("directus_versions", "collection", "directus_collections"),
    ("directus_presets", "user", "directus_users"),
    ("directus_presets", "role", "directus_roles"),
    ("directus_files", "folder", "directus_folders"),
    ("directus_files", "uploaded_by", "directus_users"),
    ("directus_files", "modified_by", "directus_users"),
    ("directus_folders", "parent", "directus_folders"),
    ("directus_revisions", "activity", "directus_activity"),
    ("directus_revisions", "parent", "directus_revisions"),
    ("directus_revisions", "version", "directus_versions"),
    ("directus_settings", "project_logo", "directus_files"),
    ("directus_settings", "public_foreground", "directus_files"),
    ("directus_settings", "public_background", "directus_files"),
    ("directus_settings", "public_favicon", "directus_files"),
    ("directus_settings", "public_registration_role", "directus_roles"),
    ("directus_settings", "storage_default_folder", "directus_folders"),
)


# Directus's own metadata of the access junction, whatever the stored rows say: ``directus_access`` joins roles
# and users to policies (a many-to-many each way: ``roles.policies``, ``users.policies``, ``policies.roles``),
# numbered by ``sort``. The Data Studio edits a role's policies only when it sees these junction fields.
ACCOUNT_RELATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("directus_access", "role"): {"junction_field": "policy", "sort_field": "sort"},
    ("directus_access", "user"): {"junction_field": "policy", "sort_field": "sort"},
    ("directus_access", "policy"): {"one_field": "roles", "junction_field": "role", "one_deselect_action": "delete"},
}

# Directus lists ``directus_access.policy`` twice: as above (``policies.roles``) and as the other side of the
# users' junction (``policies.users``). The second is a relation of its own here (a copy of the first with
# this metadata), listed before it so the field's many-to-one stays the first.
ACCOUNT_SECOND_SIDES: dict[tuple[str, str], dict[str, Any]] = {
    ("directus_access", "policy"): {"one_field": "users", "junction_field": "user"},
}


def relation_meta(collection: str, field: str, related: str | None, row: Mapping[str, Any] | None) -> dict[str, Any]:
    """A system relation's ``meta`` as Directus lists it (no ``id``; ``system: true``)."""
    row = row or {}
    return {
        "many_collection": collection,
        "many_field": field,
        "one_collection": related,
        "one_field": row.get("one_field"),
        "one_allowed_collections": row.get("one_allowed_collections"),
        "one_collection_field": row.get("one_collection_field"),
        "one_deselect_action": row.get("one_deselect_action") or "nullify",
        "junction_field": row.get("junction_field"),
        "sort_field": row.get("sort_field"),
        "system": True,
    }
