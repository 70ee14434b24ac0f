"""Bootstrap is idempotent, and an older database upgrades in place through the versioned migrations."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.live import ADMIN_PASSWORD, base_env, scratch_database
from tidepool.config import Settings, load_settings
from tidepool.db import system
from tidepool.db.bootstrap import bootstrap
from tidepool.db.engine import create_engine
from tidepool.db.migrations import MIGRATIONS, applied_versions
from tidepool.errors import ConfigError
from tidepool.security import configure_hashing, hash_password, verify_password


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    with scratch_database(tmp_path) as env:
        yield load_settings({**base_env(), **env}, env_file=None)


async def _counts(engine: AsyncEngine) -> dict[str, int]:
    tables = (system.users, system.roles, system.policies, system.access, system.fields, system.relations)
    async with engine.connect() as conn:
        return {t.name: int(await conn.scalar(sa.select(sa.func.count()).select_from(t)) or 0) for t in tables}


def test_bootstrap_twice_is_a_no_op(settings: Settings) -> None:
    async def run() -> None:
        engine = create_engine(settings)
        try:
            first = await bootstrap(engine, settings)
            assert first.migrations == [version for version, _ in MIGRATIONS]
            assert first.admin_email == "admin@example.com"
            before = await _counts(engine)
            second = await bootstrap(engine, settings)
            assert second.migrations == [] and second.admin_email is None
            assert await _counts(engine) == before
            assert before["directus_users"] == 1
            async with engine.connect() as conn:
                names = (await conn.execute(sa.select(system.users.c.first_name, system.users.c.last_name))).one()
            assert tuple(names) == ("Admin", "User")  # as Directus 12.4.1's bootstrap names its first admin
        finally:
            await engine.dispose()

    asyncio.run(run())


@pytest.mark.parametrize("applied", range(1, len(MIGRATIONS)))
def test_database_at_migration_n_upgrades_in_place(settings: Settings, applied: int) -> None:
    """Bring a database to migration N by the same steps an older release ran, then bootstrap it."""

    async def run() -> None:
        engine = create_engine(settings)
        try:
            async with engine.begin() as conn:
                await applied_versions(conn)  # creates tidepool_migrations, as every release did
                for version, step in MIGRATIONS[:applied]:
                    await step(conn)
                    await conn.execute(system.migrations.insert().values(version=version, applied_at=datetime.now(UTC)))
                await conn.execute(sa.text("CREATE TABLE kept_data (id INTEGER PRIMARY KEY, note VARCHAR(20))"))
                await conn.execute(sa.text("INSERT INTO kept_data (id, note) VALUES (1, 'survives')"))
            result = await bootstrap(engine, settings)
            assert result.migrations == [version for version, _ in MIGRATIONS[applied:]]
            async with engine.connect() as conn:
                assert await applied_versions(conn) == {version for version, _ in MIGRATIONS}
                assert await conn.scalar(sa.text("SELECT note FROM kept_data WHERE id = 1")) == "survives"
            assert (await bootstrap(engine, settings)).migrations == []
        finally:
            await engine.dispose()

    asyncio.run(run())


def test_migration_versions_are_unique_and_ordered() -> None:
    versions = [version for version, _ in MIGRATIONS]
    assert len(set(versions)) == len(versions)
    assert versions == sorted(versions)


def test_password_hashes_use_the_configured_argon2_cost(settings: Settings) -> None:
    """HASH_TIME_COST, HASH_MEMORY_COST and HASH_PARALLELISM reach every new hash: the first admin's at
    bootstrap, and a user's set afterwards; a hash made at another cost still verifies."""
    older = hash_password("made-before")  # at the cost the process had until now
    custom = settings.with_overrides(HASH_TIME_COST=2, HASH_MEMORY_COST=32, HASH_PARALLELISM=2)

    async def run() -> str:
        engine = create_engine(custom)
        try:
            await bootstrap(engine, custom)
            async with engine.connect() as conn:
                stored = await conn.scalar(sa.select(system.users.c.password))
                assert isinstance(stored, str)
                return stored
        finally:
            await engine.dispose()

    stored = asyncio.run(run())
    assert stored.startswith("$argon2id$v=19$m=32,t=2,p=2$") and verify_password(stored, ADMIN_PASSWORD)
    assert hash_password("later").startswith("$argon2id$v=19$m=32,t=2,p=2$")
    assert verify_password(older, "made-before") and not verify_password(older, "made-after")


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"HASH_TIME_COST": "0"}, "HASH_TIME_COST"),
        ({"HASH_PARALLELISM": "-1"}, "HASH_PARALLELISM"),
        ({"HASH_MEMORY_COST": "15", "HASH_PARALLELISM": "2"}, "HASH_MEMORY_COST"),
    ],
)
def test_an_unusable_argon2_cost_is_a_config_error_naming_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as raised:
        configure_hashing(load_settings({**base_env(), **env}, env_file=None))
    assert raised.value.variable == variable
