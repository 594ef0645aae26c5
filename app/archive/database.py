"""The archive's PostgreSQL connection: a pool with timeouts, the schema applied at start.

The schema is versioned SQL in app/archive/schema/NNN_name.sql, applied in order inside one
transaction each and recorded in `schema_version`; a database whose schema is newer than this
code knows is refused (an older release must not write into a newer layout). Any failure to
reach the database is raised as DatabaseUnavailable (503), and the pool reconnects by itself,
so the service recovers without a restart when the database is back.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources

import psycopg
from pgvector.psycopg import register_vector
from psycopg_pool import ConnectionPool, PoolTimeout

from app.errors import DatabaseUnavailable, SchemaTooNew

logger = logging.getLogger(__name__)

_MIGRATION = re.compile(r"(\d{3})_[a-z0-9_]+\.sql")
# One application-wide lock id, so two servers starting at once apply the schema once.
_MIGRATION_LOCK = 7_202_612_03


def migrations() -> list[tuple[int, str]]:
    """Every (version, SQL) this code ships, in order."""
    folder = resources.files("app.archive") / "schema"
    found = [(m, f) for f in folder.iterdir() if (m := _MIGRATION.fullmatch(f.name))]
    return sorted((int(m.group(1)), f.read_text(encoding="utf-8")) for m, f in found)


SCHEMA_VERSION = migrations()[-1][0]


class Database:
    """A pool of connections to one database; cheap to make, opens at the first use."""

    def __init__(
        self,
        url: str,
        *,
        size: int = 4,
        connect_timeout_s: float = 5.0,
        statement_timeout_s: float = 10.0,
    ) -> None:
        self.url = url
        self.timeout_s = connect_timeout_s
        options = f"-c statement_timeout={int(statement_timeout_s * 1000)}"
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=size,
            kwargs={"connect_timeout": max(1, round(connect_timeout_s)), "options": options},
            configure=_configure,
            check=ConnectionPool.check_connection,  # a connection the server dropped is replaced
            reconnect_timeout=connect_timeout_s,
            open=False,
        )
        self._opened = False

    def open(self) -> None:
        if not self._opened:
            self.pool.open(wait=False)
            self._opened = True

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        """A connection inside one transaction: committed on leaving, rolled back on an error."""
        self.open()
        try:
            with self.pool.connection(timeout=self.timeout_s) as conn, conn.transaction():
                yield conn
        except PoolTimeout as exc:
            raise DatabaseUnavailable(f"The archive's database is not answering: {exc}") from exc
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(f"The archive's database is unreachable: {exc}") from exc

    def migrate(self) -> int:
        """Apply the migrations the database lacks; refuse one with a newer schema. A database
        already at this version is only read, so a server can start on a read-only standby."""
        with self.transaction() as conn:
            have = _version(conn)
            if have < SCHEMA_VERSION:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer)")
                have = _version(conn)  # another server may have applied it meanwhile
            if have > SCHEMA_VERSION:
                raise SchemaTooNew(
                    f"The database's schema is version {have}; this release knows up to "
                    f"{SCHEMA_VERSION}. Upgrade the service before pointing it at this database."
                )
            for version, sql in migrations():
                if version > have:
                    logger.info("applying schema version %d", version)
                    conn.execute(sql.encode())  # several statements in one
                    conn.execute("INSERT INTO schema_version VALUES (%s)", (version,))
        # The vector type exists now; connections made before it need it registered.
        self.pool.close()
        self.pool = ConnectionPool(
            self.url, min_size=1, max_size=self.pool.max_size, kwargs=self.pool.kwargs,
            configure=_configure, check=ConnectionPool.check_connection,
            reconnect_timeout=self.timeout_s, open=False,
        )  # fmt: skip
        self._opened = False
        return max(have, SCHEMA_VERSION)

    def close(self) -> None:
        if self._opened:
            self.pool.close()
            self._opened = False


def _version(conn: psycopg.Connection) -> int:
    """The schema version the database is at (0: none yet)."""
    if conn.execute("SELECT to_regclass('schema_version')").fetchone() == (None,):
        return 0
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _configure(conn: psycopg.Connection) -> None:
    """Each new connection knows pgvector's types (once the extension is there)."""
    # Before the first migration there is no vector type: migrate() makes new connections.
    with contextlib.suppress(psycopg.ProgrammingError):
        register_vector(conn)
    conn.commit()
