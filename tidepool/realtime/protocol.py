"""The wire format of the realtime API: encoding, the error envelope, uid echo rules and message schemas.

Directus validates messages with zod and sends zod's texts ("Validation error: Invalid input: expected
string, received undefined at \"collection\""), and clients written against it may show those texts, so the
schemas here are small declarative tables checked by a miniature of zod's rules that yields the same
sentences: issues of one object joined by ``"; "``, alternatives of a failed union joined by ``" or "``.

uid rules (spec §4.2): replies to ``auth``, ``ping``, ``items`` and ``unsubscribe`` echo the request's uid
with its JSON type (``42`` stays a number); subscription messages carry ``String(uid)``; frame-level
(``server``) errors never carry one. ``NO_UID`` marks "the request had no uid key", which is different from
any value a client can send.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

import orjson

from tidepool.errors import InvalidMessageError, TidepoolError
from tidepool.seams import translated


class _Missing:
    """A key that is absent (JavaScript ``undefined``)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_UID"

    def __bool__(self) -> bool:
        return False


NO_UID: Final = _Missing()
MISSING: Final = NO_UID  # the same "absent" marker, under the name the schema checks read better with


# ---------------------------------------------------------------------------------------------- encoding


def _default(value: Any) -> Any:
    """Values the database layer may hand over that JSON has no type for, rendered as Directus does."""
    if isinstance(value, decimal.Decimal | uuid.UUID | dt.timedelta):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"cannot serialize {type(value).__name__}")


def encode(message: Any) -> bytes:
    """One frame's JSON, keys in insertion order (the order the transcripts show)."""
    return orjson.dumps(message, default=_default, option=orjson.OPT_NON_STR_KEYS)


_FRAME = translated("websocket frame")  # built once: a frame is read for every message


def decode(frame: str | bytes) -> Any:
    """Parse one frame; ``ParseError`` when it is not JSON."""
    with _FRAME:
        return orjson.loads(frame)


# ------------------------------------------------------------------------------------------- uid rules


def uid_of(message: Mapping[str, Any]) -> Any:
    """The request's uid as sent (original JSON type), or ``NO_UID``."""
    return message.get("uid", NO_UID)


def js_string(value: Any) -> str:
    """JavaScript's ``String(value)`` for the JSON scalars a uid or key can be (``5.0`` → ``"5"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e21:
            return str(int(value))
        return repr(value)
    if value is None:
        return "null"
    return str(value)


def subscription_uid(uid: Any) -> Any:
    """Subscriptions store ``String(uid)``; without a uid their messages have no uid key."""
    return NO_UID if uid is NO_UID else js_string(uid)


def with_uid(message: dict[str, Any], uid: Any) -> dict[str, Any]:
    """``message`` with ``uid`` appended as the last key, unless it is ``NO_UID``."""
    if uid is not NO_UID:
        message["uid"] = uid
    return message


def reply(type_: str, uid: Any = NO_UID, **fields: Any) -> dict[str, Any]:
    """A success reply ``{"type", **fields, "uid"?}`` (no ``status`` key, as Directus sends)."""
    return with_uid({"type": type_, **fields}, uid)


def error_message(type_: str, error: TidepoolError, uid: Any = NO_UID) -> dict[str, Any]:
    """The error envelope ``{"type", "status":"error", "error":{"code","message"}, "uid"?}``."""
    return with_uid({"type": type_, "status": "error", "error": error.to_ws()}, uid)


# ------------------------------------------------------------------------------------ miniature of zod

Check = Callable[[Any, str], list[str]]


def _js_type(value: Any) -> str:
    """zod's "received …" word for a JSON value."""
    if value is MISSING:
        return "undefined"
    if value is None:
        return "null"
    for python_type, name in _JS_TYPES:
        if isinstance(value, python_type):
            return name
    return "object"


