"""``CORS_ORIGIN`` read as Directus reads it, for the REST CORS headers (``http/cors.py``) and the WebSocket
Origin check (``realtime/upgrade.py``): one meaning in one place.

Directus casts the variable by guessing its type (``@directus/env``): ``true``/``false`` are booleans, a value
with a comma is a list, a JSON array is a list, ``regex:<pattern>`` is a regular expression (also as a list
entry), anything else one string. The ``cors`` package then answers:

- ``false`` (or empty): no CORS at all;
- ``true``: the request's own origin is allowed (reflected);
- ``*``: every origin, answered as ``*``;
- one origin string: that origin is always answered, whatever the request's (the browser compares);
- a list or a regex: the request's origin when an entry equals it or a regex matches it.

Tidepool also takes ``/pattern/`` entries as regexes (its earlier form).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

Entry = str | re.Pattern[str]


@dataclass(frozen=True)
class OriginPolicy:
    kind: str  # "off", "any", "reflect", "fixed", "list"
    entries: tuple[Entry, ...] = ()

    @classmethod
    def parse(cls, raw: str) -> OriginPolicy:
        value = raw.strip()
        if value.lower() in ("", "false"):
            return cls("off")
        if value.lower() == "true":
            return cls("reflect")
        if value == "*":
            return cls("any")
        items = _list(value)
        if items is None:
            entry = _entry(value)
            return cls("fixed", (entry,)) if isinstance(entry, str) else cls("list", (entry,))
        entries = tuple(_entry(item) for item in items if item)
        return cls("list", entries) if entries else cls("off")

    def header(self, origin: str | None) -> str | None:
        """The ``Access-Control-Allow-Origin`` value for a request from ``origin`` (None: leave it out)."""
        if self.kind == "any":
            return "*"
        if self.kind == "fixed":
            return str(self.entries[0])
        if origin is None:
            return None
        return origin if self.allows(origin) else None

    def allows(self, origin: str) -> bool:
        """Whether ``origin`` is named by the setting (``*`` and a fixed string count only when equal)."""
        if self.kind == "reflect":
            return True
        return any(_matches(entry, origin) for entry in self.entries)

    @property
    def varies(self) -> bool:
        """Whether the answer depends on the request's ``Origin`` (every kind but ``*``)."""
        return self.kind != "any"


def _list(value: str) -> list[str] | None:
    if value.startswith("["):
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list):
            return [str(item).strip() for item in parsed]
    if "," in value:
        return [part.strip() for part in value.split(",")]
    return None


def _entry(text: str) -> Entry:
    if text.startswith("regex:"):
        return re.compile(text[len("regex:") :])
    if len(text) > 2 and text.startswith("/") and text.endswith("/"):
        return re.compile(text[1:-1])
    return text


def _matches(entry: Entry, origin: str) -> bool:
    if isinstance(entry, re.Pattern):
        return entry.search(origin) is not None
    return entry != "*" and entry.rstrip("/") == origin.rstrip("/")
