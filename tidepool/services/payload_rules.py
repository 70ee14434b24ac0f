"""Validating a payload: Directus's field rules (required, not null) and ``validation`` filters.

Field rules come from the columns (``field_rule_errors``); ``validation`` filters come from the fields
(``directus_fields.validation``, binding admins too) and from each permission (``validation_errors``),
judged on the payload with the Python filter evaluator. Every broken rule gives one ``FAILED_VALIDATION``
entry in Directus's words and extensions (``field``, ``path``, ``type``, ``valid``/``invalid``/``substring``,
mapped as Directus maps its Joi errors), and all of them are answered together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tidepool.db.schema import CollectionInfo, FieldInfo, SchemaOverview
from tidepool.errors import FailedValidationError, js_text
from tidepool.query import evaluate
from tidepool.query.functions import parse_function
from tidepool.services.payload_specials import GENERATE_SPECIALS, WriteAction
from tidepool.services.validation_faults import rule_fault

Failure = FailedValidationError


def _may_be_null(field: FieldInfo) -> bool:
    """Directus's ``isFieldNullable``: nullable columns, and fields the server fills in itself."""
    return field.nullable or field.auto_increment or any(s in GENERATE_SPECIALS for s in field.special)


def field_validations(collection: CollectionInfo) -> dict[str, Any]:
    """Each field's own ``validation`` filter (``meta.validation``) by field name, as stored: its dynamic
    variables are resolved for the caller before ``check_payload`` runs it, as Directus's ``parseFilter``."""
    return {f.name: f.meta["validation"] for f in collection.fields.values() if f.meta and f.meta.get("validation")}


def check_payload(
    collection: CollectionInfo,
    schema: SchemaOverview,
    data: Mapping[str, Any],
    action: WriteAction,
    fields_validation: Mapping[str, Any],
    permission_validations: Sequence[Mapping[str, Any] | None],
) -> None:
    """Every rule a payload must pass, in Directus's order (per field: required, not null, the field's own
    ``validation`` (``fields_validation``, resolved); then the permissions' ``validation``), answered as one
    error per broken rule."""
    errors: list[Failure] = []
    for field in collection.fields.values():
        if not field.is_alias:
            errors.extend(_field_rule_errors(field, data, action))
        validation = fields_validation.get(field.name)
        if validation:
            errors.extend(validation_errors(collection, schema, data, [validation]))
    errors.extend(validation_errors(collection, schema, data, permission_validations))
    _raise(errors)


def _field_rule_errors(field: FieldInfo, data: Mapping[str, Any], action: WriteAction) -> list[Failure]:
    """A non-nullable field: required on create when it has no default, and never explicitly null."""
    if _may_be_null(field):
        return []
    if action == "create" and field.default is None and field.name not in data:
        return [FailedValidationError(field.name, "Value is required.", type="required")]
    if field.name in data and data[field.name] is None:
        return [FailedValidationError(field.name, "Value can't be null.", type="nnull")]
    return []


def _raise(errors: list[Failure]) -> None:
    if errors:
        raise FailedValidationError.all(errors)


def _listed(value: Any) -> str:
    items = value if isinstance(value, list | tuple) else [value]
    return ", ".join(f'"{js_text(v)}"' for v in items)


def _number(value: Any) -> float | None:
    """JavaScript's ``Number(value)`` where it gives a number (``None`` for NaN and for null/""/booleans,
    which Directus leaves out when it adds the typecast twin of an ``_eq``/``_neq`` argument)."""
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None


def _twins(argument: Any) -> list[Any]:
    """Directus's Joi ``equal``/``not`` list for ``_eq``/``_neq``: a number also as its string, a numeric
    string also as its number (``{"_eq": 3}`` fails with ``Value has to be one of "3", "3".``)."""
    if isinstance(argument, int | float) and not isinstance(argument, bool):
        return [argument, js_text(argument)]
    number = _number(argument)
    if number is None:
        return [argument]
    return [argument, int(number) if number.is_integer() else number]


