"""Fan-out: one committed change → the exact messages each subscriber may see, at a cost per group.

For each event (in ``seq`` order, one at a time, so every subscriber gets events in commit order):

1. Take the collection's subscriptions that are registered for this seq (``from_seq < seq``) and whose
   ``item`` (if any) is among the keys (compared as strings, so numeric keys match: improvement 3).
2. **Group** them by (event query, effective read access). A group costs one re-read of the event's keys
   with its query, run concurrently with the other groups' reads (bounded by the connection pool), and one
   encoding of each row; each subscriber's frame is the group's bytes with its own ``uid``/``seq`` spliced in.
   **Batching** (``realtime/batching.py``): the "plain" groups of one access (top-level fields, a filter
   ``matches`` can evaluate) share ONE read of the union of their fields; each keeps the rows its filter
   matches, projected to its own fields. Any failure of the shared read falls back to one read per group.
3. Decide per group, per key, who could see the row **before** (the event's ``before`` rows checked against
   the group's read rules, subscription filter and search: in Python with ``matches``, or in SQL on a
   one-row derived table when a rule is relational) and who can see it **after** (the re-read):
   before and after → ``update``; only after → ``create`` (enter); only before → ``delete`` (leave);
   a ``delete`` event goes only to groups that could see the row before (improvements 1 and 2).
   Rows the subscriber may not read, and fields it may not read, are never in its frames: all data comes
   from a re-read as that subscriber's *current* access.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa

from tidepool.context import Action, Permission
from tidepool.db.schema import CollectionInfo
from tidepool.errors import ServiceUnavailableError, TidepoolError
from tidepool.events import ChangeEvent, row_keyed
from tidepool.metrics import DispatchStats, statement_tally
from tidepool.query.evaluate import NotEvaluable
from tidepool.query.model import Query
from tidepool.query.search import search_filter
from tidepool.query.visibility import grants
from tidepool.realtime import batching
from tidepool.realtime.batching import PlainForms
from tidepool.realtime.bus.base import Bus, Gap
from tidepool.realtime.connection import RESUME_CLOSE_CODE
from tidepool.realtime.grouping import AccessKeys, GroupFaults
from tidepool.realtime.protocol import encode, error_message, js_string
from tidepool.realtime.reads import compile_filter, matches, read_many, read_meta
from tidepool.realtime.subscriptions import Outgoing, Subscription, SubscriptionManager, SubState, deliver_group
from tidepool.runtime import Runtime
from tidepool.services.base import ServiceContext
from tidepool.services.payload import bindable
from tidepool.services.payload_cast import cast_value

log = logging.getLogger("tidepool.realtime")

Group = list[Subscription]  # the subscriptions that share one read (same event query, same access)

# ------------------------------------------------------------------------------------ per group


@dataclass
class GroupResult:
    """What one group may see of one event: re-read rows (encoded once) and the keys visible before."""

    after: dict[str, bytes] = field(default_factory=dict)  # key -> encoded row, in event key order
    before: set[str] | None = None  # keys visible before the change; None = not applicable
    meta: bytes = b""
    error: TidepoolError | None = None
    unseen: set[str] = field(default_factory=set)  # keys whose update wrote only fields hidden there: no frame
    _cache: dict[str, list[Outgoing]] = field(default_factory=dict)


class GroupReader:
    """Computes a ``GroupResult`` for one group, with the group's first subscriber's access and query."""

    def __init__(self, ctx: ServiceContext, sub: Subscription, event: ChangeEvent) -> None:
        self.ctx = ctx
        self.sub = sub
        self.event = event
        self.info = ctx.schema.collections[event.collection]

    async def run(self, after: dict[str, bytes] | None = None) -> GroupResult:
        """The group's result; ``after`` is the group's re-read when a batch already made it."""
        result = GroupResult()
        try:
            if self.event.action != "delete":
                result.after = after if after is not None else await self._read_after()
                result.meta = await self._meta()
            if self.event.action != "create":
                result.before = await self._visible_before(result.after)
            if self.event.action == "update":
                result.unseen = await self._unseen_keys()
        except TidepoolError as exc:
            result.error = exc
        return result

    async def _read_after(self) -> dict[str, bytes]:
        query, strip = _with_primary_key(self.sub.event_query, self.info.primary_key)
        rows = await read_many(self.ctx, self.event.collection, self.event.keys, query.replace(meta=None))
        pk = self.info.primary_key
        return after_bytes(self.event, [(row.get(pk), _without(row, pk) if strip else row) for row in rows])

    async def _meta(self) -> bytes:
        wanted = self.sub.event_query.meta
        if not wanted:
            return b""
        meta = await read_meta(self.ctx, self.event.collection, self.sub.event_query, wanted)
        return b',"meta":' + encode(meta)

    async def _unseen_keys(self) -> set[str]:
        """Keys of an update whose written fields (the write records them in the event) this group may not read
        on that row. Their ``update`` frame would show nothing readable and only tell that a hidden value
        changed, and when: an oracle on the hidden field. A field is readable on a row when a read permission
        that holds for the row grants it (``_as_read``), so with two permissions (every field of the caller's
        own rows, a few of every row) a write of ``n`` on another's row is unseen too. A row it moves into or
        out of view still gets its ``create``/``delete`` (that much a REST read shows too)."""
        written = [str(name) for name in self.event.extra.get("fields") or ()]
        if not written or self.ctx.access.admin:
            return set()
        permissions = self.ctx.access.rules(self.event.collection, Action.READ)
        granting = [p for p in permissions if any(grants(p, name) for name in written)]
        keys = {js_string(k) for k in self.event.keys}
        if not granting:
            return keys
        if any(not p.rule for p in granting) or not self.event.before or _names_any(permissions, written):
            return set()  # granted on every row, no before image, or the write may change which rules hold
        pk = self.info.primary_key
        return keys - {js_string(row.get(pk)) for row in self.event.before if await self._granted(granting, row)}

    async def _granted(self, granting: Sequence[Permission], row: Mapping[str, Any]) -> bool:
        for permission in granting:
            if await self._holds(permission.rule or {}, row):
                return True
        return False

    async def _visible_before(self, after: Mapping[str, bytes]) -> set[str]:
        """Keys of the event whose row, as it was before, this group could read and its filter matched."""
        pk = self.info.primary_key
        rows = {js_string(row.get(pk)): row for row in self.event.before}
        if not rows and self.event.action == "update":
            return set(after)  # no before image: treat as unchanged visibility (plain Directus update)
        visible: set[str] = set()
        for key in (js_string(k) for k in self.event.keys):
            row = rows.get(key)
            if row is not None and await self._row_visible(row):
                visible.add(key)
        return visible

    async def _row_visible(self, row: Mapping[str, Any]) -> bool:
        seen = await self._as_read(row)
        return seen is not None and await self._filtered(seen, row)

    async def _as_read(self, row: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The row as this group's caller would have read it (None: not at all). A field no holding permission
        grants is null, as in every read (``query/visibility.py``), so a hidden value never decides an event."""
        permissions = self.ctx.access.rules(self.event.collection, Action.READ)
        if self.ctx.access.admin or all(grants(p, "*") for p in permissions):
            return row if await self._permitted(row) else None
        holding = [p for p in permissions if not p.rule or await self._holds(p.rule, row)]
        if not holding:
            return None
        return {name: value if any(grants(p, name) for p in holding) else None for name, value in row.items()}

    async def _permitted(self, row: Mapping[str, Any]) -> bool:
        if self.ctx.access.admin:
            return True
        rules = [p.rule for p in self.ctx.access.rules(self.event.collection, Action.READ)]
        if any(not rule for rule in rules):
            return bool(rules)
        for rule in rules:
            if rule and await self._holds(rule, row):
                return True
        return False

    async def _filtered(self, seen: Mapping[str, Any], stored: Mapping[str, Any]) -> bool:
        """Whether the subscription's filter and search hold for the row the caller saw (``seen``; ``stored``:
        the same row with every value, for the SQL check, which masks as the caller's reads do)."""
        query = self.sub.event_query
        if query.filter and not await self._holds(query.filter, seen, as_caller=stored):
            return False
        if not query.search:
            return True
        found = search_filter(self.info, query.search, self.ctx.access)  # the reads' own search terms
        return found is not None and await self._holds(found, seen, as_caller=stored)

    async def _holds(
        self, condition: Mapping[str, Any], row: Mapping[str, Any], as_caller: Mapping[str, Any] | None = None
    ) -> bool:
        """``matches`` in Python; for relational parts, the same filter in SQL on the row as a derived table.

        A permission rule is trusted configuration: compiled with every value and related row. The caller's own
        filter (``as_caller``: the stored row) is compiled with the caller's access, as its reads compile it, so a
        related row it may not read counts as missing: compiled as the admin, a filter naming a hidden author's
        name turned a right guess into a ``delete`` and a wrong one into nothing (an oracle)."""
        try:
            return matches(condition, row, self.event.collection, self.ctx.schema)
        except NotEvaluable:
            if as_caller is None:
                return await self._holds_in_sql(condition, row, self.ctx.as_admin())
            return await self._holds_in_sql(condition, as_caller, self.ctx)
        except Exception as exc:
            log.warning("filter evaluation failed on %s: %s", self.event.collection, exc)
            return False

    async def _holds_in_sql(self, condition: Mapping[str, Any], row: Mapping[str, Any], ctx: ServiceContext) -> bool:
        """A one-row ``SELECT`` of the old values under the table's name: relational subqueries still work.

        Any failure (a value that cannot be bound back, an engine quirk) counts as "not visible": the
        subscriber then misses one message rather than seeing something it may not."""
        table = self.info.table
        stored = _stored_row(self.info, row, self.ctx.dialect)
        values = [sa.literal(stored.get(c.name), type_=c.type).label(c.name) for c in table.columns]
        derived = sa.select(*values).subquery(table.name)
        try:
            where = compile_filter(condition, ctx, self.event.collection, derived)
            async with self.ctx.connection() as conn:
                found = (await conn.execute(sa.select(sa.literal(1)).select_from(derived).where(where))).first()
        except Exception as exc:
            log.warning("relational visibility check failed on %s: %s", self.event.collection, exc)
            return False
        return found is not None


