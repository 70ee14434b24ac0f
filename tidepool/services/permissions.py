"""From an accountability to its ``Access``: the Directus 11 policy model, cached.

Effective policies are the union of the policies attached (``directus_access``) to the user's role and every
ancestor role (``directus_roles.parent``), to the user directly, and the public policies (access rows with
neither role nor user), keeping only policies whose ``ip_access`` admits the caller's IP. Any
``admin_access`` policy bypasses every check. Otherwise the policies' permission rows become ``Permission``
values with dynamic variables (``$CURRENT_USER.x``, ``$CURRENT_ROLE.x``, ``$CURRENT_ROLES``,
``$CURRENT_POLICIES``, ``$NOW``) resolved by ``tidepool.services.dynamic`` (the resolver client filters
use too); only the paths the rules mention are fetched. Each stored row is first judged against the
current schema (``rule_checks``): an item rule that cannot be evaluated matches no row, a row whose
validation/presets/fields cannot be used is left out, so a malformed row never answers 500 and never
grants every row.

Caching: the role/policy/permission tables are small and read on every request, so one snapshot of them is
kept per runtime (``AccessModel``, held by its ``AccessCache``) together with the resolved permissions per
(user, role, policies). Any write to those tables calls ``AccessCache.invalidate()`` after its commit: the
writing process at once (the transaction that moved the ``access`` version marker, ``services/versions.py``),
every other process when its version watcher sees the marker move or its dispatcher gets the write's bus
event. ``AccessCache.generation`` counts the invalidations; the realtime layer re-resolves open sockets when
it moves. A snapshot also expires after ``SNAPSHOT_TTL`` seconds, a safety net for hand-made SQL changes that
skip the marker.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
import sqlalchemy as sa

from tidepool.context import Access, Accountability, Action, Permission
from tidepool.db import system
from tidepool.db.schema import SchemaOverview
from tidepool.query.dynamic import DynamicVariables, resolve_dynamic
from tidepool.services import dynamic, rule_checks, system_access
from tidepool.services.base import ServiceContext, TxContext

SNAPSHOT_TTL = 5.0
MAX_CACHED_USERS = 10_000

# Writes to these collections change who may do what.
ACCESS_COLLECTIONS = frozenset(
    {"directus_roles", "directus_policies", "directus_access", "directus_permissions", "directus_users"}
)


@dataclass(frozen=True)
class PolicyRow:
    id: str
    admin_access: bool
    app_access: bool
    ip_access: tuple[str, ...]


@dataclass(frozen=True)
class PermissionRow:
    collection: str
    action: str
    fields: Any
    permissions: Any
    validation: Any
    presets: Any


@dataclass(frozen=True)
class Grant:
    """What authentication needs: the role chain, the admitted policies and the global flags."""

    roles: tuple[str, ...]
    policies: tuple[str, ...]
    admin: bool
    app: bool


@dataclass
class AccessModel:
    """A snapshot of the access tables plus the caches derived from it (dropped together)."""

    policies: Mapping[str, PolicyRow]
    role_parents: Mapping[str, str | None]
    role_policies: Mapping[str, tuple[str, ...]]
    public_policies: tuple[str, ...]
    permissions: Mapping[str, tuple[PermissionRow, ...]]
    generation: int
    loaded_at: float = field(default_factory=time.monotonic)
    user_policies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    resolved: dict[tuple[Any, ...], _Resolved] = field(default_factory=dict)
    # Who a credential is: static-token hash or user id -> (user id, role) of an *active* user. Dropped with
    # the snapshot, so any write to directus_users (suspension, new token, role change) is seen at once.
    identities: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    # Stored permission rows as judged (``rule_checks.usable_row``) per schema: None = unusable, dropped.
    judged: dict[int, tuple[SchemaOverview, PermissionRow | None]] = field(default_factory=dict)
    # Requests' access made from this snapshot (``http/context.py``), by credential and request origin, with
    # the schema it was resolved for: a repeated request skips authentication and access resolution.
    accesses: dict[Hashable, tuple[SchemaOverview, Access]] = field(default_factory=dict)

    def role_chain(self, role: str | None) -> tuple[str, ...]:
        chain: list[str] = []
        while role and role not in chain and role in self.role_parents:
            chain.append(role)
            role = self.role_parents[role]
        return tuple(chain)

    def fresh(self, cache: AccessCache) -> bool:
        return self.generation == cache.generation and time.monotonic() - self.loaded_at < SNAPSHOT_TTL


@dataclass(frozen=True)
class _Resolved:
    """Permission rows of one (user, role, policies) key, resolved unless they mention ``$NOW``."""

    raw: tuple[PermissionRow, ...]
    variables: DynamicVariables  # the records the rules' placeholders need, fetched once per key
    static: Mapping[tuple[str, Action], tuple[Permission, ...]] | None
    # The schema the rows were judged against (``rule_checks``): a schema change judges them again.
    schema: SchemaOverview | None = None


class AccessCache:
    """One runtime's access snapshot (``AccessModel``) and how many times it was dropped (``generation``).

    Held by the runtime and reached through ``ServiceContext.access_cache``, so dropping one runtime's
    snapshot leaves every other runtime of the process (tests run several servers in threads) untouched."""

    def __init__(self) -> None:
        self.generation = 0  # a socket whose access was resolved at an older generation resolves it again
        self.model: AccessModel | None = None
        # The load in progress (and the generation it started at), which every request that finds the snapshot
        # stale awaits: when it expired under 16 concurrent readers, each used to load it (four SELECTs) itself.
        self.loading: tuple[int, asyncio.Future[AccessModel]] | None = None

    def invalidate(self) -> None:
        """Forget the snapshot: the next request re-reads roles, policies, access and permissions."""
        self.generation += 1

    def invalidate_for(self, collection: str) -> None:
        """The hook for event consumers: invalidate when ``collection`` is one the access model depends on."""
        if collection in ACCESS_COLLECTIONS:
            self.invalidate()


async def policies_for(ctx: ServiceContext, user: str | None, role: str | None, ip: str | None) -> Grant:
    """The role chain and the IP-admitted policies of a user (or of the public when ``user`` is None)."""
    model = await _model(ctx)
    roles = model.role_chain(role)
    ids: list[str] = [p for r in roles for p in model.role_policies.get(r, ())]
    if user is not None:
        ids.extend(await _user_policies(ctx, model, user))
    ids.extend(model.public_policies)
    admitted = tuple(p for p in dict.fromkeys(ids) if p in model.policies and ip_allowed(model.policies[p], ip))
    return Grant(
        roles=roles,
        policies=admitted,
        admin=any(model.policies[p].admin_access for p in admitted),
        app=any(model.policies[p].app_access for p in admitted),
    )


async def access_for(ctx: ServiceContext, accountability: Accountability) -> Access:
    """What ``accountability`` may do: admins everything, others their policies' resolved permissions."""
    return (await settled_access_for(ctx, accountability))[0]


