"""Dynamic variables: ``$NOW``, ``$CURRENT_USER``, ``$CURRENT_ROLE`` … inside filters, presets and validation.

Permission rules, presets and client filters may carry placeholders that only mean something for one
caller at one moment. They are resolved here, in one pure walk over the JSON value, so the filter compiler,
the Python evaluator and the payload service never see a ``$`` string. The rules follow Directus's
``parseFilter``/``parsePreset`` (``packages/utils/shared``):

- ``$NOW`` is the current instant; ``$NOW(-1 day)``, ``$NOW(+2 hours)`` shift it with the ``ms``-style units
  of Directus's ``adjustDate`` (no unit means days; an unreadable adjustment falls back to now). The result
  is an ISO 8601 UTC string with milliseconds and ``Z``, the form timestamps are stored and compared in.
- ``$CURRENT_USER`` / ``$CURRENT_ROLE`` are the ids; ``$CURRENT_USER.<path>`` walks the ``user`` mapping
  (relations as nested mappings, o2m as lists whose items are spread, numeric segments index); a missing
  path is ``null``.
- ``$CURRENT_ROLES`` / ``$CURRENT_POLICIES`` are the id lists; ``.<path>`` walks ``role_items`` /
  ``policy_items`` when the caller fetched them.

``tidepool.services.dynamic`` is the one caller: it asks :func:`needed_paths` which related records to fetch,
then resolves with them (permission rules, client filters over REST and WebSocket, subscription filters).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson


@dataclass(frozen=True)
class DynamicVariables:
    """Everything a placeholder can refer to, for one caller at one instant."""

    now: datetime
    user: Mapping[str, Any] | None = None
    role: Mapping[str, Any] | None = None
    roles: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()
    # Full records of the roles/policies, only needed for ``$CURRENT_ROLES.<path>`` / ``$CURRENT_POLICIES.<path>``.
    role_items: tuple[Mapping[str, Any], ...] = ()
    policy_items: tuple[Mapping[str, Any], ...] = ()


# ---------------------------------------------------------------------------------------------- $NOW

_BETWEEN_PARENS = re.compile(r"\(([^)]+)\)")
_ADJUSTMENT = re.compile(
    r"^(-?(?:\d*\.)?\d+) *(milliseconds?|msecs?|ms|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|"
    r"weeks?|w|months?|mth|mo|years?|yrs?|yr|y)?$",
    re.IGNORECASE,
)


def _add_months(moment: datetime, months: float) -> datetime:
    """Calendar months, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb), like date-fns."""
    total = moment.year * 12 + (moment.month - 1) + int(months)
    year, month = divmod(total, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _add_days(moment: datetime, days: float) -> datetime:
    """Whole days only: date-fns truncates a fractional day count."""
    return moment + timedelta(days=int(days))


def _add_millis(factor: float) -> Callable[[datetime, float], datetime]:
    def add(moment: datetime, amount: float) -> datetime:
        return moment + timedelta(milliseconds=int(amount * factor))

    return add


_SHIFTS: dict[str, Callable[[datetime, float], datetime]] = {
    **dict.fromkeys(("years", "year", "yrs", "yr", "y"), lambda m, n: _add_months(m, n * 12)),
    **dict.fromkeys(("months", "month", "mth", "mo"), _add_months),
    **dict.fromkeys(("weeks", "week", "w"), lambda m, n: _add_days(m, n * 7)),
    **dict.fromkeys(("days", "day", "d"), _add_days),
    **dict.fromkeys(("hours", "hour", "hrs", "hr", "h"), _add_millis(3_600_000)),
    **dict.fromkeys(("minutes", "minute", "mins", "min", "m"), _add_millis(60_000)),
    **dict.fromkeys(("seconds", "second", "secs", "sec", "s"), _add_millis(1_000)),
    **dict.fromkeys(("milliseconds", "millisecond", "msecs", "msec", "ms"), _add_millis(1)),
}


def adjust_date(moment: datetime, adjustment: str) -> datetime | None:
    """``moment`` shifted by ``"-1 day"``/``"+2 hours"``/``"3w"``; ``None`` when the text is not understood."""
    text = adjustment.strip()
    sign = -1 if text.startswith("-") else 1
    if text[:1] in ("-", "+"):
        text = text[1:]
    match = _ADJUSTMENT.match(text)
    if not match:
        return None
    try:
        return _SHIFTS[(match.group(2) or "days").lower()](moment, sign * float(match.group(1)))
    except (OverflowError, ValueError):
        return None


def format_timestamp(moment: datetime) -> str:
    """``2025-01-01T10:00:00.000Z``: UTC, milliseconds, ``Z`` (naive datetimes are taken as UTC)."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


_NOW_FORM = re.compile(r"^\$NOW(?:\(([^)]*)\))?$")


def malformed_now(value: Any) -> bool:
    """A ``$NOW…`` text other than ``$NOW`` or ``$NOW(<adjustment>)`` with an adjustment ``adjust_date``
    understands. Resolving reads it as the current instant, as Directus does, which silently turns
    ``$NOW(+1 parsec)`` into "now"; rules being saved refuse it instead."""
    if not isinstance(value, str) or not value.startswith("$NOW"):
        return False
    form = _NOW_FORM.match(value)
    if form is None:
        return True
    adjustment = form.group(1)
    return adjustment is not None and adjust_date(datetime.now(UTC), adjustment) is None


def _resolve_now(text: str, variables: DynamicVariables) -> str:
    now = variables.now
    if "(" in text and ")" in text:
        match = _BETWEEN_PARENS.search(text)
        if match:
            now = adjust_date(now, match.group(1)) or now
    return format_timestamp(now)


