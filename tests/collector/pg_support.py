"""A throwaway PostgreSQL cluster for the collector's tests and benchmark: initdb + postgres in a temporary
directory, listening only on a Unix socket there (run as the ``postgres`` system user when we are root)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

PG_BIN = Path(os.environ.get("IOTCARD_PG_BIN", "/usr/lib/postgresql/15/bin"))


def postgres_available() -> bool:
    return (PG_BIN / "initdb").exists() and (PG_BIN / "postgres").exists()


class PostgresCluster:
    """initdb + postgres in a temporary directory, listening only on a Unix socket there."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="iotcard-pg-"))
        self.directory.chmod(0o755)
        self.data = self.directory / "data"
        self.log = self.directory / "postgres.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._as_user: list[str] = []
        if os.geteuid() == 0:  # postgres refuses to run as root: run it as the package's system user
            shutil.chown(self.directory, "postgres", "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]

    def start(self, timeout: float = 30.0) -> None:
        subprocess.run(
            [*self._as_user, str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
             "--no-sync", "-E", "UTF8"],
            check=True,
            capture_output=True,
        )  # fmt: skip
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*self._as_user, str(PG_BIN / "postgres"), "-D", str(self.data), "-k", str(self.directory),
                 "-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off",
                 "-c", "full_page_writes=off", "-c", "max_connections=200"],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        import psycopg

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                with psycopg.connect(self.dsn("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                time.sleep(0.05)
        raise RuntimeError("postgres did not accept connections")

    def dsn(self, database: str) -> str:
        return f"postgresql://postgres@/{database}?host={self.directory}"

    def new_database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            # SIGINT: PostgreSQL's "fast" shutdown (sent to the session: runuser and postgres)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, 2)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(5)
        shutil.rmtree(self.directory, ignore_errors=True)