async def settled_access_for(ctx: ServiceContext, accountability: Accountability) -> tuple[Access, bool]:
    """``access_for``, and whether that access holds as long as the snapshot does (no rule reads ``$NOW``)."""
    if accountability.admin:
        return Access(accountability, admin=True), True
    model = await _model(ctx)
    public = tuple(p for p in model.public_policies if ip_allowed(model.policies[p], accountability.ip))
    policies = tuple(dict.fromkeys((*accountability.policies, *public)))
    key = (accountability.user, accountability.role, policies)
    entry = model.resolved.get(key)
    if entry is None or entry.schema is not ctx.schema:
        entry = await _resolve_entry(ctx, model, accountability, policies)
        if len(model.resolved) >= MAX_CACHED_USERS:
            model.resolved.clear()
        model.resolved[key] = entry
    if entry.static is not None:
        return Access(accountability, admin=False, permissions=entry.static), True
    return Access(accountability, admin=False, permissions=_resolve(entry)), False


def snapshot(cache: AccessCache) -> AccessModel | None:
    """The current snapshot while it is fresh, without loading one."""
    model = cache.model
    return model if model is not None and model.fresh(cache) else None


def known_access(cache: AccessCache, schema: SchemaOverview, key: Hashable) -> Access | None:
    """The access ``remember_access`` kept under ``key``, while its snapshot and schema are current."""
    model = snapshot(cache)
    entry = model.accesses.get(key) if model is not None else None
    return entry[1] if entry is not None and entry[0] is schema else None


def remember_access(
    cache: AccessCache, made_from: AccessModel, schema: SchemaOverview, key: Hashable, access: Access
) -> None:
    """Keep ``access`` (resolved for ``schema``) under ``key``, unless the snapshot it was made from (fresh
    when the request began) was replaced meanwhile: then it may rest on what that change undid, and the next
    request resolves its own."""
    if cache.model is not made_from or not made_from.fresh(cache):
        return
    if len(made_from.accesses) >= MAX_CACHED_USERS:
        made_from.accesses.clear()
    made_from.accesses[key] = (schema, access)


