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
