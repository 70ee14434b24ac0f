"""The filter semantics in pure Python, on one row of JSON-ready values (as the API returns them).

Used where a database round trip is not wanted or not possible: create/update ``validation`` rules, the
realtime layer deciding whether an event is visible, and as the reference the SQL compiler is tested
against. Values are cast with the same ``casting`` functions the compiler uses and compared with the same
rules (NULL never matches a negated operator, binary string order, ``fold`` for case-insensitive
operators). Anything that needs other rows (relational filters, ``count()``) raises ``NotEvaluable``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tidepool.db.schema import CollectionInfo, FieldInfo, SchemaOverview
from tidepool.db.sqlite_functions import fold
from tidepool.errors import ForbiddenError, InvalidQueryError
from tidepool.query import json_filter, regex
from tidepool.query.casting import row_value
from tidepool.query.filters import (
    LOGICAL,
    QUANTIFIERS,
    followed,
    quantified,
    split_field_filter,
    split_quantifier,
)
from tidepool.query.functions import check_filter_type, parse_function, python_date_part
from tidepool.query.operators import NULL_REWRITES, OPERATORS, TEXT_FORMS, Kind, lookup, not_allowed, prepare


class NotEvaluable(Exception):
    """The filter needs the database (a relational part or ``count()``); ask the database instead."""


Predicate = Callable[[Any, Any, str], bool]


def matches(filter: Mapping[str, Any], row: Mapping[str, Any], collection: str, schema: SchemaOverview) -> bool:
    """Whether ``row`` of ``collection`` satisfies ``filter`` (every field is resolved, like the compiler)."""
    info = schema.collection(collection)
    if info is None:
        raise ForbiddenError.collection(collection)
    return _Evaluator(schema, info, row).node(filter)


class _Evaluator:
    def __init__(self, schema: SchemaOverview, info: CollectionInfo, row: Mapping[str, Any]) -> None:
        self.schema = schema
        self.info = info
        self.row = row

    def node(self, filter: Any) -> bool:
        if not isinstance(filter, Mapping):
            raise InvalidQueryError("Invalid filter object")
        results = [self.entry(str(key), value) for key, value in filter.items()]  # all: errors surface
        return all(results)

    def entry(self, key: str, value: Any) -> bool:
        if key in LOGICAL:
            return self.logical(key, value)
        follow = followed(key)
        if follow is not None:  # the rows of another collection pointing here: an o2m without a field
            collection, name = follow
            info = self.schema.collection(collection)
            if info is None or info.field(name) is None:
                raise ForbiddenError.collection(collection)
            quantifier, sub_filter = split_quantifier(key, value)
            return self.o2m(collection, key, quantifier if quantified(value) else None, sub_filter)
        call = parse_function(key)
        if call is not None:
            if call.name == "json":  # as the compiler: not a filter key
                raise ForbiddenError.field(call.text, self.info.name)
            field = self.field(call.field)
            check_filter_type(call, field.type, self.info.name)
            if call.name == "count":
                return self.operations("integer", (), call.key, self.count(key), value)
            part = python_date_part(call.name, row_value(field.type, self.row.get(field.name)))
            return self.operations("integer", (), call.key, part, value)
        field = self.field(key)
        relation = self.schema.o2m(self.info.name, key)
        if relation is not None:
            quantifier, sub_filter = split_quantifier(key, value)  # the compiler's errors first
            return self.o2m(relation.collection, key, quantifier if quantified(value) else None, sub_filter)
        return self.column(field, value)

    # Relational parts need other rows: the database answers them (``_MissingRow`` knows there are none).
    def o2m(self, collection: str, key: str, quantifier: str | None, sub_filter: Any) -> bool:
        raise NotEvaluable(key)

    def count(self, key: str) -> int:
        raise NotEvaluable(key)

    def m2o(self, field: FieldInfo, value: Mapping[str, Any]) -> bool:
        raise NotEvaluable(field.name)

    def logical(self, key: str, value: Any) -> bool:
        if not isinstance(value, Sequence) or isinstance(value, str):
            raise InvalidQueryError(f'"{key}" has to be an array')
        if key == "_or" and any(isinstance(item, Mapping) and not item for item in value):
            return True
        results = [self.node(item) for item in value]
        if not results:
            return True
        return all(results) if key == "_and" else any(results)

    def field(self, name: str) -> FieldInfo:
        field = self.info.field(name)
        if field is None:
            raise ForbiddenError.field(name, self.info.name)
        return field

    def column(self, field: FieldInfo, value: Any) -> bool:
        if split_field_filter(value)[1]:
            if self.schema.m2o(self.info.name, field.name) is None:
                raise not_allowed(field.type, next(iter(split_field_filter(value)[1])))
            return self.m2o(field, value)
        raw = self.row.get(field.name)
        if isinstance(raw, Mapping) and self.schema.m2o(self.info.name, field.name) is not None:
            raise NotEvaluable(field.name)  # an expanded m2o: the key is not at hand
        if isinstance(value, Mapping) and "_json" in value:
            return self.json(field, raw, value)
        return self.operations(field.type, field.special, field.name, row_value(field.type, raw), value)

    def json(self, field: FieldInfo, raw: Any, value: Mapping[str, Any]) -> bool:
        """``_json`` beside the field's other operators, as the compiler reads them."""
        results: list[bool] = []
        for op, argument in value.items():
            if op != "_json":
                results.append(
                    self.operations(field.type, field.special, field.name, row_value(field.type, raw), {op: argument})
                )
                continue
            lookup("_json", field.type, field.special, validation=True)
            json_filter.validate_json_filter(argument)

            def one(current: Any, kind: str, operator: str, operand: Any) -> bool:
                return leaf(kind, (), field.name, current, operator, operand)

            results.append(json_filter.python_matches(raw, argument, one))
        return all(results)

    def operations(self, field_type: str, special: Sequence[str], name: str, current: Any, value: Any) -> bool:
        operations = value if isinstance(value, Mapping) else {"_eq": value}
        if operations and field_type == "alias":
            raise not_allowed(field_type, str(next(iter(operations))))
        results = [leaf(field_type, special, name, current, str(op), v) for op, v in operations.items()]
        return all(results)


