"""``/roles``: Directus roles (nested through ``parent``); admin-only writes."""

from __future__ import annotations

from tidepool.http.account_routes import crud_routes
from tidepool.services.roles import RolesService

routes = crud_routes("/roles", RolesService)
