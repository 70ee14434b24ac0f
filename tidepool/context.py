"""Who is asking, and what they may do: the values every service call carries explicitly.

``Accountability`` is the caller (user, role chain, admin flag, where the request came from).
``Access`` is what that caller may do, already resolved from policies: for each (collection, action) a list
of ``Permission`` rows whose item rules have their dynamic variables (``$CURRENT_USER`` ...) filled in.
The query compiler reads ``Access`` and never looks anything up itself, so the compiler stays pure and the
permission service (which does the lookups and the caching) stays the only place that knows about policies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

USER_AGENT_KEPT = 1024  # characters of a User-Agent header kept (directus_activity.user_agent is text)
ORIGIN_KEPT = 255  # characters of an Origin header kept: directus_activity's and directus_sessions' VARCHAR(255)


def request_where(ip: str | None, user_agent: str | None, origin: str | None) -> dict[str, str | None]:
    """Where a request came from, as an accountability and the history and session rows keep it: the headers
    are the client's to choose, so each is cut to what its column holds (an Origin of 300 characters made every
    write of that client fail on PostgreSQL and MySQL, and its sign-in too); an empty User-Agent is None."""
    return {
        "ip": ip,
        "user_agent": (user_agent or "")[:USER_AGENT_KEPT] or None,
        "origin": origin if origin is None else origin[:ORIGIN_KEPT],
    }


class Action(StrEnum):
    CREATE = "create"
    READ = "read"
    UPDATE = "update"
    DELETE = "delete"
    SHARE = "share"


@dataclass(frozen=True)
class Accountability:
    user: str | None = None
    role: str | None = None
    roles: tuple[str, ...] = ()  # the role and its ancestors
    policies: tuple[str, ...] = ()
    admin: bool = False
    app: bool = False
    ip: str | None = None
    user_agent: str | None = None
    origin: str | None = None
    session: str | None = None  # session id when authenticated by a session-mode JWT

    @classmethod
    def public(cls, **where: Any) -> Accountability:
        return cls(**where)

    @classmethod
    def system(cls) -> Accountability:
        """Internal work (bootstrap, CLI): everything allowed, no user."""
        return cls(admin=True, app=True)

    @property
    def is_public(self) -> bool:
        return self.user is None and self.role is None and not self.admin


@dataclass(frozen=True)
class Permission:
    """One permission row, dynamic variables resolved.

    ``fields`` None means every field ("*"). ``rule`` None means every row. ``validation`` and ``presets``
    apply to create/update only.
    """

    collection: str
    action: Action
    fields: frozenset[str] | None = None
    rule: Mapping[str, Any] | None = None
    validation: Mapping[str, Any] | None = None
    presets: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Access:
    """What an accountability may do. ``admin`` bypasses every check."""

    accountability: Accountability = field(default_factory=Accountability)
    admin: bool = False
    permissions: Mapping[tuple[str, Action], Sequence[Permission]] = field(default_factory=dict)

    @classmethod
    def full(cls, accountability: Accountability | None = None) -> Access:
        return cls(accountability or Accountability.system(), admin=True)

    def rules(self, collection: str, action: Action) -> Sequence[Permission]:
        """The permissions granting ``action`` on ``collection``; empty when none (forbidden)."""
        return self.permissions.get((collection, action), ())

    def allows(self, collection: str, action: Action) -> bool:
        return self.admin or bool(self.rules(collection, action))
