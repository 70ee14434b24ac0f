"""What a ``validation`` filter cannot be judged on: a payload has only the fields it sends.

A validation rule (a permission's ``validation``, a field's ``meta.validation``) is a filter run on the
payload, not a query. Some filters a query can run have no meaning there: other rows (an o2m, ``$FOLLOW``,
``count()``, ``_some``/``_none``), or an argument of the wrong shape that a query quietly drops
(``_between`` with one bound, ``_in`` with a single value, a pattern RE2 cannot compile, an empty group).
Directus builds Joi schemas from such rules, which either pass every payload (an unknown operator becomes
``Joi.any()``) or throw (a 500). Tidepool names the fault instead: refused when the rule is saved
(``rule_checks``), and a closed ``FAILED_VALIDATION`` for a stored one at write time (``payload_rules``), so
no rule ever lets a payload through unjudged.

A condition through an m2o (``{"owner": {"role": {"_eq": x}}}``) is not a fault: Directus judges it on the
payload's value as sent, which is a key, not an object, so it fails whenever the field is sent (see
``payload_rules``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidepool.db.schema import CollectionInfo, SchemaOverview
from tidepool.errors import TidepoolError
from tidepool.query import regex
from tidepool.query.dynamic import is_dynamic, malformed_now
from tidepool.query.filters import LOGICAL, QUANTIFIERS, followed
from tidepool.query.functions import parse_function

# Functions Directus computes from the payload's own value (``injectFunctionResults``); ``count()`` needs the
# related rows and ``json()`` is no filter key.
PAYLOAD_FUNCTIONS = frozenset({"year", "month", "week", "day", "weekday", "hour", "minute", "second"})
_LISTS = ("_in", "_nin", "_intersects", "_nintersects")
_PAIRS = ("_between", "_nbetween")

Fault = tuple[str, str]  # (the key it is found under, what is wrong)


def rule_fault(rule: Any, info: CollectionInfo | None, schema: SchemaOverview | None) -> Fault | None:
    """The first part of ``rule`` that cannot be judged on a payload of ``info``; ``None`` when all can.

    ``{}``/null is no rule. Without ``info`` (a permission for a collection not created yet) or ``schema``,
    whether a field lists other rows is not judged. A dynamic variable is accepted wherever a value may be
    one: it is resolved before the rule runs, and judged again then.
    """
    if rule is None or (isinstance(rule, Mapping) and not rule):
        return None
    return _node(rule, "validation", info, schema)


def _node(node: Any, where: str, info: CollectionInfo | None, schema: SchemaOverview | None) -> Fault | None:
    if not isinstance(node, Mapping) or not node:
        return where, "an empty or non-object condition cannot be judged"
    for key, value in node.items():
        fault = _group(str(key), value, info, schema) if key in LOGICAL else _field(str(key), value, info, schema)
        if fault:
            return fault
    return None


def _group(key: str, value: Any, info: CollectionInfo | None, schema: SchemaOverview | None) -> Fault | None:
    if not isinstance(value, list) or not value:
        return key, f'"{key}" must be a non-empty array'
    for part in value:
        fault = _node(part, key, info, schema)
        if fault:
            return fault
    return None


def _field(key: str, condition: Any, info: CollectionInfo | None, schema: SchemaOverview | None) -> Fault | None:
    if key.startswith("_"):
        return key, f'"{key}" is not a logical operator'
    if followed(key) is not None:
        return key, "$FOLLOW reads other rows, which a payload does not have"
    try:
        call = parse_function(key)
    except TidepoolError as exc:
        return key, _reason(exc)
    if call is not None and call.name not in PAYLOAD_FUNCTIONS:
        return key, f"{call.name}() cannot be computed from a payload"
    name = call.field if call is not None else key
    if info is not None and schema is not None and schema.o2m(info.name, name) is not None:
        return key, f'"{name}" lists other rows, which a payload does not carry'
    operators = condition if isinstance(condition, Mapping) else {"_eq": condition}
    for operator, argument in operators.items():
        problem = _operator(str(operator), argument) if str(operator).startswith("_") else None
        if problem:
            return key, problem
    return None


def _operator(operator: str, argument: Any) -> str | None:
    """What is wrong with one operator's argument for judging a payload (``None``: nothing)."""
    values = argument if isinstance(argument, list) else [argument]
    unread = next((v for v in values if malformed_now(v)), None)
    if unread is not None:
        return f'"{unread}" is not a date adjustment ($NOW(-1 day), $NOW(+2 hours), ...)'
    if is_dynamic(argument):
        return None
    if operator in QUANTIFIERS:
        return f'"{operator}" reads other rows, which a payload does not have'
    if operator in _PAIRS and not (isinstance(argument, list) and len(argument) == 2):
        return f'"{operator}" needs an array of two values'
    if operator in _LISTS and not isinstance(argument, list):
        return f'"{operator}" needs an array'
    if operator == "_regex":
        if not isinstance(argument, str):
            return '"_regex" needs a string'
        try:
            regex.compile_js(argument)
        except TidepoolError as exc:
            return _reason(exc)
    return None


def _reason(exc: TidepoolError) -> str:
    return str(exc.extensions.get("reason") or exc.message).rstrip(".")
