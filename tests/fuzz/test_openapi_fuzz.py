"""Schemathesis against ``/server/specs/oas`` on a real server: every documented operation, fuzzed.

The document is the server's own (``tidepool.http.specs``), fetched over HTTP as the admin and as the seed
guide's limited user; schemathesis draws requests from it (path parameters, query parameters, bodies typed
by the collections' fields) and checks every answer: never a 5xx, a documented status, the documented
content type, and a body that conforms wherever the document gives its schema. So a route or collection
added later is fuzzed without touching this file.

The admin's run leaves out the writes that would lock the run out of the server (``PATCH``/``DELETE`` of the
account collections and ``/users/me``: a random ``{"query": {}}`` would delete the admin or revoke its
policy); the limited user's run sends them all (they are refused). ``make test`` tries a few examples per
operation (``HYPOTHESIS_PROFILE=quick``), ``make test-long`` the full count.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema

from tests.support.examples import examples
from tests.support.live import ADMIN_TOKEN, LiveServer
from tests.support.seed import USER_TOKEN, seed_guide
from tests.support.servers import module_server

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
LOCKOUT = r"^/(users|roles|policies|permissions|access)(/|$)"  # PATCH/DELETE there may lock the admin out


def _seed(server: LiveServer) -> None:
    """The guide's ``messages`` (and its limited user), plus a collection with every scalar type and an m2o."""
    with server.client() as admin:
        seed_guide(admin)
        pk = {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}}
        fields = [
            pk,
            {"field": "title", "type": "string", "schema": {"is_nullable": False}},
            {"field": "count", "type": "integer"},
            {"field": "big", "type": "bigInteger"},
            {"field": "ratio", "type": "float"},
            {"field": "price", "type": "decimal"},
            {"field": "done", "type": "boolean"},
            {"field": "payload", "type": "json", "meta": {"special": ["cast-json"]}},
            {"field": "tags", "type": "csv", "meta": {"special": ["cast-csv"]}},
            {"field": "day", "type": "date"},
            {"field": "at", "type": "time"},
            {"field": "happened", "type": "dateTime"},
            {"field": "ref", "type": "uuid"},
            {"field": "message", "type": "integer"},
        ]
        assert admin.post("/collections", json={"collection": "things", "schema": {}, "fields": fields}).is_success
        relation = {"collection": "things", "field": "message", "related_collection": "messages"}
        assert admin.post("/relations", json=relation).is_success
        assert admin.post("/items/messages", json=[{"text": "hello"}, {"text": "world"}]).is_success


srv = module_server("openapi_fuzz", seed=_seed)

# The Hypothesis runs are inside the tests, so the plugin cannot see them: marked by hand, so that
# ``make test-long`` (``-m "long or hypothesis"``) runs them again at the full count.
pytestmark = pytest.mark.hypothesis


def _schema(server: LiveServer, token: str) -> OpenApiSchema:
    headers = {"Authorization": f"Bearer {token}"}
    return schemathesis.openapi.from_url(f"{server.url}/server/specs/oas", headers=headers)


FUZZ = settings(
    max_examples=examples(32),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,  # the same requests every run: a failure in CI is one anyone can replay
    database=None,
    phases=[Phase.generate, Phase.shrink],
)


def _fuzz(schema: OpenApiSchema, server: LiveServer, token: str, skip: str | None = None) -> list[str]:
    """Every operation of ``schema`` (but those whose path matches ``skip`` with PATCH/DELETE), fuzzed with valid
    and invalid requests; the failures, one line each (an operation stops at its first, shrunk by Hypothesis)."""
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()  # the document loads whole
        operation = result.ok()
        if skip and operation.method.upper() in ("PATCH", "DELETE") and re.search(skip, operation.path):
            continue
        modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        cases = st.one_of(*(operation.as_strategy(mode) for mode in modes))

        @FUZZ
        @given(case=cases)
        def run(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate(base_url=server.url, headers=headers, checks=CHECKS, timeout=30)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # every operation is tried; the report lists each failing one
            failures.append(f"{operation.method.upper()} {operation.path}: {type(exc).__name__}: {exc}"[:2000])
    return failures


@pytest.mark.timeout(600)  # about 20 s alone; generous for a loaded machine (make test-long tries 4x as many)
def test_every_operation_as_the_admin(srv: LiveServer) -> None:
    schema = _schema(srv, ADMIN_TOKEN)
    assert len(list(schema.get_all_operations())) > 40  # the document really lists the routes
    assert _fuzz(schema, srv, ADMIN_TOKEN, skip=LOCKOUT) == []


@pytest.mark.timeout(600)
def test_every_operation_as_the_limited_user(srv: LiveServer) -> None:
    schema = _schema(srv, USER_TOKEN)
    assert _fuzz(schema, srv, USER_TOKEN) == []