def _names_any(permissions: Sequence[Permission], names: Sequence[str]) -> bool:
    """Whether any permission's rule names one of ``names`` as a key, at any depth (a relational path too)."""
    wanted = set(names)

    def walk(node: Any) -> bool:
        if isinstance(node, Mapping):
            return any(key in wanted or walk(value) for key, value in node.items())
        return isinstance(node, list) and any(walk(value) for value in node)

    return any(walk(p.rule) for p in permissions if p.rule)


def after_bytes(event: ChangeEvent, rows: Sequence[tuple[Any, Mapping[str, Any]]]) -> dict[str, bytes]:
    """(key, row as sent) pairs → encoded rows by key, in the event's key order (else the read's order)."""
    by_key = {js_string(key): row for key, row in rows}
    ordered = [js_string(k) for k in event.keys if js_string(k) in by_key] or list(by_key)
    return {key: encode(by_key[key]) for key in dict.fromkeys(ordered)}


def _stored_row(info: CollectionInfo, row: Mapping[str, Any], dialect: str) -> dict[str, Any]:
    """The before image (serialized as the reader returns it: timestamps as ISO strings, csv as lists,
    decimals as strings) back to what each column binds, with the same casts a write uses. A masked
    (concealed) value stays as it is: it matches what a filter on it matches, nothing."""
    values: dict[str, Any] = {}
    for name, value in row.items():
        meta = info.fields.get(name)
        if meta is None or value is None or meta.concealed:
            values[name] = value
            continue
        try:
            values[name] = cast_value(info, meta, value)
        except TidepoolError:
            values[name] = value
    return bindable(info, values, dialect)


