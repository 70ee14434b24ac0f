"""Directus filters → SQLAlchemy Core boolean expressions, with every name checked against schema and access.

A client-supplied name never reaches SQL by itself: each key is looked up in the ``SchemaOverview`` (and in
the caller's readable fields) and the column comes from the ``sa.Table`` held there; each value is cast to
the field's type and bound as a parameter. Relational filters become subqueries on aliased tables, with the
related collection's read rule inside, so filtering on a relation can never reveal rows the caller
cannot read:

- m2o ``{author: {name: {...}}}`` → ``author IN (SELECT id FROM authors WHERE ... AND <rule>)``, plus
  ``OR author IS NULL OR author NOT IN (<visible ids>)`` when the filter holds for a row of NULLs (Directus
  LEFT JOINs: a missing or hidden author is a row of NULLs; decided once, in Python, by
  ``evaluate.holds_for_missing_row``)
- o2m ``{comments: {_some: {...}}}`` → ``id IN (SELECT post FROM comments ...)``, ``{comments: {_none: {...}}}``
  → ``id NOT IN (...)``; a bare ``{comments: {...}}`` is ``_some`` plus, when the filter holds for a row of
  NULLs, ``OR id NOT IN (<posts with visible comments>)``
- functions in keys: ``{"year(date)": {"_eq": 2024}}``, ``{"count(comments)": {"_gt": 2}}``
- the reverse of a relation with no o2m field: ``{"$FOLLOW(directus_access,policy)": {"_some": {...}}}`` reads
  as an o2m over the rows of ``directus_access`` whose ``policy`` is this row's key (the Data Studio asks a
  role's policies so); that collection and field are checked like any other name
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from tidepool.context import Access, Action
from tidepool.db.schema import CollectionInfo, FieldInfo, RelationInfo, SchemaOverview
from tidepool.errors import ForbiddenError, InvalidQueryError
from tidepool.query import json_filter
from tidepool.query.functions import FunctionCall, check_filter_type, date_part, parse_function, relational_count
from tidepool.query.model import Filter
from tidepool.query.operators import (
    NULL_REWRITES,
    OPERATORS,
    Condition,
    Operand,
    all_of,
    any_of,
    lookup,
    not_allowed,
    prepare,
)
from tidepool.query.visibility import RuleCompiler, Visibility, masked

LOGICAL = ("_and", "_or")
QUANTIFIERS = ("_some", "_none")
_FOLLOW = re.compile(r"^\$FOLLOW\(\s*([^,()\s]+)\s*,\s*([^,()\s]+)\s*\)$")


def readable_fields(collection: str, access: Access, path: str = "root") -> frozenset[str] | None:
    """Fields the caller may read in ``collection`` (``None`` = all); forbidden collection raises."""
    if access.admin:
        return None
    permissions = access.rules(collection, Action.READ)
    if not permissions:
        raise ForbiddenError.collection(collection, path)
    fields: set[str] = set()
    for permission in permissions:
        if permission.fields is None or "*" in permission.fields:
            return None
        fields |= permission.fields
    return frozenset(fields)


def read_rule_filter(collection: str, access: Access, path: str = "root") -> Filter | None:
    """The OR of the read permissions' item rules; ``None`` when every row is readable.

    Raises ``ForbiddenError.collection`` when the caller has no read permission at all (admin: ``None``).
    """
    if access.admin:
        return None
    permissions = access.rules(collection, Action.READ)
    if not permissions:
        raise ForbiddenError.collection(collection, path)
    rules = [permission.rule for permission in permissions]
    if any(not rule for rule in rules):
        return None  # a permission without a rule (or with {}) grants every row
    return rules[0] if len(rules) == 1 else {"_or": list(rules)}


def compile_filter(
    filter: Filter,
    collection: str,
    *,
    schema: SchemaOverview,
    access: Access,
    dialect: str,
    table: sa.FromClause | None = None,
    path: str = "root",
) -> Condition:
    """``filter`` on ``collection`` as a boolean expression over ``table`` (default: the collection's table).

    The collection's own read rule is not added (the reader adds it); related collections' rules are.
    """
    compiler = _Compiler(schema, access, dialect)
    return compiler.node(filter, compiler.scope(collection, path, table))


@dataclass(frozen=True)
class _Scope:
    info: CollectionInfo
    table: sa.FromClause
    readable: frozenset[str] | None
    path: str
    visibility: Visibility | None = None  # None: trusted (permission rules), every value as stored

    def value(self, name: str) -> sa.ColumnElement[Any]:
        """A field as the caller reads it on each row (``null`` where hidden), so filters see what reads show."""
        return self.table.c[name] if self.visibility is None else self.visibility.value(name)

    def shown(self, name: str) -> Condition | None:
        return None if self.visibility is None else self.visibility.field(name)


@dataclass(frozen=True)
class _Compiler:
    schema: SchemaOverview
    access: Access
    dialect: str

    def scope(self, collection: str | None, path: str, table: sa.FromClause | None = None) -> _Scope:
        """A collection the caller may read, over ``table`` (default: the collection's own table)."""
        info = self.schema.collection(collection) if collection else None
        if info is None or collection is None:
            raise ForbiddenError.collection(collection or "", path)
        readable = readable_fields(collection, self.access, path)
        over = info.table if table is None else table
        return _Scope(info, over, readable, path, Visibility(collection, over, self.access, self._trusted(info, path)))

    def _trusted(self, info: CollectionInfo, path: str) -> RuleCompiler:
        """Compiles permission rules on ``info``: with full access, since rules are trusted configuration."""
        trusted = _Compiler(self.schema, Access.full(), self.dialect)
        return lambda rule, table: trusted.node(rule, _Scope(info, table, None, path))

    def related(self, collection: str | None, path: str) -> _Scope:
        """A related collection over a fresh alias, so self-relations never clash with the outer table."""
        info = self.schema.collection(collection) if collection else None
        return self.scope(collection, path, None if info is None else info.table.alias())

    def node(self, filter: Any, scope: _Scope) -> Condition:
        if not isinstance(filter, Mapping):
            raise InvalidQueryError("Invalid filter object")
        return sa.and_(sa.true(), *(self.entry(str(key), value, scope) for key, value in filter.items()))

    def entry(self, key: str, value: Any, scope: _Scope) -> Condition:
        if key in LOGICAL:
            return self.logical(key, value, scope)
        follow = followed(key)
        if follow is not None:
            return self.follow(*follow, key, value, scope)
        call = parse_function(key)
        if call is not None:
            return self.function(call, value, scope)
        field = self.field(scope, key)
        relation = self.schema.o2m(scope.info.name, key)
        if relation is not None:
            return self.o2m(relation, key, value, scope)
        return self.column(field, value, scope)

    def follow(self, collection: str, field: str, key: str, value: Any, scope: _Scope) -> Condition:
        """``$FOLLOW(collection, field)``: the rows of ``collection`` whose ``field`` holds this row's key, as an
        o2m (``_some``/``_none``); the caller must be able to read that collection and field."""
        child = self.related(collection, scope.path)
        self.field(child, field)
        return self.reverse(child, field, key, value, scope, None)

    def logical(self, key: str, value: Any, scope: _Scope) -> Condition:
        if not isinstance(value, Sequence) or isinstance(value, str):
            raise InvalidQueryError(f'"{key}" has to be an array')
        if key == "_or" and any(isinstance(item, Mapping) and not item for item in value):
            return sa.true()  # {} matches every row, as in Directus
        items = self.same_row(value, scope) if key == "_and" else value
        parts = [self.node(item, scope) for item in items]
        if not parts:
            return sa.true()  # Directus drops an empty group
        return all_of(parts) if key == "_and" else any_of(parts)

    def same_row(self, items: Sequence[Any], scope: _Scope) -> list[Any]:
        """Directus: conditions on one o2m field without ``_some``/``_none`` in one ``_and`` group must hold on the
        same related row (``{comments: {votes: 1, author: 3}}``, which the parser splits into an ``_and``), so
        they become one bare filter over their ``_and``, in the place of the first of them."""
        out: list[Any] = []
        groups: dict[str, list[Any]] = {}
        for item in items:
            key = _bare_relational_key(item)
            if key is None or self.schema.o2m(scope.info.name, key) is None:
                out.append(item)
                continue
            if key not in groups:
                groups[key] = []
                out.append({key: {"_and": groups[key]}})  # still bare: the LEFT JOIN reading holds
            groups[key].append(item[key])
        return out

    def field(self, scope: _Scope, name: str) -> FieldInfo:
        field = scope.info.field(name)
        if field is None or (scope.readable is not None and name not in scope.readable):
            raise ForbiddenError.field(name, scope.info.name, scope.path)
        return field

    def column(self, field: FieldInfo, value: Any, scope: _Scope) -> Condition:
        operations, nested = split_field_filter(value)
        conditions: list[Condition] = []
        if nested:
            relation = self.schema.m2o(scope.info.name, field.name)
            if relation is None:
                raise not_allowed(field.type, next(iter(nested)))
            conditions.append(self.m2o(relation, field.name, nested, scope))
        if operations and field.is_alias:
            raise not_allowed(field.type, next(iter(operations)))
        operand = Operand(
            scope.value(field.name), field.type, scope.info.table.c[field.name].type, self.dialect, field.name
        )
        for op, v in operations.items():
            if op == "_json":
                conditions.append(self.json(operand, field, v))
            else:
                conditions.append(self.leaf(operand, op, v, field.special))
        return sa.and_(sa.true(), *conditions)

    def json(self, operand: Operand, field: FieldInfo, node: Any) -> Condition:
        """``{"_json": {"a.b": {"_eq": "x"}}}`` on a JSON field (``tidepool.query.json_filter``)."""
        lookup("_json", field.type, field.special, validation=True)
        json_filter.validate_json_filter(node)

        def leaf(expr: sa.ColumnElement[Any], kind: str, op: str, value: Any) -> Condition:
            sql_type = sa.Numeric() if kind == "decimal" else sa.String()
            return self.leaf(Operand(expr, kind, sql_type, self.dialect, field.name), op, value)

        return json_filter.sql_condition(operand.expr, node, self.dialect, leaf)

    def leaf(self, operand: Operand, operator: str, value: Any, special: Sequence[str] = ()) -> Condition:
        if operator in QUANTIFIERS:
            raise InvalidQueryError(f'"{operator}" can only be used with top level relational alias field')
        spec = lookup(operator, operand.type, special)
        if value is None and operator in NULL_REWRITES:
            spec, value = OPERATORS[NULL_REWRITES[operator]], True
        assert spec.sql is not None
        return spec.sql(operand, prepare(spec, operand.type, value, operand.field))

    def function(self, call: FunctionCall, value: Any, scope: _Scope) -> Condition:
        if call.name == "json":  # Directus 12.4.1 reads the argument as a field name; filters use "_json"
            raise ForbiddenError.field(call.text, scope.info.name, scope.path)
        field = self.field(scope, call.field)
        check_filter_type(call, field.type, scope.info.name)
        if call.name == "count":
            expr: sa.ColumnElement[Any] = masked(scope.shown(field.name), self.count(call, scope))
        else:
            expr = date_part(call.name, scope.value(field.name), field.type, self.dialect)
        operand = Operand(expr, "integer", sa.Integer(), self.dialect, call.key)
        operations = value if isinstance(value, Mapping) else {"_eq": value}
        special = field.special  # a date part of a concealed value takes what the value takes: _null, _nnull
        return sa.and_(sa.true(), *(self.leaf(operand, str(op), v, special) for op, v in operations.items()))

    def count(self, call: FunctionCall, scope: _Scope) -> sa.ColumnElement[Any]:
        relation = self.schema.o2m(scope.info.name, call.field)
        if relation is None:
            raise InvalidQueryError(f'Function "count" can only be used on a one-to-many field, not "{call.field}"')
        child = self.related(relation.collection, f"{scope.path}.{call.field}")
        parent_key = scope.table.c[scope.info.primary_key]
        return relational_count(child.table, relation.field, parent_key, self.rule(child))

    def m2o(self, relation: RelationInfo, key: str, nested: Filter, scope: _Scope) -> Condition:
        """Directus LEFT JOINs the related row: where there is none (a null or dangling key, or a row the caller
        may not read) the filter is asked about a row of NULLs, so ``{author: {name: {_null: true}}}`` also
        matches posts without an author."""
        related = self.related(relation.related_collection, f"{scope.path}.{key}")
        pk = related.table.c[related.info.primary_key]
        where = self.restricted(self.node(nested, related), related)
        value = scope.value(key)
        matching = value.in_(sa.select(pk).where(where))
        if not self.on_nulls(nested, related):
            return matching
        return sa.or_(matching, value.is_(None), value.not_in(self.visible_keys(related, pk)))

    def visible_keys(self, scope: _Scope, column: sa.ColumnElement[Any]) -> sa.Select[Any]:
        """``column`` of the rows of ``scope`` the caller may see (non-null values only)."""
        return sa.select(column).where(self.restricted(column.is_not(None), scope))

    def on_nulls(self, nested: Any, related: _Scope) -> bool:
        """Whether ``nested`` holds for a missing related row: a constant, decided by the Python twin of the
        operators (``evaluate.holds_for_missing_row``), so the SQL grows by one ``OR`` at most."""
        from tidepool.query.evaluate import holds_for_missing_row  # evaluate builds on this module

        return holds_for_missing_row(nested, related.info.name, self.schema)

    def o2m(self, relation: RelationInfo, key: str, value: Any, scope: _Scope) -> Condition:
        """``_some``/``_none`` are subqueries; a bare filter (no quantifier) is Directus's LEFT JOIN, so a parent
        without (visible) related rows is asked about one row of NULLs."""
        child = self.related(relation.collection, f"{scope.path}.{key}")
        return self.reverse(child, relation.field, key, value, scope, scope.shown(key))

    def reverse(
        self, child: _Scope, field: str, key: str, value: Any, scope: _Scope, shown: Condition | None
    ) -> Condition:
        """The rows of ``scope`` by the rows of ``child`` whose ``field`` points at them (``shown``: where the
        o2m list is readable at all)."""
        quantifier, sub_filter = split_quantifier(key, value)
        foreign_key = child.table.c[field]
        where = self.restricted(sa.and_(foreign_key.is_not(None), self.node(sub_filter, child)), child)
        parent_key = scope.table.c[scope.info.primary_key]
        matching = sa.select(foreign_key).where(where)
        condition: Condition = parent_key.in_(matching) if quantifier == "_some" else parent_key.not_in(matching)
        bare = not quantified(value) and self.on_nulls(sub_filter, child)
        # Where the list reads as null it has no rows: ``_some`` fails, ``_none`` holds, a bare filter that
        # holds for a row of NULLs holds.
        if bare:
            condition = sa.or_(condition, parent_key.not_in(self.visible_keys(child, foreign_key)))
        if shown is None:
            return condition
        return sa.case((shown, condition), else_=sa.true() if quantifier == "_none" or bare else sa.false())

    def restricted(self, condition: Condition, scope: _Scope) -> Condition:
        rule = self.rule(scope)
        return condition if rule is None else sa.and_(condition, rule)

    def rule(self, scope: _Scope) -> Condition | None:
        """The rows of a related collection the caller may see (None: all)."""
        return None if scope.visibility is None else scope.visibility.rows()


def followed(key: str) -> tuple[str, str] | None:
    """``$FOLLOW(collection, field)`` → (collection, field); None for any other key."""
    found = _FOLLOW.match(key)
    return None if found is None else (found.group(1), found.group(2))


def split_field_filter(value: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A field's value as (operators, nested relational filter); a bare value means ``_eq``. ``_and``/``_or``
    belong to the nested filter: ``{author: {_or: [...]}}`` is a logical group over the author's fields (where
    no parser lifted it out first: inside ``_some``, in permission rules)."""
    if not isinstance(value, Mapping):
        return {"_eq": value}, {}
    operations = {str(k): v for k, v in value.items() if str(k).startswith("_") and k not in LOGICAL}
    nested = {str(k): v for k, v in value.items() if not str(k).startswith("_") or k in LOGICAL}
    return operations, nested


def _bare_relational_key(item: Any) -> str | None:
    """The key of ``{field: {...}}`` when the nested filter is on related fields only (no quantifier, no
    operator: those keep their own meaning, or their own error)."""
    if not isinstance(item, Mapping) or len(item) != 1:
        return None
    key, value = next(iter(item.items()))
    if str(key).startswith("_") or not isinstance(value, Mapping) or not value:
        return None
    return None if any(str(k).startswith("_") for k in value) else str(key)


def quantified(value: Any) -> bool:
    """``{"_some": ...}`` or ``{"_none": ...}``: an explicit quantifier, not a bare o2m filter."""
    return isinstance(value, Mapping) and len(value) == 1 and next(iter(value)) in QUANTIFIERS


def split_quantifier(key: str, value: Any) -> tuple[str, Any]:
    """An o2m filter as (quantifier, filter on the related rows); no quantifier means ``_some``."""
    if not isinstance(value, Mapping):
        raise not_allowed("alias", "_eq")
    if len(value) == 1 and next(iter(value)) in QUANTIFIERS:
        quantifier = str(next(iter(value)))
        return quantifier, value[quantifier]
    operators = [k for k in value if str(k).startswith("_")]
    if operators and value.keys() != {"_and"}:  # {"_and": [...]} is ``same_row``'s group of bare filters
        raise not_allowed("alias", str(operators[0]))
    return "_some", value
