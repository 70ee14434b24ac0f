"""``/deployments``: Directus 12's deployments (Vercel, Netlify) answered as a Directus with none configured.

Tidepool talks to no deployment provider, so ``directus_deployments`` stays empty: the list reads it with the
caller's access (admins see ``[]``; others need a permission row, as on Directus, whose app minimum has
none), a new configuration is checked as Directus checks it and then refused the way Directus refuses one
whose provider it cannot reach (``INVALID_PROVIDER_CONFIG``), and every route of one provider answers
``INVALID_PATH_PARAMETER`` for a provider Directus does not know and ``FORBIDDEN`` for one that is not
configured (Directus: a 500, from an uncaught "not found"). Provider webhooks answer as Directus does when no
webhook is configured.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from tidepool.context import Action
from tidepool.errors import ForbiddenError, InvalidPathParameterError, InvalidPayloadError, InvalidProviderConfigError
from tidepool.http.context import request_context
from tidepool.http.requests import is_json, json_body
from tidepool.http.system_items import system_items
from tidepool.query.model import Query
from tidepool.services.items import ItemsService

COLLECTION = "directus_deployments"
PROVIDERS = ("vercel", "netlify")
DEPLOYMENTS = system_items(COLLECTION)

# Every route of one provider: (path after the provider, method, operation), Directus 12.4.1's controller.
_PROVIDER_ROUTES: tuple[tuple[str, str, str], ...] = (
    ("", "GET", "read_provider"),
    ("", "PATCH", "update_provider"),
    ("", "DELETE", "delete_provider"),
    ("/projects", "GET", "read_projects"),
    ("/projects", "PATCH", "update_projects"),
    ("/projects/{id}", "GET", "read_project"),
    ("/projects/{id}/deploy", "POST", "deploy_project"),
    ("/projects/{id}/runs", "GET", "read_runs"),
    ("/projects/{id}/runs/stats", "GET", "read_run_stats"),
    ("/dashboard", "GET", "read_dashboard"),
    ("/runs/{id}", "GET", "read_run"),
    ("/runs/{id}/cancel", "POST", "cancel_run"),
)


def routes() -> list[BaseRoute]:
    """The deployment routes, ``/deployments/webhooks/{provider}`` before the provider routes it would match.
    The webhook is a provider's callback answering in plain text, not a client's API: the OpenAPI document
    leaves it out (it would promise JSON answers the route never gives)."""
    return [
        Route("/deployments", create, methods=["POST"]),
        Route("/deployments", DEPLOYMENTS.read_list, methods=["GET"]),
        Route("/deployments", DEPLOYMENTS.search, methods=["SEARCH"]),
        Route("/deployments/webhooks/{provider}", webhook, methods=["POST"], include_in_schema=False),
        *(
            Route(f"/deployments/{{provider}}{tail}", _provider_handler(name), methods=[method])
            for tail, method, name in _PROVIDER_ROUTES
        ),
    ]


async def create(request: Request) -> Response:
    """``POST /deployments``: the payload checked as Directus checks it; a valid one cannot be stored, since
    Tidepool cannot test the connection to the provider (Directus's answer for an unreachable one)."""
    ctx = await request_context(request)
    body = await json_body(request)
    provider = _checked_payload(body)
    if not ctx.access.allows(COLLECTION, Action.CREATE):
        raise ForbiddenError.action(Action.CREATE, COLLECTION)
    raise InvalidProviderConfigError(provider, "Invalid config connection")


def _checked_payload(body: Any) -> str:
    """The provider of a valid ``POST /deployments`` body; ``INVALID_PAYLOAD`` worded as Directus's schema
    words the first problem (provider, then credentials, then options)."""
    if not isinstance(body, Mapping):
        raise InvalidPayloadError('"value" must be of type object')
    provider = body.get("provider")
    if provider is None:
        raise InvalidPayloadError('"provider" is required')
    if provider not in PROVIDERS or not isinstance(provider, str):
        raise InvalidPayloadError(f'"provider" must be one of [{", ".join(PROVIDERS)}]')
    if "credentials" not in body:
        raise InvalidPayloadError('"credentials" is required')
    for key in ("credentials", "options"):
        if key in body and not isinstance(body[key], Mapping):
            raise InvalidPayloadError(f'"{key}" must be of type object')
    if not body["credentials"]:
        raise InvalidPayloadError("Credentials are required")
    return provider


def _provider_handler(name: str) -> Callable[[Request], Awaitable[Response]]:
    """``provider_route`` under the operation's own name (the OpenAPI document names operations by handler)."""

    async def handler(request: Request) -> Response:
        return await provider_route(request)

    handler.__name__ = handler.__qualname__ = name
    handler.__doc__ = provider_route.__doc__
    return handler


async def provider_route(request: Request) -> Response:
    """A route of one deployment provider: an unknown provider is a bad path; a known one has no configuration
    in Tidepool, which reaches no provider."""
    provider = str(request.path_params["provider"])
    if provider not in PROVIDERS:
        raise InvalidPathParameterError(f"{provider} is not a supported provider")
    ctx = await request_context(request)
    query = Query(fields=("id",), filter={"provider": {"_eq": provider}}, limit=1)
    if not await ItemsService(ctx, COLLECTION).read_by_query(query):
        raise ForbiddenError()
    raise InvalidProviderConfigError(provider, "Invalid config connection")


async def webhook(request: Request) -> Response:
    """A provider's webhook, in Express's plain text as Directus answers it with no webhook configured: 404,
    or 400 for a known provider's call without a JSON body (Directus checks the raw body first)."""
    provider = str(request.path_params["provider"])
    if provider in PROVIDERS and not (is_json(request.headers.get("content-type")) and await request.body()):
        return PlainTextResponse("Bad Request", status_code=400)
    return PlainTextResponse("Not Found", status_code=404)
