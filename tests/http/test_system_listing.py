"""System collections, fields and relations in ``/collections``, ``/fields``, ``/relations``: every
``directus_*`` table the database has, none it lacks, described as Directus 12.4.1 describes them (the
expected values below were recorded from it) from Tidepool's own table (``tidepool/db/system_meta.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa

from tests.http.accounts_support import ok
from tests.http.directus_system_listing import DIRECTUS_FIELDS, DIRECTUS_RELATIONS
from tests.support.live import LiveServer
from tests.support.servers import module_server

srv = module_server("system_listing")

FEATURE_COLLECTIONS = (
    "directus_extensions", "directus_migrations", "directus_deployments", "directus_deployment_projects",
    "directus_deployment_runs", "directus_oauth_clients", "directus_oauth_codes", "directus_oauth_consents",
    "directus_oauth_tokens",
)  # fmt: skip
# The system fields Directus lists and Tidepool does not (see the test that uses it).
_UNLISTED = {
    "directus_collections": (
        "accountability archive_app_filter autosave_revision_interval collapse color display_template "
        "item_duplication_fields preview_url translations versioning"
    ),
    "directus_fields": "conditions searchable translations",
}
UNLISTED = [(c, f) for c, names in _UNLISTED.items() for f in names.split()]

# Recorded from Directus 12.4.1 (GET /collections/directus_users, GET /fields/directus_users/role).
USERS_META = {
    "collection": "directus_users",
    "hidden": False,
    "singleton": False,
    "icon": "people_alt",
    "note": "$t:directus_collection.directus_users",
    "translations": None,
    "display_template": "{{ first_name }} {{ last_name }}",
    "accountability": "all",
    "archive_field": "status",
    "archive_value": "archived",
    "unarchive_value": "draft",
    "system": True,
}
SYSTEM_FIELD_META_KEYS = [
    "system", "collection", "field", "special", "interface", "options", "display", "display_options", "readonly",
    "hidden", "sort", "width", "group", "translations", "note", "conditions", "required", "searchable",
]  # fmt: skip
SYSTEM_RELATION_META_KEYS = [
    "many_collection", "many_field", "one_collection", "one_field", "one_allowed_collections",
    "one_collection_field", "one_deselect_action", "junction_field", "sort_field", "system",
]  # fmt: skip
# (field, special, interface) as Directus lists them for the fields Tidepool's clients act on.
USER_FIELDS = [
    ("password", ["hash", "conceal"], "input-hash"),
    ("token", ["conceal"], "system-token"),
    ("tfa_secret", ["conceal"], "system-mfa-setup"),
    ("role", ["m2o"], "select-dropdown-m2o"),
    ("tags", ["cast-json"], "tags"),
    ("email_notifications", ["cast-boolean"], "boolean"),
]


@pytest.fixture(scope="module")
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        yield client


def _tables(srv: LiveServer) -> set[str]:
    async def names() -> set[str]:
        async with srv.runtime.engine.connect() as conn:
            return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))

    return {name for name in srv.run(names()) if name.startswith("directus_")}


def test_every_system_table_is_listed_and_nothing_else(srv: LiveServer, admin: httpx.Client) -> None:
    listed = {c["collection"]: c for c in ok(admin.get("/collections")) if c["collection"].startswith("directus_")}
    assert set(listed) == _tables(srv)
    assert all(c["meta"]["system"] is True for c in listed.values())
    fields = ok(admin.get("/fields"))
    assert {f["collection"] for f in fields if f["collection"].startswith("directus_")} == set(listed)


def test_the_system_collections_are_directus_s(admin: httpx.Client) -> None:
    listed = [c["collection"] for c in ok(admin.get("/collections")) if c["collection"].startswith("directus_")]
    assert sorted(listed) == sorted(DIRECTUS_FIELDS)
    assert len(listed) == 33


def test_the_system_relations_are_directus_s(admin: httpx.Client) -> None:
    listed = [
        (r["collection"], r["field"], r["related_collection"])
        for r in ok(admin.get("/relations"))
        if r["collection"].startswith("directus_")
    ]
    assert sorted(listed) == sorted(DIRECTUS_RELATIONS)
    assert len(listed) == 62


def test_the_system_fields_are_directus_s_but_the_known_few(admin: httpx.Client) -> None:
    """Every system field Directus lists is listed (the dividers, groups and notices of its own forms too),
    except the ``directus_collections``/``directus_fields`` columns Tidepool keeps in one ``meta`` JSON column,
    which it lists instead (README, differences, item 20)."""
    listed = {
        (f["collection"], f["field"]) for f in ok(admin.get("/fields")) if f["collection"].startswith("directus_")
    }
    directus = {(c, f) for c, names in DIRECTUS_FIELDS.items() for f in names.split()}
    assert len(directus) == 466
    assert sorted(directus - listed) == sorted(UNLISTED)
    assert sorted(listed - directus) == [
        ("directus_collections", "meta"),
        ("directus_fields", "meta"),
        ("directus_fields", "type"),
    ]


def test_the_feature_collections_fields_are_described_as_directus_describes_them(admin: httpx.Client) -> None:
    """Extensions, Directus's migration log, deployments and OAuth: every field in Directus's order, with its
    special, interface, width and flags as recorded from Directus 12.4.1."""
    for collection in FEATURE_COLLECTIONS:
        fields = ok(admin.get(f"/fields/{collection}"))
        described = sorted((f for f in fields if f["meta"]), key=lambda f: f["meta"]["sort"])
        assert [f["field"] for f in described] == [
            f
            for f in DIRECTUS_FIELDS[collection].split()
            if (collection, f) != ("directus_deployments", "webhook_secret")
        ]
        assert [f["meta"]["sort"] for f in described] == list(range(1, len(described) + 1))
    secret = ok(admin.get("/fields/directus_deployments/webhook_secret"))
    assert (secret["type"], secret["meta"]) == ("string", None)  # Directus has no metadata for it either
    tokens = ok(admin.get("/fields/directus_oauth_clients/tokens"))
    assert (tokens["type"], tokens["schema"]) == ("alias", None)
    assert {k: tokens["meta"][k] for k in ("special", "interface", "options", "hidden", "width", "sort")} == {
        "special": ["o2m"],
        "interface": "list-o2m",
        "options": {"fields": ["user", "expires_at", "date_created"]},
        "hidden": True,
        "width": "full",
        "sort": 8,
    }
    client = {f["field"]: f for f in ok(admin.get("/fields/directus_oauth_clients"))}
    assert client["client_id"]["schema"]["is_primary_key"] is True
    assert (client["client_secret_hash"]["meta"]["special"], client["client_uri"]["meta"]["readonly"]) == (
        ["conceal"],
        True,
    )
    assert client["token_endpoint_auth_method"]["schema"]["default_value"] == "none"
    run = {f["field"]: f for f in ok(admin.get("/fields/directus_deployment_runs"))}
    assert (run["project"]["type"], run["project"]["meta"]["special"]) == ("string", None)
    assert run["date_created"]["meta"]["special"] == ["date-created", "cast-timestamp"]
    assert ok(admin.get("/collections/directus_deployments"))["meta"]["icon"] == "cloud_upload"
    assert ok(admin.get("/collections/directus_oauth_tokens"))["meta"]["accountability"] is None


def test_the_feature_relations_are_directus_s(admin: httpx.Client) -> None:
    relations = {(r["collection"], r["field"]): r for r in ok(admin.get("/relations"))}
    runs = relations[("directus_deployment_runs", "project")]
    assert (runs["meta"]["one_field"], runs["meta"]["one_deselect_action"], runs["schema"]["on_delete"]) == (
        "runs",
        "delete",
        "CASCADE",
    )
    session = relations[("directus_sessions", "oauth_client")]
    assert (session["related_collection"], session["schema"]["foreign_key_column"]) == (
        "directus_oauth_clients",
        "client_id",
    )
    tokens = relations[("directus_oauth_tokens", "client")]
    assert (tokens["meta"]["one_field"], tokens["schema"]["on_delete"]) == ("tokens", "CASCADE")


def test_system_collection_meta_as_directus(admin: httpx.Client) -> None:
    assert ok(admin.get("/collections/directus_users"))["meta"] == USERS_META
    access = ok(admin.get("/collections/directus_access"))["meta"]
    assert (access["sort_field"], access["display_template"]) == ("sort", "{{ policy.name }}")


def test_system_field_meta_as_directus(admin: httpx.Client) -> None:
    fields = {f["field"]: f for f in ok(admin.get("/fields/directus_users"))}
    for field in fields.values():
        assert list(field["meta"]) == SYSTEM_FIELD_META_KEYS, field["field"]
        assert field["meta"]["system"] is True
    for name, special, interface in USER_FIELDS:
        assert (fields[name]["meta"]["special"], fields[name]["meta"]["interface"]) == (special, interface), name
    assert sorted(f["meta"]["sort"] for f in fields.values()) == list(range(1, len(fields) + 1))
    # numbered as on Directus, its form's dividers included (recorded from Directus 12.4.1)
    in_order = sorted(fields.values(), key=lambda f: f["meta"]["sort"])
    assert [f["field"] for f in in_order] == DIRECTUS_FIELDS["directus_users"].split()
    divider = fields["admin_divider"]
    assert (divider["type"], divider["schema"], divider["meta"]["sort"]) == ("alias", None, 21)
    assert divider["meta"]["special"] == ["alias", "no-data"]
    assert divider["meta"]["interface"] == "presentation-divider"


def test_system_relations_as_directus(admin: httpx.Client) -> None:
    relations = {(r["collection"], r["field"]): r for r in ok(admin.get("/relations"))}
    role = relations[("directus_users", "role")]
    assert list(role["meta"]) == SYSTEM_RELATION_META_KEYS
    assert (role["related_collection"], role["meta"]["one_field"], role["schema"]["on_delete"]) == (
        "directus_roles",
        "users",
        "SET NULL",
    )
    # modelled without a foreign key in Tidepool's tables, as Directus lists it: schema null
    modelled = relations[("directus_fields", "collection")]
    assert (modelled["related_collection"], modelled["schema"]) == ("directus_collections", None)
    assert modelled["meta"]["system"] is True


def test_snapshots_leave_system_entries_out(admin: httpx.Client) -> None:
    snapshot = ok(admin.get("/schema/snapshot"))
    assert (snapshot["collections"], snapshot["fields"], snapshot["relations"]) == ([], [], [])
