"""Every URL the server answers, in one table (``build_routes``); the handlers live in their resource modules.

Starlette tries the routes in order and the first whose path and method both match answers, so a literal
path goes before the parametrised one it would also match (``/users/me`` before ``/users/{id}``). A path
that matches with another method is ``ROUTE_NOT_FOUND`` (``tidepool.app`` answers 404 and 405 alike).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from tidepool.config import Settings
from tidepool.http import (
    app_support,
    assets,
    auth,
    collections,
    deployments,
    fields,
    files,
    inspector,
    metrics,
    my_access,
    relations,
    schema,
    server,
    specs,
    system_items,
    users,
    utils,
    versions,
    view_as,
)
from tidepool.http.crud import ITEMS, Crud, account, of_service
from tidepool.http.static import RelativeStaticFiles
from tidepool.http.studio import studio_routes
from tidepool.services.access_rows import AccessRowsService
from tidepool.services.comments import CommentsService
from tidepool.services.content_versions import VersionsService
from tidepool.services.policies import PermissionRowsService, PoliciesService
from tidepool.services.roles import RolesService
from tidepool.services.users import UsersService

# The example pages live in the source checkout (examples/ beside the package).
EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"


def build_routes(settings: Settings) -> list[BaseRoute]:
    return [
        Route("/server/ping", server.ping, methods=["GET"]),
        Route("/server/health", server.health, methods=["GET"]),
        Route("/server/info", server.info, methods=["GET"]),
        Route("/tidepool/realtime", inspector.realtime, methods=["GET"]),
        Route("/tidepool/view-as/{collection}", view_as.view_as, methods=["GET"]),
        Route("/server/specs/oas", specs.oas, methods=["GET"]),
        *metrics.routes(settings),  # /metrics and /server/metrics, when METRICS_ENABLED
        Route("/auth/login", auth.login, methods=["POST"]),
        Route("/auth/refresh", auth.refresh, methods=["POST"]),
        Route("/auth/logout", auth.logout, methods=["POST"]),
        Route("/auth", auth.providers, methods=["GET"]),
        Route("/auth/password/request", auth.password_request, methods=["POST"]),
        Route("/auth/password/reset", auth.password_reset, methods=["POST"]),
        *crud_routes("/items/{collection}", ITEMS, search_first=True),
        Route("/utils/random/string", utils.random_string, methods=["GET"]),
        Route("/utils/hash/generate", utils.hash_generate, methods=["POST"]),
        Route("/utils/hash/verify", utils.hash_verify, methods=["POST"]),
        Route("/utils/sort/{collection}", utils.sort, methods=["POST"]),
        Route("/utils/cache/clear", utils.cache_clear, methods=["POST"]),
        Route("/utils/export/{collection}", utils.export, methods=["POST"]),
        Route("/collections", collections.create_collection, methods=["POST"]),
        Route("/collections", collections.list_collections, methods=["GET"]),
        Route("/collections", collections.list_collections, methods=["SEARCH"]),
        Route("/collections/{collection}", collections.read_collection, methods=["GET"]),
        Route("/collections/{collection}", collections.update_collection, methods=["PATCH"]),
        Route("/collections/{collection}", collections.delete_collection, methods=["DELETE"]),
        Route("/fields", fields.list_all, methods=["GET"]),
        Route("/fields/{collection}", fields.list_in_collection, methods=["GET"]),
        Route("/fields/{collection}", fields.create_field, methods=["POST"]),
        Route("/fields/{collection}", fields.update_fields, methods=["PATCH"]),
        Route("/fields/{collection}/{field}", fields.read_field, methods=["GET"]),
        Route("/fields/{collection}/{field}", fields.update_field, methods=["PATCH"]),
        Route("/fields/{collection}/{field}", fields.delete_field, methods=["DELETE"]),
        Route("/relations", relations.list_all, methods=["GET"]),
        Route("/relations", relations.create_relation, methods=["POST"]),
        Route("/relations/{collection}", relations.list_in_collection, methods=["GET"]),
        Route("/relations/{collection}/{field}", relations.read_relation, methods=["GET"]),
        Route("/relations/{collection}/{field}", relations.update_relation, methods=["PATCH"]),
        Route("/relations/{collection}/{field}", relations.delete_relation, methods=["DELETE"]),
        Route("/schema/snapshot", schema.snapshot, methods=["GET"]),
        Route("/schema/diff", schema.diff, methods=["POST"]),
        Route("/schema/apply", schema.apply, methods=["POST"]),
        Route("/users/me", users.read_me, methods=["GET"]),
        Route("/users/me", users.update_me, methods=["PATCH"]),
        Route("/users/me/track/page", users.track_page, methods=["PATCH"]),
        Route("/users/invite", users.invite, methods=["POST"]),
        Route("/users/invite/accept", users.accept_invite, methods=["POST"]),
        Route("/permissions/me", my_access.permissions_me, methods=["GET"]),
        Route("/permissions/me/{collection}", my_access.item_permissions, methods=["GET"]),
        Route("/permissions/me/{collection}/{id}", my_access.item_permissions, methods=["GET"]),
        Route("/roles/me", my_access.roles_me, methods=["GET"]),
        Route("/policies/me/globals", my_access.policy_globals, methods=["GET"]),
        *crud_routes("/users", account(UsersService)),
        *crud_routes("/roles", account(RolesService)),
        *crud_routes("/policies", account(PoliciesService)),
        *crud_routes("/permissions", account(PermissionRowsService)),
        *crud_routes("/access", account(AccessRowsService)),
        Route("/files/import", files.import_file, methods=["POST"]),
        *crud_routes("/files", files.FILES, create=files.create_files, update_item=files.update_file),
        *crud_routes("/folders", files.FOLDERS),
        Route("/assets/{id}", assets.read_asset, methods=["GET", "HEAD"]),
        Route("/assets/{id}/{filename}", assets.read_asset, methods=["GET", "HEAD"]),
        Route("/settings", system_items.SETTINGS.read_list, methods=["GET"]),
        Route("/settings", system_items.SETTINGS.update_list, methods=["PATCH"]),
        *crud_routes("/presets", system_items.system_items("directus_presets")),
        *crud_routes("/translations", system_items.system_items("directus_translations")),
        *crud_routes("/shares", system_items.system_items("directus_shares")),
        Route("/shares/info/{id:uuid}", system_items.share_info, methods=["GET"]),
        *crud_routes("/notifications", system_items.system_items("directus_notifications")),
        *crud_routes("/dashboards", system_items.system_items("directus_dashboards")),
        *crud_routes("/panels", system_items.system_items("directus_panels")),
        *crud_routes("/flows", system_items.system_items("directus_flows")),
        *crud_routes("/operations", system_items.system_items("directus_operations")),
        *deployments.routes(),
        Route("/extensions", system_items.list_extensions, methods=["GET"]),
        Route("/extensions/sources/index.js", app_support.extension_sources, methods=["GET"]),
        Route("/license", app_support.license_info, methods=["GET"]),
        *read_routes("/activity", system_items.system_items("directus_activity")),
        *read_routes("/revisions", system_items.system_items("directus_revisions")),
        *crud_routes("/comments", of_service(CommentsService)),
        Route("/versions/{id}/save", versions.save, methods=["POST"]),
        Route("/versions/{id}/compare", versions.compare, methods=["GET"]),
        Route("/versions/{id}/promote", versions.promote, methods=["POST"]),
        *crud_routes("/versions", of_service(VersionsService)),
        *examples(settings),
        *studio_routes(settings),
    ]


Handler = Callable[[Request], Awaitable[Response]]


def crud_routes(
    prefix: str,
    crud: Crud[Any],
    *,
    create: Handler | None = None,
    update_item: Handler | None = None,
    search_first: bool = False,
) -> list[BaseRoute]:
    """Directus's item routes under one prefix: the collection (``SEARCH`` reads with the query in the body),
    and one item of it by ``{id}``. ``/files`` takes its own ``create`` and ``update_item`` (they also accept
    uploads) and keeps the others. The order is Directus's (Express lists a path's methods in ``Allow`` in the
    order they were declared): ``SEARCH`` before ``GET`` on ``/items``, after it on the system collections."""
    read = [Route(prefix, crud.read_list, methods=["GET"])]
    search = [Route(prefix, crud.search, methods=["SEARCH"])]
    return [
        Route(prefix, create or crud.create, methods=["POST"]),
        *(search + read if search_first else read + search),
        Route(prefix, crud.update_list, methods=["PATCH"]),
        Route(prefix, crud.delete_list, methods=["DELETE"]),
        Route(prefix + "/{id}", crud.read_item, methods=["GET"]),
        Route(prefix + "/{id}", update_item or crud.update_item, methods=["PATCH"]),
        Route(prefix + "/{id}", crud.delete_item, methods=["DELETE"]),
    ]


def read_routes(prefix: str, crud: Crud[Any]) -> list[BaseRoute]:
    """The read routes of a read-only collection (its writes are ``ROUTE_NOT_FOUND``, as in Directus)."""
    return [
        Route(prefix, crud.search, methods=["SEARCH"]),
        Route(prefix, crud.read_list, methods=["GET"]),
        Route(prefix + "/{id}", crud.read_item, methods=["GET"]),
    ]


def examples(settings: Settings) -> list[BaseRoute]:
    """``/examples/``: the example pages, when ``EXAMPLES_ENABLED`` and the checkout has them."""
    if not (settings.EXAMPLES_ENABLED and EXAMPLES_DIR.is_dir()):
        return []
    return [Mount("/examples", RelativeStaticFiles(directory=EXAMPLES_DIR, html=True), name="examples")]
