"""One collection level of a read, as SQL: which rows (permission rules, filter, search), which columns
(with Directus 11 field-level ``CASE WHEN``), in what order, how many.

A ``Level`` is a collection seen through the caller's read permissions at one place of a query tree (the
root, or a relational branch). Every identifier goes through the schema (``require``) before it becomes a
column, and every client value reaches SQL as a bound parameter through ``compile_filter`` or SQLAlchemy
operators, so the text of a query can never carry client input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from tidepool.context import Access, Action, Permission
from tidepool.db.schema import CollectionInfo, SchemaOverview
from tidepool.errors import ForbiddenError, InvalidQueryError
from tidepool.query.filters import compile_filter
from tidepool.query.js import MAX_SAFE_INTEGER
from tidepool.query.values import conceal, serializer_for
from tidepool.query.visibility import Visibility, grants

ColumnExpr = sa.ColumnElement[Any]
Condition = sa.ColumnElement[bool]


def lookup_collection(schema: SchemaOverview, access: Access, name: str, path: str = "root") -> CollectionInfo:
    """The collection, if it exists and the caller may read it; one error for both cases so existence never
    leaks."""
    info = schema.collection(name)
    if info is None or not access.allows(name, Action.READ):
        raise ForbiddenError.collection(name, path)
    return info


@dataclass
class Level:
    """A collection at one place of the query, as the caller may read it."""

    info: CollectionInfo
    schema: SchemaOverview
    access: Access
    dialect: str
    path: str = "root"
    table: sa.FromClause = field(init=False)
    visibility: Visibility = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._read_through(self.info.table)

    def _read_through(self, table: sa.FromClause) -> None:
        self.table = table
        self.visibility = Visibility(self.info.name, table, self.access, self._compile_rule)

    def _compile_rule(self, rule: Mapping[str, Any], table: sa.FromClause) -> Condition:
        """A permission's rule as SQL; compiled with full access since rules are trusted configuration."""
        return compile_filter(
            rule, self.info.name, schema=self.schema, access=Access.full(), dialect=self.dialect, table=table
        )

    @classmethod
    def open(cls, schema: SchemaOverview, access: Access, dialect: str, name: str, path: str = "root") -> Level:
        return cls(lookup_collection(schema, access, name, path), schema, access, dialect, path)

    def aliased(self, name: str) -> Level:
        """The same level read through a table alias (self-joins, window subqueries)."""
        level = Level(self.info, self.schema, self.access, self.dialect, self.path)
        level._read_through(self.info.table.alias(name))
        return level

    @property
    def permissions(self) -> Sequence[Permission]:
        return self.access.rules(self.info.name, Action.READ)

    @property
    def pk(self) -> str:
        return self.info.primary_key

    def readable(self, name: str) -> bool:
        if self.info.field(name) is None:
            return False
        if self.access.admin:
            return True
        return any(grants(p, name) for p in self.permissions)

    def require(self, name: str) -> str:
        """``name`` when it is a field the caller may read here, else Directus's FORBIDDEN text."""
        if not self.readable(name):
            raise ForbiddenError.field(name, self.info.name, self.path)
        return name

    def readable_fields(self) -> list[str]:
        """What ``*`` means here: every field the caller may read, in schema order."""
        return [name for name in self.info.fields if self.readable(name)]

    def column(self, name: str) -> ColumnExpr:
        """The stored column, unmasked: for bookkeeping only (keys, joins), never for a value a client sees
        or compares; that is ``value``."""
        column: ColumnExpr = self.table.c[name]
        return column

    def row_condition(self) -> Condition | None:
        """Rows the caller may see: any read permission's rule matches. None: no restriction."""
        return self.visibility.rows()

    def field_condition(self, name: str) -> Condition | None:
        """When ``name`` may be shown on a row; None when whenever the row itself is visible."""
        return self.visibility.field(name)

    def value(self, name: str) -> ColumnExpr:
        """The column as the caller may see it (``tidepool.query.visibility``)."""
        return self.visibility.value(name)

    def user_filter(self, filter: Mapping[str, Any] | None) -> Condition | None:
        if not filter:
            return None
        return compile_filter(
            filter,
            self.info.name,
            schema=self.schema,
            access=self.access,
            dialect=self.dialect,
            table=self.table,
            path=self.path,
        )


def conjunction(*conditions: Condition | None) -> Condition | None:
    present = [c for c in conditions if c is not None]
    if not present:
        return None
    return present[0] if len(present) == 1 else sa.and_(*present)


# -- sort -----------------------------------------------------------------------------------------------------


@dataclass
class SortJoins:
    """LEFT OUTER JOINs added for ``sort`` on m2o paths (``author.name``), one alias per distinct path."""

    base: sa.FromClause
    joins: dict[tuple[str, ...], Level] = field(default_factory=dict)
    from_clause: sa.FromClause | None = None

    def target(self) -> sa.FromClause:
        return self.from_clause if self.from_clause is not None else self.base


