"""``tidepool schema snapshot|apply``: move a schema between databases (and between Directus and Tidepool) as
one file, through the same services as ``/schema/snapshot``, ``/schema/diff`` and ``/schema/apply``.

    tidepool schema snapshot schema.yaml          # YAML unless the file ends in .json (or --format json)
    tidepool schema apply schema.yaml --dry-run   # print what would change
    tidepool schema apply schema.yaml --yes       # apply without asking

As Directus's ``directus schema apply``, the file is applied whatever Directus version or database vendor it
names (the server's ``/schema/diff`` checks those unless ``?force``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from tidepool.services.base import ServiceContext


def _format_of(path: str | None, chosen: str | None) -> str:
    if chosen:
        return chosen
    return "json" if path and path.lower().endswith(".json") else "yaml"


@click.group()
def schema() -> None:
    """Snapshot the schema to a file, or apply a snapshot file to this database."""


@schema.command("snapshot")
@click.argument("file", required=False, type=click.Path(dir_okay=False, writable=True))
@click.option(
    "--format", "fmt", type=click.Choice(["yaml", "json"]), default=None, help="Default: from FILE, else yaml."
)
def snapshot(file: str | None, fmt: str | None) -> None:
    """Write the schema (user collections, fields, relations) to FILE, or to standard output."""
    # lazy: the package's __init__ imports this module
    from tidepool.cli import friendly_errors
    from tidepool.cli.collections import _run

    async def work(ctx: ServiceContext) -> dict[str, Any]:
        from tidepool.services.snapshots import take_snapshot

        return await take_snapshot(ctx)

    data = friendly_errors(_run)(work)
    text = _render(data, _format_of(file, fmt))
    if file is None:
        click.echo(text, nl=False)
        return
    Path(file).write_text(text, encoding="utf-8")
    click.echo(f"snapshot written to {file}", err=True)


def _render(data: dict[str, Any], fmt: str) -> str:
    import orjson

    from tidepool.services.snapshots import to_yaml

    return to_yaml(data) if fmt == "yaml" else orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n"


@schema.command("apply")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", "-y", is_flag=True, help="Apply without asking for confirmation.")
@click.option("--dry-run", "-d", is_flag=True, help="Print the changes and exit without applying them.")
def apply(file: str, yes: bool, dry_run: bool) -> None:
    """Make this database's schema match the snapshot in FILE (JSON, or YAML by its name)."""
    # lazy: the package's __init__ imports this module
    from tidepool.cli import friendly_errors
    from tidepool.cli.collections import _run

    snapshot_data = friendly_errors(_read)(file)

    async def plan(ctx: ServiceContext) -> dict[str, Any]:
        from tidepool.services.schema_diff import check_snapshot, snapshot_diff
        from tidepool.services.snapshots import snapshot_hash, take_snapshot

        after = check_snapshot(snapshot_data, vendor="", force=True)
        current = await take_snapshot(ctx)
        return {"hash": snapshot_hash(current), "diff": snapshot_diff(current, after)}

    payload = friendly_errors(_run)(plan)
    if not any(payload["diff"].values()):
        click.echo("No changes to apply.")
        return
    summary = describe(payload["diff"])
    if dry_run:
        click.echo("The following changes would be applied:\n\n" + summary)
        return
    if not yes:
        click.echo("The following changes will be applied:\n\n" + summary)
        if not click.confirm("\nWould you like to continue?", default=False):
            sys.exit(0)

    async def run(ctx: ServiceContext) -> None:
        from tidepool.services.schema_apply import apply_diff

        await apply_diff(ctx, payload)

    friendly_errors(_run)(run)
    click.echo("Snapshot applied successfully")


def _read(file: str) -> Any:
    import orjson
    import yaml

    from tidepool.errors import CliError
    from tidepool.services.snapshots import from_yaml

    text = Path(file).read_text(encoding="utf-8")
    try:
        return orjson.loads(text) if file.lower().endswith(".json") else from_yaml(text)
    except (ValueError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CliError(f"{file} is not a valid snapshot file: {reason}{where}") from None


_VERBS = {"N": "Create", "D": "Delete", "E": "Update", "A": "Update"}


def describe(diff: dict[str, Any]) -> str:
    """The changes as Directus's CLI lists them: a section per kind of object, one line per object, and for
    updates one line per changed value."""
    sections = []
    for section, title in (("collections", "Collections"), ("fields", "Fields"), ("relations", "Relations")):
        lines = []
        for entry in diff.get(section, []):
            name = entry["collection"] + (f".{entry['field']}" if "field" in entry else "")
            if entry.get("related_collection"):
                name += f" → {entry['related_collection']}"
            first = entry["diff"][0]
            nested = first["kind"] in ("N", "D") and len(first.get("path") or []) >= 2
            lines.append(f"  - {'Update' if nested else _VERBS[first['kind']]} {name}")
            if nested or first["kind"] == "E":
                lines += [f"    - {_change_line(change)}" for change in entry["diff"]]
        if lines:
            sections.append(f"{title}:\n" + "\n".join(lines))
    return "\n\n".join(sections)


def _change_line(change: dict[str, Any]) -> str:
    path = ".".join(str(p) for p in (change.get("path") or [])[1:]) or ".".join(change.get("path") or [])
    if change["kind"] == "D":
        return f"Remove {path}"
    if change["kind"] == "N":
        return f"Add {path} and set it to {change.get('rhs')}"
    return f"Set {path} to {change.get('rhs')}"


def register(group: click.Group) -> None:
    group.add_command(schema)
