"""The field selection plan: what a read returns, as a tree of collection levels.

``fields`` (``*``, ``title``, ``author.*``, ``comments.text``, ``*.*``), ``alias`` (``{"recent": "comments"}``)
``deep`` (per-branch sub-queries) and ``backlink`` are resolved here, once, against the schema and the
caller's permissions, before any SQL exists. A name that is not a readable field of its level is a
FORBIDDEN error naming it, exactly as Directus words it; a relational branch opens the related collection
with its own permissions. A branch into a collection the caller cannot read is left out of the answer
(Directus 11+ ``parseFields``), whether asked for by name or by a wildcard: ``*`` drops o2m lists into such
collections, ``*.*`` and ``author.name`` also m2o objects (an m2o asked for plainly too keeps its key).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tidepool.context import Action
from tidepool.db.schema import RelationInfo
from tidepool.errors import InvalidQueryError
from tidepool.query import functions
from tidepool.query.compile import Level, not_concealed
from tidepool.query.complexity import FieldBudget

Kind = Literal["m2o", "o2m"]


@dataclass(frozen=True)
class Column:
    """A plain value in the output: ``key`` in the JSON, ``field`` in the table."""

    key: str
    field: str


@dataclass(frozen=True)
class Computed:
    """A function field: ``year(date_created)`` (keyed ``date_created_year`` as Directus names it),
    ``count(comments)`` (``comments_count``, counting only related rows the caller may read) or
    ``json(data, a.b)`` (``data_a_b_json``, the JSON value at that path)."""

    key: str
    function: str
    field: str
    related: Level | None = None  # count(o2m): the related collection, with the caller's permissions
    relation: RelationInfo | None = None
    path: tuple[str | int, ...] = ()  # json(): the steps into the value


@dataclass(frozen=True)
class SubQuery:
    """A branch's ``deep`` options (``_limit``, ``_offset``, ``_page``, ``_sort``, ``_filter``, ``_search``,
    and on an o2m branch ``_aggregate``/``_groupBy``, which turn its list into aggregate rows per parent)."""

    limit: int | None = None
    offset: int | None = None
    page: int | None = None
    sort: tuple[str, ...] | None = None
    filter: Mapping[str, Any] | None = None
    search: str | None = None
    aggregate: Mapping[str, tuple[str, ...]] | None = None
    group_by: tuple[str, ...] | None = None

    @property
    def aggregated(self) -> bool:
        return bool(self.aggregate or self.group_by)


@dataclass
class Branch:
    """A relational value: an m2o object, or an o2m list (of objects, or of keys when ``ids_only``)."""

    key: str
    field: str
    kind: Kind
    relation: RelationInfo
    node: Node
    sub: SubQuery
    ids_only: bool = False


@dataclass
class Node:
    level: Level
    entries: list[Column | Computed | Branch] = field(default_factory=list)

    @property
    def branches(self) -> list[Branch]:
        return [e for e in self.entries if isinstance(e, Branch)]

    @property
    def columns(self) -> list[Column]:
        return [e for e in self.entries if isinstance(e, Column)]


@dataclass(frozen=True)
class _Via:
    """How a level was reached: the relation and its direction, to recognise the backlink."""

    relation: RelationInfo
    kind: Kind


def plan(
    level: Level,
    fields: Sequence[str] | None,
    *,
    alias: Mapping[str, str] | None = None,
    deep: Mapping[str, Any] | None = None,
    backlink: bool | None = None,
    budget: FieldBudget | None = None,
    _via: _Via | None = None,
    _path: tuple[str, ...] = (),
) -> Node:
    """The plan of one level and, recursively, of every relational branch it requests; ``budget`` bounds the
    fields of the whole tree once wildcards are expanded (``MAX_QUERY_COMPLEXITY``)."""
    alias = alias or {}
    budget = budget or FieldBudget(None)
    order, subpaths, plain = _group(level, fields or ("*",), alias, backlink, _via)
    budget.spend(len(order))
    deep = deep or {}
    _check_deep(level, deep, alias)
    node = Node(level)
    for key in order:
        sub = subpaths.get(key, [])
        entry = _entry(level, key, alias.get(key, key), sub, deep.get(key), backlink, budget, _path, key in plain)
        if entry is not None:
            node.entries.append(entry)
    return node


def _group(
    level: Level, fields: Sequence[str], alias: Mapping[str, str], backlink: bool | None, via: _Via | None
) -> tuple[list[str], dict[str, list[str]], set[str]]:
    """Output keys in request order, the sub-paths requested under each (``author.name`` → name), and the keys
    also requested plainly (``author`` or through ``*``)."""
    order: list[str] = []
    subpaths: dict[str, list[str]] = {}
    plain: set[str] = set()

    def add(key: str, rest: str | None) -> None:
        if key not in order:
            order.append(key)
        if rest:
            subpaths.setdefault(key, []).append(rest)
        else:
            plain.add(key)

    for raw in fields:
        head, rest = _split_head(raw.strip())
        if not head:
            raise InvalidQueryError(f'"{raw}" is not a valid field')
        if head != "*":
            add(head, rest or None)
            continue
        for name in _wildcard(level, alias, backlink, via):
            relation = _relation(level, alias.get(name, name))
            expand = bool(rest) and relation is not None
            if relation is not None and (expand or relation[0] == "o2m") and not _related_readable(level, relation):
                continue  # Directus leaves it out of the expansion instead of failing the read
            add(name, rest if expand else None)
    return order, subpaths, plain


def _split_head(raw: str) -> tuple[str, str]:
    """``author.name`` → (``author``, ``name``); a function call is one head (``json(data, a.b)``)."""
    depth = 0
    for index, char in enumerate(raw):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "." and depth == 0:
            return raw[:index], raw[index + 1 :]
    return raw, ""


def _related_readable(level: Level, relation: tuple[Kind, RelationInfo]) -> bool:
    """Whether a wildcard may expand into this relation: its other side is a collection the caller can read.
    An m2o key stays in ``*`` either way (it is a column of this level); an o2m list, or an m2o expanded by
    ``*.*``, would need the related collection."""
    kind, info = relation
    related = info.related_collection if kind == "m2o" else info.collection
    return (
        related is not None
        and level.schema.collection(related) is not None
        and level.access.allows(related, Action.READ)
    )


def _wildcard(level: Level, alias: Mapping[str, str], backlink: bool | None, via: _Via | None) -> list[str]:
    """``*``: the readable fields (minus the backlink when ``backlink=false``) plus readable aliases."""
    names = [n for n in level.readable_fields() if not (backlink is False and _is_backlink(level, n, via))]
    return names + [key for key, target in alias.items() if level.readable(target)]


def _is_backlink(level: Level, name: str, via: _Via | None) -> bool:
    if via is None:
        return False
    if via.kind == "m2o":
        return via.relation.one_field == name and level.info.name == via.relation.related_collection
    return via.relation.field == name and level.info.name == via.relation.collection


def _relation(level: Level, name: str) -> tuple[Kind, RelationInfo] | None:
    m2o = level.schema.m2o(level.info.name, name)
    if m2o is not None and m2o.related_collection is not None:
        return "m2o", m2o
    o2m = level.schema.o2m(level.info.name, name)
    if o2m is not None:
        return "o2m", o2m
    return None


def _entry(
    level: Level,
    key: str,
    name: str,
    subpaths: list[str],
    deep: Any,
    backlink: bool | None,
    budget: FieldBudget,
    path: tuple[str, ...],
    plain: bool = False,
) -> Column | Computed | Branch | None:
    call = functions.parse_function(name)
    if call is not None:
        return computed(level, call, key if key != name else None)
    relation = _relation(level, name)
    if relation is not None and (subpaths or relation[0] == "o2m") and not _related_readable(level, relation):
        # Directus (parse-fields: "Skip related collection if no permissions"): left out of the answer, not a
        # 403; an m2o also asked for plainly keeps its key, which is a column of this level.
        return Column(key, level.require(name)) if relation[0] == "m2o" and plain else None
    level.require(name)
    if relation is None:
        return None if level.info.fields[name].is_alias else Column(key, name)
    kind, info = relation
    if kind == "m2o" and not subpaths:
        return Column(key, name)
    related_name = info.related_collection if kind == "m2o" else info.collection
    assert related_name is not None
    child_path = (*path, key)
    child = Level.open(level.schema, level.access, level.dialect, related_name, f'"{".".join(child_path)}"')
    deep_map = deep if isinstance(deep, Mapping) else {}
    ids_only = kind == "o2m" and not subpaths
    node = plan(
        child,
        subpaths or (child.pk,),
        alias=_deep_alias(deep_map),
        deep={k: v for k, v in deep_map.items() if not k.startswith("_")},
        backlink=backlink,
        budget=budget,
        _via=_Via(info, kind),
        _path=child_path,
    )
    if not node.entries:
        # Every requested sub-field was left out (it leads into a collection the caller cannot read): Directus
        # then answers the related keys, as if nothing had been asked below the relation.
        if kind == "m2o":
            return Column(key, name)
        node, ids_only = plan(child, (child.pk,), _via=_Via(info, kind), _path=child_path), True
    return Branch(key, name, kind, info, node, _sub_query(deep_map), ids_only)


def computed(level: Level, call: functions.FunctionCall, alias_key: str | None = None) -> Computed:
    """A function of one of this level's fields (used by ``fields`` and by ``sort``), names checked."""
    name = level.require(call.field)
    functions.check_type(call, level.info.fields[name].type)
    key = alias_key or call.output_key
    if call.name != "count":  # of a concealed value, only the mask may be read: json(token, a) was the secret
        return Computed(key, call.name, not_concealed(level, name, call.key), path=call.path)
    relation = level.schema.o2m(level.info.name, name)
    if relation is None:
        raise InvalidQueryError(f'"count({name})" needs a one-to-many field')
    related = Level.open(level.schema, level.access, level.dialect, relation.collection, f'"{name}"')
    return Computed(key, call.name, name, related, relation)