def _with_primary_key(query: Query, pk: str) -> tuple[Query, bool]:
    """The event read must return each row's key (to tell which key entered/left); strip it if not asked.

    Asked means named, or covered by a root wildcard: ``*``, and ``*.*`` / ``*.x`` too, whose root part is the
    same ``*`` (the field planner splits every path at its first dot the same way)."""
    fields = query.fields
    if fields is None or pk in fields or any(f.strip().partition(".")[0] == "*" for f in fields):
        return query, False
    return query.replace(fields=(*fields, pk)), True


def _without(row: Mapping[str, Any], pk: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != pk}


# ------------------------------------------------------------------------------- frames per sub


def _keys_json(keys: Sequence[Any]) -> tuple[tuple[str, bytes], ...]:
    return tuple((js_string(k), orjson.dumps(k)) for k in keys)


def outgoing_for(sub: Subscription, event: ChangeEvent, result: GroupResult) -> list[Outgoing]:
    """The messages one subscriber gets for one event (shared by the whole group unless ``item`` is set)."""
    if sub.item is not None:
        return _item_outgoing(sub, event, result)
    return shared_outgoing(event, result)


def shared_outgoing(event: ChangeEvent, result: GroupResult) -> list[Outgoing]:
    """The group's collection messages for the event, computed once per group."""
    cached = result._cache.get("collection")
    if cached is None:
        cached = result._cache["collection"] = _collection_outgoing(event, result)
    return cached