async def identity_cache(ctx: ServiceContext) -> dict[str, tuple[str, str | None]]:
    """The current snapshot's credential cache (see ``AccessModel.identities``); bounded like ``resolved``."""
    model = await _model(ctx)
    if len(model.identities) >= MAX_CACHED_USERS:
        model.identities.clear()
    return model.identities


def ip_allowed(policy: PolicyRow, ip: str | None) -> bool:
    """Directus's ``ip_access``: a list of addresses or CIDR networks; empty admits every caller."""
    if not policy.ip_access:
        return True
    if ip is None:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(_in_network(address, entry) for entry in policy.ip_access)


def _in_network(address: ipaddress.IPv4Address | ipaddress.IPv6Address, entry: str) -> bool:
    try:
        return address in ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError:
        return False


def parse_fields(raw: Any) -> frozenset[str] | None:
    """Stored CSV (or a list) to a field set; ``*`` anywhere means every field (None)."""
    if raw is None:
        return frozenset()
    if isinstance(raw, str) and raw.strip().startswith("["):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return frozenset()  # unreadable: no field (rule_checks drops such rows before they get here)
    parts = [p.strip() for p in (raw.split(",") if isinstance(raw, str) else raw) if str(p).strip()]
    return None if "*" in parts else frozenset(parts)


# -- loading ---------------------------------------------------------------------------------------------


async def _model(ctx: ServiceContext) -> AccessModel:
    cache = ctx.access_cache
    model = cache.model
    if model is not None and model.fresh(cache):
        return model
    if isinstance(ctx, TxContext):  # its own transaction's view: loaded on that connection, never shared
        model = cache.model = await _load_model(ctx)
        return model
    return await _shared_load(ctx, cache)


async def _shared_load(ctx: ServiceContext, cache: AccessCache) -> AccessModel:
    """One load per generation, however many requests need it at once; it runs as a task of its own, so a
    caller that is cancelled does not cancel it for the others."""
    loading = cache.loading
    if loading is None or loading[0] != cache.generation:
        future = asyncio.ensure_future(_load_model(ctx))
        loading = cache.loading = (cache.generation, future)

        def done(finished: asyncio.Future[AccessModel]) -> None:
            if cache.loading is not None and cache.loading[1] is finished:
                cache.loading = None
            if not finished.cancelled() and finished.exception() is None:
                cache.model = finished.result()

        future.add_done_callback(done)
    return await asyncio.shield(loading[1])


async def _load_model(ctx: ServiceContext) -> AccessModel:
    loaded_at_generation = ctx.access_cache.generation
    async with ctx.connection() as conn:
        policy_rows = (await conn.execute(sa.select(system.policies))).all()
        role_rows = (await conn.execute(sa.select(system.roles.c.id, system.roles.c.parent))).all()
        access_rows = (
            await conn.execute(
                sa.select(system.access.c.role, system.access.c.policy)
                .where(system.access.c.user.is_(None))
                .order_by(system.access.c.sort, system.access.c.id)
            )
        ).all()
        permission_rows = (await conn.execute(_raw_permissions())).all()
    role_policies: dict[str, list[str]] = {}
    public: list[str] = []
    for row in access_rows:
        (role_policies.setdefault(str(row.role), []) if row.role is not None else public).append(str(row.policy))
    permissions: dict[str, list[PermissionRow]] = {}
    for row in permission_rows:
        permissions.setdefault(str(row.policy), []).append(
            PermissionRow(row.collection, row.action, row.fields, row.permissions, row.validation, row.presets)
        )
    return AccessModel(
        policies={str(r.id): _policy_row(r) for r in policy_rows},
        role_parents={str(r.id): (str(r.parent) if r.parent else None) for r in role_rows},
        role_policies={k: tuple(v) for k, v in role_policies.items()},
        public_policies=tuple(public),
        permissions={k: tuple(v) for k, v in permissions.items()},
        generation=loaded_at_generation,
    )