def sort_expression(level: Level, spec: str, joins: SortJoins) -> sa.UnaryExpression[Any]:
    """One ``sort`` entry (``-date``, ``author.name``) as an ORDER BY term."""
    descending = spec.startswith("-")
    path = (spec[1:] if descending else spec).split(".")
    if not path[-1] or any(not part for part in path):
        raise InvalidQueryError(f'"{spec}" is not a valid sort field')
    target = _walk_m2o(level, path[:-1], joins)
    value = comparable(target, not_concealed(target, target.require(path[-1]), "sort"))
    if target is level and path[-1] == level.pk and value is level.column(level.pk):
        return key_order(value, descending)  # the row's own key, unmasked: never NULL
    return ordered(value, descending, level.dialect)


def not_concealed(level: Level, name: str, use: str) -> str:
    """``name``, unless its value is concealed (a ``conceal`` special or a hash: a read shows a mask). Directus
    refuses every filter operator but ``_null``/``_nnull`` on such a field, yet sorts, groups and aggregates
    by it: ordering rows by ``directus_users.token`` (stored as it is sent) told whose static token sorts
    before which, and with a row of one's own to write, a binary search reads the value back; ``groupBy`` and
    ``countDistinct`` tell which rows hold the same secret. Refused for every caller, as the operators are."""
    if serializer_for(level.info.fields[name], level.info.name) is conceal:
        raise InvalidQueryError(f'Field with "conceal" special can\'t be used in "{use}"')
    return name


def comparable(level: Level, name: str) -> ColumnExpr:
    """The field's value as the engine can order, group and tell apart: PostgreSQL's ``json`` type has no
    equality and no order (sorting or grouping by a JSON field, or counting its distinct values, was a 500
    there), so it is read as ``jsonb``, which has both; every other type and engine as ``value`` gives it.

    An alias field (o2m, m2m, a presentation alias) has no column: every sort, groupBy and aggregate reaches
    its field here, so this is where one is refused (``aggregate[count]=posts`` was a 500, a KeyError)."""
    if level.info.fields[name].is_alias:
        raise InvalidQueryError(f'Field "{name}" is an alias field without a value to sort, group or aggregate by')
    value = level.value(name)
    if level.dialect == "postgresql" and level.info.fields[name].type == "json":
        return sa.cast(value, JSONB)
    return value


def ordered(column: ColumnExpr, descending: bool, dialect: str) -> sa.UnaryExpression[Any]:
    """NULLs sort as the smallest value on every engine (SQLite/MySQL native; PostgreSQL told so)."""
    term = column.desc() if descending else column.asc()
    if dialect == "postgresql":
        return term.nulls_last() if descending else term.nulls_first()
    return term


def key_order(column: ColumnExpr, descending: bool = False) -> sa.UnaryExpression[Any]:
    """A level's own primary key as an ORDER BY term. It is never NULL, so it needs no NULLS placement, and
    without one PostgreSQL walks the key's B-tree index for a page: ``ASC NULLS FIRST`` is not the index's
    order, so it would read and sort every row of the table to return the first ten."""
    return column.desc() if descending else column.asc()


def _walk_m2o(level: Level, relations: Sequence[str], joins: SortJoins) -> Level:
    current = level
    for depth, name in enumerate(relations):
        current.require(name)
        relation = current.schema.m2o(current.info.name, name)
        if relation is None or relation.related_collection is None:
            raise InvalidQueryError(f'Sorting by "{name}" is only supported through many-to-one relations')
        key = tuple(relations[: depth + 1])
        if key not in joins.joins:
            related = Level.open(
                current.schema, current.access, current.dialect, relation.related_collection, f'"{".".join(key)}"'
            ).aliased(f"sort_{len(joins.joins)}")
            # Joined only where the caller sees both the key and the related row, so a hidden value sorts as
            # NULL exactly as it reads.
            on = conjunction(related.column(related.pk) == current.value(name), related.row_condition())
            joins.from_clause = joins.target().outerjoin(related.table, on)
            joins.joins[key] = related
        current = joins.joins[key]
    return current


# -- limit / offset -------------------------------------------------------------------------------------------


def page_window(limit: int | None, offset: int | None, page: int | None, default_limit: int) -> tuple[int, int]:
    """(limit, offset) with Directus's rules: default limit, -1 = all, page = (page-1)*limit."""
    effective = default_limit if limit is None else limit
    start = offset or 0
    if page is not None and page > 0 and effective > 0:
        # Past the largest safe integer no table has a row (an empty page either way), and a larger OFFSET is
        # more than PostgreSQL's and SQLite's bigint can take: ``page=2**53`` with ``limit=10**8`` was a 500.
        start = min((page - 1) * effective, MAX_SAFE_INTEGER)
    return effective, start


def apply_window(stmt: sa.Select[Any], limit: int, offset: int) -> sa.Select[Any]:
    if limit >= 0:
        stmt = stmt.limit(limit)
    if offset:
        stmt = stmt.offset(offset)
    return stmt