def _one_of(values: list[Any], many: str, one: str, null: str, empty: str, key: str) -> dict[str, Any]:
    """Directus's ``joiValidationErrorItemToErrorExtensions`` for ``only``/``invalid`` lists."""
    if len(values) > 1:
        return {"type": many, key: values}
    if values[0] is None:
        return {"type": null}
    if values[0] == "":
        return {"type": empty}
    return {"type": one, key: values[0]}


def _bound(kind: str) -> Callable[[Any, Any], dict[str, Any]]:
    def detail(argument: Any, value: Any) -> dict[str, Any]:
        number = _number(argument)
        limit = argument if number is None else (int(number) if number.is_integer() else number)
        return {"type": kind, "valid": limit}

    return detail


def _substring(kind: str) -> Callable[[Any, Any], dict[str, Any]]:
    return lambda argument, value: {"type": kind, "substring": argument}


def _listed_values(argument: Any) -> list[Any]:
    return list(argument) if isinstance(argument, list | tuple) else [argument]


# Directus's FailedValidation extensions per operator: ``type`` and the rule's argument.
_DETAIL: dict[str, Callable[[Any, Any], dict[str, Any]]] = {
    "_eq": lambda a, v: _one_of(_twins(a), "in", "eq", "null", "empty", "valid"),
    "_neq": lambda a, v: _one_of(_twins(a), "nin", "neq", "nnull", "nempty", "invalid"),
    "_in": lambda a, v: _one_of(_listed_values(a), "in", "eq", "null", "empty", "valid"),
    "_nin": lambda a, v: _one_of(_listed_values(a), "nin", "neq", "nnull", "nempty", "invalid"),
    "_gt": _bound("gt"),
    "_gte": _bound("gte"),
    "_lt": _bound("lt"),
    "_lte": _bound("lte"),
    "_null": lambda a, v: {"type": "null"},
    "_nnull": lambda a, v: {"type": "nnull"},
    "_empty": lambda a, v: {"type": "empty"},
    "_nempty": lambda a, v: {"type": "nempty"},
    "_contains": _substring("contains"),
    "_icontains": _substring("contains"),
    "_ncontains": _substring("ncontains"),
    "_starts_with": _substring("starts_with"),
    "_nstarts_with": _substring("nstarts_with"),
    "_istarts_with": _substring("istarts_with"),
    "_nistarts_with": _substring("nistarts_with"),
    "_ends_with": _substring("ends_with"),
    "_nends_with": _substring("nends_with"),
    "_iends_with": _substring("iends_with"),
    "_niends_with": _substring("niends_with"),
    "_regex": lambda a, v: {"type": "regex", "invalid": v},
    "_submitted": lambda a, v: {"type": "required"},
}

# The sentence Directus's FailedValidationError adds for each ``type`` (others name the field only).
_SENTENCE: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "eq": lambda d: f'Value has to be "{js_text(d["valid"])}".',
    "neq": lambda d: f'Value can\'t be "{js_text(d["invalid"])}".',
    "in": lambda d: f"Value has to be one of {_listed(d['valid'])}.",
    "nin": lambda d: f"Value can't be one of {_listed(d['invalid'])}.",
    "lt": lambda d: f'Value has to be less than "{js_text(d["valid"])}".',
    "lte": lambda d: f'Value has to be less than or equal to "{js_text(d["valid"])}".',
    "gt": lambda d: f'Value has to be greater than "{js_text(d["valid"])}".',
    "gte": lambda d: f'Value has to be greater than or equal to "{js_text(d["valid"])}".',
    "contains": lambda d: f'Value has to contain "{js_text(d["substring"])}".',
    "ncontains": lambda d: f'Value can\'t contain "{js_text(d["substring"])}".',
    "null": lambda d: "Value has to be null.",
    "nnull": lambda d: "Value can't be null.",
    "empty": lambda d: "Value has to be empty.",
    "nempty": lambda d: "Value can't be empty.",
    "required": lambda d: "Value is required.",
    "regex": lambda d: "Value doesn't have the correct format.",
}