def _check_deep(level: Level, deep: Mapping[str, Any], alias: Mapping[str, str]) -> None:
    for key in deep:
        if not key.startswith("_"):
            level.require(alias.get(key, key))


def _deep_alias(deep: Mapping[str, Any]) -> dict[str, str]:
    value = deep.get("_alias")
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def _int(value: Any, name: str) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidQueryError(f'"deep" {name} has to be a number') from None


def _sort(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    parts = value.split(",") if isinstance(value, str) else list(value)
    return tuple(str(p).strip() for p in parts if str(p).strip())


def _sub_query(deep: Mapping[str, Any]) -> SubQuery:
    filter_ = deep.get("_filter")
    search = deep.get("_search")
    return SubQuery(
        limit=_int(deep.get("_limit"), "_limit"),
        offset=_int(deep.get("_offset"), "_offset"),
        page=_int(deep.get("_page"), "_page"),
        sort=_sort(deep.get("_sort")),
        filter=filter_ if isinstance(filter_, Mapping) else None,
        search=str(search) if search is not None else None,
        aggregate=_aggregate(deep.get("_aggregate")),
        group_by=_sort(deep.get("_groupBy")),
    )


def _aggregate(value: Any) -> dict[str, tuple[str, ...]] | None:
    """``_aggregate`` as the query parser left it (``{"count": ("id",)}``); anything else is no aggregate."""
    if not isinstance(value, Mapping) or not value:
        return None
    return {str(function): tuple(str(n) for n in names) for function, names in value.items()}
