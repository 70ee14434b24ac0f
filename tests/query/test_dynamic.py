"""Dynamic variables: ``$NOW`` arithmetic, ``$CURRENT_*`` lookups, and what the caller must fetch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidepool.query.dynamic import (
    DynamicVariables,
    adjust_date,
    format_timestamp,
    get_path,
    needed_paths,
    resolve_dynamic,
)

NOW = datetime(2025, 1, 31, 10, 20, 30, 123456, tzinfo=UTC)
USER = {
    "id": "u1",
    "email": "a@example.com",
    "avatar": {"id": "f1", "filesize": 2048},
    "groups": [{"name": "red", "tags": ["a", "b"]}, {"name": "blue", "tags": ["c"]}, {"name": None}],
    "manager": None,
}
ROLE = {"id": "r1", "name": "Editor", "parent": {"id": "r0"}}
VARIABLES = DynamicVariables(
    now=NOW,
    user=USER,
    role=ROLE,
    roles=("r1", "r0"),
    policies=("p1", "p2"),
    role_items=({"id": "r1", "name": "Editor"}, {"id": "r0", "name": "Base"}),
    policy_items=({"id": "p1", "admin_access": False}, {"id": "p2", "admin_access": True}),
)


def resolve(value: Any, variables: DynamicVariables = VARIABLES) -> Any:
    return resolve_dynamic(value, variables)


# ------------------------------------------------------------------------------------------------ $NOW


def test_now_is_iso_utc_with_milliseconds() -> None:
    assert resolve("$NOW") == "2025-01-31T10:20:30.123Z"


def test_now_from_another_timezone_and_naive() -> None:
    plus_two = NOW.astimezone(timezone(timedelta(hours=2)))
    assert resolve("$NOW", DynamicVariables(now=plus_two)) == "2025-01-31T10:20:30.123Z"
    assert format_timestamp(datetime(2025, 1, 1)) == "2025-01-01T00:00:00.000Z"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("$NOW(-1 day)", "2025-01-30T10:20:30.123Z"),
        ("$NOW(+2 hours)", "2025-01-31T12:20:30.123Z"),
        ("$NOW(2 hours)", "2025-01-31T12:20:30.123Z"),
        ("$NOW(-1 year)", "2024-01-31T10:20:30.123Z"),
        ("$NOW(+1 month)", "2025-02-28T10:20:30.123Z"),  # clamped to the month's last day
        ("$NOW(-2 months)", "2024-11-30T10:20:30.123Z"),
        ("$NOW(+1 week)", "2025-02-07T10:20:30.123Z"),
        ("$NOW(-3 weeks)", "2025-01-10T10:20:30.123Z"),
        ("$NOW(-30 minutes)", "2025-01-31T09:50:30.123Z"),
        ("$NOW(+1 minute)", "2025-01-31T10:21:30.123Z"),
        ("$NOW(-10 seconds)", "2025-01-31T10:20:20.123Z"),
        ("$NOW(+1 second)", "2025-01-31T10:20:31.123Z"),
        ("$NOW(+500 ms)", "2025-01-31T10:20:30.623Z"),
        ("$NOW(-1d)", "2025-01-30T10:20:30.123Z"),
        ("$NOW(+1h)", "2025-01-31T11:20:30.123Z"),
        ("$NOW(+1.5 hours)", "2025-01-31T11:50:30.123Z"),
        ("$NOW(-1.5 days)", "2025-01-30T10:20:30.123Z"),  # whole days only, as date-fns
        ("$NOW(3)", "2025-02-03T10:20:30.123Z"),  # no unit: days
        ("$NOW(-1 DAY)", "2025-01-30T10:20:30.123Z"),
        ("$NOW(soon)", "2025-01-31T10:20:30.123Z"),  # unreadable: now
        ("$NOW()", "2025-01-31T10:20:30.123Z"),
    ],
)
def test_now_adjustments(expression: str, expected: str) -> None:
    assert resolve(expression) == expected


def test_leap_year_month_end() -> None:
    leap = datetime(2024, 1, 31, tzinfo=UTC)
    assert adjust_date(leap, "+1 month") == datetime(2024, 2, 29, tzinfo=UTC)
    assert adjust_date(datetime(2024, 2, 29, tzinfo=UTC), "+1 year") == datetime(2025, 2, 28, tzinfo=UTC)
    assert adjust_date(leap, "bogus") is None


@given(st.integers(min_value=-5000, max_value=5000), st.sampled_from(["seconds", "minutes", "hours", "days", "weeks"]))
def test_fixed_units_are_exact_timedeltas(amount: int, unit: str) -> None:
    expected = NOW + timedelta(**{unit: amount})
    text = f"{'+' if amount >= 0 else '-'}{abs(amount)} {unit}"
    assert adjust_date(NOW, text) == expected


# ----------------------------------------------------------------------------------- $CURRENT_*


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("$CURRENT_USER", "u1"),
        ("$CURRENT_USER.email", "a@example.com"),
        ("$CURRENT_USER.avatar.filesize", 2048),
        ("$CURRENT_USER.avatar", {"id": "f1", "filesize": 2048}),
        ("$CURRENT_USER.groups.name", ["red", "blue"]),  # o2m items spread, nulls dropped
        ("$CURRENT_USER.groups.tags", ["a", "b", "c"]),  # and flattened one level
        ("$CURRENT_USER.groups.0.name", "red"),
        ("$CURRENT_USER.groups[1].name", "blue"),
        ("$CURRENT_USER.missing", None),
        ("$CURRENT_USER.manager.name", None),
        ("$CURRENT_USER.avatar.filesize.x", None),
        ("$CURRENT_USERX", None),
        ("$CURRENT_ROLE", "r1"),
        ("$CURRENT_ROLE.name", "Editor"),
        ("$CURRENT_ROLE.parent.id", "r0"),
        ("$CURRENT_ROLES", ["r1", "r0"]),
        ("$CURRENT_ROLES.name", ["Editor", "Base"]),
        ("$CURRENT_POLICIES", ["p1", "p2"]),
        ("$CURRENT_POLICIES.admin_access", [True]),
    ],
)
def test_current_variables(expression: str, expected: Any) -> None:
    assert resolve(expression) == expected


def test_anonymous_caller() -> None:
    anonymous = DynamicVariables(now=NOW)
    assert resolve(["$CURRENT_USER", "$CURRENT_USER.email", "$CURRENT_ROLE", "$CURRENT_ROLES"], anonymous) == [
        None,
        None,
        None,
    ]  # the empty $CURRENT_ROLES list is spliced into the surrounding list


def test_walks_filters_presets_and_keeps_everything_else() -> None:
    rule = {
        "_and": [
            {"owner": {"_eq": "$CURRENT_USER"}},
            {"date_created": {"_gte": "$NOW(-1 day)"}},
            {"team": {"_in": ["$CURRENT_ROLES", "extra"]}},
            {"policy": {"_in": "$CURRENT_POLICIES"}},
            {"size": {"_lt": "$CURRENT_USER.avatar.filesize"}},
            {"title": {"_eq": "$NOTAVARIABLE"}},
            {"n": {"_eq": 5}, "b": {"_null": True}},
        ]
    }
    assert resolve(rule) == {
        "_and": [
            {"owner": {"_eq": "u1"}},
            {"date_created": {"_gte": "2025-01-30T10:20:30.123Z"}},
            {"team": {"_in": ["r1", "r0", "extra"]}},
            {"policy": {"_in": ["p1", "p2"]}},
            {"size": {"_lt": 2048}},
            {"title": {"_eq": "$NOTAVARIABLE"}},
            {"n": {"_eq": 5}, "b": {"_null": True}},
        ]
    }
    assert rule["_and"][0] == {"owner": {"_eq": "$CURRENT_USER"}}  # the input is not modified


def test_keys_are_not_resolved() -> None:
    assert resolve({"$CURRENT_USER": "$CURRENT_USER"}) == {"$CURRENT_USER": "u1"}


def test_get_path_on_plain_values() -> None:
    assert get_path({"a": [{"b": 1}, {"b": 0}, {"c": 2}]}, "a.b") == [1]
    assert get_path({"item:articles": 1}, "item:articles") is None
    assert get_path({"item": {"id": 3}}, "item:articles.id") == 3
    assert get_path(None, "a") is None


# ----------------------------------------------------------------------------------- needed_paths


def test_needed_paths() -> None:
    rule = {
        "_and": [
            {"size": {"_lt": "$CURRENT_USER.avatar.filesize"}},
            {"owner": {"_eq": "$CURRENT_USER"}},
            {"mail": {"_eq": "$CURRENT_USER.email"}},
            {"role": {"_in": ["$CURRENT_ROLE.parent.id"]}},
            {"d": {"_gt": "$NOW"}},
        ]
    }
    assert needed_paths(rule) == {"user": {"avatar.filesize", "email"}, "role": {"parent.id"}}
    assert needed_paths({"a": {"_eq": "$CURRENT_USER"}}) == {"user": set(), "role": set()}
    assert needed_paths([{"a": "$CURRENT_ROLES.name"}, None, {"b": "$CURRENT_POLICIES.admin_access"}]) == {
        "user": set(),
        "role": set(),
        "roles": {"name"},
        "policies": {"admin_access"},
    }


def test_mentions_dynamic_finds_placeholders_only() -> None:
    from tidepool.query.dynamic import mentions_dynamic

    assert mentions_dynamic({"a": {"_eq": "$NOW(-1 day)"}})
    assert mentions_dynamic({"_or": [{"a": {"_in": ["x", "$CURRENT_ROLES"]}}]})
    assert mentions_dynamic([{"a": {"_eq": "$CURRENT_USER.role.name"}}])
    assert not mentions_dynamic({"a": {"_eq": "$notavar"}, "b": {"_eq": "x$NOW"}, "c": {"_gt": 5}})
    assert not mentions_dynamic({"$NOW": {"_eq": 1}})  # keys are field names, never placeholders
