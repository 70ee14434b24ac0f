"""Answers of two servers, compared call by call: the machinery of the SDK REST suite and the first-hour list.

An answer is recorded as its status and its *shape*: the JSON body with every volatile value (ids, dates,
tokens, hashes, timings) replaced by a type marker such as ``"<uuid>"`` or ``"<int>"``, so a recording from
Directus 12.4.1 compares with a fresh Tidepool run. Lists that can hold other people's collections on a
shared server keep only system (``directus_*``) and suite-made (``sw_*``) ones, in a canonical order.
``compare`` sorts a pair of answers into match / differ (same status, another shape) / fail (another
status) and names the first differences, so the printed table tells whoever fixes a route what to fix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")

# Keys whose values change from run to run whatever their type: generated keys, secrets, timings.
VOLATILE_KEYS = frozenset(
    {
        "id",
        "access_token",
        "refresh_token",
        "expires",
        "token",
        "hash",
        "mainHash",
        "filename_disk",
        "activity",
        "revision",
        "uptime",
        "observedValue",
        "observedUnit",
        "time",
        "timestamp",
        "ip",
        "user_agent",
        "origin",
        "last_access",
        "last_page",
        "modified_on",
        "uploaded_on",
        "created_on",
        "tfa_secret",
        "password",
        "etag",
        "revisions",
    }
)

OWNED = ("directus_", "sw_")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / ".artifacts"

# Calls that may answer otherwise than Directus 12.4.1, each with its reason; README's section "Where
# Tidepool deliberately differs from Directus" lists the same (tests/e2e/test_sdk_rest.py checks it).
DEPARTURES: dict[str, str] = {
    "admin: updatePermission(field list)": (
        "Directus 12's free licence refuses a permission's field list (403 RESOURCE_RESTRICTED); Tidepool applies it"
    ),
    "admin: serverInfo": "/server/info gives Tidepool's own version and false for features it lacks (README 17)",
    "admin: authenticateShare": "share logins (/shares/auth) are not implemented (README 19)",
    "hash": "/utils/hash/generate is served, as in Directus 10/11 (12.4.1 answers 404; README 17)",
    "verify hash": "/utils/hash/verify is served, as in Directus 10/11 (12.4.1 answers 404; README 17)",
    "admin: readOpenApiSpec": "the document is generated from Tidepool's route table (item 25)",
    "user: readOpenApiSpec": "the document is generated from Tidepool's route table (item 25)",
    "openapi": "the document is generated from Tidepool's route table (item 25)",
    "openapi, limited user": "the document is generated from Tidepool's route table (item 25)",
    "admin: createCollection": (
        "`schema.sql` is the CREATE TABLE text SQLite keeps for the table Tidepool made (item 20)"
    ),
    "admin: createCollection(singleton)": "`schema.sql` is the CREATE TABLE text SQLite keeps (item 20)",
    "admin: createCollection(tags)": "`schema.sql` is the CREATE TABLE text SQLite keeps (item 20)",
    "admin: readCollection": "`schema.sql` is the CREATE TABLE text SQLite keeps (item 20)",
    "admin: updateCollection": "`schema.sql` is the CREATE TABLE text SQLite keeps (item 20)",
    "create a collection": "`schema.sql` is the CREATE TABLE text SQLite keeps (item 20)",
    "admin: readCollections": "the system collections' `schema.sql` is the CREATE TABLE text SQLite keeps (item 20)",
    "admin: readFields": (
        "the directus_collections/directus_fields columns Tidepool keeps in `meta`; system types and `schema` (item 20)"
    ),
    "admin: readRelations": "some system relations are modelled without Directus's foreign key (item 20)",
    "admin: readSettings": "a new project is named Tidepool (Directus: Directus)",
    "admin: updateSettings": "a new project is named Tidepool (Directus: Directus)",
    "settings": "a new project is named Tidepool (Directus: Directus)",
    "server info, signed out": "a new project is named Tidepool (Directus: Directus)",
    "admin: uploadFiles": "`filesize` is a bigInteger, a string on every engine (item 9); `metadata.sha256` (item 27)",
    "admin: readFiles": "`filesize` as a string (item 9), `metadata.sha256` (item 27)",
    "admin: readFile": "`filesize` as a string (item 9), `metadata.sha256` (item 27)",
    "admin: updateFile": "`filesize` as a string (item 9), `metadata.sha256` (item 27)",
    "upload a file": "`filesize` as a string (item 9), `metadata.sha256` (item 27)",
    "list files": "`filesize` as a string (item 9)",
    "update a file": "`filesize` as a string (item 9), `metadata.sha256` (item 27)",
    "admin: importFile(loopback URL)": "the refused URL names each server's own port",
}
# Calls that still answer otherwise than Directus 12.4.1 and are not meant to: known, open work, each with what
# differs. A call here that starts to match fails the suites until it is taken off (the list only shrinks);
# docs/client-suites.md lists the same.
OPEN: dict[str, str] = {}
# Where deliberate departures are explained: shown with every departure in the printed table.
DEPARTURES_DOC = "README.md, 'Where Tidepool deliberately differs from Directus'"


def request_label(method: str, path: str) -> str:
    """``GET /files/<uuid>``: a request as the table shows it, generated keys replaced."""
    return re.sub(r"/\d+(?=[/?]|$)", "/<int>", UUID.sub("<uuid>", f"{method} {path}"))


def marker(value: object) -> str:
    return f"<{type(value).__name__}>" if value is not None else "<null>"


def shape(value: Any, key: str | None = None) -> Any:
    """``value`` with its volatile parts replaced by type markers (see the module docstring)."""
    if key in VOLATILE_KEYS and isinstance(value, list) and not any(isinstance(v, (dict, list)) for v in value):
        return [shape(v, key) for v in value]
    if key in VOLATILE_KEYS and value is not None and not isinstance(value, (dict, list)):
        return "<uuid>" if isinstance(value, str) and UUID.fullmatch(value) else marker(value)
    if isinstance(value, dict):
        return {k: shape(v, k) for k, v in sorted(value.items())}
    if isinstance(value, list):
        items = [shape(v) for v in value]
        if items and all(isinstance(i, dict) and isinstance(i.get("collection"), str) for i in items):
            kept = [i for i in items if i["collection"].startswith(OWNED)]
            return sorted(kept, key=lambda i: json.dumps(i, sort_keys=True))
        return items
    if isinstance(value, str):
        if DATETIME.match(value):
            return "<datetime>"
        return UUID.sub("<uuid>", value)
    return value


@dataclass(frozen=True)
class Answer:
    """One call's recorded answer: its status and the shape of its body."""

    name: str
    status: int | None
    body: Any
    request: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "request": self.request, "status": self.status, "body": self.body}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Answer:
        return cls(name=raw["name"], status=raw["status"], body=raw["body"], request=raw.get("request", ""))


