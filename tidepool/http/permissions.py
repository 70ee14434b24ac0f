"""``/permissions``: permission rows of policies; admin-only writes."""

from __future__ import annotations

from tidepool.http.account_routes import crud_routes
from tidepool.services.policies import PermissionRowsService

routes = crud_routes("/permissions", PermissionRowsService)
