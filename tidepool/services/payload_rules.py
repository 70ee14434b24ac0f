"""Validating a payload: Directus's field rules (required, not null) and ``validation`` filters.

Field rules come from the columns (``check_field_rules``); ``validation`` filters come from the fields
(``directus_fields.validation``, binding admins too) and from each permission (``check_permission_rules``),
judged on the payload with the Python filter evaluator so the error names the field and the broken rule,
in Directus's words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tidepool.db.schema import CollectionInfo, FieldInfo, SchemaOverview
from tidepool.errors import FailedValidationError
from tidepool.services.payload_specials import GENERATE_SPECIALS, WriteAction


def _may_be_null(field: FieldInfo) -> bool:
    """Directus's ``isFieldNullable``: nullable columns, and fields the server fills in itself."""
    return field.nullable or field.auto_increment or any(s in GENERATE_SPECIALS for s in field.special)


def check_field_rules(collection: CollectionInfo, data: Mapping[str, Any], action: WriteAction) -> None:
    """Non-nullable fields: required on create when they have no default, and never explicitly null."""
    for field in collection.column_fields:
        if _may_be_null(field):
            continue
        if action == "create" and field.default is None and field.name not in data:
            raise FailedValidationError(field.name, "Value is required.")
        if field.name in data and data[field.name] is None:
            raise FailedValidationError(field.name, "Value can't be null.")


def _js(value: Any) -> str:
    """A value as JavaScript's template strings print it (the messages are Directus's)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return ",".join(_js(v) for v in value)
    return str(value)


def _listed(value: Any) -> str:
    items = value if isinstance(value, list | tuple) else [value]
    return ", ".join(f'"{_js(v)}"' for v in items)


# Directus's FailedValidationError sentence per operator (others name the field only).
_RULE_TEXT: dict[str, Callable[[Any], str]] = {
    "_eq": lambda v: f'Value has to be "{_js(v)}".',
    "_neq": lambda v: f'Value can\'t be "{_js(v)}".',
    "_lt": lambda v: f'Value has to be less than "{_js(v)}".',
    "_lte": lambda v: f'Value has to be less than or equal to "{_js(v)}".',
    "_gt": lambda v: f'Value has to be greater than "{_js(v)}".',
    "_gte": lambda v: f'Value has to be greater than or equal to "{_js(v)}".',
    "_in": lambda v: f"Value has to be one of {_listed(v)}.",
    "_nin": lambda v: f"Value can't be one of {_listed(v)}.",
    "_contains": lambda v: f'Value has to contain "{_js(v)}".',
    "_icontains": lambda v: f'Value has to contain "{_js(v)}".',
    "_ncontains": lambda v: f'Value can\'t contain "{_js(v)}".',
    "_null": lambda v: "Value has to be null.",
    "_nnull": lambda v: "Value can't be null.",
    "_empty": lambda v: "Value has to be empty.",
    "_nempty": lambda v: "Value can't be empty.",
    "_regex": lambda v: "Value doesn't have the correct format.",
    "_submitted": lambda v: "Value is required.",
}


def field_validations(collection: CollectionInfo) -> list[Mapping[str, Any] | None]:
    """The ``validation`` filters set on fields (``directus_fields.validation``); they bind admins too."""
    return [f.meta.get("validation") for f in collection.fields.values() if f.meta and f.meta.get("validation")]


def check_permission_rules(
    collection: CollectionInfo,
    schema: SchemaOverview,
    data: Mapping[str, Any],
    validations: Sequence[Mapping[str, Any] | None],
) -> None:
    """Every permission's ``validation`` filter must hold for the payload (with presets).

    As with Directus's Joi schemas, a condition on a field the payload does not contain passes (only
    ``_submitted`` demands presence), so a partial update is judged on what it changes. Each condition is
    evaluated on its own, so the error names the field and the rule that failed.
    """
    for validation in validations:
        for leaf in _leaves(validation or {}):
            _check_leaf(collection, schema, data, leaf)


def _leaves(condition: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The conditions of a filter that must all hold: ``_and`` groups are flattened."""
    leaves: list[tuple[str, Any]] = []
    for key, value in condition.items():
        if key == "_and" and isinstance(value, list):
            for part in value:
                leaves.extend(_leaves(part) if isinstance(part, Mapping) else [])
        else:
            leaves.append((key, value))
    return leaves


def _check_leaf(
    collection: CollectionInfo, schema: SchemaOverview, data: Mapping[str, Any], leaf: tuple[str, Any]
) -> None:
    key, condition = leaf
    if key.startswith("_"):  # _or (or another group): all or nothing, named after its first field
        if not _holds(collection, schema, data, {key: condition}):
            raise FailedValidationError(_first_field(condition) or key, "")
        return
    operators = condition if isinstance(condition, Mapping) else {"_eq": condition}
    for operator, argument in operators.items():
        if operator == "_submitted":
            if argument and key not in data:
                raise FailedValidationError(key, _RULE_TEXT["_submitted"](argument))
            continue
        if key not in data or not operator.startswith("_"):
            continue  # absent fields pass; relational conditions are not evaluable on a payload
        if not _holds(collection, schema, data, {key: {operator: argument}}):
            text = _RULE_TEXT.get(operator)
            raise FailedValidationError(key, text(argument) if text else "")


def _holds(collection: CollectionInfo, schema: SchemaOverview, data: Mapping[str, Any], condition: Any) -> bool:
    from tidepool.query import evaluate

    try:
        return bool(evaluate.matches(condition, data, collection.name, schema))
    except evaluate.NotEvaluable:
        return True


def _first_field(condition: Any) -> str | None:
    parts = condition if isinstance(condition, list) else [condition]
    for part in parts:
        if isinstance(part, Mapping):
            for key, value in part.items():
                found = _first_field(value) if key.startswith("_") else key
                if found:
                    return found
    return None