@dataclass(frozen=True)
class Verdict:
    name: str
    request: str
    expected: int | None
    actual: int | None
    outcome: str  # match | differ | fail | departure | open | missing
    differences: tuple[str, ...] = ()


def differences(expected: Any, actual: Any, path: str = "", limit: int = 4) -> list[str]:
    """The first ``limit`` places where two shapes differ, as ``path: expected != actual`` lines."""
    found: list[str] = []

    def walk(a: Any, b: Any, at: str) -> None:
        if len(found) >= limit or a == b:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            missing = sorted(set(a) - set(b))
            extra = sorted(set(b) - set(a))
            if missing:
                found.append(f"{at or '.'}: missing keys {', '.join(missing[:8])}{' …' if len(missing) > 8 else ''}")
            if extra:
                found.append(f"{at or '.'}: extra keys {', '.join(extra[:8])}{' …' if len(extra) > 8 else ''}")
            for k in sorted(set(a) & set(b)):
                walk(a[k], b[k], f"{at}.{k}")
            return
        if isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                found.append(f"{at or '.'}: {len(a)} entries != {len(b)}{_named_gap(a, b)}")
                return
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(x, y, f"{at}[{i}]")
            return
        found.append(f"{at or '.'}: {_brief(a)} != {_brief(b)}")

    walk(expected, actual, path)
    return found[:limit]


