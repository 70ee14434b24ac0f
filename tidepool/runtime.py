"""The long-lived parts of a running server, built once by the app's lifespan (or by a CLI command).

A ``Runtime`` owns the engine, the schema store and the event sink, and makes a ``ServiceContext`` for
each request or message. Tests and the CLI build one with ``open_runtime`` and get the same wiring as the
server.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from tidepool.background import Background
from tidepool.config import Settings
from tidepool.context import Access
from tidepool.db.bootstrap import BootstrapResult, bootstrap
from tidepool.db.engine import create_engine
from tidepool.db.errors import OutageLog, outages_of
from tidepool.db.introspect import load_schema
from tidepool.events import EventSink, NullSink
from tidepool.metrics import StatementStats
from tidepool.ratelimit import LoginLimiter
from tidepool.security import configure_hashing
from tidepool.services import versions
from tidepool.services.assets import TransformLimiter
from tidepool.services.base import OpenWrites, SchemaStore, ServiceContext, WriteGate
from tidepool.services.mail import Mailer
from tidepool.services.permissions import AccessCache
from tidepool.services.plans import PlanCache
from tidepool.services.versions import VersionWatcher
from tidepool.storage.base import Storage
from tidepool.storage.locations import build_storage

_MAX_KEPT_CONTEXTS = 1024  # a runtime's contexts of kept accesses (one per caller, token and address)


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    schemas: SchemaStore
    events: EventSink = field(default_factory=NullSink)
    bootstrap_result: BootstrapResult | None = None
    watcher: VersionWatcher | None = None  # while a server runs: sees other processes' schema/access changes
    login_limiter: LoginLimiter | None = None
    origin: str = field(default_factory=lambda: uuid.uuid4().hex)  # this process, in the events it logs
    writes: OpenWrites = field(default_factory=OpenWrites)  # write transactions in flight (a stopping server waits)
    # State of this runtime alone, never of the module or the process (two runtimes share none of it):
    write_gate: WriteGate = field(init=False)  # where its writers queue (one at a time on SQLite)
    outages: OutageLog = field(init=False)  # its database outages, logged once per kind and interval (its engine's)
    access_cache: AccessCache = field(default_factory=AccessCache)  # its access snapshot and generation
    plans: PlanCache = field(default_factory=PlanCache)  # its kept read plans
    storage: Storage = field(init=False)  # its storage locations (STORAGE_LOCATIONS)
    transforms: TransformLimiter = field(init=False)  # its image transformations in flight
    mailer: Mailer = field(init=False)  # its outgoing mail (EMAIL_*), sent in the background
    statements: StatementStats = field(default_factory=StatementStats)  # its engine's statements (metrics)
    background: Background = field(default_factory=Background)  # work requests started (exports to files)
    # Its contexts of kept accesses, by the access's id (``kept_context``):
    _kept_contexts: dict[int, ServiceContext] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.write_gate = WriteGate(self.engine)
        self.outages = outages_of(self.engine)
        self.storage = build_storage(self.settings)
        self.transforms = TransformLimiter(self.settings.ASSETS_TRANSFORM_MAX_CONCURRENT)
        self.mailer = Mailer(self.settings)
        if self.settings.METRICS_ENABLED:
            self.statements.watch(self.engine)
        if self.login_limiter is None and self.settings.RATE_LIMITER_LOGIN_ENABLED:
            points, duration = self.settings.RATE_LIMITER_LOGIN_POINTS, self.settings.RATE_LIMITER_LOGIN_DURATION
            self.login_limiter = LoginLimiter(points, duration)

    def kept_context(self, access: Access) -> ServiceContext:
        """``context(access)`` for an access the access cache keeps (the same object on every request of its
        caller): built once, and again only when the event sink was swapped (the realtime service swaps it at
        its start and stop). At most ``_MAX_KEPT_CONTEXTS``, then they are built afresh."""
        ctx = self._kept_contexts.get(id(access))
        if ctx is not None and ctx.access is access and ctx.events is self.events:
            return ctx
        ctx = self.context(access)
        if len(self._kept_contexts) >= _MAX_KEPT_CONTEXTS:
            self._kept_contexts.clear()
        self._kept_contexts[id(access)] = ctx
        return ctx

    def context(self, access: Access | None = None) -> ServiceContext:
        return ServiceContext(
            self.engine,
            self.settings,
            self.schemas,
            access or Access.full(),
            self.events,
            login_limiter=self.login_limiter,
            origin=self.origin,
            writes=self.writes,
            write_gate=self.write_gate,
            access_cache=self.access_cache,
            plans=self.plans,
            tracked=access is not None,  # the system's own work (bootstrap, CLI) keeps no history, as in Directus
        )


async def _versions(engine: AsyncEngine) -> dict[str, int]:
    """The version markers as of start-up, read before anything they describe is loaded: a change that
    commits in between moves them past these values, so the watcher reloads once more (never once less)."""
    async with engine.connect() as conn:
        return await versions.read(conn)


@asynccontextmanager
async def open_runtime(settings: Settings, *, run_bootstrap: bool = True) -> AsyncIterator[Runtime]:
    configure_hashing(settings)
    engine = create_engine(settings)
    try:
        result = await bootstrap(engine, settings) if run_bootstrap else None
        seen = await _versions(engine)
        schemas = SchemaStore(engine, await load_schema(engine), seen)
        runtime = Runtime(settings, engine, schemas, bootstrap_result=result)
        try:
            yield runtime
        finally:
            await runtime.background.drain()
            await runtime.mailer.drain()
            runtime.write_gate.close()
    finally:
        await engine.dispose()