_JS_TYPES: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "boolean"),
    ((int, float), "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)


def _at(path: str) -> str:
    return f' at "{path}"' if path else ""


def _expected(kind: str, value: Any, path: str) -> list[str]:
    return [f"Invalid input: expected {kind}, received {_js_type(value)}{_at(path)}"]


def string(value: Any, path: str) -> list[str]:
    return [] if isinstance(value, str) else _expected("string", value, path)


def number(value: Any, path: str) -> list[str]:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return [] if ok else _expected("number", value, path)


def sequence_number(value: Any, path: str) -> list[str]:
    """A ``seq`` as events carry it: a whole number, 0 or more."""
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return [] if ok else [f"Invalid input: expected a non-negative integer, received {_js_type(value)}{_at(path)}"]


def anything(value: Any, path: str) -> list[str]:
    return []


def record(value: Any, path: str) -> list[str]:
    """zod's ``z.record``: a JSON object (a subscribe's ``query``); ``null`` and arrays are not."""
    return [] if isinstance(value, dict) else _expected("record", value, path)


def literal(expected: str) -> Check:
    def check(value: Any, path: str) -> list[str]:
        return (
            [] if value == expected and isinstance(value, str) else [f'Invalid input: expected "{expected}"{_at(path)}']
        )

    return check


def optional(inner: Check) -> Check:
    def check(value: Any, path: str) -> list[str]:
        return [] if value is MISSING else inner(value, path)

    return check


def union(*alternatives: Check) -> Check:
    """Passes when one alternative passes; otherwise one issue listing every alternative's issues. Stops at the
    first that passes: a valid frame (an ``items`` create, the first of ``ITEMS``) is not checked against the
    others, whose failures each built their messages (a tenth of the event loop's time per WebSocket create)."""

    def check(value: Any, path: str) -> list[str]:
        results = []
        for alternative in alternatives:
            issues = alternative(value, path)
            if not issues:
                return []
            results.append(issues)
        return [" or ".join("; ".join(issues) for issues in results)]

    return check


def array(item: Check) -> Check:
    """A JSON array whose elements all pass ``item``. Only the first failing element is reported (zod lists
    every one): a 1 MB frame holds 100,000 elements, and an issue for each made a 40 MB error reply after
    seconds of CPU on the event loop. Elements of a type ``item`` accepts outright (``Accepting``) are
    checked in one pass at C speed; a passing element costs no path text (it is built for the failure)."""

    def check(value: Any, path: str) -> list[str]:
        if not isinstance(value, list):
            return _expected("array", value, path)
        if isinstance(item, Accepting) and all(map(item.types.__contains__, map(type, value))):
            return []
        for i, element in enumerate(value):
            if item(element, path):
                return item(element, f"{path}[{i}]")
        return []

    return check


class Accepting:
    """``inner``, answered at once for a value of one of ``types`` (exact types, as ``orjson`` builds them: a
    ``bool`` is no ``int`` here). The common valid case builds no issue text (a ``union`` builds one for each
    alternative it tries before the one that passes), and ``array`` checks a list of them in one pass."""

    __slots__ = ("types", "inner")

    def __init__(self, types: frozenset[type], inner: Check) -> None:
        self.types = types
        self.inner = inner

    def __call__(self, value: Any, path: str) -> list[str]:
        return [] if type(value) in self.types else self.inner(value, path)


def obj(*fields: tuple[str, Check]) -> Check:
    """An object with these keys checked in this order (extra keys pass, as with ``passthrough``)."""

    def check(value: Any, path: str) -> list[str]:
        if not isinstance(value, dict):
            return _expected("object", value, path)
        return [
            issue
            for key, field_check in fields
            for issue in field_check(value.get(key, MISSING), f"{path}.{key}" if path else key)
        ]

    return check


def validate(schema: Check, value: Any) -> None:
    """Raise ``InvalidMessageError`` with zod's text when ``value`` fails ``schema``."""
    issues = schema(value, "")
    if issues:
        raise InvalidMessageError(issues)


def is_valid(schema: Check, value: Any) -> bool:
    return not schema(value, "")


# ------------------------------------------------------------------------------------------- schemas

STRING_OR_NUMBER: Final = Accepting(frozenset({str, int, float}), union(string, number))

BASE: Final = obj(("type", string), ("uid", optional(STRING_OR_NUMBER)))

AUTH: Final = obj(
    ("type", literal("auth")),
    ("uid", optional(STRING_OR_NUMBER)),
)

_CREDENTIALS: Final = union(
    obj(("email", string), ("password", string)),
    obj(("access_token", string)),
    obj(("refresh_token", string)),
)

SUBSCRIBE: Final = obj(
    ("type", literal("subscribe")),
    ("uid", optional(STRING_OR_NUMBER)),
    ("collection", string),
    ("event", optional(union(literal("create"), literal("update"), literal("delete")))),
    ("item", optional(STRING_OR_NUMBER)),
    ("query", optional(record)),
    ("since", optional(sequence_number)),  # Tidepool's resume (docs/realtime-events.md); Directus ignores it
)

UNSUBSCRIBE: Final = obj(("type", literal("unsubscribe")), ("uid", optional(STRING_OR_NUMBER)))

_ITEMS_BASE: Final = (
    ("uid", optional(STRING_OR_NUMBER)),
    ("type", literal("items")),
    ("collection", string),
)
_KEYS: Final = (("ids", optional(array(STRING_OR_NUMBER))), ("id", optional(STRING_OR_NUMBER)))

ITEMS: Final = union(
    obj(*_ITEMS_BASE, ("action", literal("create")), ("data", anything), ("query", anything)),
    obj(*_ITEMS_BASE, ("action", literal("read")), *_KEYS, ("query", anything)),
    obj(*_ITEMS_BASE, ("action", literal("update")), ("data", anything), *_KEYS, ("query", anything)),
    obj(*_ITEMS_BASE, ("action", literal("delete")), *_KEYS, ("query", anything)),
)


def credentials_valid(message: Mapping[str, Any]) -> bool:
    """An ``auth`` frame that carries one complete credential form (e-mail must look like one)."""
    if not is_valid(AUTH, message) or not is_valid(_CREDENTIALS, message):
        return False
    email = message.get("email")
    return not isinstance(email, str) or "access_token" in message or "refresh_token" in message or _is_email(email)


def _is_email(value: str) -> bool:
    local, at, domain = value.rpartition("@")
    return bool(at and local and "." in domain and " " not in value and not domain.startswith("."))
