"""``/access``: attach a policy to a role or directly to a user; admin-only writes."""

from __future__ import annotations

from tidepool.http.account_routes import crud_routes
from tidepool.services.access_rows import AccessRowsService

routes = crud_routes("/access", AccessRowsService)