def _raw_permissions() -> sa.Select[Any]:
    """The permission rows with their JSON columns as stored text: a row that is not valid JSON (written
    around the API) must reach ``rule_checks`` to be judged, not fail the whole snapshot while decoding."""
    table = system.permissions
    raw = [sa.type_coerce(table.c[name], sa.Text).label(name) for name in ("permissions", "validation", "presets")]
    return sa.select(table.c.collection, table.c.action, table.c.fields, table.c.policy, *raw).order_by(table.c.id)


def _policy_row(row: Any) -> PolicyRow:
    raw = row.ip_access
    entries = raw if isinstance(raw, list) else (raw or "").split(",")
    return PolicyRow(
        id=str(row.id),
        admin_access=bool(row.admin_access),
        app_access=bool(row.app_access),
        ip_access=tuple(e.strip() for e in entries if e and e.strip()),
    )


async def _user_policies(ctx: ServiceContext, model: AccessModel, user: str) -> tuple[str, ...]:
    cached = model.user_policies.get(user)
    if cached is not None:
        return cached
    access = system.access
    async with ctx.connection() as conn:
        rows = await conn.execute(
            sa.select(access.c.policy).where(access.c.user == user).order_by(access.c.sort, access.c.id)
        )
        policies = tuple(str(r.policy) for r in rows)
    if len(model.user_policies) >= MAX_CACHED_USERS:
        model.user_policies.clear()
    model.user_policies[user] = policies
    return policies


# -- resolving -------------------------------------------------------------------------------------------


async def _resolve_entry(
    ctx: ServiceContext, model: AccessModel, accountability: Accountability, policies: Sequence[str]
) -> _Resolved:
    implicit = _APP_MINIMAL_ROWS if accountability.app else ()
    stored = (row for p in policies for row in model.permissions.get(p, ()))
    raw = tuple(judged for row in (*stored, *implicit) if (judged := _judged(model, row, ctx)))
    rules = [[r.permissions, r.validation, r.presets] for r in raw]
    variables = await dynamic.variables_for(ctx, rules, accountability=accountability, policies=policies)
    entry = _Resolved(raw, variables, static=None, schema=ctx.schema)
    if b"$NOW" in orjson.dumps(rules):
        return entry
    return replace(entry, static=_resolve(entry))


def _implicit_row(rule: system_access.SystemRule) -> PermissionRow:
    fields = "*" if rule.fields is None else list(rule.fields)
    return PermissionRow(rule.collection, rule.action, fields, rule.rule, rule.validation, None)


# The app-access minimum (``services/system_access``) as permission rows, made once: ``_judged`` caches by
# a row's identity, so these must live as long as the process.
_APP_MINIMAL_ROWS = tuple(_implicit_row(rule) for rule in system_access.APP_ACCESS_MINIMAL)


def _judged(model: AccessModel, row: PermissionRow, ctx: ServiceContext) -> PermissionRow | None:
    """The row as ``rule_checks.usable_row`` judges it against the current schema, once per snapshot and
    schema (rows are shared by every user of a policy; judging compiles the rules). Keyed by the row's
    identity: JSON columns may come back as dicts (asyncpg), which do not hash."""
    cached = model.judged.get(id(row))
    if cached is None or cached[0] is not ctx.schema:
        cached = (ctx.schema, rule_checks.usable_row(row, ctx.schema, ctx.dialect))
        model.judged[id(row)] = cached
    return cached[1]


def _resolve(entry: _Resolved) -> Mapping[tuple[str, Action], tuple[Permission, ...]]:
    variables = dynamic.at_now(entry.variables)
    grouped: dict[tuple[str, Action], list[Permission]] = {}
    for row in entry.raw:
        action = _action(row.action)
        if action is None:
            continue
        grouped.setdefault((row.collection, action), []).append(
            Permission(
                collection=row.collection,
                action=action,
                fields=parse_fields(row.fields),
                rule=_filter(row.permissions, variables),
                validation=_filter(row.validation, variables),
                presets=_filter(row.presets, variables),
            )
        )
    return system_access.limit_schema_rows({k: tuple(v) for k, v in grouped.items()}, entry.schema)


def _action(raw: str) -> Action | None:
    try:
        return Action(raw)
    except ValueError:
        return None


def _filter(raw: Any, variables: DynamicVariables) -> Mapping[str, Any] | None:
    """``{}``/null mean "no restriction" (None); strings are JSON from engines without a JSON type."""
    value = orjson.loads(raw) if isinstance(raw, str | bytes) and raw else raw
    if not value:
        return None
    resolved: Mapping[str, Any] = resolve_dynamic(value, variables)
    return resolved