def _collection_outgoing(event: ChangeEvent, result: GroupResult) -> list[Outgoing]:
    seq = event.seq or 0
    before = result.before or set()
    if event.action == "delete":
        gone = [k for k in event.keys if js_string(k) in before]
        return [Outgoing(seq, "delete", _keys_json(gone))] if gone else []
    rows = result.after
    if event.action == "create":
        return [Outgoing(seq, "create", tuple(rows.items()), meta=result.meta)] if rows else []
    staying = tuple((k, v) for k, v in rows.items() if k in before and k not in result.unseen)
    entering = tuple((k, v) for k, v in rows.items() if k not in before)
    leaving = [k for k in event.keys if js_string(k) in before and js_string(k) not in rows]
    out = [
        Outgoing(seq, "update", staying, meta=result.meta) if staying else None,
        Outgoing(seq, "create", entering, meta=result.meta) if entering else None,
        Outgoing(seq, "delete", _keys_json(leaving)) if leaving else None,
    ]
    return [o for o in out if o is not None]


def _item_outgoing(sub: Subscription, event: ChangeEvent, result: GroupResult) -> list[Outgoing]:
    """Item subscriptions: object data for create/update, the item id string for delete."""
    item = sub.item or ""
    seq = event.seq or 0
    was = item in (result.before or set())
    row = result.after.get(item)
    deleted = ((item, orjson.dumps(item)),)
    by_state = {
        ("delete", True, None): Outgoing(seq, "delete", deleted, array=False),
        ("create", False, True): Outgoing(seq, "create", ((item, row or b""),), array=False),
        ("update", True, True): Outgoing(seq, "update", ((item, row or b""),), array=False, meta=result.meta),
        ("update", False, True): Outgoing(seq, "create", ((item, row or b""),), array=False),
        ("update", True, False): Outgoing(seq, "delete", deleted, array=False),
    }
    state = (event.action, was, None if event.action == "delete" else row is not None)
    found = None if state == ("update", True, True) and item in result.unseen else by_state.get(state)
    return [found] if found is not None else []


# ---------------------------------------------------------------------------------- dispatcher


