"""How the system collections, fields and relations are listed in ``/collections``, ``/fields`` and
``/relations``: Directus's metadata for them, over Tidepool's own system tables.

Which system collections and fields exist is read from the database (the tables ``tidepool.db.system``
creates, whoever added them); this module only says how each is described: per collection the properties
clients act on (``singleton``, ``display_template``, ``accountability``, archive and sort fields, icon), in a
compact table Tidepool keeps; per field Directus's own description, recorded in ``tidepool.db.system_fields``.
Every system collection Directus 12.4.1 lists has a table here (the features Tidepool does not run, such as
deployments and OAuth, have empty ones); one Tidepool lacked would not be listed: listing it would promise
items no request can read.

The relations Directus models without a foreign key in Tidepool's tables (``directus_users.avatar`` ...)
are in ``RELATIONS``; ``tidepool.db.introspect`` adds each one whose two collections and field exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidepool.db import system_fields

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

# How Directus describes each of its system fields is recorded in ``tidepool.db.system_fields``; a system field
# Directus does not have (Tidepool's own ``meta`` columns of ``directus_collections`` and ``directus_fields``,
# and ``directus_fields.type``) gets the plain description, numbered after Directus's fields.
_FIELD_KEYS = (
    "system", "collection", "field", "special", "interface", "options", "display", "display_options", "readonly",
    "hidden", "sort", "width", "group", "translations", "note", "conditions", "required", "searchable",
)  # fmt: skip
_DESCRIBED: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {
    (collection, field): (position, own)
    for collection, rows in system_fields.FIELDS.items()
    for position, (field, own) in enumerate(rows, 1)
}
# Fields Directus lists with no ``meta`` at all (a column its metadata never described).
UNDESCRIBED = frozenset({("directus_deployments", "webhook_secret")})


def presentation_fields(collection: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The dividers, groups and notices of Directus's form for ``collection`` (aliases with no data), with
    their specials: fields of the listing only, never read or written."""
    return tuple(
        (field, tuple(own["special"]))
        for field, own in system_fields.FIELDS.get(collection, ())
        if "no-data" in (own.get("special") or ())
    )


def field_meta(collection: str, field: str, position: int) -> dict[str, Any] | None:
    """A system field's ``meta`` as Directus lists it, keys in Directus's order (None for the few Directus
    leaves undescribed). It only describes: what Tidepool does with the field follows its own metadata rows
    (``roles.policies`` is listed as Directus's ``m2m`` and read by Tidepool as the o2m to its junction).
    ``position`` (1-based, columns first) numbers a field Directus does not have, after Directus's own."""
    if (collection, field) in UNDESCRIBED:
        return None
    described = _DESCRIBED.get((collection, field))
    if described is not None:
        sort, own = described
    else:
        sort, own = len(system_fields.FIELDS.get(collection, ())) + position, {}
    meta = {"system": True, "collection": collection, "field": field, "sort": sort, **system_fields.BASE, **own}
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
