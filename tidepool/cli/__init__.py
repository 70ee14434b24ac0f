"""The ``tidepool`` command: ``start``, ``bootstrap`` and the management subcommands."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from tidepool.cli.output import print_bootstrap
from tidepool.config import Settings, load_settings
from tidepool.db.bootstrap import bootstrap as run_bootstrap
from tidepool.db.engine import create_engine
from tidepool.errors import TidepoolError

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(func: F) -> F:
    """Print configuration and domain errors as one line (never a traceback) and exit 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except TidepoolError as exc:
            detail = getattr(exc, "detail", None)
            click.echo(f"error: {exc.message}" + (f" ({detail})" if detail else ""), err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def settings_from_env() -> Settings:
    return load_settings()


@click.group()
@click.version_option(package_name="tidepool")
def main() -> None:
    """Tidepool: a real-time data server speaking the Directus protocol."""


@main.command()
@friendly_errors
def bootstrap() -> None:
    """Create or upgrade the system tables and the first admin (safe to run on every start)."""
    settings = settings_from_env()

    async def run() -> None:
        engine = create_engine(settings)
        try:
            print_bootstrap(await run_bootstrap(engine, settings), settings)
        finally:
            await engine.dispose()

    asyncio.run(run())


@main.command()
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Server processes on one port (default: WEB_CONCURRENCY, else 1).",
)
@friendly_errors
def start(workers: int | None) -> None:
    """Bootstrap if needed, then serve HTTP and WebSocket on HOST:PORT."""
    from tidepool.cli.serve import serve  # the server stack (uvicorn, app, realtime): only `start` loads it

    settings = settings_from_env()
    serve(settings if workers is None else settings.with_overrides(WEB_CONCURRENCY=workers))


def _register_subcommands() -> None:
    from tidepool.cli import collections, management, schema  # they import this module's helpers

    management.register(main)
    collections.register(main)
    schema.register(main)


_register_subcommands()
