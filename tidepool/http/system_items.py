"""The project's system collections over ``http/crud``: ``/settings`` (a singleton), ``/presets``,
``/translations``, ``/shares``, ``/notifications``, ``/dashboards``, ``/panels``, ``/flows``,
``/operations``, ``/extensions`` (the empty registry) and ``/shares/info/{id}``.

Each is a plain ``ItemsService`` over its ``directus_*`` table with the caller's access, so lists take the
full query language, every read and write is checked against the caller's permission rows plus, for app
users, Directus's app-access minimum (``services/system_access``), and every write emits its events on the
``directus_*`` collection, which WebSocket subscribers receive under the same access. Flows and operations
are stored and read back, never run: Tidepool has no automation engine.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tidepool.http.context import request_context
from tidepool.http.crud import Crud, Singleton
from tidepool.http.responses import data_response
from tidepool.services import shares, system_access
from tidepool.services.items import ItemsService


def system_items(collection: str, *, singleton: bool = False) -> Crud[ItemsService]:
    """The item handlers of one system collection (``singleton``: read and upserted as one object)."""

    async def service(request: Request) -> ItemsService:
        return ItemsService(await request_context(request), collection)

    def single(service: ItemsService) -> Singleton | None:
        return service if singleton else None

    return Crud(service, single)


SETTINGS = system_items("directus_settings", singleton=True)


async def list_extensions(request: Request) -> Response:
    """Directus's answer with no extension installed: an empty list, to those who may read the registry."""
    ctx = await request_context(request)
    system_access.require_read(ctx.access, "directus_extensions")
    return data_response([])


async def share_info(request: Request) -> Response:
    """``GET /shares/info/{id}``: a share's public facts, for anyone holding its id."""
    ctx = await request_context(request)
    return data_response(await shares.share_info(ctx, str(request.path_params["id"])))
