"""Starts and stops the realtime layer with the app (event bus, dispatcher, heartbeat)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from tidepool.runtime import Runtime


@asynccontextmanager
async def realtime_service(app: Starlette, runtime: Runtime) -> AsyncIterator[None]:
    yield