def failure(field: str, operator: str, argument: Any, value: Any) -> FailedValidationError:
    """The Directus error for ``field`` breaking ``{operator: argument}`` with ``value``."""
    make = _DETAIL.get(operator)
    detail = make(argument, value) if make else {"type": operator.lstrip("_")}
    sentence = _SENTENCE.get(detail["type"])
    return FailedValidationError(field, sentence(detail) if sentence else "", **detail)


def validation_errors(
    collection: CollectionInfo,
    schema: SchemaOverview,
    data: Mapping[str, Any],
    validations: Sequence[Mapping[str, Any] | None],
) -> list[Failure]:
    """Every broken condition of the ``validation`` filters, for the payload (with presets).

    As with Directus's Joi schemas, a condition on a field the payload does not contain passes (only
    ``_submitted`` demands presence), so a partial update is judged on what it changes; a date function
    (``year(due)``) is computed from the payload, and without its field it fails, as Directus's ``NaN`` does.
    Each condition is evaluated on its own, so each error names the field and the rule that failed; an
    ``_or`` none of whose branches holds reports the errors of every branch, as Directus does. Nothing
    passes unjudged: a rule that cannot be judged on a payload (``validation_faults``) fails every write.
    """
    errors: list[Failure] = []
    for validation in validations:
        fault = rule_fault(validation, collection, schema)
        if fault:
            errors.append(unjudgeable(*fault))
            continue
        for leaf in _leaves(validation or {}):
            errors.extend(_leaf_errors(collection, schema, data, leaf))
    return errors


def unjudgeable(field: str, reason: str) -> FailedValidationError:
    """The closed answer to a rule that cannot be judged on a payload: a failure, never a pass."""
    return FailedValidationError(field, f"The rule cannot be judged on a payload: {reason}.", type="rule")


def _leaves(condition: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The conditions of a filter that must all hold: ``_and`` groups are flattened (their shape is judged
    before, by ``rule_fault``)."""
    leaves: list[tuple[str, Any]] = []
    for key, value in condition.items():
        if key == "_and":
            for part in value:
                leaves.extend(_leaves(part))
        else:
            leaves.append((key, value))
    return leaves


def _leaf_errors(
    collection: CollectionInfo, schema: SchemaOverview, data: Mapping[str, Any], leaf: tuple[str, Any]
) -> list[Failure]:
    key, condition = leaf
    if key == "_or":
        branches = [
            [e for part in _leaves(item) for e in _leaf_errors(collection, schema, data, part)] for item in condition
        ]
        return [] if any(not errors for errors in branches) else [e for errors in branches for e in errors]
    operators = condition if isinstance(condition, Mapping) else {"_eq": condition}
    errors: list[Failure] = []
    sent = _sent_field(key) in data
    if sent and any(not str(name).startswith("_") for name in operators):
        # A condition through an m2o: Directus's Joi wants the field to be an object and the payload holds
        # its key, so the condition fails (``object.base``, reported as ``required``), whatever the key.
        errors.append(FailedValidationError(key, "Value is required.", type="required"))
    for operator, argument in operators.items():
        if operator == "_submitted":
            if argument and key not in data:
                errors.append(failure(key, operator, argument, None))
            continue
        if not str(operator).startswith("_") or not (sent or parse_function(key)):
            continue  # absent fields pass (only functions are computed without them)
        if not _holds(collection, schema, data, {key: {operator: argument}}):
            errors.append(failure(key, operator, argument, data.get(key)))
    return errors


def _sent_field(key: str) -> str:
    """The payload field a condition's key reads: ``year(due)`` reads ``due``."""
    call = parse_function(key)
    return call.field if call is not None else key


def _holds(collection: CollectionInfo, schema: SchemaOverview, data: Mapping[str, Any], condition: Any) -> bool:
    """Whether the payload satisfies one condition. A function of a field the payload does not send has no
    value (Directus computes ``NaN``), and what needs the database cannot hold: both fail, never pass."""
    key = next(iter(condition))
    if _sent_field(key) not in data:
        return False
    try:
        return bool(evaluate.matches(condition, data, collection.name, schema))
    except evaluate.NotEvaluable:
        return False