def holds_for_missing_row(filter: Mapping[str, Any], collection: str, schema: SchemaOverview) -> bool:
    """Whether ``filter`` holds for a related row that is not there: Directus LEFT JOINs related rows, so a
    missing one (no key, no related rows, or rows the caller may not read) is a row of NULLs to the filter."""
    info = schema.collection(collection)
    if info is None:
        raise ForbiddenError.collection(collection)
    return _MissingRow(schema, info).node(filter)


class _MissingRow(_Evaluator):
    """A row of NULLs whose relations lead to rows of NULLs again: the constant the compiler needs, so its
    SQL stays as deep as before (a constant per nesting level, not a second subquery)."""

    def __init__(self, schema: SchemaOverview, info: CollectionInfo) -> None:
        super().__init__(schema, info, {})

    def related(self, collection: str | None) -> _MissingRow:
        info = self.schema.collection(collection) if collection else None
        if info is None or collection is None:
            raise ForbiddenError.collection(collection or "")
        return _MissingRow(self.schema, info)

    def o2m(self, collection: str, key: str, quantifier: str | None, sub_filter: Any) -> bool:
        if quantifier is not None:  # no related rows: ``_some`` fails, ``_none`` holds
            return quantifier == "_none"
        return self.related(collection).node(sub_filter)

    def count(self, key: str) -> int:
        return 0

    def m2o(self, field: FieldInfo, value: Mapping[str, Any]) -> bool:
        relation = self.schema.m2o(self.info.name, field.name)
        assert relation is not None
        operations, nested = split_field_filter(value)
        own = [self.operations(field.type, field.special, field.name, None, operations)] if operations else []
        return all([*own, self.related(relation.related_collection).node(nested)])


def leaf(field_type: str, special: Sequence[str], name: str, current: Any, operator: str, value: Any) -> bool:
    """One operator on one canonical row value."""
    if operator in QUANTIFIERS:
        raise InvalidQueryError(f'"{operator}" can only be used with top level relational alias field')
    spec = lookup(operator, field_type, special, validation=True)
    if spec.kind is Kind.NESTED:
        raise not_allowed(field_type, operator)
    if value is None and operator in NULL_REWRITES:
        spec, value = OPERATORS[NULL_REWRITES[operator]], True
    if spec.kind is Kind.TEXT and field_type in TEXT_FORMS and current is not None:
        current = TEXT_FORMS[field_type][1](current)  # the pattern operators see the API's text
    return PREDICATES[spec.name](current, prepare(spec, field_type, value, name), field_type)


