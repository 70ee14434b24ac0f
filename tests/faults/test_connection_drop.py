"""The database drops the server's connections while writes run: PostgreSQL's ``pg_terminate_backend`` and
MariaDB's ``KILL CONNECTION`` on every backend of the server's database, again and again, under REST and
WebSocket writers (creates, updates, deletes) and subscribers, two processes with Redis.

A write whose connection dies is answered 503 ``SERVICE_UNAVAILABLE`` and rolled back, or it committed and is
answered as done; either way its event is delivered iff it committed. The account (``harness.account``) holds
the second half: no acknowledged write without its event, no event twice or out of order, and each
subscriber ends holding exactly what the database holds (an event of a write that never committed would
leave a row or a text the database does not have). The first half: a write answered with an error that the
database shows committed must have been told that its outcome is unknown (the connection died during its
COMMIT, after the database committed and before the answer arrived: ``docs/realtime-events.md``, "When the
database connection drops"), never a plain failure. Before: a write whose read-back (after its COMMIT) met
the dropped connection was answered 503 ``Could not connect to the database``, and an event whose row the
dispatcher could not re-read was replaced by an error frame (lost for every subscriber of that process).
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest

from tests.faults.harness import Cluster, assert_clean, cluster, load

pytestmark = pytest.mark.faults

UNKNOWN = "it may have been saved"  # the reason given for a COMMIT whose answer was lost
DROPS = 12  # rounds of dropping every connection
EVERY = 0.4  # seconds between rounds

_DROP_SQL = {
    "pg": (
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-Atc"],
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = '{db}' AND pid <> pg_backend_pid()",
    ),
    "mysql": (
        ["mysql", "-h", "127.0.0.1", "-u", "root", "-N", "-e"],
        "SELECT id FROM information_schema.processlist WHERE db = '{db}' AND id <> CONNECTION_ID()",
    ),
}


def drop_connections(engine: str, database: str) -> int:
    """End every connection to ``database`` from the database server's side; how many."""
    command, sql = _DROP_SQL[engine]
    out = subprocess.run([*command, sql.format(db=database)], capture_output=True, text=True, check=True).stdout
    if engine == "pg":
        return int(out.strip() or 0)
    ids = [line.strip() for line in out.splitlines() if line.strip()]
    for pid in ids:  # one may have ended meanwhile: not an error
        subprocess.run([*command, f"KILL CONNECTION {pid}"], capture_output=True, text=True, check=False)
    return len(ids)


def _dropping(group: Cluster, engine: str, stop: threading.Event, dropped: list[int]) -> threading.Thread:
    database = group.servers[0].env["DB_DATABASE"]

    def run() -> None:
        for _ in range(DROPS):
            if stop.wait(EVERY):
                return
            dropped.append(drop_connections(engine, database))

    thread = threading.Thread(target=run, name="dropper", daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("engine", ["pg", pytest.param("mysql", id="mariadb")])
def test_connections_dropped_mid_write_lose_no_event_and_commit_nothing_unannounced(
    tmp_path: Path, engine: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with cluster(tmp_path, engine) as group:
        run = load(group, interval=0.02)
        run.start()
        run.wait_writes(40)
        stop, dropped = threading.Event(), list[int]()
        dropper = _dropping(group, engine, stop, dropped)
        dropper.join(DROPS * EVERY + 30)
        run.wait_writes(40)  # the servers write again once the pools reconnect
        text, accounts = run.finish(f"connections dropped {len(dropped)} times ({engine})")
        database = group.rows()
        refused = [r for writer in run.writers for r in writer.refused]
        ambiguous = [r for r in refused if r.committed(database)]
        logs = group.logs()
        errors = {sub.label: sub.errors[:3] for sub in run.subscribers if sub.errors}
    text += f"\nconnections ended per round: {dropped}; refused writes {len(refused)}, of which committed "
    text += f"{len(ambiguous)}: {[(r.action, r.key, r.heard[:400]) for r in ambiguous[:5]]}"
    text += f"\nsubscribers' errors: {errors}"
    with capsys.disabled():
        print(text)
    assert sum(dropped) >= DROPS, "the connections were not dropped: the test proves nothing"
    assert refused, f"no write failed while its connection was dropped: the test proves nothing\n{text}"
    assert [r for r in refused if "SERVICE_UNAVAILABLE" not in r.heard] == [], text
    assert all(UNKNOWN in r.heard for r in ambiguous), text
    assert "Traceback" not in logs, logs  # a killed connection's failed rollback too (``db/engine.py``)
    assert_clean(text, accounts, group)
