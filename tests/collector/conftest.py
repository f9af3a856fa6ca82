"""Fixtures: a real Mosquitto (the telemetry tests' helper), and the database under test, SQLite always and a
throwaway PostgreSQL cluster when its binaries are installed (``make test`` installs them when run as root)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "agent" / "telemetry"))

from mosquitto_support import MOSQUITTO, Broker
from pg_support import PG_BIN, PostgresCluster, postgres_available


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """Mosquitto on 127.0.0.1 with persistence (restartable); stopped at teardown."""
    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed (make test installs it when run as root)")
    server = Broker(tmp_path / "broker")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    if not postgres_available():
        pytest.skip(f"PostgreSQL server binaries not found in {PG_BIN} (make test installs postgresql when root)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install -e '.[test]')")
    cluster = PostgresCluster()
    try:
        cluster.start()
    except (subprocess.CalledProcessError, RuntimeError, OSError) as exc:
        cluster.stop()
        detail = exc.stderr.decode(errors="replace")[-500:] if isinstance(exc, subprocess.CalledProcessError) else exc
        pytest.skip(f"cannot start a throwaway PostgreSQL cluster: {detail}")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: SQLite in tmp, or a new database in the session's PostgreSQL cluster."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'collector.sqlite3'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.new_database()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'collector.sqlite3'}"