class Dispatcher:
    """Consumes the bus in order and fans each event out to this process's subscribers."""

    def __init__(self, runtime: Runtime, manager: SubscriptionManager, bus: Bus, *, batching: bool = True) -> None:
        self.runtime = runtime
        self.manager = manager
        self.bus = bus
        # Serve the plain groups of one access with one shared read (tests turn it off to compare frames).
        self.batching = batching
        self.plain_forms = PlainForms()  # the plain analysis of each subscription shape
        self.access_keys = AccessKeys(runtime.plans)
        self.faults = GroupFaults()
        pool = runtime.settings.DB_POOL_SIZE
        self._reads = asyncio.Semaphore(1 if runtime.engine.dialect.name == "sqlite" else max(1, pool - 2))
        self.last_seq = 0  # the last event handled (tests and metrics wait on it)
        self.stats = DispatchStats()  # events, messages, time and statements per event (``/server/metrics``)
        # Awaited before each event: the WebSocket side re-resolves sockets' access here after a change
        # (``realtime/revalidate.py``), so no event is computed with access that was revoked.
        self.before_event: Callable[[], Awaitable[None]] | None = None  # awaited before each event when set

    async def run(self) -> None:
        consumer = self.bus.consumer()
        self.last_seq = self.bus.last_seq
        async for item in consumer:
            if isinstance(item, Gap):
                self._lost(item)
                continue
            try:
                _invalidate_access(item.collection, self.runtime)
                if self.before_event is not None:
                    await self.before_event()
                await self._measured(item)
            except Exception as exc:  # not one group's failure (those are reported per group): the whole event
                self.faults.report(f"dispatch of {item.action}", item.collection, [], exc)
            self.last_seq = item.seq or self.last_seq

    async def _measured(self, event: ChangeEvent) -> None:
        """``dispatch``, counted: its time and the statements it ran (``tidepool.metrics.statement_tally``)."""
        tally = [0]
        token = statement_tally.set(tally)
        started = time.perf_counter()
        try:
            await self.dispatch(event)
        finally:
            statement_tally.reset(token)
            self.stats.events += 1
            self.stats.seconds.observe(time.perf_counter() - started)
            self.stats.statements.observe(tally[0])

    def groups(self) -> int:
        """How many groups the registered subscribers form now (one read each per event of their collection)."""
        keys = {
            (sub.query_key, self.access_keys.key(sub.client.access))
            for collection in self.manager.collections()
            for sub in self.manager.subscriptions_for(collection)
        }
        return len(keys)

    async def replay(self, sub: Subscription, events: Sequence[ChangeEvent]) -> list[bytes]:
        """The frames a resuming subscription gets for logged events it missed: computed exactly as live
        ones (its group of one, its current access, rows as they are now), in ``seq`` order."""
        frames: list[bytes] = []
        for event in map(row_keyed, events):
            if not _wants(sub, event, None) or event.collection not in self.runtime.schemas.current.collections:
                continue
            result = await self._replayed(sub, event)
            if result.error is not None:
                frames.append(encode(_error_for(sub, result.error)))
                continue
            frames += [out.frame(sub, out.items) for out in outgoing_for(sub, event, result) if sub.wants(out)]
        return frames

    async def _replayed(self, sub: Subscription, event: ChangeEvent) -> GroupResult:
        """One replayed event's result, read again after each of ``OUTAGE_PAUSES`` while the database is away,
        as live events are. If it stays away, the resume fails as a whole (``SERVICE_UNAVAILABLE``, answered
        with the subscription's uid; nothing is registered): an error frame in the event's place would lose
        the event, and the client can resume from the same ``since`` once the database answers."""
        head: list[tuple[Hashable, Group]] = [(None, [sub])]
        result = (await self._reread_outages(head, [(await self._evaluate_alone(0, [sub], event))[0]], event))[0]
        if isinstance(result.error, ServiceUnavailableError):
            log.warning("replaying event %s on %s: the database did not answer", event.seq, event.collection)
            raise result.error
        return result

    def _lost(self, gap: Gap) -> None:
        """Events this process can never read (retention removed them first): every subscriber may have
        missed some, so each socket is closed with the resume code; resubscribing with ``since`` then
        answers a fresh ``init``, as the log no longer reaches that far back."""
        self.manager.close_all(RESUME_CLOSE_CODE, "events lost")
        self.last_seq = gap.last

    async def dispatch(self, event: ChangeEvent) -> None:
        seq = event.seq or 0
        if event.collection == "directus_collections" and event.action == "delete":  # keyed by the names
            self.manager.end_dropped(event.keys, seq)
        event = row_keyed(event)
        if event.collection not in self.runtime.schemas.current.collections:
            return
        groups: dict[tuple[bytes, Hashable], list[Subscription]] = {}
        access_key = self.access_keys.key
        for sub in self.manager.subscriptions_for(event.collection):
            if _wants(sub, event, seq):
                key = (sub.shape.query_key, access_key(sub.client.access))
                group = groups.get(key)
                if group is None:
                    groups[key] = [sub]
                else:
                    group.append(sub)
        if not groups:
            return
        heads = [(key[1], group) for key, group in groups.items()]
        results = await self._until_read(heads, await self._evaluate_groups(heads, event), event)
        for (_, group), result in zip(heads, results, strict=True):
            if result is None:
                continue
            try:
                self.stats.messages += _deliver_all(group, event, result)
            except Exception as exc:
                self.faults.report("delivery", event.collection, group, exc)

    async def _evaluate_groups(self, heads: list[tuple[Hashable, Group]], event: ChangeEvent) -> list[GroupResult]:
        """One result per group (in order): a shared read per access for its plain groups, one read per
        other group, all run concurrently. Never raises: a failing group gets an error result of its own."""
        batches: dict[Hashable, list[tuple[int, Group, batching.Plain]]] = {}
        alone: list[int] = []
        for index, (access_key, group) in enumerate(heads):
            found = self._plain(group[0], event)
            if found is None:
                alone.append(index)
            else:
                batches.setdefault(access_key, []).append((index, group, found))
        for access_key, batch in list(batches.items()):
            if len(batch) < 2:  # a batch of one is the group's own read
                alone.extend(index for index, _, _ in batches.pop(access_key))
        jobs = [self._evaluate_batch_guarded(batch, event) for batch in batches.values()]
        jobs += [self._evaluate_alone(index, heads[index][1], event) for index in alone]
        results: dict[int, GroupResult] = {}
        for done in await asyncio.gather(*jobs):
            results.update(done)
        return [results[index] for index in range(len(heads))]

    async def _until_read(
        self, heads: list[tuple[Hashable, Group]], results: list[GroupResult], event: ChangeEvent
    ) -> list[GroupResult | None]:
        """The groups whose read met a database outage (a dropped connection, a restart) read again after
        each of ``OUTAGE_PAUSES``: the pool reconnects meanwhile, and a committed change's event is delivered,
        never replaced by an error frame because the database was away for a moment. A group still failing
        after the last pause is not served (None): its sockets are closed with the resume code, and their
        clients resume with ``since`` from the log once the database answers (the event is not lost)."""
        found: list[GroupResult | None] = list(await self._reread_outages(heads, results, event))
        for index, result in enumerate(found):
            if result is not None and _outage(result):
                log.warning(
                    "event %s on %s: the database did not answer; its subscribers resume", event.seq, event.collection
                )
                for sub in heads[index][1]:
                    sub.client.close(RESUME_CLOSE_CODE, "events lost")
                found[index] = None
        return found

    async def _reread_outages(
        self, heads: list[tuple[Hashable, Group]], results: list[GroupResult], event: ChangeEvent
    ) -> list[GroupResult]:
        """``results`` with each group whose read met a database outage read again after each pause of
        ``OUTAGE_PAUSES`` until it answers (or the pauses run out: the outage result stays)."""
        found = list(results)
        for pause in OUTAGE_PAUSES:
            failing = [i for i, result in enumerate(found) if _outage(result)]
            if not failing:
                break
            await asyncio.sleep(pause)
            for index in failing:
                found[index] = (await self._evaluate_alone(index, heads[index][1], event))[index]
        return found

    def _plain(self, sub: Subscription, event: ChangeEvent) -> batching.Plain | None:
        if not self.batching or event.action == "delete":  # a delete reads nothing: nothing to share
            return None
        schema = self.runtime.schemas.current
        return self.plain_forms.plain(sub.shape, sub.event_query, event.collection, schema)

    async def _evaluate_alone(self, index: int, group: Group, event: ChangeEvent) -> dict[int, GroupResult]:
        """The group's own read; any failure that is not a client-facing error stays in this group."""
        try:
            async with self._reads:
                ctx = self.runtime.context(group[0].client.access)
                return {index: await GroupReader(ctx, group[0], event).run()}
        except Exception as exc:
            self.faults.report("event read", event.collection, group, exc)
            return {index: GroupResult(error=TidepoolError())}

    async def _evaluate_batch_guarded(
        self, batch: list[tuple[int, Group, batching.Plain]], event: ChangeEvent
    ) -> dict[int, GroupResult]:
        """The batch, or, if anything in it fails unexpectedly, each of its groups on its own (isolated)."""
        try:
            return await self._evaluate_batch(batch, event)
        except Exception as exc:
            log.debug("batch on %s failed (%s); reading per group", event.collection, exc)
            done: dict[int, GroupResult] = {}
            for index, group, _ in batch:
                done.update(await self._evaluate_alone(index, group, event))
            return done

    async def _evaluate_batch(
        self, batch: list[tuple[int, Group, batching.Plain]], event: ChangeEvent
    ) -> dict[int, GroupResult]:
        """One read for the batch's groups (same access); a group the shared rows cannot serve (its filter is
        not evaluable on them, or anything fails) falls back to its own read, after the shared one is done."""
        ctx = self.runtime.context(batch[0][1][0].client.access)
        pk = ctx.schema.collections[event.collection].primary_key
        union = batching.union_fields([plain for _, _, plain in batch], pk)
        done: dict[int, GroupResult] = {}
        async with self._reads:
            try:
                rows = await read_many(ctx, event.collection, event.keys, Query(fields=union))
            except Exception as exc:
                log.debug("batched read on %s failed (%s); reading per group", event.collection, exc)
                rows = None
            if rows is not None:
                wildcard = batching.wildcard_keys(rows, union)
                for index, group, plain in batch:
                    found = await self._batched(ctx, group[0], plain, rows, wildcard, event)
                    if found is not None:
                        done[index] = found
        for index, group, _ in batch:
            if index not in done:
                done.update(await self._evaluate_alone(index, group, event))
        return done

    @staticmethod
    async def _batched(
        ctx: ServiceContext,
        sub: Subscription,
        plain: batching.Plain,
        rows: Sequence[Mapping[str, Any]],
        wildcard: Sequence[str],
        event: ChangeEvent,
    ) -> GroupResult | None:
        """One group's result from the shared rows; ``None`` if they cannot serve it (its own read decides)."""
        pk = ctx.schema.collections[event.collection].primary_key
        try:
            kept = batching.select(plain, rows, event.collection, ctx.schema)
            keys = batching.output_keys(plain, wildcard)
            after = after_bytes(event, [(row.get(pk), batching.project(row, keys)) for row in kept])
            return await GroupReader(ctx, sub, event).run(after)
        except Exception as exc:
            log.debug("batched result on %s failed (%s); reading for the group alone", event.collection, exc)
            return None


