"""``/policies``: Directus policies (global flags, ``ip_access``, inline ``permissions``); admin-only writes."""

from __future__ import annotations

from tidepool.http.account_routes import crud_routes
from tidepool.services.policies import PoliciesService

routes = crud_routes("/policies", PoliciesService)