def _named_gap(a: Sequence[Any], b: Sequence[Any]) -> str:
    """For lists of collections/fields: which names one side lacks."""

    def names(rows: Iterable[Any]) -> set[str]:
        return {
            ".".join(str(r[k]) for k in ("collection", "field") if k in r)
            for r in rows
            if isinstance(r, dict) and "collection" in r
        }

    lacking, surplus = sorted(names(a) - names(b)), sorted(names(b) - names(a))
    parts = []
    if lacking:
        parts.append(f"lacks {', '.join(lacking[:6])}{' …' if len(lacking) > 6 else ''}")
    if surplus:
        parts.append(f"adds {', '.join(surplus[:6])}{' …' if len(surplus) > 6 else ''}")
    return f" ({'; '.join(parts)})" if parts else ""


def _brief(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 90 else text[:87] + "…"


def compare(
    expected: Sequence[Answer],
    actual: Sequence[Answer],
    departures: Mapping[str, str],
    open_work: Mapping[str, str] = OPEN,
) -> list[Verdict]:
    """One verdict per expected answer, in order; ``departures`` maps a call's name to the documented
    reason it may answer otherwise, ``open_work`` to the known difference not yet fixed."""
    got = {a.name: a for a in actual}
    verdicts = []
    for want in expected:
        have = got.get(want.name)
        if have is None:
            verdicts.append(Verdict(want.name, want.request, want.status, None, "missing", ("not called",)))
            continue
        diffs = tuple(differences(want.body, have.body))
        if want.status == have.status and not diffs:
            outcome = "match"
        elif want.name in departures:
            outcome = "departure"
            diffs = (departures[want.name],)
        elif want.name in open_work:
            outcome = "open"
            diffs = (f"open: {open_work[want.name]}", *diffs)
        elif want.status != have.status:
            outcome = "fail"
        else:
            outcome = "differ"
        verdicts.append(Verdict(want.name, want.request, want.status, have.status, outcome, diffs))
    return verdicts


def table(title: str, verdicts: Sequence[Verdict]) -> str:
    """The verdicts as a plain-text table with counts, failures and differences first."""
    order = {"fail": 0, "missing": 0, "differ": 1, "open": 2, "departure": 3, "match": 4}
    rows = sorted(verdicts, key=lambda v: order[v.outcome])
    counts = {
        k: sum(v.outcome == k for v in verdicts) for k in ("match", "differ", "fail", "open", "departure", "missing")
    }
    lines = [
        f"{title}: {len(verdicts)} calls: " + ", ".join(f"{n} {k}" for k, n in counts.items() if n),
        f"{'outcome':9} {'call':42} {'request':50} {'directus':>8} {'tidepool':>8}",
    ]
    for v in rows:
        lines.append(f"{v.outcome:9} {v.name[:42]:42} {v.request[:50]:50} {v.expected!s:>8} {v.actual!s:>8}")
        lines.extend(f"{'':10}{d}" for d in v.differences if v.outcome != "match")
    lines.append(f"(departures: see {DEPARTURES_DOC})")
    return "\n".join(lines)


def report(title: str, verdicts: Sequence[Verdict], name: str) -> str:
    """The table, also written to .artifacts/<name>.txt for whoever reads a failed run."""
    text = table(title, verdicts)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"{name}.txt").write_text(text + "\n")
    return text


def unexplained(verdicts: Sequence[Verdict]) -> list[Verdict]:
    return [v for v in verdicts if v.outcome in ("fail", "differ", "missing")]


def closed(verdicts: Sequence[Verdict], open_work: Mapping[str, str] = OPEN) -> list[str]:
    """Calls listed as open work that now answer as Directus does: to be taken off ``OPEN``."""
    return [v.name for v in verdicts if v.name in open_work and v.outcome == "match"]


def load(path: Path) -> list[Answer]:
    return [Answer.from_json(raw) for raw in json.loads(path.read_text())]


def save(path: Path, answers: Sequence[Answer]) -> None:
    path.write_text(json.dumps([a.to_json() for a in answers], indent=1, sort_keys=True) + "\n")
