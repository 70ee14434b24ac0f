"""Migration ``0006-user-fields`` on a database made before it: ``directus_users`` gains ``text_direction``
(``auto`` for the users already there) and the two JSON theme overrides, with their field rows."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.live import base_env, scratch_database
from tidepool.config import Settings, load_settings
from tidepool.db import system
from tidepool.db.bootstrap import bootstrap
from tidepool.db.engine import create_engine


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    with scratch_database(tmp_path) as env:
        yield load_settings({**base_env(), **env}, env_file=None)


def test_an_older_users_table_gains_the_columns(settings: Settings) -> None:
    async def run() -> None:
        engine = create_engine(settings)
        users, fields = system.users, system.fields
        try:
            await bootstrap(engine, settings)
            async with engine.begin() as conn:  # back to the shape of a database made before 0006
                quote = conn.dialect.identifier_preparer.quote
                for name in system.USER_FIELDS_0006:
                    await conn.execute(sa.text(f"ALTER TABLE {quote(users.name)} DROP COLUMN {quote(name)}"))
                await conn.execute(fields.delete().where(fields.c.field.in_(system.USER_FIELDS_0006)))
                await conn.execute(system.migrations.delete().where(system.migrations.c.version == "0006-user-fields"))
            assert (await bootstrap(engine, settings)).migrations == ["0006-user-fields"]
            async with engine.connect() as conn:
                row = (await conn.execute(sa.select(users.c.text_direction, users.c.theme_dark_overrides))).one()
                assert tuple(row) == ("auto", None)
                typed = await conn.execute(
                    sa.select(fields.c.field, fields.c.type).where(fields.c.field.in_(system.USER_FIELDS_0006))
                )
                assert sorted(map(tuple, typed)) == [
                    ("theme_dark_overrides", "json"),
                    ("theme_light_overrides", "json"),
                ]
            assert (await bootstrap(engine, settings)).migrations == []
        finally:
            await engine.dispose()

    asyncio.run(run())