# Seconds between re-reads of an event for groups whose read met a database outage (6.35 s in all; the
# follower's queue holds the events behind it meanwhile, in order).
OUTAGE_PAUSES = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2)


def _outage(result: GroupResult) -> bool:
    return isinstance(result.error, ServiceUnavailableError)


def _invalidate_access(collection: str, runtime: Runtime) -> None:
    """A change to roles/policies/permissions (made by any process) must reach this process's access cache
    before the next read, or subscribers would be checked against stale rules."""
    runtime.access_cache.invalidate_for(collection)


# An enum member read through its class costs a class-attribute lookup through ``EnumType`` (about 0.3 µs on
# Python 3.11): ``_wants`` runs once per subscriber per event, so it compares with this module constant.
_ENDED = SubState.ENDED


def _wants(sub: Subscription, event: ChangeEvent, seq: int | None) -> bool:
    """Whether ``sub`` takes part in ``event`` (``seq`` None: a replay, which precedes ``from_seq``)."""
    if sub.state is _ENDED or (seq is not None and sub.from_seq >= seq):
        return False
    return sub.item is None or any(js_string(k) == sub.item for k in event.keys)


def _deliver_all(group: Group, event: ChangeEvent, result: GroupResult) -> int:
    """Hand each subscriber of the group its messages for the event (``deliver_group``: one pass, each frame
    built once per uid and written straight to the sockets that can take it); how many."""
    if result.error is not None:
        return sum(_deliver(sub, event, result) for sub in group)

    def one(sub: Subscription) -> int:
        return _deliver(sub, event, result)

    now = asyncio.get_running_loop().time()
    return deliver_group(group, shared_outgoing(event, result), one, now)


def _deliver(sub: Subscription, event: ChangeEvent, result: GroupResult) -> int:
    """Hand the subscriber its messages for the event; how many."""
    if sub.state is SubState.ENDED:
        return 0
    if result.error is not None:
        sub.client.send(encode(_error_for(sub, result.error)), batch=event.seq)
        return 1
    messages = [out for out in outgoing_for(sub, event, result) if sub.wants(out)]
    for out in messages:
        sub.deliver(out)
    return len(messages)


def _error_for(sub: Subscription, error: TidepoolError) -> dict[str, Any]:
    """The frame that replaces an event a subscription's group could not compute."""
    return error_message("subscribe", error) if sub.uid is None else error_message("subscribe", error, sub.uid)
