"""Migration ``0008-system-collections`` on a database made before it: the project's system tables appear
(with Directus's defaults), their field and relation metadata once, and the one settings row."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.live import base_env, scratch_database
from tidepool.config import Settings, load_settings
from tidepool.db import system
from tidepool.db.bootstrap import bootstrap
from tidepool.db.engine import create_engine
from tidepool.db.introspect import load_schema
from tidepool.db.migrations import MIGRATIONS, applied_versions

VERSION = "0008-system-collections"


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    with scratch_database(tmp_path) as env:
        yield load_settings({**base_env(), **env}, env_file=None)


def test_an_older_database_gets_the_project_tables(settings: Settings) -> None:
    async def run() -> None:
        engine = create_engine(settings)
        try:
            async with engine.begin() as conn:
                await applied_versions(conn)
                for version, step in MIGRATIONS:
                    if version == VERSION:
                        break
                    await step(conn)
                    await conn.execute(system.migrations.insert().values(version=version, applied_at=datetime.now(UTC)))
                # what a release before 0008 had: its first migration made no project table
                await conn.run_sync(lambda c: system.metadata.drop_all(c, tables=list(system.PROJECT_TABLES)))
            assert VERSION in (await bootstrap(engine, settings)).migrations
            async with engine.connect() as conn:
                names = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
                assert {t.name for t in system.PROJECT_TABLES} <= names
                row = (await conn.execute(sa.select(system.settings))).mappings().one()
                assert (row["id"], row["project_name"], row["project_color"]) == (1, "Tidepool", "#6644FF")
                assert row["default_language"] == "en-US" and len(row["project_id"]) == 36
                specials = await conn.execute(
                    sa.select(system.fields.c.special).where(
                        system.fields.c.collection == "directus_shares", system.fields.c.field == "password"
                    )
                )
                assert specials.scalars().all() == ["hash,conceal"]
            schema = await load_schema(engine)
            panels = schema.o2m("directus_dashboards", "panels")
            assert panels is not None and panels.collection == "directus_panels"
            assert schema.collections["directus_presets"].fields["layout"].default == "tabular"
            assert (await bootstrap(engine, settings)).migrations == []
        finally:
            await engine.dispose()

    asyncio.run(run())
