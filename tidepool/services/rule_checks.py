"""Judging filter rules and field options: refused when saved, "no rows" when found broken at read time.

A rule (a permission's ``permissions``/``validation``, a field's ``meta.validation``) is checked in two
places, with the same judge:

- when it is saved (``/permissions``, ``/policies`` with inline permissions, ``/fields``): a problem is a
  ``400 INVALID_PAYLOAD`` naming the key and what is wrong with it (``check_permission``,
  ``check_field_validation``);
- when the access model loads a stored row that never went through the API (an older version, the CLI,
  SQL by hand): a rule that cannot be evaluated becomes ``never(collection)``, a filter no row matches, so a
  broken rule grants nothing instead of answering 500 to every read, or every row (``usable_row``).

An item rule is judged as the SQL compiler runs it (``rule_problem``); a ``validation`` as the payload
evaluator runs it, including what no payload can answer (``validation_problem``, ``validation_faults``).

``{"_or": []}`` is refused when saved and means "no rows" in a stored permission. As a *query* filter it keeps
Directus's meaning (an empty group is dropped, so it matches every row); Directus applies the same to
permission rules, which is exactly the finding this module closes (docs/access.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import orjson

from tidepool.context import Access
from tidepool.db.schema import CollectionInfo, SchemaOverview
from tidepool.errors import ForbiddenError, InvalidPayloadError, TidepoolError
from tidepool.query import evaluate
from tidepool.query.dynamic import DynamicVariables, malformed_now, resolve_dynamic
from tidepool.query.filters import compile_filter
from tidepool.services.payload_cast import cast_value
from tidepool.services.validation_faults import rule_fault

LOGICAL = ("_and", "_or")


class Broken(Exception):
    """A stored value that cannot be used; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def stored_json(raw: Any) -> Any:
    """A JSON column's value: engines without a JSON type hand back text; unparsable text is ``Broken``."""
    if isinstance(raw, str | bytes) and raw:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise Broken("is not valid JSON") from None
    return raw


def structure_problem(value: Any) -> str | None:
    """What makes ``value`` no filter object at all (wrong type, an empty or non-array ``_and``/``_or``)."""
    if not isinstance(value, Mapping):
        return "must be a filter object"
    for key, part in value.items():
        if key in LOGICAL:
            if not isinstance(part, list) or not part:
                return f'"{key}" must be a non-empty array'
            for item in part:
                problem = structure_problem(item)
                if problem:
                    return problem
    return None


def unknown_field(value: Mapping[str, Any], known: set[str]) -> str | None:
    """The first top-level field of a filter that is not in ``known`` (groups are searched too)."""
    for key, part in value.items():
        if key in LOGICAL:
            for item in part:
                found = unknown_field(item, known)
                if found:
                    return found
            continue
        name = key.split("(", 1)[1].rstrip(")") if "(" in key else key
        if not key.startswith("_") and name not in known:
            return name
    return None


def rule_problem(value: Any, collection: str, schema: SchemaOverview, dialect: str) -> str | None:
    """Why ``value`` cannot be used as a filter on ``collection`` (``None``: it can; ``{}``/null: no filter).

    Beyond the structure, the rule is compiled as the admin would compile it, with every dynamic variable
    given an empty value: unknown fields, operators a type does not have and uncastable values all show.
    """
    if value is None or value == {}:
        return None
    problem = structure_problem(value)
    if problem:
        return problem
    if schema.collection(collection) is None:
        return None  # a permission for a collection not created yet: nothing to check it against
    try:
        resolved = resolve_dynamic(value, DynamicVariables(now=datetime.now(UTC)))
        compile_filter(resolved, collection, schema=schema, access=Access.full(), dialect=dialect)
    except ForbiddenError as exc:
        return exc.missing or exc.message
    except TidepoolError as exc:
        return str(exc.extensions.get("reason") or exc.message).rstrip(".")
    return None


