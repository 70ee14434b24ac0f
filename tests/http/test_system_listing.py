"""System collections, fields and relations in ``/collections``, ``/fields``, ``/relations``: every
``directus_*`` table the database has, none it lacks, described as Directus 12.4.1 describes them (the
expected values below were recorded from it) from Tidepool's own table (``tidepool/db/system_meta.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa

from tests.http.accounts_support import ok
from tests.support.live import LiveServer
from tests.support.servers import module_server

srv = module_server("system_listing")

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
    assert "directus_deployments" not in listed  # Directus has it; Tidepool has no table, so it is not listed
    fields = ok(admin.get("/fields"))
    assert {f["collection"] for f in fields if f["collection"].startswith("directus_")} == set(listed)


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
    assert [f["meta"]["sort"] for f in fields.values()] == list(range(1, len(fields) + 1))


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