# ------------------------------------------------------------------ the Python twin of every operator


def _present(test: Callable[[Any, Any], bool]) -> Predicate:
    """Comparisons with NULL are never true (SQL's three-valued logic, as seen by WHERE); nor are those of
    a value that is not of the field's type (a payload's ``"abc"`` for an integer field, judged by a
    validation rule before the payload is cast), which Python could not even order."""

    def predicate(current: Any, value: Any, _t: str) -> bool:
        if current is None:
            return False
        try:
            return bool(test(current, value))
        except TypeError:
            return False

    return predicate


def _csv_entry(current: str, value: str) -> bool:
    """Mirror of the SQL: exact, ``v,%``, ``%,v`` or ``%,v,%``."""
    return (
        current == value
        or current.startswith(value + ",")
        or current.endswith("," + value)
        or ("," + value + ",") in current
    )


def _in(current: Any, values: list[Any], field_type: str) -> bool:
    present = [v for v in values if v is not None]
    if current is None:
        return False
    if field_type == "csv":
        return any(_csv_entry(current, v) for v in present)
    return current in present


def _nin(current: Any, values: list[Any], field_type: str) -> bool:
    if any(v is None for v in values):
        return False
    if not values:
        return True
    if current is None:
        return False
    if field_type == "csv":
        return not any(_csv_entry(current, v) for v in values)
    return current not in values


def _between(current: Any, pair: tuple[Any, Any] | None, _t: str) -> bool:
    return True if pair is None else current is not None and pair[0] <= current <= pair[1]


def _nbetween(current: Any, pair: tuple[Any, Any] | None, _t: str) -> bool:
    return True if pair is None else current is not None and not pair[0] <= current <= pair[1]


def _null(current: Any, flag: bool, _t: str) -> bool:
    return (current is None) == flag


def _empty(current: Any, flag: bool, _t: str) -> bool:
    empty = current is None or current == ""
    return empty == flag


def _regex(current: Any, pattern: str, _t: str) -> bool:
    """Directus validation regexes are JavaScript ones, run by RE2 in linear time (``tidepool.query.regex``)."""
    if current is None:
        return False
    return regex.search(pattern, str(current))


def _not(predicate: Predicate) -> Predicate:
    return lambda current, value, t: current is not None and not predicate(current, value, t)


def _contains(current: str, value: str) -> bool:
    return value in current


def _icontains(current: str, value: str) -> bool:
    return fold(value) in fold(current)


def _starts(current: str, value: str) -> bool:
    return current.startswith(value)


def _istarts(current: str, value: str) -> bool:
    return fold(current).startswith(fold(value))


def _ends(current: str, value: str) -> bool:
    return current.endswith(value)


def _iends(current: str, value: str) -> bool:
    return fold(current).endswith(fold(value))


PREDICATES: dict[str, Predicate] = {
    "_eq": _present(lambda a, b: a == b),
    "_neq": _present(lambda a, b: a != b),
    "_lt": _present(lambda a, b: a < b),
    "_lte": _present(lambda a, b: a <= b),
    "_gt": _present(lambda a, b: a > b),
    "_gte": _present(lambda a, b: a >= b),
    "_in": _in,
    "_nin": _nin,
    "_between": _between,
    "_nbetween": _nbetween,
    "_null": _null,
    "_nnull": lambda current, flag, t: _null(current, not flag, t),
    "_empty": _empty,
    "_nempty": lambda current, flag, t: _empty(current, not flag, t),
    "_contains": _present(_contains),
    "_ncontains": _not(_present(_contains)),
    "_icontains": _present(_icontains),
    "_starts_with": _present(_starts),
    "_nstarts_with": _not(_present(_starts)),
    "_istarts_with": _present(_istarts),
    "_nistarts_with": _not(_present(_istarts)),
    "_ends_with": _present(_ends),
    "_nends_with": _not(_present(_ends)),
    "_iends_with": _present(_iends),
    "_niends_with": _not(_present(_iends)),
    "_intersects": _in,
    "_nintersects": _nin,
    "_regex": _regex,
}