# ------------------------------------------------------------------------------------- path lookups

_MISSING = object()


def get_path(value: Any, path: str) -> Any:
    """Directus's ``get`` with arrays: list items are spread (falsy dropped, one level flattened), a numeric
    segment indexes, ``a[0]`` equals ``a.0``, and a ``field:collection`` segment (many-to-any) reads ``field``.
    Returns ``None`` for a missing path."""
    found = _get(value, re.sub(r"\[(\d+)\]", r".\1", path).split("."))
    return None if found is _MISSING else found


def _get(value: Any, segments: list[str]) -> Any:
    key = segments[0].split(":")[0]
    if isinstance(value, list | tuple):
        found = _index_or_spread(value, key)
    elif isinstance(value, Mapping):
        found = value.get(key, _MISSING)
    else:
        found = _MISSING
    if found is _MISSING or found is None or len(segments) == 1:
        return found
    return _get(found, segments[1:])


def _index_or_spread(items: Sequence[Any], key: str) -> Any:
    if key.isdigit():
        index = int(key)
        return items[index] if index < len(items) else _MISSING
    spread: list[Any] = []
    for item in items:
        got = item.get(key) if isinstance(item, Mapping) else None
        if isinstance(got, list | tuple):
            spread.extend(got)
        elif got:
            spread.append(got)
    return spread if spread else _MISSING


# ------------------------------------------------------------------------------------ the variables


def _identity(record: Mapping[str, Any] | None) -> Any:
    return record.get("id") if record is not None else None


@dataclass(frozen=True)
class _Variable:
    """One ``$NAME``: what the bare name means, where ``.<path>`` looks, and its ``needed_paths`` key."""

    name: str
    bare: Callable[[DynamicVariables], Any]
    source: Callable[[DynamicVariables], Any]
    needs: str


# Longest names first: ``$CURRENT_ROLES`` must win over its prefix ``$CURRENT_ROLE``.
_VARIABLES: tuple[_Variable, ...] = (
    _Variable("$CURRENT_POLICIES", lambda v: list(v.policies), lambda v: list(v.policy_items), "policies"),
    _Variable("$CURRENT_ROLES", lambda v: list(v.roles), lambda v: list(v.role_items), "roles"),
    _Variable("$CURRENT_USER", lambda v: _identity(v.user), lambda v: v.user, "user"),
    _Variable("$CURRENT_ROLE", lambda v: _identity(v.role), lambda v: v.role, "role"),
)


def _match_variable(text: str) -> tuple[_Variable, str | None] | None:
    """The variable ``text`` names and its path (``None`` for the bare name). Like Directus, anything that
    merely starts with a variable's name (``$CURRENT_USERX``) is that variable with an empty path (→ null)."""
    for variable in _VARIABLES:
        if text.startswith(variable.name):
            rest = text[len(variable.name) :]
            if not rest:
                return variable, None
            return variable, rest[1:] if rest.startswith(".") else ""
    return None


def _resolve_string(text: str, variables: DynamicVariables) -> Any:
    if not text.startswith("$"):
        return text
    if text.startswith("$NOW"):
        return _resolve_now(text, variables)
    matched = _match_variable(text)
    if matched is None:
        return text
    variable, path = matched
    if path is None:
        return variable.bare(variables)
    source = variable.source(variables)
    return get_path(source, path) if source is not None and path else None


def is_dynamic(value: Any) -> bool:
    """True for a string this module would replace."""
    return isinstance(value, str) and (value.startswith("$NOW") or _match_variable(value) is not None)


def mentions_dynamic(value: Any) -> bool:
    """True when some string inside the JSON ``value`` is a placeholder. Every read asks, so the common
    answer comes from one C-speed scan of the encoded value (no ``"$`` in it: no placeholder), and only a
    value that has a string starting with ``$`` is walked."""
    try:
        if b'"$' not in orjson.dumps(value, default=str):
            return False
    except (TypeError, orjson.JSONEncodeError):
        pass
    return any(is_dynamic(text) for text in _strings(value))


def resolve_dynamic(value: Any, variables: DynamicVariables) -> Any:
    """A copy of the JSON ``value`` with every dynamic variable replaced (keys are left alone).

    Inside a list, a variable that resolves to a list is spliced in, so ``{"_in": ["$CURRENT_ROLES"]}``
    becomes ``{"_in": ["r1", "r2"]}`` as in Directus (which flat-maps the ``_in``/``_between`` arrays)."""
    if isinstance(value, str):
        return _resolve_string(value, variables)
    if isinstance(value, Mapping):
        return {key: resolve_dynamic(item, variables) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return _resolve_list(value, variables)
    return value


def _resolve_list(items: Sequence[Any], variables: DynamicVariables) -> list[Any]:
    out: list[Any] = []
    for item in items:
        resolved = resolve_dynamic(item, variables)
        if is_dynamic(item) and isinstance(resolved, list):
            out.extend(resolved)
        else:
            out.append(resolved)
    return out


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def needed_paths(value: Any) -> dict[str, set[str]]:
    """Which related paths the caller must fetch before :func:`resolve_dynamic`.

    Always has ``"user"`` and ``"role"`` (``$CURRENT_USER.avatar.filesize`` → ``{"user": {"avatar.filesize"}}``);
    ``"roles"`` / ``"policies"`` appear only when ``$CURRENT_ROLES.<path>`` / ``$CURRENT_POLICIES.<path>`` do."""
    needed: dict[str, set[str]] = {"user": set(), "role": set()}
    for text in _strings(value):
        matched = _match_variable(text) if text.startswith("$") else None
        if matched is not None and matched[1]:
            needed.setdefault(matched[0].needs, set()).add(matched[1])
    return needed