def presets_problem(value: Any, info: CollectionInfo | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        return "must be an object"
    if info is None:
        return None
    for name, preset in value.items():
        field = info.fields.get(name)
        if field is None:
            return f'field "{name}" does not exist in collection "{info.name}"'
        if field.is_alias:
            return f'"{name}" has no column, so a preset cannot write it (nested writes are not supported)'
        if malformed_now(preset):
            return f'"{name}": "{preset}" is not a date adjustment ($NOW(-1 day), $NOW(+2 hours), ...)'
        if isinstance(preset, str) and preset.startswith("$"):
            continue  # dynamic variables are judged when they are applied
        try:
            cast_value(info, field, preset)
        except TidepoolError as exc:
            return str(exc.extensions.get("reason") or exc.message).rstrip(".")
    return None


def validation_problem(value: Any, info: CollectionInfo | None, schema: SchemaOverview | None) -> str | None:
    """Why ``value`` cannot be a ``validation`` rule on ``info`` (``None``: it can; ``{}``/null: no rule).

    Judged as it runs, on a payload, not as a query: its shape, what a payload cannot answer
    (``validation_faults``), then the Python evaluator that judges payloads, on a row of nulls whose
    relations lead to rows of nulls, with every dynamic variable given an empty value: unknown fields,
    operators a type does not have (``_regex`` is one strings have here, not in a query) and uncastable
    values all show. Without ``schema`` (a field's ``meta.validation``) only the first two are judged.
    """
    if value is None or value == {}:
        return None
    problem = structure_problem(value)
    if problem:
        return problem
    fault = rule_fault(value, info, schema)
    if fault:
        return f'"{fault[0]}": {fault[1]}'
    if info is None or schema is None:
        return None
    try:
        resolved = resolve_dynamic(value, DynamicVariables(now=datetime.now(UTC)))
        evaluate.holds_for_missing_row(resolved, info.name, schema)
    except ForbiddenError as exc:
        return exc.missing or exc.message
    except TidepoolError as exc:
        return str(exc.extensions.get("reason") or exc.message).rstrip(".")
    return None


def fields_problem(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return None
    if isinstance(value, list) and all(isinstance(name, str) for name in value):
        return None
    return "must be an array of field names"


def check_permission(values: Mapping[str, Any], schema: SchemaOverview, dialect: str) -> None:
    """``INVALID_PAYLOAD`` naming the first unusable key of a permission row being saved."""
    collection = values.get("collection")
    info = schema.collection(collection) if isinstance(collection, str) else None
    checks: list[tuple[str, str | None]] = [("fields", fields_problem(values.get("fields")))]
    if "permissions" in values:
        checks.append(("permissions", rule_problem(values["permissions"], str(collection or ""), schema, dialect)))
    if "validation" in values:
        checks.append(("validation", validation_problem(values["validation"], info, schema)))
    checks.append(("presets", presets_problem(values.get("presets"), info)))
    for key, problem in checks:
        if problem:
            raise InvalidPayloadError(_named(key, problem))


def _named(key: str, problem: str) -> str:
    """``"key" must be ...`` for a type problem, ``"key": <what is wrong>`` otherwise."""
    return f'"{key}" {problem}' if problem.startswith("must ") else f'"{key}": {problem}'


def check_field_validation(value: Any, known: set[str]) -> None:
    """A field's ``meta.validation``: a filter object over the collection's fields (relations not followed)."""
    if value is None or value == {}:
        return
    problem = structure_problem(value)
    if problem is None:
        missing = unknown_field(value, known)
        problem = f'field "{missing}" does not exist' if missing else validation_problem(value, None, None)
    if problem:
        raise InvalidPayloadError(_named("meta.validation", problem))


def never(info: CollectionInfo) -> Mapping[str, Any]:
    """A filter no row matches (a primary key is never null), in the filter language every path evaluates."""
    return {info.primary_key: {"_null": True}}


def usable_row(row: Any, schema: SchemaOverview, dialect: str) -> Any | None:
    """A stored permission row (JSON columns as stored text) as the access model may use it.

    JSON columns come back parsed; an item rule that cannot be evaluated is replaced by ``never``, so it
    grants no row; a row whose ``validation``, ``presets`` or ``fields`` cannot be used is dropped (``None``):
    a write it should have limited is refused, never let through unchecked.
    """
    info = schema.collection(row.collection)
    try:
        rule = stored_json(row.permissions)
    except Broken:
        rule = never(info) if info is not None else None
    if info is not None and rule_problem(rule, row.collection, schema, dialect):
        rule = never(info)
    try:
        validation, presets = stored_json(row.validation), stored_json(row.presets)
        fields = stored_json(row.fields) if isinstance(row.fields, str) and row.fields.startswith("[") else row.fields
    except Broken:
        return None
    problems = (
        validation_problem(validation, info, schema),
        presets_problem(presets, info),
        fields_problem(fields),
    )
    if any(problems):
        return None
    return replace(row, permissions=rule, validation=validation, presets=presets)
