"""Migration ``0010-feature-tables`` on a database made before it: the system tables of the Directus features
Tidepool does not run (extensions, Directus's migration log, deployments, MCP OAuth) appear empty with their
field and relation metadata, once; ``directus_sessions`` gains ``oauth_client`` with its foreign key."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support.live import base_env, scratch_database
from tidepool.config import Settings, load_settings
from tidepool.db import system
from tidepool.db.bootstrap import bootstrap
from tidepool.db.engine import create_engine
from tidepool.db.introspect import load_schema

VERSION = "0010-feature-tables"
FEATURE_COLLECTIONS = {
    "directus_extensions", "directus_migrations", "directus_deployments", "directus_deployment_projects",
    "directus_deployment_runs", "directus_oauth_clients", "directus_oauth_codes", "directus_oauth_consents",
    "directus_oauth_tokens",
}  # fmt: skip


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    with scratch_database(tmp_path) as env:
        yield load_settings({**base_env(), **env}, env_file=None)


def _old_sessions() -> sa.Table:
    """``directus_sessions`` as a database made before 0010 has it: every column but ``oauth_client``."""
    columns = [
        sa.Column(c.name, c.type, primary_key=c.primary_key) for c in system.sessions.c if c.name != "oauth_client"
    ]
    return sa.Table(system.sessions.name, sa.MetaData(), *columns)


async def _metadata_rows(conn: AsyncConnection) -> tuple[int, int]:
    fields, relations = system.fields, system.relations
    field_count = await conn.execute(
        sa.select(sa.func.count()).where(
            sa.or_(fields.c.collection.in_(FEATURE_COLLECTIONS), fields.c.field == "oauth_client")
        )
    )
    relation_count = await conn.execute(
        sa.select(sa.func.count()).where(
            sa.or_(relations.c.many_collection.in_(FEATURE_COLLECTIONS), relations.c.many_field == "oauth_client")
        )
    )
    return field_count.scalar_one(), relation_count.scalar_one()


def test_an_older_database_gets_the_feature_tables(settings: Settings) -> None:
    async def run() -> None:
        engine = create_engine(settings)
        try:
            await bootstrap(engine, settings)
            async with engine.connect() as conn:
                fresh = await _metadata_rows(conn)
            assert fresh == (47, 12)  # a fresh database: tables from 0001, metadata rows from 0010, once
            async with engine.begin() as conn:  # back to the shape of a database made before 0010
                await conn.run_sync(lambda c: system.sessions.drop(c))
                await conn.run_sync(lambda c: system.metadata.drop_all(c, tables=list(system.FEATURE_TABLES)))
                await conn.run_sync(lambda c: _old_sessions().create(c))
                await conn.execute(system.fields.delete().where(system.fields.c.collection.in_(FEATURE_COLLECTIONS)))
                await conn.execute(system.fields.delete().where(system.fields.c.field == "oauth_client"))
                relations = system.relations
                await conn.execute(
                    relations.delete().where(
                        sa.or_(
                            relations.c.many_collection.in_(FEATURE_COLLECTIONS),
                            relations.c.many_field == "oauth_client",
                        )
                    )
                )
                await conn.execute(system.migrations.delete().where(system.migrations.c.version == VERSION))
            assert (await bootstrap(engine, settings)).migrations == [VERSION]
            async with engine.connect() as conn:
                names = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
                assert FEATURE_COLLECTIONS <= names
                keys = await conn.run_sync(lambda c: sa.inspect(c).get_foreign_keys("directus_sessions"))
                assert [(k["constrained_columns"], k["referred_table"], k["referred_columns"]) for k in keys] == [
                    (["oauth_client"], "directus_oauth_clients", ["client_id"])
                ]
                assert await _metadata_rows(conn) == fresh
                for table in system.FEATURE_TABLES:
                    assert (await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one() == 0
            schema = await load_schema(engine)
            runs = schema.o2m("directus_deployment_projects", "runs")
            assert runs is not None and runs.collection == "directus_deployment_runs"
            tokens = schema.o2m("directus_oauth_clients", "tokens")
            assert tokens is not None and tokens.collection == "directus_oauth_tokens"
            assert schema.collections["directus_oauth_clients"].primary_key == "client_id"
            assert schema.collections["directus_extensions"].fields["enabled"].default is True
            assert schema.collections["directus_sessions"].fields["oauth_client"].nullable
            assert (await bootstrap(engine, settings)).migrations == []
        finally:
            await engine.dispose()

    asyncio.run(run())
