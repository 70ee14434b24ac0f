"""SQL for every level of a planned read, and the merge of related rows into their parents.

A read is one SELECT for the root and then ONE SELECT per relational branch per level, whatever the number
of rows: an m2o branch fetches ``WHERE pk IN (<fks of all parents>)``, an o2m branch fetches
``WHERE fk IN (<pks of all parents>)`` with its per-parent limit done by
``ROW_NUMBER() OVER (PARTITION BY fk ORDER BY ...)``. Nothing here does I/O: the reader executes the
statements and hands the rows back to ``merge``.

Every statement selects positional columns (labelled ``c0``, ``c1`` ...) described by a ``Projection``, so a
user field can never collide with the bookkeeping columns (row key, parent key, o2m visibility flags).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from tidepool.db import key_lists
from tidepool.db.direct import Prepared
from tidepool.query import functions, json_filter
from tidepool.query.aggregate import AggregatePlan, aggregate_statement, plan_aggregate
from tidepool.query.compile import (
    ColumnExpr,
    Condition,
    Level,
    SortJoins,
    apply_window,
    comparable,
    conjunction,
    key_order,
    ordered,
    page_window,
    sort_expression,
)
from tidepool.query.fields import Branch, Column, Computed, Node, computed
from tidepool.query.search import search_condition
from tidepool.query.values import Serializer, json_value, serializer_for

Row = Sequence[Any]
Item = dict[str, Any]


@dataclass
class Projection:
    """The SELECT list of one level and how to read it back: index of each output value."""

    node: Node
    columns: list[ColumnExpr] = field(default_factory=list)
    key_index: int = 0  # the row's primary key, raw (for merging children)
    parent_index: int | None = None  # o2m levels: the foreign key to the parent, raw
    values: list[tuple[str, int, Serializer]] = field(default_factory=list)
    branch_index: dict[str, int] = field(default_factory=dict)  # m2o: fk value; o2m: visibility flag
    _template: Item | None = field(default=None, init=False, repr=False)

    def add(self, column: ColumnExpr) -> int:
        self.columns.append(column)
        return len(self.columns) - 1

    def labelled(self) -> list[sa.Label[Any]]:
        return [column.label(f"c{i}") for i, column in enumerate(self.columns)]

    def item(self, row: Row) -> Item:
        """The JSON-ready item of a row; relational keys are filled in later by ``merge``."""
        out = self.template.copy()
        for key, index, serialize in self.values:
            value = row[index]
            if value is not None:
                out[key] = serialize(value)
        return out

    @property
    def template(self) -> Item:
        """Every output key, in order, as null: copied per row (one C call instead of a loop per entry)."""
        if self._template is None:
            self._template = dict.fromkeys(entry.key for entry in self.node.entries)
        return self._template


def projection(node: Node, parent_field: str | None = None) -> Projection:
    level = node.level
    proj = Projection(node)
    proj.key_index = proj.add(level.column(level.pk))
    if parent_field is not None:
        proj.parent_index = proj.add(level.column(parent_field))
    for entry in node.entries:
        if isinstance(entry, Column):
            info = level.info.fields[entry.field]
            proj.values.append((entry.key, proj.add(level.value(entry.field)), serializer_for(info, level.info.name)))
        elif isinstance(entry, Computed):
            serialize = json_value if entry.function == "json" else int
            proj.values.append((entry.key, proj.add(computed_expression(level, entry)), serialize))
        elif entry.kind == "m2o":
            proj.branch_index[entry.key] = proj.add(level.value(entry.field))
        else:
            flag = level.field_condition(entry.field)
            if flag is not None:
                proj.branch_index[entry.key] = proj.add(sa.case((flag, sa.literal(1)), else_=sa.null()))
    return proj


def computed_expression(level: Level, entry: Computed) -> ColumnExpr:
    """A function field's SQL: a date part of the (permission-checked) value, the JSON at a path in it, or a
    correlated count."""
    if entry.function == "json":
        return json_filter.json_value(level.value(entry.field), entry.path, level.dialect)
    if entry.related is None or entry.relation is None:
        info = level.info.fields[entry.field]
        return functions.date_part(entry.function, level.value(entry.field), info.type, level.dialect)
    related = entry.related.aliased("counted")
    count = functions.relational_count(
        related.table, entry.relation.field, level.column(level.pk), related.row_condition()
    )
    visible = level.field_condition(entry.field)
    return count if visible is None else sa.case((visible, count), else_=sa.null())


def default_sort_field(level: Level, preferred: str | None = None) -> str:
    """The order when the client gives none (Directus ``getAllowedSort``): the relation's sort field for an o2m
    branch, else the collection's ``sort_field``, else the primary key.

    A sort field the caller may not read is not used (ordering by it would reveal its values); the primary
    key is then used instead, without a permission check, because it is the reader's own bookkeeping
    (stable pages, merging branches) and is never returned unless asked for."""
    meta = level.info.meta or {}
    candidate = preferred or meta.get("sort_field")
    if not candidate:
        return level.pk
    info = level.info.field(str(candidate))
    if info is None or info.is_alias or not level.readable(info.name):
        return level.pk
    return info.name


def order_terms(
    level: Level, sort: Sequence[str] | None, joins: SortJoins, preferred: str | None = None
) -> list[sa.UnaryExpression[Any]]:
    """The client's ``sort`` (every name checked), or the default order; the primary key always comes last
    as the tie-breaker so pages never overlap."""
    if sort:
        terms = [_sort_term(level, spec, joins) for spec in sort]
        named = {spec.lstrip("-") for spec in sort}
    else:
        name = default_sort_field(level, preferred)
        terms = [
            ordered(comparable(level, name), False, level.dialect)
            if name != level.pk
            else key_order(level.column(name))
        ]
        named = {name}
    if level.pk not in named:
        terms.append(key_order(level.column(level.pk)))  # stable ties across pages
    return terms


def _sort_term(level: Level, spec: str, joins: SortJoins) -> sa.UnaryExpression[Any]:
    """A field path, or a function of this level's field (``-year(date)``, ``-count(comments)``,
    ``json(data, a.b)`` ordered as text, as Directus does)."""
    descending = spec.startswith("-")
    call = functions.parse_function(spec[1:] if descending else spec)
    if call is None:
        return sort_expression(level, spec, joins)
    entry = computed(level, call)
    if entry.function == "json":
        expr = json_filter.text_at(level.value(entry.field), entry.path, level.dialect)
    else:
        expr = computed_expression(level, entry)
    return ordered(expr, descending, level.dialect)


def where(level: Level, filter: Any, search: str | None, *extra: Condition | None) -> Condition | None:
    """Rows of this level: permission rules AND filter AND search (AND the caller's extra conditions)."""
    return conjunction(level.row_condition(), level.user_filter(filter), search_condition(level, search), *extra)


@dataclass(frozen=True)
class Window:
    limit: int
    offset: int


def level_statement(
    proj: Projection,
    *,
    filter: Any = None,
    search: str | None = None,
    sort: Sequence[str] | None = None,
    window: Window | None = None,
    extra: Sequence[Condition | None] = (),
) -> sa.Select[Any]:
    """A whole-level SELECT (the root, or an m2o branch): rows, order, limit/offset."""
    level = proj.node.level
    joins = SortJoins(level.table)
    terms = order_terms(level, sort, joins)
    stmt = sa.select(*proj.labelled()).select_from(joins.target())
    condition = where(level, filter, search, *extra)
    if condition is not None:
        stmt = stmt.where(condition)
    stmt = stmt.order_by(*terms)
    return apply_window(stmt, window.limit, window.offset) if window else stmt


def keys_in(level: Level, column: ColumnExpr) -> Condition:
    """``column IN (:keys)`` with the keys bound at execution (``tidepool.db.key_lists``), so one statement
    object serves every set of keys and can be kept in a plan."""
    return key_lists.keys_in(column, level.dialect)


def m2o_statement(branch: Branch, proj: Projection) -> sa.Select[Any]:
    """The related items of every parent at once: ``pk IN (:keys)``, the parents' foreign keys. The branch's
    ``_sort`` orders nothing a client sees (each parent gets its one row), but it is resolved like every sort,
    so a field the caller may not read, or that does not exist, is refused as at the top level."""
    level = branch.node.level
    return level_statement(
        proj, filter=branch.sub.filter, sort=branch.sub.sort, extra=[keys_in(level, level.column(level.pk))]
    )


def o2m_statement(branch: Branch, proj: Projection, default_limit: int) -> sa.Select[Any]:
    """Children of every parent (``fk IN (:keys)``) at once; the per-parent limit/offset through ROW_NUMBER()
    when needed."""
    level = branch.node.level
    sub = branch.sub
    limit, offset = page_window(sub.limit, sub.offset, sub.page, default_limit)
    fk = level.column(branch.relation.field)
    joins = SortJoins(level.table)
    terms = order_terms(level, sub.sort, joins, branch.relation.sort_field)
    condition = where(level, sub.filter, sub.search, keys_in(level, fk))
    assert condition is not None  # the parent-key condition is always there
    if limit < 0 and offset == 0:
        stmt = sa.select(*proj.labelled()).select_from(joins.target()).where(condition).order_by(*terms)
        return stmt
    number = sa.func.row_number().over(partition_by=fk, order_by=terms)
    inner = sa.select(*proj.labelled(), number.label("rn")).select_from(joins.target()).where(condition).subquery()
    bounds = [inner.c.rn > offset] + ([inner.c.rn <= offset + limit] if limit >= 0 else [])
    outer_columns = [inner.c[f"c{i}"] for i in range(len(proj.columns))]
    return sa.select(*outer_columns).where(*bounds).order_by(inner.c.rn)


# -- the whole read, planned once --------------------------------------------------------------------------------


@dataclass
class Step:
    """One statement of a planned read (its only parameter, if any, is ``:keys``) and the steps of the
    relational branches under it. A tree of steps depends on the query, the caller's access and the schema,
    never on data, so the reader can keep it and run it again for the same read."""

    proj: Projection
    stmt: sa.Select[Any]
    children: list[tuple[Branch, Step]]
    aggregate: AggregatePlan | None = None  # an o2m branch with a deep ``_aggregate``/``_groupBy``
    # ``stmt`` as the driver runs it (``tidepool.db.direct``), made once by ``reader._prepared``: (None,) when it
    # can't be.
    prepared: tuple[Prepared | None] | None = None


def read_steps(
    node: Node,
    *,
    filter: Any,
    search: str | None,
    sort: Sequence[str] | None,
    window: Window,
    keyed: bool,
    default_limit: int,
) -> Step:
    """Every statement of a read: the root (restricted to ``pk IN (:keys)`` when ``keyed``) and its branches."""
    proj = projection(node)
    level = node.level
    extra = [keys_in(level, level.column(level.pk))] if keyed else []
    stmt = level_statement(proj, filter=filter, search=search, sort=sort, window=window, extra=extra)
    return Step(proj, stmt, branch_steps(node, default_limit))


def branch_steps(node: Node, default_limit: int) -> list[tuple[Branch, Step]]:
    steps: list[tuple[Branch, Step]] = []
    for branch in node.branches:
        if branch.kind == "o2m" and branch.sub.aggregated:
            steps.append((branch, o2m_aggregate_step(branch)))
            continue
        if branch.kind == "m2o":
            proj = projection(branch.node)
            stmt = m2o_statement(branch, proj)
        else:
            proj = projection(branch.node, branch.relation.field)
            stmt = o2m_statement(branch, proj, default_limit)
        steps.append((branch, Step(proj, stmt, branch_steps(branch.node, default_limit))))
    return steps


PARENT_GROUP = "\x00parent"  # the aggregate group holding the parent's key: never a field name


def o2m_aggregate_step(branch: Branch) -> Step:
    """A deep ``_aggregate``/``_groupBy`` on an o2m branch: the related rows of every parent at once
    (``fk IN (:keys)``, the caller's row rules, the branch's ``_filter``/``_search``), aggregated per parent
    (grouped by the foreign key first, then by the other ``_groupBy`` fields). Each parent gets its list of
    aggregate rows, shaped as a top-level aggregate is (the foreign key itself is not repeated in them)."""
    level = branch.node.level
    sub = branch.sub
    fk_name = branch.relation.field
    fk = level.column(fk_name)
    groups = tuple(name for name in sub.group_by or () if name != fk_name)
    agg = plan_aggregate(level, sub.aggregate, groups)
    agg.groups.insert(0, (PARENT_GROUP, fk, lambda value: value))
    condition = where(level, sub.filter, sub.search, keys_in(level, fk))
    # The foreign key is one value per parent, so ordering by it orders nothing (the Data Studio sends
    # ``_sort=role`` with its user counts); the other sort keys order each parent's rows.
    sort = tuple(spec for spec in sub.sort or () if spec.lstrip("-") != fk_name) or None
    stmt = aggregate_statement(level, agg, condition, sort, -1, 0)
    return Step(projection(branch.node, fk_name), stmt, [], agg)


def merge_o2m_aggregate(parent: Fetched, branch: Branch, agg: AggregatePlan, rows: Sequence[Row]) -> None:
    """Each parent's aggregate rows (an empty list when it has no related row, null when the caller may not
    read the o2m field)."""
    groups: dict[Any, list[Item]] = {}
    for row in rows:
        shaped = agg.shape(row)
        groups.setdefault(shaped.pop(PARENT_GROUP), []).append(shaped)
    flag = parent.proj.branch_index.get(branch.key)
    for row, item in zip(parent.rows, parent.items, strict=True):
        visible = flag is None or row[flag] is not None
        item[branch.key] = groups.get(row[parent.proj.key_index], []) if visible else None


# -- merging ---------------------------------------------------------------------------------------------------


@dataclass
class Fetched:
    """The rows of one level and their items (same order), kept together for merging the next level."""

    proj: Projection
    rows: list[Row]
    items: list[Item]


def fetched(proj: Projection, rows: Iterable[Row]) -> Fetched:
    materialized = list(rows)
    return Fetched(proj, materialized, [proj.item(row) for row in materialized])


def m2o_keys(parent: Fetched, branch: Branch) -> set[Any]:
    index = parent.proj.branch_index[branch.key]
    return {row[index] for row in parent.rows if row[index] is not None}


def o2m_keys(parent: Fetched, branch: Branch) -> set[Any]:
    flag = parent.proj.branch_index.get(branch.key)
    return {row[parent.proj.key_index] for row in parent.rows if flag is None or row[flag] is not None}


def merge_m2o(parent: Fetched, branch: Branch, child: Fetched) -> None:
    index = parent.proj.branch_index[branch.key]
    by_key = {row[child.proj.key_index]: item for row, item in zip(child.rows, child.items, strict=True)}
    for row, item in zip(parent.rows, parent.items, strict=True):
        item[branch.key] = by_key.get(row[index]) if row[index] is not None else None


def merge_o2m(parent: Fetched, branch: Branch, child: Fetched) -> None:
    assert child.proj.parent_index is not None
    groups: dict[Any, list[Any]] = {}
    pk_key = branch.node.entries[0].key if branch.ids_only else None
    for row, item in zip(child.rows, child.items, strict=True):
        groups.setdefault(row[child.proj.parent_index], []).append(item[pk_key] if pk_key else item)
    flag = parent.proj.branch_index.get(branch.key)
    for row, item in zip(parent.rows, parent.items, strict=True):
        visible = flag is None or row[flag] is not None
        item[branch.key] = groups.get(row[parent.proj.key_index], []) if visible else None


def empty_branch(parent: Fetched, branch: Branch, child: Projection) -> None:
    """No parent has anything to fetch: m2o values stay null, o2m lists are empty (or null when hidden)."""
    if branch.kind == "o2m":
        merge_o2m(parent, branch, Fetched(child, [], []))
